import Foundation
import RNFormat
import RNQuantize
import RNRuntime
import RNTrain
import RNTrainKernels

/// How far an int8 model drifts from its float original, measured with the real runtime.
public struct DriftReport {
    public struct Layer {
        public var name: String
        public var kind: String
        public var shape: [Int]
        /// Signal-to-quantisation-noise ratio of the int8 tensor against float, with errors
        /// accumulated through every layer before it.
        public var sqnrDB: Double
        /// The same for this layer alone: its float op fed the dequantised int8 input.
        public var sqnrAloneDB: Double
        public var cosine: Double
        /// Largest |int8 - float| in output steps (LSB).
        public var maxAbsLSB: Double
        /// Root mean square error over the output scale, in LSB.
        public var rmseLSB: Double
        /// Share of values whose float value lies outside the int8 range of the tensor.
        public var clippingRate: Double
    }

    public struct Disagreement {
        public var image: Int
        public var label: Int
        public var floatClass: Int
        public var int8Class: Int
        public var kl: Double
    }

    public struct Sensitivity {
        public var layer: String
        public var int8Top1: Double
        /// Points of top-1 recovered by keeping this layer in float.
        public var recoveredPoints: Double
    }

    public var images: Int
    public var labels: [String]
    public var floatTop1: Double
    public var int8Top1: Double
    public var agreement: Double
    public var meanKL: Double
    /// Percentage points, float minus int8.
    public var top1Drop: Double { (floatTop1 - int8Top1) * 100 }
    public var floatConfusion: [[Int]]
    public var int8Confusion: [[Int]]
    public var layers: [Layer]
    public var disagreements: [Disagreement]
    public var sensitivity: [Sensitivity]
    /// The layer whose error histogram is shown (the worst by SQNR alone), and the histogram of
    /// (int8 - float) / scale over bins of one LSB from -8 to +8 (outer bins collect the tails).
    public var histogramLayer: String
    public var errorHistogram: [Int]
}

/// Errors of rn-drift: one line naming the problem.
public struct DriftError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Which folded ops each int8 op computes (two for a fused pair): from the file's op names
/// (metadata key 4: the float layers joined by '+'), or, for files written before names, the
/// exporter's fusions by kind. Checked op by op, so that a float and an int8 model that do not
/// belong together are refused.
func matchOps(_ model: RNModel, _ folded: FoldedModel) throws -> [[Int]] {
    var result = [[Int]](), f = 0
    for i in 0..<model.opCount {
        let kind = model.file.op(i).kind
        let count: Int
        if model.file.opName(i) != nil {
            let layers = model.name(op: i).split(separator: "+").map(String.init)
            guard f + layers.count <= folded.ops.count, Array(folded.names[f..<(f + layers.count)]) == layers else {
                throw DriftError("int8 layer \(i) (\(model.name(op: i))) is not the float model's next layer\(f < folded.names.count ? " \(folded.names[f])" : ""): the models do not belong together")
            }
            count = layers.count
        } else {
            count = kind == .conv2DAdd || kind == .conv2DMaxPool ? 2 : 1
        }
        guard f + count <= folded.ops.count else { throw DriftError("the int8 model has more layers than the float model") }
        let first = folded.ops[f], second = count == 2 ? folded.ops[f + 1] : nil
        let matches: Bool
        switch (kind, first, second) {
        case (.conv2D, .conv, nil), (.fullyConnected, .fullyConnected, nil), (.add, .add, nil),
             (.maxPool, .maxPool, nil), (.globalAveragePool, .globalAveragePool, nil), (.mean, .globalAveragePool, nil),
             (.conv2DAdd, .conv, .add?), (.conv2DMaxPool, .conv, .maxPool?): matches = true
        default: matches = false
        }
        guard matches else {
            throw DriftError("int8 layer \(i) (\(kind.name)) does not match float layer \(folded.names[f]): the models do not belong together")
        }
        result.append(Array(f..<(f + count)))
        f += count
    }
    guard f == folded.ops.count else { throw DriftError("the float model has more layers than the int8 model") }
    return result
}

/// Per-layer sums, merged across threads.
struct LayerSums {
    var signal = 0.0, noise = 0.0, aloneSignal = 0.0, aloneNoise = 0.0
    var dot = 0.0, int8Power = 0.0, squaredLSB = 0.0, maxLSB = 0.0
    var values = 0, clipped = 0

    mutating func merge(_ o: LayerSums) {
        signal += o.signal; noise += o.noise; aloneSignal += o.aloneSignal; aloneNoise += o.aloneNoise
        dot += o.dot; int8Power += o.int8Power; squaredLSB += o.squaredLSB; maxLSB = max(maxLSB, o.maxLSB)
        values += o.values; clipped += o.clipped
    }
}

func decibels(_ signal: Double, _ noise: Double) -> Double {
    noise <= 0 ? 200 : signal <= 0 ? -200 : 10 * log10(signal / noise)
}

/// Compares `net` (float, batch norm folded as the exporter does) with `model` (int8, run by the
/// runtime) on `data`. `sensitivityCount` images are used for the keep-one-layer-in-float reruns
/// of the five worst layers (0 = skip).
public func measureDrift(net: ResNet, info: CheckpointInfo, model: RNModel, data: ImageDataset,
                         sensitivityCount: Int = 1000, progress: (Int, Int) -> Void = { _, _ in }) throws -> DriftReport {
    try measureDrift(folded: try FoldedModel(net, info: info), model: model, data: data, sensitivityCount: sensitivityCount,
                     progress: progress)
}

/// The same for any folded float model (from `.rnf` or an imported ONNX graph).
public func measureDrift(folded: FoldedModel, model: RNModel, data: ImageDataset,
                         sensitivityCount: Int = 1000, progress: (Int, Int) -> Void = { _, _ in }) throws -> DriftReport {
    let a = folded.input, info = folded.info
    guard data.count > 0 else { throw DriftError("no images") }
    guard data.height == a.height, data.width == a.width, data.channels == a.channels,
          model.input.byteCount == data.imageBytes else {
        throw DriftError("data is \(data.height)x\(data.width)x\(data.channels), the models take \(a.height)x\(a.width)x\(a.channels)")
    }
    guard case let .fullyConnected(_, _, _, classes)? = folded.ops.last, model.output.byteCount == classes, classes == info.labels.count else {
        throw DriftError("the float model's classes (\(info.labels.count) labels) do not match the int8 model's \(model.output.byteCount)")
    }
    // One float model per thread (its layers keep working buffers).
    let threads = max(1, TrainThreads.count)
    let foldeds = try [folded] + (1..<threads).map { _ in try FoldedModel(ops: folded.ops, names: folded.names, input: folded.input, info: info) }
    let cover = try matchOps(model, foldeds[0])
    let opCount = model.opCount, n = data.count
    var sums = [[LayerSums]](repeating: [LayerSums](repeating: LayerSums(), count: opCount), count: threads)
    var floatTop = [Int](repeating: 0, count: n), int8Top = floatTop
    var kl = [Double](repeating: 0, count: n)
    var histograms = [[[Int]]](repeating: [[Int]](repeating: [Int](repeating: 0, count: 17), count: opCount), count: threads)
    let done = NSLock()
    var finished = 0
    let batcher = BatchMaker(mean: info.mean, std: info.std)
    // Parallel over images; each thread's float ops run inline on it (parallelFor nests).
    parallelFor(threads) { thread in
        let folded = foldeds[thread]
        let runner = LayerRunner(model: model, folded: folded, cover: cover)
        var rng = SeededRandom(seed: 0)
        for start in stride(from: thread * 100, to: n, by: threads * 100) {
            let indices = Array(start..<min(n, start + 100))
            let (x, _) = batcher.batch(data, indices[...], rng: &rng, augment: false)
            let float = folded.run(x)
            for (b, image) in indices.enumerated() {
                let run = runner.run(pixels: Array(data.pixels[(image * data.imageBytes)..<((image + 1) * data.imageBytes)]),
                                     alone: true)
                for i in 0..<opCount {
                    let f = float[cover[i].last! + 1]
                    let t = model.file.tensor(i + 1)
                    let perImage = t.byteCount
                    let scale = Double(t.scale), zp = Int(t.zeroPoint)
                    let low = Double(-128 - zp) * scale, high = Double(127 - zp) * scale
                    var s = sums[thread][i]
                    for k in 0..<perImage {
                        let fv = Double(f.data[b * perImage + k])
                        let dv = Double(Int(run.outputs[i][k]) - zp) * scale
                        let av = Double(run.alone[i][k])
                        let e = dv - fv
                        s.signal += fv * fv; s.noise += e * e
                        s.aloneSignal += av * av; s.aloneNoise += (dv - av) * (dv - av)
                        s.dot += fv * dv; s.int8Power += dv * dv
                        s.squaredLSB += (e / scale) * (e / scale)
                        s.maxLSB = max(s.maxLSB, abs(e) / scale)
                        if fv < low - scale / 2 || fv > high + scale / 2 { s.clipped += 1 }
                        let bin = max(-8, min(8, Int((e / scale).rounded())))
                        histograms[thread][i][bin + 8] += 1
                    }
                    s.values += perImage
                    sums[thread][i] = s
                }
                let logits = float.last!
                let fl = (0..<classes).map { Double(logits.data[b * classes + $0]) }
                let t = model.output
                let ql = run.outputs[opCount - 1].map { Double(Int($0) - Int(t.zeroPoint)) * Double(t.scale) }
                floatTop[image] = argmax(fl)
                int8Top[image] = argmax(ql)
                kl[image] = klDivergence(softmax(fl), softmax(ql))
            }
            done.lock(); finished += indices.count; let f = finished; done.unlock()
            if thread == 0 { progress(f, n) }
        }
    }
    var total = [LayerSums](repeating: LayerSums(), count: opCount)
    var histogram = [[Int]](repeating: [Int](repeating: 0, count: 17), count: opCount)
    for t in 0..<threads {
        for i in 0..<opCount {
            total[i].merge(sums[t][i])
            for k in 0..<17 { histogram[i][k] += histograms[t][i][k] }
        }
    }
    let names = (0..<opCount).map { i in cover[i].map { foldeds[0].names[$0] }.joined(separator: "+") }   // the file's op names
    let layers = (0..<opCount).map { i -> DriftReport.Layer in
        let s = total[i], t = model.file.tensor(i + 1)
        return DriftReport.Layer(name: names[i], kind: "\(model.file.op(i).kind.name)",
                                 shape: Array([t.dims.0, t.dims.1, t.dims.2, t.dims.3].prefix(t.rank)),
                                 sqnrDB: decibels(s.signal, s.noise), sqnrAloneDB: decibels(s.aloneSignal, s.aloneNoise),
                                 cosine: s.signal > 0 && s.int8Power > 0 ? s.dot / (s.signal * s.int8Power).squareRoot() : 1,
                                 maxAbsLSB: s.maxLSB, rmseLSB: (s.squaredLSB / Double(max(1, s.values))).squareRoot(),
                                 clippingRate: Double(s.clipped) / Double(max(1, s.values)))
    }
    var floatConfusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes), int8Confusion = floatConfusion
    for k in 0..<n {
        floatConfusion[data.labels[k]][floatTop[k]] += 1
        int8Confusion[data.labels[k]][int8Top[k]] += 1
    }
    let floatCorrect = (0..<n).filter { floatTop[$0] == data.labels[$0] }.count
    let int8Correct = (0..<n).filter { int8Top[$0] == data.labels[$0] }.count
    let disagreements = (0..<n).filter { floatTop[$0] != int8Top[$0] }
        .map { DriftReport.Disagreement(image: $0, label: data.labels[$0], floatClass: floatTop[$0], int8Class: int8Top[$0], kl: kl[$0]) }
        .sorted { $0.kl > $1.kl }
    let worst = (0..<opCount).min { layers[$0].sqnrAloneDB < layers[$1].sqnrAloneDB } ?? 0
    var report = DriftReport(images: n, labels: info.labels, floatTop1: Double(floatCorrect) / Double(n),
                             int8Top1: Double(int8Correct) / Double(n), agreement: Double((0..<n).filter { floatTop[$0] == int8Top[$0] }.count) / Double(n),
                             meanKL: kl.reduce(0, +) / Double(n), floatConfusion: floatConfusion, int8Confusion: int8Confusion,
                             layers: layers, disagreements: disagreements, sensitivity: [],
                             histogramLayer: names[worst], errorHistogram: histogram[worst])
    if sensitivityCount > 0 {
        let subset = Array(0..<min(n, sensitivityCount))
        let baseline = Double(subset.filter { int8Top[$0] == data.labels[$0] }.count) / Double(subset.count)
        let candidates = (0..<opCount).sorted { layers[$0].sqnrAloneDB < layers[$1].sqnrAloneDB }.prefix(5)
        for layer in candidates {
            var correct = [Int](repeating: 0, count: threads)
            parallelFor(threads) { thread in
                let runner = LayerRunner(model: model, folded: foldeds[thread], cover: cover)
                for k in stride(from: thread, to: subset.count, by: threads) {
                    let image = subset[k]
                    let run = runner.run(pixels: Array(data.pixels[(image * data.imageBytes)..<((image + 1) * data.imageBytes)]),
                                         alone: false, floatLayer: layer)
                    let t = model.output
                    let ql = run.outputs[opCount - 1].map { Double(Int($0) - Int(t.zeroPoint)) * Double(t.scale) }
                    if argmax(ql) == data.labels[image] { correct[thread] += 1 }
                }
            }
            let accuracy = Double(correct.reduce(0, +)) / Double(subset.count)
            report.sensitivity.append(.init(layer: names[layer], int8Top1: accuracy, recoveredPoints: (accuracy - baseline) * 100))
        }
    }
    return report
}

func argmax(_ v: [Double]) -> Int {
    var best = 0
    for k in 1..<v.count where v[k] > v[best] { best = k }
    return best
}

func softmax(_ v: [Double]) -> [Double] {
    let peak = v.max() ?? 0
    let e = v.map { exp($0 - peak) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
}

/// KL(p || q) in nats; q's zeros are floored so that the divergence stays finite.
func klDivergence(_ p: [Double], _ q: [Double]) -> Double {
    zip(p, q).reduce(0) { $0 + ($1.0 > 0 ? $1.0 * log($1.0 / max($1.1, 1e-12)) : 0) }
}
