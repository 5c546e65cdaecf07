import Foundation
import RNFormat
import RNKernels
import RNTrain

/// Asymmetric int8 quantisation of a real range (zero always representable):
/// scale = (high - low) / 255, zero_point = round(-128 - low / scale), clamped to int8.
/// E.g. [0, 6] gives scale 6/255 and zero point -128; [-1, 1] gives scale 2/255 and zero point
/// round(-128 + 127.5) = round(-0.5) = -1 (half away from zero).
public func affineQuantization(_ range: RealRange) -> (scale: Float, zeroPoint: Int32) {
    let low = min(0, Double(range.low)), high = max(0, Double(range.high))
    let scale = max(high - low, 1e-8) / 255
    let zeroPoint = (-128 - low / scale).rounded()
    return (Float(scale), Int32(max(-128, min(127, zeroPoint))))
}

/// Turns a folded float model and its activation ranges into an int8 `ModelGraph`
/// (DESIGN.md section 2): per-output-channel symmetric weights, int32 biases, Q31 multipliers,
/// TFLite add parameters, fused ReLU as clamp ranges, int8 logits, and the input tables.
public struct Quantizer {
    public let model: FoldedModel
    public let ranges: [RealRange]
    /// Per conv/fc op: the mean of its input patches (im2col rows), for bias correction.
    public var meanPatches: [Int: [Double]] = [:]

    public init(model: FoldedModel, ranges: [RealRange]) {
        self.model = model
        self.ranges = ranges
    }

    /// Per-channel symmetric int8 weights: scale[c] = max |w[c]| / 127, q = round(w / scale)
    /// (half away from zero), never -128. A channel of zeros gets scale 1 (its weights are 0
    /// whatever the scale). Throws when every weight of the layer is zero.
    static func quantizeWeights(_ w: [Float], outputs: Int, name: String) throws -> (values: [Int8], scales: [Double]) {
        let taps = w.count / outputs
        var values = [Int8](repeating: 0, count: w.count), scales = [Double](repeating: 1, count: outputs)
        guard w.contains(where: { $0 != 0 }) else { throw ExportError("\(name): every weight is zero, no scale exists") }
        for c in 0..<outputs {
            let row = w[(c * taps)..<((c + 1) * taps)]
            let peak = Double(row.map { abs($0) }.max()!)
            if peak > 0 { scales[c] = peak / 127 }
            for (k, v) in row.enumerated() {
                values[c * taps + k] = Int8(max(-127, min(127, (Double(v) / scales[c]).rounded())))
            }
        }
        return (values, scales)
    }

    public func graph(provenance: [(String, String)] = []) throws -> ModelGraph {
        let a = model.architecture
        let inputQuant = affineQuantization(ranges[0])
        let pre = Preprocessing(channels: a.inputChannels, resizeHeight: a.inputHeight, resizeWidth: a.inputWidth,
                                mean: model.info.mean, std: model.info.std)
        var graph = ModelGraph(input: .init(shape: [1, a.inputHeight, a.inputWidth, a.inputChannels],
                                            scale: inputQuant.scale, zeroPoint: inputQuant.zeroPoint),
                               inputTable: pre.inputTable(scale: inputQuant.scale, zeroPoint: inputQuant.zeroPoint))
        graph.preprocessing = pre
        graph.labels = model.info.labels
        graph.provenance = provenance
        for (i, op) in model.ops.enumerated() {
            let name = model.names[i], t = i + 1
            switch op {
            case let .conv(input, weights, bias, outChannels, kernel, stride, padding, relu):
                let x = graph.tensors[input]
                let oh = (x.height + 2 * padding - kernel) / stride + 1, ow = (x.width + 2 * padding - kernel) / stride + 1
                let (out, activation) = outputTensor([1, oh, ow, outChannels], t, relu: relu)
                let w = try quantizedWeights(weights, bias: bias, outputs: outChannels, input: x, output: out, op: i, name: name)
                let window = RNWindow(kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride,
                                      padTop: padding, padLeft: padding, padBottom: padding, padRight: padding)
                graph.append(.conv2D(input: input, window: window, weights: w, activation: activation), output: out)
            case let .add(x0, x1, relu):
                let (out, activation) = outputTensor(graph.tensors[x0].shape, t, relu: relu)
                let s0 = Double(graph.tensors[x0].scale), s1 = Double(graph.tensors[x1].scale)
                let twiceMax = 2 * max(s0, s1)
                let leftShift: Int32 = 20
                let m = (QuantizedMultiplier(real: s0 / twiceMax), QuantizedMultiplier(real: s1 / twiceMax),
                         QuantizedMultiplier(real: twiceMax / (Double(1 << leftShift) * Double(out.scale))))
                graph.append(.add(input0: x0, input1: x1, leftShift: leftShift, multipliers: m, activation: activation), output: out)
            case let .maxPool(input, kernel, stride, padding):
                let x = graph.tensors[input]
                let oh = (x.height + 2 * padding - kernel) / stride + 1, ow = (x.width + 2 * padding - kernel) / stride + 1
                let window = RNWindow(kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride,
                                      padTop: padding, padLeft: padding, padBottom: padding, padRight: padding)
                graph.append(.maxPool(input: input, window: window, activation: .none),
                             output: .init(shape: [1, oh, ow, x.channels], scale: x.scale, zeroPoint: x.zeroPoint))
            case .globalAveragePool(let input):
                let x = graph.tensors[input]
                graph.append(.globalAveragePool(input: input, activation: .none),
                             output: .init(shape: [1, 1, 1, x.channels], scale: x.scale, zeroPoint: x.zeroPoint))
            case let .fullyConnected(input, weights, bias, outputs):
                let x = graph.tensors[input]
                let (out, activation) = outputTensor([1, outputs], t, relu: false)
                let w = try quantizedWeights(weights, bias: bias, outputs: outputs, input: x, output: out, op: i, name: name)
                graph.append(.fullyConnected(input: input, weights: w, activation: activation), output: out)
            }
        }
        return graph
    }

    func outputTensor(_ shape: [Int], _ t: Int, relu: Bool) -> (ModelGraph.Tensor, RNKernels.ActivationRange) {
        var range = ranges[t]
        if relu { range.low = 0 }
        let q = affineQuantization(range)
        return (.init(shape: shape, scale: q.scale, zeroPoint: q.zeroPoint),
                RNKernels.ActivationRange(min: relu ? q.zeroPoint : -128, max: 127))
    }

    /// Weights, biases and multipliers of a conv or fully connected op. With bias correction,
    /// each channel's float bias first absorbs the mean error its quantised weights make on the
    /// calibration inputs: b[c] -= sum_k (w_q[c][k] * s[c] - w[c][k]) * mean_patch[k].
    func quantizedWeights(_ weights: [Float], bias: [Float], outputs: Int, input: ModelGraph.Tensor,
                          output: ModelGraph.Tensor, op: Int, name: String) throws -> ModelGraph.Weights {
        let (values, scales) = try Self.quantizeWeights(weights, outputs: outputs, name: name)
        let taps = weights.count / outputs
        var correctedBias = bias.map(Double.init)
        if let patch = meanPatches[op] {
            for c in 0..<outputs {
                var delta = 0.0
                for k in 0..<taps { delta += (Double(values[c * taps + k]) * scales[c] - Double(weights[c * taps + k])) * patch[k] }
                correctedBias[c] -= delta
            }
        }
        let inputScale = Double(input.scale)
        var biasValues = [Int32](), multipliers = [QuantizedMultiplier]()
        for c in 0..<outputs {
            let biasScale = inputScale * scales[c]
            let q = (correctedBias[c] / biasScale).rounded()
            guard abs(q) < 2_000_000_000 else { throw ExportError("\(name): bias of channel \(c) overflows int32") }
            biasValues.append(Int32(q))
            let real = biasScale / Double(output.scale)
            guard real < 0x1p30 else { throw ExportError("\(name): requantization multiplier \(real) is too large") }
            multipliers.append(QuantizedMultiplier(real: real))
        }
        return ModelGraph.Weights(values: values, bias: biasValues, multipliers: multipliers, scales: scales)
    }
}
