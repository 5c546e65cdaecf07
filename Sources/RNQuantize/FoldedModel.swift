import Foundation
import RNFormat
import RNTrain
import RNTrainKernels

/// A trained network with batch norm folded into the convolutions, as a flat list of float ops
/// in the int8 graph's order and numbering (tensor 0 is the input, op i writes tensor i + 1).
/// It runs in float for calibration and for checking the fold, and is what `Quantizer` turns
/// into an int8 `ModelGraph`.
public struct FoldedModel {
    /// A fused activation: none, ReLU, or ReLU6 (ONNX Clip(0, 6)).
    public enum Activation: Equatable, ExpressibleByBooleanLiteral {
        case none, relu, relu6
        /// `true` is ReLU, `false` none.
        public init(booleanLiteral relu: Bool) { self = relu ? .relu : .none }
        public init(_ relu: Bool) { self = relu ? .relu : .none }
        @inline(__always) public func apply(_ x: Float) -> Float {
            switch self {
            case .none: return x
            case .relu: return max(0, x)
            case .relu6: return min(6, max(0, x))
            }
        }
        /// The real range it lets through.
        public var bounds: (low: Float, high: Float)? {
            switch self {
            case .none: return nil
            case .relu: return (0, .infinity)
            case .relu6: return (0, 6)
            }
        }
    }

    public enum Op {
        /// weights (C_out, KH, KW, C_in), bias (C_out); `relu` fused.
        case conv(input: Int, weights: [Float], bias: [Float], outChannels: Int, kernel: Int, stride: Int,
                  padding: Int, relu: Activation)
        case add(Int, Int, relu: Activation)
        case maxPool(input: Int, kernel: Int, stride: Int, padding: Int)
        case globalAveragePool(input: Int)
        /// weights (K, C), bias (K).
        case fullyConnected(input: Int, weights: [Float], bias: [Float], outputs: Int)

        public var inputs: [Int] {
            switch self {
            case .conv(let i, _, _, _, _, _, _, _), .maxPool(let i, _, _, _), .globalAveragePool(let i),
                 .fullyConnected(let i, _, _, _):
                return [i]
            case .add(let a, let b, _): return [a, b]
            }
        }
    }

    public private(set) var ops: [Op] = []
    /// Op names for reports: "stem", "block3.conv2", "block3.shortcut", "fc"...
    public private(set) var names: [String] = []
    /// A float convolution layer per conv op, holding its folded weights.
    var convolutions: [Int: Conv2D] = [:]
    /// The input image: height, width and channels (NHWC).
    public let input: (height: Int, width: Int, channels: Int)
    public let info: CheckpointInfo

    /// A folded model from ops already folded elsewhere (the ONNX importer), checked for order.
    public init(ops: [Op], names: [String], input: (height: Int, width: Int, channels: Int), info: CheckpointInfo) throws {
        self.input = input
        self.info = info
        for (i, op) in ops.enumerated() where op.inputs.contains(where: { $0 > i }) {
            throw ExportError("\(names[i]): reads a tensor computed later")
        }
        self.ops = ops
        self.names = names
        buildConvolutions()
    }

    /// Folds `net` (eval mode): for each conv followed by batch norm with running mean m,
    /// variance v, gamma g and beta b, per output channel c:
    ///   w'[c] = w[c] * g[c] / sqrt(v[c] + eps),   b'[c] = b[c] - m[c] * g[c] / sqrt(v[c] + eps).
    /// Projection shortcuts are emitted before the block's convolutions, so the block input can
    /// die early; plain blocks fuse their output ReLU into the second convolution.
    public init(_ net: ResNet, info: CheckpointInfo) throws {
        let a = net.architecture
        input = (a.inputHeight, a.inputWidth, a.inputChannels)
        self.info = info
        var current = 0
        func emit(_ op: Op, _ name: String) -> Int {
            ops.append(op)
            names.append(name)
            return ops.count
        }
        func fold(_ unit: ConvBN, input: Int, relu: Activation, name: String) throws -> Int {
            let conv = unit.conv, bn = unit.bn
            let taps = conv.kernel * conv.kernel * conv.inChannels
            var weights = conv.weight.value
            var bias = [Float](repeating: 0, count: conv.outChannels)
            for c in 0..<conv.outChannels {
                let k = bn.gamma.value[c] / (bn.runningVar[c] + bn.epsilon).squareRoot()
                for t in 0..<taps { weights[c * taps + t] *= k }
                bias[c] = bn.beta.value[c] - bn.runningMean[c] * k
            }
            guard weights.allSatisfy(\.isFinite), bias.allSatisfy(\.isFinite) else {
                throw ExportError("\(name): weights or batch-norm statistics are not finite")
            }
            return emit(.conv(input: input, weights: weights, bias: bias, outChannels: conv.outChannels,
                              kernel: conv.kernel, stride: conv.stride, padding: conv.padding, relu: relu), name)
        }
        current = try fold(net.stem, input: current, relu: true, name: "stem")
        if let pool = net.stemPool {
            current = emit(.maxPool(input: current, kernel: pool.kernel, stride: pool.stride, padding: pool.padding), "stem.pool")
        }
        for (b, block) in net.blocks.enumerated() {
            let input = current
            let shortcut = try block.projection.map { try fold($0, input: input, relu: false, name: "block\(b).shortcut") }
            let first = try fold(block.first, input: input, relu: true, name: "block\(b).conv1")
            let second = try fold(block.second, input: first, relu: Activation(!block.residual), name: "block\(b).conv2")
            current = block.residual ? emit(.add(second, shortcut ?? input, relu: true), "block\(b).add") : second
        }
        current = emit(.globalAveragePool(input: current), "pool")
        let fc = net.classifier
        guard fc.weight.value.allSatisfy(\.isFinite), fc.bias.value.allSatisfy(\.isFinite) else {
            throw ExportError("fc: weights are not finite")
        }
        _ = emit(.fullyConnected(input: current, weights: fc.weight.value, bias: fc.bias.value, outputs: fc.outFeatures), "fc")
        buildConvolutions()
    }

    /// A float convolution layer per conv op, to run the folded weights.
    mutating func buildConvolutions() {
        var seed = SeededRandom(seed: 0)
        var channels = [input.channels]
        for (i, op) in ops.enumerated() {
            switch op {
            case let .conv(input, weights, _, outChannels, kernel, stride, padding, _):
                let conv = Conv2D(channels[input], outChannels, kernel: kernel, stride: stride, padding: padding, rng: &seed)
                conv.weight.value = weights
                convolutions[i] = conv
                channels.append(outChannels)
            case .fullyConnected(_, _, _, let outputs): channels.append(outputs)
            case .add(let a, _, _): channels.append(channels[a])
            case .maxPool(let input, _, _, _), .globalAveragePool(let input): channels.append(channels[input])
            }
        }
    }

    /// Runs a batch (N, H, W, C) of normalised images; returns every tensor, index 0 the input.
    public func run(_ x: Tensor) -> [Tensor] {
        var tensors = [x]
        for i in ops.indices { tensors.append(run(op: i, tensors)) }
        return tensors
    }

    /// Op `i` on `tensors` (indexed like the model; only the op's inputs are read).
    public func run(op i: Int, _ tensors: [Tensor]) -> Tensor {
        switch ops[i] {
        case let .conv(input, _, bias, outChannels, _, _, _, relu):
            let y = convolutions[i]!.forward(tensors[input], training: false)
            let c = outChannels
            for r in 0..<y.rows {
                let row = y.pointer + r * c
                for ch in 0..<c { row[ch] = relu.apply(row[ch] + bias[ch]) }
            }
            return y
        case let .add(a, b, relu):
            let y = Tensor.like(tensors[a], zeroed: false)
            for k in 0..<y.count {
                let v = tensors[a].data[k] + tensors[b].data[k]
                y.data[k] = relu.apply(v)
            }
            return y
        case let .maxPool(input, kernel, stride, padding):
            return MaxPool(kernel: kernel, stride: stride, padding: padding).forward(tensors[input], training: false)
        case .globalAveragePool(let input):
            return GlobalAveragePool().forward(tensors[input], training: false)
        case let .fullyConnected(input, weights, bias, outputs):
            let src = tensors[input]
            let features = src.h * src.w * src.c
            let y = Tensor(n: src.n, h: 1, w: 1, c: outputs)
            for b in 0..<src.n { for k in 0..<outputs { y.data[b * outputs + k] = bias[k] } }
            weights.withUnsafeBufferPointer { w in
                sgemm(transA: false, transB: true, m: src.n, n: outputs, k: features, a: src.pointer, lda: features,
                      b: w.baseAddress!, ldb: features, c: y.pointer, ldc: outputs, accumulate: true)
            }
            return y
        }
    }
}

/// An export problem, naming the layer or file: one line for users.
public struct ExportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
