import RNKernels

/// This module's kernels for RNHostKernels' ladder: the blocked family with AVX512-VNNI.
public let avx512VNNIKernelSet = RNKernelSet(
    name: "avx512-vnni",
    tiled: nil,
    blocked: .init(conv2D: conv2DS8BlockedAVX512VNNI, conv2DAdd: conv2DAddS8BlockedAVX512VNNI),
    blockedInstructions: "AVX512-VNNI (vpdpbusd)")
