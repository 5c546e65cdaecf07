import CRNX86
import RNKernels

// RNKernels' tiled kernels instantiated with AVX2 and AVX-VNNI (-target-cpu haswell -Xcc
// -mavxvnni): LLVM fuses each vpmaddwd and the vpaddd after it into one vpdpwssd. The blocked
// kernels with AVX-VNNI's 256-bit vpdpbusd: two per dot4 (16 lanes). Entered only after
// RNHostKernels' CPU check.

/// `BlockedInstructions` as two 256-bit vpdpbusd (rn_x86.h); the requantization is the
/// portable lane code, compiled here with AVX2.
public enum AVXVNNIBlockedInstructions: BlockedInstructions {
    @inlinable @inline(__always)
    public static func weights(_ p: UnsafeRawPointer) -> SIMD16<Int32> { p.loadUnaligned(as: SIMD16<Int32>.self) }
    @inlinable @inline(__always)
    public static func dot4(_ acc: SIMD16<Int32>, _ input: Int32, _ w: SIMD16<Int32>) -> SIMD16<Int32> {
        let u = SIMD8<Int32>(repeating: input)
        return SIMD16(lowHalf: rn_dpbusd_256(acc.lowHalf, u, w.lowHalf), highHalf: rn_dpbusd_256(acc.highHalf, u, w.highHalf))
    }
    @inlinable @inline(__always)
    public static func requantize(_ x: SIMD16<Int32>, _ multiplier: SIMD16<Int32>, _ shift: SIMD16<Int32>) -> SIMD16<Int32> {
        PortableBlockedInstructions.requantize(x, multiplier, shift)
    }
}

/// This module's kernels for RNHostKernels' ladder: the tiled family with vpdpwssd, the blocked
/// family with 256-bit vpdpbusd.
public let avxVNNIKernelSet = RNKernelSet(
    name: "avx-vnni",
    tiled: .init(conv2D: { conv2DS8Tiled($0, input: $1, weights: $2, requantization: $3, output: $4) },
                 conv2DAdd: { conv2DAddS8Tiled($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }),
    tiledInstructions: "AVX-VNNI (vpdpwssd)",
    blocked: .init(conv2D: { conv2DS8Blocked(AVXVNNIBlockedInstructions.self, $0, input: $1, weights: $2, requantization: $3,
                                             scratch: $4, output: $5) },
                   conv2DAdd: { conv2DAddS8Blocked(AVXVNNIBlockedInstructions.self, $0, $1, input: $2, weights: $3,
                                                   requantization: $4, residual: $5, scratch: $6, output: $7) }),
    blockedInstructions: "AVX-VNNI (256-bit vpdpbusd)")
