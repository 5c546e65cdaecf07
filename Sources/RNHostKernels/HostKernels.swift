import CRNCPU
import RNKernels
import RNKernelsAVX2
import RNKernelsAVXVNNI
import RNKernelsAVX512VNNI

/// Run-time kernel selection for host programs (tools, tests): installs the AVX-VNNI instantiation
/// of the tiled convolution kernels when the CPU has it (`rn_cpu_has_avx_vnni`), else the AVX2 one
/// when the CPU and OS support AVX2 and FMA (`rn_cpu_has_avx2_fma`, CPUID plus XGETBV), otherwise
/// leaves the baseline SSE2 build in place. For weights in layout 1 it installs the AVX512-VNNI
/// blocked kernels when `rn_cpu_has_avx512_vnni` (else they run the portable dot product). Compiled for the
/// baseline, so the check itself runs on any x86-64. Call before running models; idempotent.
public enum HostKernels {
    public static let installed: String = {
        var blocked = ""
        if rn_cpu_has_avx512_vnni() != 0 {
            RNAcceleratedKernels.conv2DBlocked = conv2DS8BlockedAVX512VNNI
            RNAcceleratedKernels.conv2DAddBlocked = conv2DAddS8BlockedAVX512VNNI
            blocked = "; layout-1 weights: blocked, AVX512-VNNI (vpdpbusd)"
        } else {
            blocked = "; layout-1 weights: blocked, portable dot product"
        }
        return tiled() + blocked
    }()

    static func tiled() -> String {
        guard rn_cpu_has_avx2_fma() != 0 else {
            return "tiled int8 kernels, baseline SIMD (no AVX2 on this CPU)"
        }
        if rn_cpu_has_avx_vnni() != 0 {
            RNAcceleratedKernels.conv2D = conv2DS8TiledAVXVNNI
            RNAcceleratedKernels.conv2DAdd = conv2DAddS8TiledAVXVNNI
            return "tiled int8 kernels, AVX-VNNI (vpdpwssd)"
        }
        RNAcceleratedKernels.conv2D = conv2DS8TiledAVX2
        RNAcceleratedKernels.conv2DAdd = conv2DAddS8TiledAVX2
        return "tiled int8 kernels, AVX2 (vpmaddwd)"
    }

    /// Installs the fastest kernels this CPU runs; returns what was chosen, for reports.
    @discardableResult
    public static func install() -> String { installed }
}
