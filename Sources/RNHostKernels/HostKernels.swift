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

/// Run-time kernel selection for host programs (tools, tests). Compiled for the baseline, so the
/// checks themselves run on any x86-64.
///
/// The ladder below is the one registration point: instruction sets fastest first, each with its
/// CPU check (CPUID plus XGETBV, in CRNCPU). For each kernel family (tiled: layout-0 weights;
/// blocked: layout 1) the first set the CPU supports that has that family is installed; where none
/// has it, the baseline build of the same Swift stays (SSE2 on x86-64, NEON on arm64). Adding an
/// instruction set is its module (exporting an `RNKernelSet`) plus one line here.
///
/// `RN_HOST_KERNELS=<set>` starts the ladder at that set (to compare, or to check the fallbacks on
/// this machine): `avx512-vnni`, `avx-vnni`, `avx2`, `baseline` (no accelerated set), or
/// `reference` (every convolution on the reference kernels); any other value is an error.
public enum HostKernels {
    public static let ladder: [(set: RNKernelSet, supported: Bool)] = [
        (avx512VNNIKernelSet, rn_cpu_has_avx512_vnni() != 0),
        (avxVNNIKernelSet, rn_cpu_has_avx_vnni() != 0),
        (avx2KernelSet, rn_cpu_has_avx2_fma() != 0),
    ]

    /// The accepted `RN_HOST_KERNELS` values, fastest first.
    public static var names: [String] { ladder.map(\.set.name) + ["baseline", referenceKernelSet.name] }

    public struct UnknownSet: Error, CustomStringConvertible {
        public var value: String
        public var description: String {
            "RN_HOST_KERNELS=\(value) is not a kernel set (accepted: \(HostKernels.names.joined(separator: ", ")))"
        }
    }

    /// The sets `cap` allows, fastest first: the ladder from the set named `cap` down (nil: all).
    static func allowed(cap: String?) throws(UnknownSet) -> ArraySlice<(set: RNKernelSet, supported: Bool)> {
        guard let cap else { return ladder[...] }
        if cap == "baseline" { return [] }
        guard let start = ladder.firstIndex(where: { $0.set.name == cap }) else { throw UnknownSet(value: cap) }
        return ladder[start...]
    }

    /// Which set runs each family under `cap` on this CPU, as (tiled, blocked); nil is the baseline.
    public static func choice(cap: String?) throws(UnknownSet) -> (tiled: RNKernelSet?, blocked: RNKernelSet?) {
        if cap == referenceKernelSet.name { return (referenceKernelSet, referenceKernelSet) }
        let sets = try allowed(cap: cap).filter(\.supported).map(\.set)
        return (sets.first { $0.tiled != nil }, sets.first { $0.blocked != nil })
    }

    /// A report line: what runs each family.
    public static func describe(_ choice: (tiled: RNKernelSet?, blocked: RNKernelSet?), cap: String?) -> String {
        "tiled int8 kernels, " + (choice.tiled.map { $0.instructions.tiled } ?? "baseline SIMD")
            + "; layout-1 weights: blocked, " + (choice.blocked.map { $0.instructions.blocked } ?? "portable")
            + (cap.map { " (RN_HOST_KERNELS=\($0))" } ?? "")
    }

    static let installed: Result<String, UnknownSet> = {
        let cap = getenv("RN_HOST_KERNELS").map { String(cString: $0) }
        do throws(UnknownSet) {
            let chosen = try choice(cap: cap)
            RNAcceleratedKernels.install(tiled: chosen.tiled?.tiled, blocked: chosen.blocked?.blocked)
            return .success(describe(chosen, cap: cap))
        } catch {
            return .failure(error)
        }
    }()

    /// Installs the fastest kernels this CPU runs (once; later calls return the same); returns
    /// what was chosen, for reports. Throws when `RN_HOST_KERNELS` names no set.
    @discardableResult
    public static func install() throws(UnknownSet) -> String { try installed.get() }
}
