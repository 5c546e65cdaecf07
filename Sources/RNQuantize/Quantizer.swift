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
    /// Fuse each residual block's second convolution with its add (conv2d_add), so that the
    /// convolution's output is never stored and the sum overwrites the shortcut in place.
    public var fuseResidualAdds = true
    /// Stream a convolution into the max pool that alone reads it (conv2d_max_pool), so that the
    /// ImageNet stem's full-resolution output never exists.
    public var fuseStemPool = true
    /// Preprocessing: resize the shorter side to this, then center-crop to the input (torchvision's
    /// Resize + CenterCrop); nil stretches to the input size.
    public var resizeShorterSide: Int? = nil

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
        let a = model.input
        let inputQuant = affineQuantization(ranges[0])
        var pre = Preprocessing(channels: a.channels, resizeHeight: a.height, resizeWidth: a.width,
                                mean: model.info.mean, std: model.info.std)
        if let shorter = resizeShorterSide {
            (pre.resizeMode, pre.resizeHeight, pre.resizeWidth) = (.shorterSideThenCenterCrop, shorter, shorter)
        }
        var graph = ModelGraph(input: .init(shape: [1, a.height, a.width, a.channels],
                                            scale: inputQuant.scale, zeroPoint: inputQuant.zeroPoint),
                               inputTable: pre.inputTable(scale: inputQuant.scale, zeroPoint: inputQuant.zeroPoint))
        graph.preprocessing = pre
        graph.labels = model.info.labels
        graph.ranges = [ranges[0]]
        graph.provenance = provenance
        // One int8 op per folded op (tensor numbers kept), then the fusions every graph gets
        // (ModelGraph.fused): the fused pairs' names join both float layers
        // ("block2.conv2+block2.add"), so rn-drift reads which layers each op computes.
        for (i, op) in model.ops.enumerated() {
            let name = model.names[i], t = i + 1
            graph.names.append(name)
            graph.ranges.append(ranges[t])
            switch op {
            case let .conv(input, weights, bias, outChannels, kernel, stride, padding, relu):
                let x = graph.tensors[input]
                let window = RNWindow.square(kernel, stride: stride, padding: padding)
                let (oh, ow) = window.outputSize(height: x.height, width: x.width)
                let (out, activation) = outputTensor([1, oh, ow, outChannels], t, relu: relu)
                let w = try quantizedWeights(weights, bias: bias, outputs: outChannels, input: x, output: out, op: i, name: name)
                graph.append(.conv2D(input: input, window: window, weights: w, activation: activation), output: out)
            case let .add(x0, x1, relu):
                let (out, activation) = outputTensor(graph.tensors[x0].shape, t, relu: relu)
                let m = addMultipliers(graph.tensors[x0].scale, graph.tensors[x1].scale, out.scale)
                graph.append(.add(input0: x0, input1: x1, leftShift: 20, multipliers: m, activation: activation), output: out)
            case let .maxPool(input, kernel, stride, padding):
                let x = graph.tensors[input]
                let window = RNWindow.square(kernel, stride: stride, padding: padding)
                let (oh, ow) = window.outputSize(height: x.height, width: x.width)
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
        return graph.fused(residualAdds: fuseResidualAdds, stemPools: fuseStemPool)
    }

    func addMultipliers(_ s0: Float, _ s1: Float, _ out: Float) -> (QuantizedMultiplier, QuantizedMultiplier, QuantizedMultiplier) {
        QuantizedMultiplier.add(s0, s1, output: out)
    }

    /// A tensor quantized for its range cut to what the fused activation lets through, and the
    /// activation's clamp in its steps: [zero point, 127] for ReLU and for ReLU6, whose range
    /// then ends at 6 or below, so 127 is at most the step of 6.
    func outputTensor(_ shape: [Int], _ t: Int, relu: FoldedModel.Activation) -> (ModelGraph.Tensor, RNKernels.ActivationRange) {
        var range = ranges[t]
        if let b = relu.bounds { range.low = max(range.low, b.low); range.high = min(range.high, b.high) }
        let q = affineQuantization(range)
        return (.init(shape: shape, scale: q.scale, zeroPoint: q.zeroPoint),
                RNKernels.ActivationRange(min: relu == .none ? -128 : q.zeroPoint, max: 127))
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
