import RNFormat
import RNKernels
import RNRuntime

/// An int8 model held in memory on the host, before it becomes an `.rnb` file: tensors in
/// computation order (tensor 0 is the input, op i writes tensor i + 1) and the constants each
/// op owns. `RNBWriter` plans its arena and writes it. Shapes are NHWC with batch 1; logits
/// are [1, K].
public struct ModelGraph {
    public struct Tensor: Equatable {
        /// NHWC [1, H, W, C], or [1, K] for logits.
        public var shape: [Int]
        public var scale: Float
        public var zeroPoint: Int32
        public init(shape: [Int], scale: Float, zeroPoint: Int32) {
            self.shape = shape
            self.scale = scale
            self.zeroPoint = zeroPoint
        }
        public var byteCount: Int { shape.reduce(1, *) }
        public var height: Int { shape.count == 4 ? shape[1] : 1 }
        public var width: Int { shape.count == 4 ? shape[2] : 1 }
        public var channels: Int { shape.last ?? 1 }
    }

    /// Weights and requantization of a conv or fully connected op.
    public struct Weights {
        /// (C_out, KH, KW, C_in) int8 symmetric; fully connected (K, N).
        public var values: [Int8]
        /// (C_out) int32, scale input_scale * weight_scale[c].
        public var bias: [Int32]
        /// (C_out): input_scale * weight_scale[c] / output_scale, quantized.
        public var multipliers: [QuantizedMultiplier]
        /// (C_out) weight scales, when known (host-side checks; not written to the file).
        public var scales: [Double]
        public init(values: [Int8], bias: [Int32], multipliers: [QuantizedMultiplier], scales: [Double] = []) {
            self.values = values
            self.bias = bias
            self.multipliers = multipliers
            self.scales = scales
        }
    }

    public enum Op {
        case conv2D(input: Int, window: RNWindow, weights: Weights, activation: ActivationRange)
        case fullyConnected(input: Int, weights: Weights, activation: ActivationRange)
        /// TFLite int8 add; multipliers for input0, input1 and output.
        case add(input0: Int, input1: Int, leftShift: Int32, multipliers: (QuantizedMultiplier, QuantizedMultiplier,
                 QuantizedMultiplier), activation: ActivationRange)
        /// A conv whose int8 result (scale `convScale`, zero point `convZeroPoint`, not stored) is
        /// added to `residual` with TFLite add arithmetic; multipliers for the conv result, the
        /// residual and the output.
        case conv2DAdd(input: Int, residual: Int, window: RNWindow, weights: Weights, convScale: Float, convZeroPoint: Int32,
                       leftShift: Int32, multipliers: (QuantizedMultiplier, QuantizedMultiplier, QuantizedMultiplier),
                       activation: ActivationRange)
        case maxPool(input: Int, window: RNWindow, activation: ActivationRange)
        /// A conv (clamped by `activation`, quantised like the output) streamed into a max pool.
        case conv2DMaxPool(input: Int, window: RNWindow, poolWindow: RNWindow, weights: Weights, activation: ActivationRange)
        case globalAveragePool(input: Int, activation: ActivationRange)
        /// TFLite int8 MEAN over height and width to the output's own quantization; `multiplier`
        /// already adapted by the element count (`QuantizedMultiplier(meanOf:inputScale:outputScale:)`).
        case mean(input: Int, multiplier: QuantizedMultiplier, activation: ActivationRange)

        /// The op's kind in the file.
        public var kind: RNOpKind {
            switch self {
            case .conv2D: return .conv2D
            case .fullyConnected: return .fullyConnected
            case .add: return .add
            case .conv2DAdd: return .conv2DAdd
            case .maxPool: return .maxPool
            case .conv2DMaxPool: return .conv2DMaxPool
            case .globalAveragePool: return .globalAveragePool
            case .mean: return .mean
            }
        }

        /// The op record's window bytes (zero for kinds without a window).
        public var window: RNWindow {
            switch self {
            case .conv2D(_, let w, _, _), .conv2DAdd(_, _, let w, _, _, _, _, _, _), .conv2DMaxPool(_, let w, _, _, _),
                 .maxPool(_, let w, _):
                return w
            case .fullyConnected, .add, .globalAveragePool, .mean:
                return .zero
            }
        }

        public var activation: ActivationRange {
            switch self {
            case .conv2D(_, _, _, let a), .fullyConnected(_, _, let a), .add(_, _, _, _, let a),
                 .conv2DAdd(_, _, _, _, _, _, _, _, let a), .maxPool(_, _, let a), .conv2DMaxPool(_, _, _, _, let a),
                 .globalAveragePool(_, let a), .mean(_, _, let a):
                return a
            }
        }

        /// The op's weights, bias and requantization, for kinds that have them.
        public var weights: Weights? {
            switch self {
            case .conv2D(_, _, let w, _), .fullyConnected(_, let w, _), .conv2DAdd(_, _, _, let w, _, _, _, _, _),
                 .conv2DMaxPool(_, _, _, let w, _):
                return w
            case .add, .maxPool, .globalAveragePool, .mean:
                return nil
            }
        }

        /// The record's parameter slots, given where the writer put the op's constants (`conv`,
        /// for kinds with weights) and its ring.
        public func parameterSlots(conv: RNConvParams?, ringOffset: Int?) -> RNParamSlots {
            switch self {
            case .conv2D, .fullyConnected:
                return conv!.slots
            case let .conv2DAdd(_, _, _, _, _, zeroPoint, leftShift, m, _):
                return RNConvAddParams(conv: conv!, convZeroPoint: zeroPoint, leftShift: leftShift,
                                       convMultiplier: m.0.multiplier.raw, residualMultiplier: m.1.multiplier.raw,
                                       outputMultiplier: m.2.multiplier.raw, convShift: Int8(m.0.shift.raw),
                                       residualShift: Int8(m.1.shift.raw), outputShift: Int8(m.2.shift.raw)).slots
            case let .conv2DMaxPool(_, _, pool, _, _):
                return RNConvMaxPoolParams(conv: conv!, poolWindow: pool, ringOffset: UInt32(ringOffset!)).slots
            case let .add(_, _, leftShift, m, _):
                return RNAddParams(leftShift: leftShift, input0Multiplier: m.0.multiplier.raw, input0Shift: m.0.shift.raw,
                                   input1Multiplier: m.1.multiplier.raw, input1Shift: m.1.shift.raw,
                                   outputMultiplier: m.2.multiplier.raw, outputShift: m.2.shift.raw).slots
            case let .mean(_, m, _):
                return RNMeanParams(multiplier: m.multiplier.raw, shift: m.shift.raw).slots
            case .maxPool, .globalAveragePool:
                return RNParamSlots()
            }
        }

        /// Input tensor, window and weights of a convolution (conv2d, conv2d_add, conv2d_max_pool).
        public var convolution: (input: Int, window: RNWindow, weights: Weights)? {
            switch self {
            case .conv2D(let input, let window, let w, _), .conv2DAdd(let input, _, let window, let w, _, _, _, _, _),
                 .conv2DMaxPool(let input, let window, _, let w, _):
                return (input, window, w)
            default:
                return nil
            }
        }

        public var inputs: [Int] {
            switch self {
            case .conv2D(let input, _, _, _), .fullyConnected(let input, _, _), .conv2DMaxPool(let input, _, _, _, _),
                 .maxPool(let input, _, _), .globalAveragePool(let input, _), .mean(let input, _, _):
                return [input]
            case .add(let a, let b, _, _, _), .conv2DAdd(let a, let b, _, _, _, _, _, _, _):
                return [a, b]
            }
        }
    }

    public var tensors: [Tensor]
    public var ops: [Op]
    public var outputTensor: Int
    /// (C, 256): int8 input for each uint8 pixel value, per channel.
    public var inputTable: [Int8]
    public var labels: [String]?
    public var preprocessing: Preprocessing?
    /// `key=value` lines recorded in the file: what made it.
    public var provenance: [(String, String)]
    /// A name per op, written to the file (metadata key 4) when there is one for every op: the
    /// float layers it computes, fused ones joined by '+' ("block3.conv2+block3.add").
    public var names: [String] = []
    /// Host-side report data, not written to the file: the calibrated real range of each tensor,
    /// when the graph came from the exporter.
    public var ranges: [RealRange] = []

    public init(input: Tensor, inputTable: [Int8]) {
        tensors = [input]
        ops = []
        outputTensor = 0
        self.inputTable = inputTable
        provenance = []
    }

    /// Bytes of op `i`'s row ring (conv2d_max_pool: pool kernel_h convolution rows), rounded
    /// up to 16 as the runtime sizes it; 0 for other ops.
    public func ringBytes(op i: Int) -> Int {
        guard case let .conv2DMaxPool(input, w, pool, weights, _) = ops[i] else { return 0 }
        let x = tensors[input]
        return Conv2DMaxPoolOp.ringBytes(convolutionWidth: w.outputSize(height: x.height, width: x.width).width,
                                         channels: weights.bias.count, poolKernelH: pool.kernelH)
    }

    /// Appends an op writing a new tensor; returns the tensor's index.
    @discardableResult
    public mutating func append(_ op: Op, output: Tensor) -> Int {
        ops.append(op)
        tensors.append(output)
        outputTensor = tensors.count - 1
        return outputTensor
    }
}

extension ModelGraph: RNPlanGraph {
    public var planTensorCount: Int { tensors.count }
    public var planOpCount: Int { ops.count }
    public var planOutputTensor: Int { outputTensor }
    public func planKind(op i: Int) -> RNOpKind { ops[i].kind }
    public func planInput(op i: Int, _ k: Int) -> Int { k < ops[i].inputs.count ? ops[i].inputs[k] : -1 }
    public func planTensorBytes(_ t: Int) -> Int { tensors[t].byteCount }
    public func planRingBytes(op i: Int) -> Int { ringBytes(op: i) }
}

/// How a host turns an image into the model's uint8 input pixels (FORMAT.md, preprocessing).
public struct Preprocessing: Equatable {
    public typealias ResizeMode = RNPreprocessing.ResizeMode
    public typealias ChannelOrder = RNPreprocessing.ChannelOrder
    public var channels: Int
    public var channelOrder: ChannelOrder
    public var resizeMode: ResizeMode
    public var resizeHeight: Int
    public var resizeWidth: Int
    /// Per channel, on pixel / 255.
    public var mean: [Float]
    public var std: [Float]

    public init(channels: Int, channelOrder: ChannelOrder = .rgb, resizeMode: ResizeMode = .stretch,
                resizeHeight: Int, resizeWidth: Int, mean: [Float], std: [Float]) {
        self.channels = channels
        self.channelOrder = channelOrder
        self.resizeMode = resizeMode
        self.resizeHeight = resizeHeight
        self.resizeWidth = resizeWidth
        self.mean = mean
        self.std = std
    }

    /// The normalization an imported model gets when the user names none (on pixel / 255):
    /// ImageNet's for colour, 0.5 and 0.5 for gray.
    public static func defaultNormalization(channels: Int) -> (mean: [Float], std: [Float]) {
        channels == 1 ? ([0.5], [0.5]) : ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    }

    /// The file's preprocessing record (metadata key 2).
    public var record: RNPreprocessing {
        func three(_ v: [Float], _ unused: Float) -> (Float, Float, Float) {
            (v[0], channels > 1 ? v[1] : unused, channels > 2 ? v[2] : unused)
        }
        return RNPreprocessing(channels: channels, channelOrder: channelOrder, resizeMode: resizeMode, resizeHeight: resizeHeight, resizeWidth: resizeWidth,
                               mean: three(mean, 0), std: three(std, 1))
    }

    /// The (C, 256) table mapping uint8 pixels to int8 input of the given quantization:
    /// q = clamp(round(((p / 255 - mean[c]) / std[c]) / scale) + zero_point, -128, 127), rounded
    /// half away from zero in Double. E.g. mean 0.5, std 0.5, scale 1/127.5, zp 0: p 0 -> -128,
    /// p 255 -> 127, p 128 -> round(0.50) = 1.
    public func inputTable(scale: Float, zeroPoint: Int32) -> [Int8] {
        var table = [Int8](repeating: 0, count: channels * 256)
        for c in 0..<channels {
            for p in 0..<256 {
                let real = (Double(p) / 255 - Double(mean[c])) / Double(std[c])
                let q = (real / Double(scale)).rounded() + Double(zeroPoint)
                table[c * 256 + p] = Int8(max(-128, min(127, q)))
            }
        }
        return table
    }
}
