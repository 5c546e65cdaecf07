import CRNX86
import RNKernels

// The blocked kernels of RNKernels/Tiled/Conv2DS8Blocked.swift instantiated with AVX-512 and
// VNNI (-target-cpu icelake-server): each dot4 is one vpdpbusd on a 512-bit register, 64
// multiply-adds. Enter only after RNHostKernels' CPU check (rn_cpu_has_avx512_vnni).

/// `BlockedInstructions` as vpdpbusd and vpmuldq sequences (rn_x86.h).
public enum AVX512VNNIInstructions: BlockedInstructions {
    @inlinable @inline(__always)
    public static func weights(_ p: UnsafeRawPointer) -> SIMD16<Int32> { p.loadUnaligned(as: SIMD16<Int32>.self) }
    @inlinable @inline(__always)
    public static func dot4(_ acc: SIMD16<Int32>, _ input: Int32, _ w: SIMD16<Int32>) -> SIMD16<Int32> {
        rn_dpbusd_512(acc, SIMD16(repeating: input), w)
    }
    @inlinable @inline(__always)
    public static func requantize(_ x: SIMD16<Int32>, _ multiplier: SIMD16<Int32>, _ shift: SIMD16<Int32>) -> SIMD16<Int32> {
        rn_mbqm_512(x, multiplier, shift)
    }
}
