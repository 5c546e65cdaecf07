import CRNCPU
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNKernels
import RNKernelsAVX2
import RNKernelsAVXVNNI
import RNKernelsAVX512VNNI

/// Run-time kernel selection for host programs (tools, tests). When the CPU and OS support AVX2
/// and FMA (`rn_cpu_has_avx2_fma`, CPUID plus XGETBV) it installs the AVX2 instantiations of the
/// tiled kernels (layout-0 weights) and of the blocked kernels (layout 1), then upgrades the tiled
/// ones to AVX-VNNI (`rn_cpu_has_avx_vnni`) and the blocked ones to AVX512-VNNI
/// (`rn_cpu_has_avx512_vnni`) where the CPU has them; without AVX2 the baseline SSE2 build stays.
/// Compiled for the baseline, so the check itself runs on any x86-64. Call before running
/// models; idempotent. RN_HOST_KERNELS=baseline or =avx2 caps the choice (to compare, or to
/// check the fallbacks on this machine).
public enum HostKernels {
    public static let installed: String = {
        let forced = getenv("RN_HOST_KERNELS").map { String(cString: $0) }
        guard forced != "baseline", rn_cpu_has_avx2_fma() != 0 else {
            return "tiled int8 kernels, baseline SIMD; layout-1 weights: blocked, portable"
                + (forced == "baseline" ? " (RN_HOST_KERNELS=baseline)" : " (no AVX2 on this CPU)")
        }
        let avx2Only = forced == "avx2"
        var tiled = "tiled int8 kernels, AVX2 (vpmaddwd)"
        RNAcceleratedKernels.conv2D = conv2DS8TiledAVX2
        RNAcceleratedKernels.conv2DAdd = conv2DAddS8TiledAVX2
        if rn_cpu_has_avx_vnni() != 0 && !avx2Only {
            RNAcceleratedKernels.conv2D = conv2DS8TiledAVXVNNI
            RNAcceleratedKernels.conv2DAdd = conv2DAddS8TiledAVXVNNI
            tiled = "tiled int8 kernels, AVX-VNNI (vpdpwssd)"
        }
        var blocked = "layout-1 weights: blocked, AVX2 (vpmaddwd)"
        RNAcceleratedKernels.conv2DBlocked = conv2DS8BlockedAVX2
        RNAcceleratedKernels.conv2DAddBlocked = conv2DAddS8BlockedAVX2
        if rn_cpu_has_avx512_vnni() != 0 && !avx2Only {
            RNAcceleratedKernels.conv2DBlocked = conv2DS8BlockedAVX512VNNI
            RNAcceleratedKernels.conv2DAddBlocked = conv2DAddS8BlockedAVX512VNNI
            blocked = "layout-1 weights: blocked, AVX512-VNNI (vpdpbusd)"
        }
        return tiled + "; " + blocked + (avx2Only ? " (RN_HOST_KERNELS=avx2)" : "")
    }()

    /// Installs the fastest kernels this CPU runs; returns what was chosen, for reports.
    @discardableResult
    public static func install() -> String { installed }
}
