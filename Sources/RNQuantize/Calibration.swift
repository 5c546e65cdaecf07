import Foundation
import RNTrain

/// How activation ranges are chosen from calibration data.
public enum CalibrationMethod: String, CaseIterable, Sendable {
    /// The observed minimum and maximum.
    case minmax
    /// The 0.01th and 99.99th percentiles, clipping rare outliers.
    case percentile
    /// The range that minimises the expected squared quantisation error (rounding plus clipping)
    /// over the observed histogram.
    case mse
}

/// A real range [low, high] for one tensor; quantised asymmetrically over int8.
public struct RealRange: Equatable, Sendable, CustomStringConvertible {
    public var low: Float
    public var high: Float
    public init(_ low: Float, _ high: Float) { self.low = low; self.high = high }
    public var description: String { String(format: "[%.4g, %.4g]", low, high) }
}

/// Activation statistics of every tensor of a folded model over calibration images.
public struct Calibrator {
    public let model: FoldedModel
    public let batcher: BatchMaker
    static let bins = 2048

    public init(model: FoldedModel) {
        self.model = model
        batcher = BatchMaker(mean: model.info.mean, std: model.info.std)
    }

    func forEachBatch(_ data: ImageDataset, _ indices: [Int], _ body: ([Tensor]) -> Void) {
        var rng = SeededRandom(seed: 0)
        var start = 0
        while start < indices.count {
            let slice = indices[start..<min(indices.count, start + 100)]
            let (x, _) = batcher.batch(data, slice, rng: &rng, augment: false)
            body(model.run(x))
            start += 100
        }
    }

    /// Ranges for every tensor index (0 is the input, from preprocessing; pools copy their input).
    /// `indices` selects the calibration images.
    public func ranges(_ data: ImageDataset, indices: [Int], method: CalibrationMethod) throws -> [RealRange] {
        guard !indices.isEmpty else { throw ExportError("calibration: no images") }
        let a = model.input
        guard data.height == a.height, data.width == a.width, data.channels == a.channels else {
            throw ExportError("calibration data is \(data.height)x\(data.width)x\(data.channels), the model takes \(a.height)x\(a.width)x\(a.channels)")
        }
        let tensors = model.ops.count + 1
        var low = [Float](repeating: .infinity, count: tensors), high = [Float](repeating: -.infinity, count: tensors)
        forEachBatch(data, indices) { values in
            for t in 1..<tensors {
                let v = values[t]
                var lo = low[t], hi = high[t]
                for i in 0..<v.count { lo = min(lo, v.data[i]); hi = max(hi, v.data[i]) }
                low[t] = lo; high[t] = hi
            }
        }
        var result = (0..<tensors).map { RealRange(min(0, low[$0]), max(0, high[$0])) }
        if method != .minmax {
            var histograms = [[Double]](repeating: [Double](repeating: 0, count: Self.bins), count: tensors)
            forEachBatch(data, indices) { values in
                for t in 1..<tensors {
                    let r = result[t], width = Double(max(r.high - r.low, 1e-12)) / Double(Self.bins)
                    let v = values[t]
                    histograms[t].withUnsafeMutableBufferPointer { h in
                        for i in 0..<v.count {
                            let bin = Int((Double(v.data[i] - r.low)) / width)
                            h[min(Self.bins - 1, max(0, bin))] += 1
                        }
                    }
                }
            }
            for t in 1..<tensors {
                result[t] = method == .percentile ? Self.percentileRange(histograms[t], result[t])
                                                  : Self.mseRange(histograms[t], result[t])
            }
        }
        // The input's range is fixed by preprocessing; pooling outputs share their input's.
        result[0] = inputRange()
        for t in 1..<tensors {
            switch model.ops[t - 1] {
            case .maxPool(let input, _, _, _), .globalAveragePool(let input): result[t] = result[input]
            default: break
            }
        }
        for (t, r) in result.enumerated() where !(r.low.isFinite && r.high.isFinite) {
            throw ExportError("\(t == 0 ? "input" : model.names[t - 1]): activations are not finite on the calibration data")
        }
        return result
    }

    /// Every value the normalised input can take: (0 - mean) / std to (1 - mean) / std.
    public func inputRange() -> RealRange {
        let info = model.info
        let lows = zip(info.mean, info.std).map { (0 - $0) / $1 }, highs = zip(info.mean, info.std).map { (1 - $0) / $1 }
        return RealRange(min(0, lows.min()!), max(0, highs.max()!))
    }

    static func binValue(_ i: Int, _ r: RealRange) -> Double {
        Double(r.low) + (Double(i) + 0.5) * Double(r.high - r.low) / Double(bins)
    }

    /// The 0.01% and 99.99% points of the histogram (zero stays inside).
    static func percentileRange(_ h: [Double], _ r: RealRange, tail: Double = 1e-4) -> RealRange {
        let total = h.reduce(0, +)
        guard total > 0 else { return r }
        var seen = 0.0, lowBin = 0, highBin = bins - 1
        for i in 0..<bins { seen += h[i]; if seen >= tail * total { lowBin = i; break } }
        seen = 0
        for i in stride(from: bins - 1, through: 0, by: -1) { seen += h[i]; if seen >= tail * total { highBin = i; break } }
        let width = Double(r.high - r.low) / Double(bins)
        return RealRange(min(0, Float(Double(r.low) + Double(lowBin) * width)),
                               max(0, Float(Double(r.low) + Double(highBin + 1) * width)))
    }

    /// Shrinks the observed range by a factor in (0, 1] (both ends, about zero) to minimise the
    /// expected squared error: values inside cost scale^2 / 12 (rounding), values outside cost
    /// their distance to the clip point squared.
    static func mseRange(_ h: [Double], _ r: RealRange) -> RealRange {
        var best = r, bestError = Double.infinity
        for step in 1...200 {
            let f = Float(step) / 200
            let candidate = RealRange(r.low * f, r.high * f)
            let scale = Double(candidate.high - candidate.low) / 255
            guard scale > 0 else { continue }
            var error = 0.0
            for i in 0..<bins where h[i] > 0 {
                let v = binValue(i, r)
                if v < Double(candidate.low) { error += h[i] * (v - Double(candidate.low)) * (v - Double(candidate.low)) }
                else if v > Double(candidate.high) { error += h[i] * (v - Double(candidate.high)) * (v - Double(candidate.high)) }
                else { error += h[i] * scale * scale / 12 }
            }
            if error < bestError { bestError = error; best = candidate }
        }
        return best
    }
}
