import RNKernels

// RNKernels' tiled kernels instantiated with AVX2 and AVX-VNNI (-target-cpu haswell -Xcc
// -mavxvnni): LLVM fuses each vpmaddwd and the vpaddd after it into one vpdpwssd. Entered only
// after RNHostKernels' CPU check.

/// This module's kernels for RNHostKernels' ladder: the tiled family with AVX-VNNI.
public let avxVNNIKernelSet = RNKernelSet(
    name: "avx-vnni",
    tiled: .init(conv2D: { conv2DS8Tiled($0, input: $1, weights: $2, requantization: $3, output: $4) },
                 conv2DAdd: { conv2DAddS8Tiled($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }),
    tiledInstructions: "AVX-VNNI (vpdpwssd)",
    blocked: nil)
