import RNKernels

// RNKernels' tiled and blocked kernels instantiated with AVX2 enabled (this module is compiled
// with -target-cpu haswell): the same Swift source, inlined into these closures, turns into
// 256-bit vpmovsxbw / vpmaddwd / vpaddd; the blocked ones use the portable dot product, for AVX2
// CPUs without AVX512-VNNI. Entered only after RNHostKernels' CPU check.

/// This module's kernels for RNHostKernels' ladder: both families with 256-bit AVX2.
public let avx2KernelSet = RNKernelSet(
    name: "avx2",
    tiled: .init(conv2D: { conv2DS8Tiled($0, input: $1, weights: $2, requantization: $3, output: $4) },
                 conv2DAdd: { conv2DAddS8Tiled($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }),
    tiledInstructions: "AVX2 (vpmaddwd)",
    blocked: .init(conv2D: { conv2DS8Blocked(PortableBlockedInstructions.self, $0, input: $1, weights: $2, requantization: $3,
                                             scratch: $4, output: $5) },
                   conv2DAdd: { conv2DAddS8Blocked(PortableBlockedInstructions.self, $0, $1, input: $2, weights: $3,
                                                   requantization: $4, residual: $5, scratch: $6, output: $7) }),
    blockedInstructions: "AVX2 (vpmaddwd)")
