import CRNCPU
import Foundation
import RNTrainKernelsAVX2

// The trainer's matrix multiply: C = (accumulate ? C : 0) + op(A) * op(B), row-major.
// `sgemm` dispatches to the AVX2+FMA kernel (RNTrainKernelsAVX2) when the CPU has it, otherwise
// to `sgemmReference`, and splits the work over the cores. Every path is tested equal (within
// float rounding of the summation order) to the reference.

/// Which kernel `sgemm` uses on this machine.
public enum GEMMKernel: String, Sendable {
    case avx2FMA = "AVX2+FMA"
    case reference = "reference (scalar)"
    public static let selected: GEMMKernel = rn_cpu_has_avx2_fma() != 0 ? .avx2FMA : .reference
}

/// Threads used by `sgemm` and the trainer's parallel loops; defaults to the core count.
public enum TrainThreads {
    nonisolated(unsafe) public static var count = max(1, ProcessInfo.processInfo.activeProcessorCount)
}

/// Whether the calling thread runs an iteration of a `parallelFor`: work nested inside one
/// (a GEMM inside a per-image loop) runs inline on that thread instead of starting more threads,
/// without changing `TrainThreads.count` for the rest of the process.
enum ParallelRegion {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    static var inside: Bool { pthread_getspecific(key) != nil }
    static func enter(_ body: () -> Void) {
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        body()
        pthread_setspecific(key, nil)
    }
}

/// Runs `body(0..<iterations)` on up to `TrainThreads.count` threads (inline when 1, or when
/// already inside a `parallelFor`).
public func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
    if iterations <= 1 || TrainThreads.count == 1 || ParallelRegion.inside {
        for i in 0..<iterations { body(i) }
    } else {
        DispatchQueue.concurrentPerform(iterations: iterations) { i in ParallelRegion.enter { body(i) } }
    }
}

/// The plain triple loop: the specification of `sgemm`.
public func sgemmReference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = 0
            for p in 0..<k {
                let x = transA ? a[p * lda + i] : a[i * lda + p]
                let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                sum += x * y
            }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
        }
    }
}

/// C[m x n] = (accumulate ? C : 0) + op(A)[m x k] * op(B)[k x n]. op(A) is A (m x k, row
/// stride lda) or, with `transA`, the transpose of A stored k x m. Same for B. Parallel over
/// the larger of m and n.
public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                  a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    let kernel = GEMMKernel.selected == .avx2FMA ? sgemmAVX2 : sgemmReference
    let threads = ParallelRegion.inside ? 1 : min(TrainThreads.count, max(1, (m * n * k) / (1 << 18)))
    if threads == 1 {
        kernel(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
        return
    }
    if n >= m {
        let step = ((n + threads - 1) / threads + 15) / 16 * 16
        parallelFor(threads) { t in
            let j0 = t * step, j1 = min(n, j0 + step)
            guard j0 < j1 else { return }
            kernel(transA, transB, m, j1 - j0, k, a, lda, transB ? b + j0 * ldb : b + j0, ldb, c + j0, ldc, accumulate)
        }
    } else {
        let step = ((m + threads - 1) / threads + 5) / 6 * 6
        parallelFor(threads) { t in
            let i0 = t * step, i1 = min(m, i0 + step)
            guard i0 < i1 else { return }
            kernel(transA, transB, i1 - i0, n, k, transA ? a + i0 : a + i0 * lda, lda, b, ldb, c + i0 * ldc, ldc, accumulate)
        }
    }
}
