import Foundation
import RNRuntime
import RNTrain
import RNTrainKernels

/// Float and int8 top-1 on the same images, and how often they agree.
public struct AccuracyComparison: Sendable {
    public var images: Int
    public var floatTop1: Double
    public var int8Top1: Double
    public var agreement: Double
    /// Percentage points, float minus int8.
    public var top1Drop: Double { (floatTop1 - int8Top1) * 100 }
}

/// Runs the float network (eval mode) and the int8 model (the real runtime, from uint8 pixels
/// through the model's input tables) on `data`; the int8 side runs on every core with one
/// arena each.
public func compareAccuracy(net: ResNet, info: CheckpointInfo, model: RNModel, data: ImageDataset) throws -> AccuracyComparison {
    try compareAccuracy(float: { net.forward($0, training: false) }, info: info, model: model, data: data)
}

/// The same for a folded float model (an imported ONNX graph).
public func compareAccuracy(folded: FoldedModel, model: RNModel, data: ImageDataset) throws -> AccuracyComparison {
    try compareAccuracy(float: { folded.run($0).last! }, info: folded.info, model: model, data: data)
}

func compareAccuracy(float: (Tensor) -> Tensor, info: CheckpointInfo, model: RNModel, data: ImageDataset) throws -> AccuracyComparison {
    let n = data.count
    var floatTop = [Int](repeating: 0, count: n), int8Top = [Int](repeating: 0, count: n)
    let batcher = BatchMaker(mean: info.mean, std: info.std)
    var rng = SeededRandom(seed: 0)
    for start in stride(from: 0, to: n, by: 500) {
        let indices = Array(start..<min(n, start + 500))
        let (x, _) = batcher.batch(data, indices[...], rng: &rng, augment: false)
        let logits = float(x)
        for (b, i) in indices.enumerated() {
            let row = logits.pointer + b * logits.c
            floatTop[i] = (0..<logits.c).max { row[$0] < row[$1] }!
        }
    }
    let threads = TrainThreads.count, imageBytes = data.imageBytes
    let failure = NSLock()
    var firstError: Error?
    int8Top.withUnsafeMutableBufferPointer { top in
        data.pixels.withUnsafeBufferPointer { pixels in
            let top = top.baseAddress!, pixels = pixels.baseAddress!
            parallelFor(threads) { t in
                let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: model.arenaBytes, alignment: 16)
                defer { arena.deallocate() }
                var input = [Int8](repeating: 0, count: model.input.byteCount)
                var output = [Int8](repeating: 0, count: model.output.byteCount)
                for i in stride(from: t, to: n, by: threads) {
                    model.quantizeImage(pixels: pixels + i * imageBytes, into: &input)
                    do { try model.invoke(arena: arena, input: input, output: &output) } catch {
                        failure.lock(); firstError = error; failure.unlock(); return
                    }
                    var best = 0
                    for k in 1..<output.count where output[k] > output[best] { best = k }   // first on ties
                    top[i] = best
                }
            }
        }
    }
    if let firstError { throw firstError }
    let floatCorrect = (0..<n).filter { floatTop[$0] == data.labels[$0] }.count
    let int8Correct = (0..<n).filter { int8Top[$0] == data.labels[$0] }.count
    let agree = (0..<n).filter { floatTop[$0] == int8Top[$0] }.count
    return AccuracyComparison(images: n, floatTop1: Double(floatCorrect) / Double(n), int8Top1: Double(int8Correct) / Double(n),
                              agreement: Double(agree) / Double(n))
}
