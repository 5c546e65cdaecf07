import Foundation
import RNFormat
import RNKernels
import RNRuntime
import RNTrain

/// rn-export's work: fold, calibrate, quantise, plan and write.
public struct ExportOptions {
    public var method: CalibrationMethod = .mse
    public var calibrationCount = 500
    public var biasCorrection = false
    /// Fuse residual blocks' second conv with their add (see `Quantizer.fuseResidualAdds`).
    public var fuseResidualAdds = true
    /// Stream the stem convolution into its max pool (see `Quantizer.fuseStemPool`).
    public var fuseStemPool = true
    /// How convolution weights are arranged in the file (layout 1 for the blocked kernels).
    public var weightLayout = RNWeightLayout.ohwi
    /// Preprocessing: resize the shorter side to this, then center-crop (see `Quantizer`).
    public var resizeShorterSide: Int? = nil
    public init(method: CalibrationMethod = .mse, calibrationCount: Int = 500, biasCorrection: Bool = false,
                fuseResidualAdds: Bool = true, fuseStemPool: Bool = true, weightLayout: RNWeightLayout = .ohwi) {
        self.fuseStemPool = fuseStemPool
        self.weightLayout = weightLayout
        self.method = method
        self.calibrationCount = calibrationCount
        self.biasCorrection = biasCorrection
        self.fuseResidualAdds = fuseResidualAdds
    }
}

public struct ExportResult {
    public var bytes: [UInt8]
    public var graph: ModelGraph
    public var folded: FoldedModel
    /// Chosen real range of every tensor of `folded` (index 0 the input); `graph.ranges` has
    /// them per graph tensor.
    public var ranges: [RealRange]
}

public enum Exporter {
    /// Evenly spaced calibration images: `count` of them (or all), deterministic.
    public static func calibrationIndices(_ data: ImageDataset, count: Int) -> [Int] {
        let n = min(count, data.count)
        guard n > 0 else { return [] }
        return (0..<n).map { $0 * data.count / n }
    }

    public static func export(_ net: ResNet, info: CheckpointInfo, calibration data: ImageDataset,
                              options: ExportOptions, provenance: [(String, String)] = []) throws -> ExportResult {
        let a = net.architecture
        guard data.classNames.count == a.classes || data.classNames.isEmpty else {
            throw ExportError("calibration data has \(data.classNames.count) classes, the model \(a.classes)")
        }
        return try export(try FoldedModel(net, info: info), calibration: data, options: options, provenance: provenance)
    }

    /// Calibrates, quantises, plans and writes a folded float model (from `.rnf` or ONNX).
    public static func export(_ folded: FoldedModel, calibration data: ImageDataset, options: ExportOptions,
                              provenance: [(String, String)] = []) throws -> ExportResult {
        let calibrator = Calibrator(model: folded)
        let indices = calibrationIndices(data, count: options.calibrationCount)
        let ranges = try calibrator.ranges(data, indices: indices, method: options.method)
        var quantizer = Quantizer(model: folded, ranges: ranges)
        quantizer.fuseResidualAdds = options.fuseResidualAdds
        quantizer.fuseStemPool = options.fuseStemPool
        quantizer.resizeShorterSide = options.resizeShorterSide
        if options.biasCorrection {
            quantizer.meanPatches = meanPatches(folded, calibrator: calibrator, data: data, indices: indices)
        }
        let graph = try quantizer.graph(provenance: provenance + [
            ("calibration", "\(options.method.rawValue), \(indices.count) images of \(data.source)"),
            ("bias_correction", "\(options.biasCorrection)"),
        ])
        let bytes: [UInt8]
        do { bytes = try RNBWriter.write(graph, weightLayout: options.weightLayout) } catch { throw ExportError("writing the model: \(error)") }
        return ExportResult(bytes: bytes, graph: graph, folded: folded, ranges: ranges)
    }

    /// For each conv or fully connected op, the mean over calibration images and output positions
    /// of its input patch (im2col row; padding counts as 0).
    static func meanPatches(_ folded: FoldedModel, calibrator: Calibrator, data: ImageDataset, indices: [Int]) -> [Int: [Double]] {
        var sums = [Int: [Double]](), counts = [Int: Double]()
        calibrator.forEachBatch(data, indices) { values in
            for (i, op) in folded.ops.enumerated() {
                switch op {
                case let .conv(input, _, _, _, kernel, stride, padding, _):
                    let x = values[input]
                    let (oh, ow) = RNWindow.square(kernel, stride: stride, padding: padding).outputSize(height: x.h, width: x.w)
                    var sum = sums[i] ?? [Double](repeating: 0, count: kernel * kernel * x.c)
                    // Sum of x over the positions each tap sees: per tap (ky, kx), a window of rows and columns.
                    for b in 0..<x.n {
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                for oy in 0..<oh {
                                    let iy = oy * stride - padding + ky
                                    if iy < 0 || iy >= x.h { continue }
                                    for ox in 0..<ow {
                                        let ix = ox * stride - padding + kx
                                        if ix < 0 || ix >= x.w { continue }
                                        let row = x.pointer + ((b * x.h + iy) * x.w + ix) * x.c
                                        let base = (ky * kernel + kx) * x.c
                                        for c in 0..<x.c { sum[base + c] += Double(row[c]) }
                                    }
                                }
                            }
                        }
                    }
                    sums[i] = sum
                    counts[i, default: 0] += Double(x.n * oh * ow)
                case let .fullyConnected(input, _, _, _):
                    let x = values[input]
                    let features = x.h * x.w * x.c
                    var sum = sums[i] ?? [Double](repeating: 0, count: features)
                    for b in 0..<x.n { for k in 0..<features { sum[k] += Double(x.data[b * features + k]) } }
                    sums[i] = sum
                    counts[i, default: 0] += Double(x.n)
                default:
                    break
                }
            }
        }
        return sums.mapValues { $0 } .reduce(into: [:]) { result, entry in
            result[entry.key] = entry.value.map { $0 / counts[entry.key]! }
        }
    }
}

extension Exporter {
    /// A random-weight network for benchmarks and tests: He-initialised, batch-norm statistics
    /// taken from one training-mode pass over synthetic image-like inputs (so folding and
    /// calibration see realistic activations), plus those images for calibration.
    public static func randomNetwork(_ arch: Architecture, seed: UInt64, calibrationImages: Int = 64)
        -> (ResNet, CheckpointInfo, ImageDataset) {
        let net = ResNet(arch, seed: seed)
        let pixels = syntheticImages(count: calibrationImages, height: arch.inputHeight, width: arch.inputWidth,
                                     channels: arch.inputChannels, seed: seed &+ 1)
        let labels = (0..<arch.classes).map { "class \($0)" }
        let data = ImageDataset(pixels: pixels, labels: (0..<calibrationImages).map { $0 % arch.classes },
                                height: arch.inputHeight, width: arch.inputWidth, channels: arch.inputChannels,
                                classNames: labels, source: "synthetic images (seed \(seed &+ 1))")
        let (mean, std) = data.channelStatistics()
        let batcher = BatchMaker(mean: mean, std: std)
        var rng = SeededRandom(seed: seed)
        for bn in net.batchNorms { bn.momentum = 1 }
        let (x, _) = batcher.batch(data, Array(0..<min(16, calibrationImages))[...], rng: &rng, augment: false)
        _ = net.forward(x, training: true)
        for bn in net.batchNorms { bn.momentum = 0.1 }
        return (net, CheckpointInfo(labels: labels, mean: mean, std: std, provenance: ["generator": "rn-export --random"]), data)
    }
}
