import RNKernels

/// This module's kernels for RNHostKernels' ladder: the tiled family with AVX-VNNI.
public let avxVNNIKernelSet = RNKernelSet(
    name: "avx-vnni",
    tiled: .init(conv2D: conv2DS8TiledAVXVNNI, conv2DAdd: conv2DAddS8TiledAVXVNNI), tiledInstructions: "AVX-VNNI (vpdpwssd)",
    blocked: nil)
