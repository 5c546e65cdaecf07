import RNKernels

/// This module's kernels for RNHostKernels' ladder: both families with 256-bit AVX2.
public let avx2KernelSet = RNKernelSet(
    name: "avx2",
    tiled: .init(conv2D: conv2DS8TiledAVX2, conv2DAdd: conv2DAddS8TiledAVX2), tiledInstructions: "AVX2 (vpmaddwd)",
    blocked: .init(conv2D: conv2DS8BlockedAVX2, conv2DAdd: conv2DAddS8BlockedAVX2), blockedInstructions: "AVX2 (vpmaddwd)")
