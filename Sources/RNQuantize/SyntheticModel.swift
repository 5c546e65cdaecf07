import RNFormat
import RNKernels
import RNTrain

/// Int8 graphs with seeded random weights and quantization, shaped like the real thing, for
/// tests, goldens and firmware before a trained model exists. Multipliers are chosen so that
/// activations spread over the int8 range instead of saturating.
public struct SyntheticModelBuilder {
    public var graph: ModelGraph
    var rng: SeededRandom

    /// Starts a graph with an [1, H, W, C] input (scale 1/127.5-ish, zero point 0) whose input
    /// table maps pixels with mean 0.5, std 0.5.
    public init(height: Int, width: Int, channels: Int, seed: UInt64) {
        rng = SeededRandom(seed: seed)
        let scale = Float(2.0 / 255.0)
        let pre = Preprocessing(channels: channels, resizeHeight: height, resizeWidth: width,
                                mean: [Float](repeating: 0.5, count: channels),
                                std: [Float](repeating: 0.5, count: channels))
        graph = ModelGraph(input: .init(shape: [1, height, width, channels], scale: scale, zeroPoint: 0),
                           inputTable: pre.inputTable(scale: scale, zeroPoint: 0))
        graph.preprocessing = pre
        graph.provenance = [("generator", "SyntheticModelBuilder"), ("seed", "\(seed)")]
    }

    mutating func activationTensor(_ shape: [Int], relu: Bool) -> (ModelGraph.Tensor, ActivationRange) {
        let zeroPoint: Int32 = relu ? -128 : Int32.random(in: -20...20, using: &rng)
        let tensor = ModelGraph.Tensor(shape: shape, scale: Float.random(in: 0.02...0.08, using: &rng),
                                       zeroPoint: zeroPoint)
        return (tensor, ActivationRange(min: relu ? zeroPoint : -128, max: 127))
    }

    /// Random weights for `outputs` channels of `taps` inputs each, with multipliers that map
    /// a typical accumulator to about +-40 output steps.
    mutating func weights(outputs: Int, taps: Int) -> ModelGraph.Weights {
        let values = (0..<(outputs * taps)).map { _ in Int8.random(in: -127...127, using: &rng) }
        let bias = (0..<outputs).map { _ in Int32.random(in: -20000...20000, using: &rng) }
        let typical = Double(taps).squareRoot() * 73 * 60
        let multipliers = (0..<outputs).map { _ in
            QuantizedMultiplier(real: Double.random(in: 0.5...1.5, using: &rng) * 40 / typical)
        }
        return ModelGraph.Weights(values: values, bias: bias, multipliers: multipliers)
    }

    /// Conv with kernel k, stride s and symmetric "same"-style padding (k / 2), or the given window.
    @discardableResult
    public mutating func conv(_ input: Int, outputs: Int, kernel k: Int, stride s: Int = 1,
                              window: RNWindow? = nil, relu: Bool = true) -> Int {
        let x = graph.tensors[input]
        let w = window ?? RNWindow.square(k, stride: s, padding: k / 2)
        let (oh, ow) = w.outputSize(height: x.height, width: x.width)
        let (tensor, act) = activationTensor([1, oh, ow, outputs], relu: relu)
        let weights = weights(outputs: outputs, taps: w.kernelH * w.kernelW * x.channels)
        return graph.append(.conv2D(input: input, window: w, weights: weights, activation: act), output: tensor)
    }

    /// TFLite int8 add: input multipliers s_i / (2 max(s0, s1)), output 2 max(s0, s1) / (2^20 s_out).
    @discardableResult
    public mutating func add(_ a: Int, _ b: Int, relu: Bool = true) -> Int {
        let (tensor, act) = activationTensor(graph.tensors[a].shape, relu: relu)
        let s0 = Double(graph.tensors[a].scale), s1 = Double(graph.tensors[b].scale)
        let twiceMax = 2 * max(s0, s1)
        let leftShift: Int32 = 20
        let multipliers = (QuantizedMultiplier(real: s0 / twiceMax), QuantizedMultiplier(real: s1 / twiceMax),
                           QuantizedMultiplier(real: twiceMax / (Double(1 << leftShift) * Double(tensor.scale))))
        return graph.append(.add(input0: a, input1: b, leftShift: leftShift, multipliers: multipliers, activation: act),
                            output: tensor)
    }

    @discardableResult
    public mutating func maxPool(_ input: Int, kernel k: Int, stride s: Int, pad: Int) -> Int {
        let x = graph.tensors[input]
        let w = RNWindow.square(k, stride: s, padding: pad)
        let (oh, ow) = w.outputSize(height: x.height, width: x.width)
        let out = ModelGraph.Tensor(shape: [1, oh, ow, x.channels], scale: x.scale, zeroPoint: x.zeroPoint)
        return graph.append(.maxPool(input: input, window: w, activation: .none), output: out)
    }

    @discardableResult
    public mutating func globalAveragePool(_ input: Int) -> Int {
        let x = graph.tensors[input]
        let out = ModelGraph.Tensor(shape: [1, 1, 1, x.channels], scale: x.scale, zeroPoint: x.zeroPoint)
        return graph.append(.globalAveragePool(input: input, activation: .none), output: out)
    }

    @discardableResult
    public mutating func fullyConnected(_ input: Int, outputs: Int) -> Int {
        let (tensor, act) = activationTensor([1, outputs], relu: false)
        let weights = weights(outputs: outputs, taps: graph.tensors[input].byteCount)
        return graph.append(.fullyConnected(input: input, weights: weights, activation: act), output: tensor)
    }

    /// A ResNet basic block: conv3x3(stride) -> conv3x3 -> add(shortcut) -> ReLU, with a 1x1
    /// projection shortcut when the stride or width changes.
    @discardableResult
    public mutating func basicBlock(_ input: Int, outputs: Int, stride: Int) -> Int {
        let a = conv(input, outputs: outputs, kernel: 3, stride: stride)
        let b = conv(a, outputs: outputs, kernel: 3, relu: false)
        let needsProjection = stride != 1 || graph.tensors[input].channels != outputs
        let shortcut = needsProjection ? conv(input, outputs: outputs, kernel: 1, stride: stride, relu: false) : input
        return add(b, shortcut)
    }

    /// A small ResNet: stem conv 3x3 -> max pool 3x3/2 -> basic block (identity) -> basic block
    /// (stride 2, projection) -> global average pool -> fully connected, with labels.
    public static func tinyResNet(height: Int = 12, width: Int = 12, channels: Int = 3, stemWidth: Int = 8,
                                  classes: Int = 10, seed: UInt64 = 1) -> ModelGraph {
        var b = SyntheticModelBuilder(height: height, width: width, channels: channels, seed: seed)
        var x = b.conv(0, outputs: stemWidth, kernel: 3)
        x = b.maxPool(x, kernel: 3, stride: 2, pad: 1)
        x = b.basicBlock(x, outputs: stemWidth, stride: 1)
        x = b.basicBlock(x, outputs: 2 * stemWidth, stride: 2)
        x = b.globalAveragePool(x)
        b.fullyConnected(x, outputs: classes)
        b.graph.labels = (0..<classes).map { "class \($0)" }
        return b.graph
    }
}
