// rn-train-bench: training throughput of the Swift trainer, and the GEMM under it.
//   swift run -c release rn-train-bench [--gemm] [--width W ...] [--batch 128] [--steps N] [--threads T]
import Foundation
import RNTrainKernels

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let arguments = CommandLine.arguments
if let t = arguments.firstIndex(of: "--threads"), t + 1 < arguments.count, let n = Int(arguments[t + 1]) {
    TrainThreads.count = n
}
print("kernel: \(GEMMKernel.selected.rawValue), threads: \(TrainThreads.count)")
let gemmShapes = [(131072, 16, 144), (131072, 144, 16), (16, 144, 131072), (8192, 128, 1152), (512, 512, 512)]
for (m, n, k) in arguments.contains("--gemm") ? gemmShapes : [] {
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    let transA = n == 144 && k > 100_000   // weight-gradient shape: dW = dOut^T * col
    var best = Double.infinity
    for _ in 0..<3 {
        best = min(best, seconds {
            sgemm(transA: transA, transB: false, m: m, n: n, k: k, a: a, lda: transA ? m : k, b: b, ldb: n,
                  c: &c, ldc: n, accumulate: false)
        })
    }
    print("sgemm m \(m) n \(n) k \(k)\(transA ? " (A^T)" : ""): \(String(format: "%.1f", Double(m * n * k) / best / 1e9)) GMAC/s")
}

// Training throughput: random images, real forward + backward + SGD step.
import RNTrain
let widths = arguments.indices.filter { arguments[$0] == "--width" }.compactMap { Int(arguments[$0 + 1]) }
let batch = arguments.firstIndex(of: "--batch").map { Int(arguments[$0 + 1])! } ?? 128
let steps = arguments.firstIndex(of: "--steps").map { Int(arguments[$0 + 1])! } ?? 5
for width in widths {
    let arch = Architecture(kind: .resnet18, width: width, stem: .cifar, inputHeight: 32, inputWidth: 32,
                            inputChannels: 3, classes: 10)
    let net = ResNet(arch, seed: 1)
    var rng = SeededRandom(seed: 2)
    let x = Tensor(n: batch, h: 32, w: 32, c: 3, values: (0..<(batch * 3072)).map { _ in rng.normal() })
    let labels = (0..<batch).map { _ in rng.int(10) }
    let sgd = SGD()
    func step() {
        let r = softmaxCrossEntropy(net.forward(x, training: true), labels: labels)
        net.backward(r.gradient)
        sgd.step(net.parameters, learningRate: 0.01)
    }
    step()   // warm-up
    let t = seconds { for _ in 0..<steps { step() } }
    print("resnet18 width \(width), 32x32x3, batch \(batch): \(String(format: "%.1f", Double(batch * steps) / t)) train images/s")
}
