import Foundation
import Testing
import RNTrainKernels

@Suite struct SGEMMTests {
    /// The dispatched, threaded, packed GEMM against the triple loop over odd shapes, both
    /// transposes, strided leading dimensions and accumulation.
    @Test func matchesReferenceOverManyShapes() {
        var state: UInt64 = 99
        func rand(_ n: Int) -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) % n }
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in Float(rand(2001) - 1000) / 1000 } }
        var worst: Float = 0
        for trial in 0..<120 {
            let m = 1 + rand(trial < 60 ? 20 : 150), n = 1 + rand(trial < 60 ? 40 : 300), k = rand(trial < 60 ? 30 : 600)
            let transA = rand(2) == 1, transB = rand(2) == 1, accumulate = rand(2) == 1
            let lda = (transA ? m : k) + rand(3), ldb = (transB ? k : n) + rand(3), ldc = n + rand(3)
            let a = values((transA ? k : m) * lda + 1), b = values((transB ? n : k) * ldb + 1)
            let c0 = values(m * ldc)
            var want = c0, got = c0
            sgemmReference(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                           c: &want, ldc: ldc, accumulate: accumulate)
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                  c: &got, ldc: ldc, accumulate: accumulate)
            for i in 0..<m {
                for j in 0..<ldc {
                    let d = abs(got[i * ldc + j] - want[i * ldc + j])
                    worst = max(worst, d / max(1, Float(k).squareRoot()))
                    if j >= n { #expect(got[i * ldc + j] == c0[i * ldc + j], "wrote outside C") }
                }
            }
        }
        #expect(worst < 1e-4, "max scaled difference \(worst) (kernel: \(GEMMKernel.selected.rawValue))")
    }
}

/// Work nested in a parallelFor runs inline on its thread (rn-drift's per-image loop calls GEMMs),
/// and the process-wide thread count is left alone.
@Suite struct ParallelForTests {
    @Test func nestedLoopsRunInlineWithoutTouchingTheThreadCount() {
        let before = TrainThreads.count
        let lock = NSLock()
        var sameThread = [Bool]()
        parallelFor(4) { _ in
            let outer = pthread_self()
            var inner: [pthread_t] = []
            parallelFor(8) { _ in inner.append(pthread_self()) }   // inline: no lock needed
            lock.lock(); sameThread.append(inner.count == 8 && inner.allSatisfy { pthread_equal($0, outer) != 0 }); lock.unlock()
        }
        #expect(sameThread == [true, true, true, true])
        #expect(TrainThreads.count == before)
    }
}
