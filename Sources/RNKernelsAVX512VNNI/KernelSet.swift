import RNKernels

/// This module's kernels for RNHostKernels' ladder: the blocked family, each dot4 one vpdpbusd.
public let avx512VNNIKernelSet = RNKernelSet(
    name: "avx512-vnni",
    tiled: nil,
    blocked: .init(conv2D: { conv2DS8Blocked(AVX512VNNIInstructions.self, $0, input: $1, weights: $2, requantization: $3,
                                             scratch: $4, output: $5) },
                   conv2DAdd: { conv2DAddS8Blocked(AVX512VNNIInstructions.self, $0, $1, input: $2, weights: $3,
                                                   requantization: $4, residual: $5, scratch: $6, output: $7) }),
    blockedInstructions: "AVX512-VNNI (vpdpbusd)")
