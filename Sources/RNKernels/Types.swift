import RNFormat

// Parameter types shared by reference and tiled kernels. Kernels take raw pointers into the
// arena and the model's constants; shapes and quantization travel beside them in these structs.

/// Height x width x channels of an NHWC int8 feature map with batch 1.
public struct FeatureShape: Equatable, Sendable {
    public var height: Int
    public var width: Int
    public var channels: Int
    @inlinable public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }
    @inlinable public var elementCount: Int { height * width * channels }
}

/// Clamp range of a fused activation, in output int8 units. ReLU is [zero_point, 127].
public struct ActivationRange: Equatable, Sendable {
    public var min: Int32
    public var max: Int32
    @inlinable public init(min: Int32, max: Int32) {
        self.min = min
        self.max = max
    }
    public static let none = ActivationRange(min: -128, max: 127)
    @inlinable @inline(__always) public func clamp(_ x: Int32) -> Int32 { Swift.min(Swift.max(x, min), max) }
}

/// Per-output-channel requantization constants, each an array of C_out int32 values.
public struct PerChannelRequantization {
    /// (C_out), int32, scale = input_scale * weight_scale[c], zero point 0.
    public var bias: UnsafePointer<Int32>
    /// (C_out), Q31 mantissas.
    public var multiplier: UnsafePointer<Int32>
    /// (C_out), shifts in -31...30.
    public var shift: UnsafePointer<Int32>
    @inlinable public init(bias: UnsafePointer<Int32>, multiplier: UnsafePointer<Int32>, shift: UnsafePointer<Int32>) {
        self.bias = bias
        self.multiplier = multiplier
        self.shift = shift
    }
}

/// Shapes and quantization of a 2-D convolution.
public struct Conv2DS8Params: Sendable {
    public var input: FeatureShape
    public var output: FeatureShape
    public var window: RNWindow
    public var inputZeroPoint: Int32
    public var outputZeroPoint: Int32
    public var activation: ActivationRange
    @inlinable public init(input: FeatureShape, output: FeatureShape, window: RNWindow,
                           inputZeroPoint: Int32, outputZeroPoint: Int32, activation: ActivationRange) {
        self.input = input
        self.output = output
        self.window = window
        self.inputZeroPoint = inputZeroPoint
        self.outputZeroPoint = outputZeroPoint
        self.activation = activation
    }
    /// Multiply-accumulates, padded taps counted: OH * OW * C_out * KH * KW * C_in.
    @inlinable public var macs: Int {
        output.height * output.width * output.channels * window.kernelH * window.kernelW * input.channels
    }
}

/// Shapes and quantization of a fully connected layer: `inputCount` -> `outputCount`.
public struct FullyConnectedS8Params: Sendable {
    public var inputCount: Int
    public var outputCount: Int
    public var inputZeroPoint: Int32
    public var outputZeroPoint: Int32
    public var activation: ActivationRange
    @inlinable public init(inputCount: Int, outputCount: Int, inputZeroPoint: Int32,
                           outputZeroPoint: Int32, activation: ActivationRange) {
        self.inputCount = inputCount
        self.outputCount = outputCount
        self.inputZeroPoint = inputZeroPoint
        self.outputZeroPoint = outputZeroPoint
        self.activation = activation
    }
    @inlinable public var macs: Int { inputCount * outputCount }
}

/// TFLite int8 Add parameters: each input rescaled to a common scale with `leftShift` bits of
/// headroom, summed, then rescaled to the output.
public struct AddS8Params: Sendable {
    public var count: Int
    public var input0ZeroPoint: Int32
    public var input1ZeroPoint: Int32
    public var outputZeroPoint: Int32
    /// 20 for int8 in TFLite.
    public var leftShift: Int32
    public var input0: QuantizedMultiplier
    public var input1: QuantizedMultiplier
    public var output: QuantizedMultiplier
    public var activation: ActivationRange
    @inlinable public init(count: Int, input0ZeroPoint: Int32, input1ZeroPoint: Int32, outputZeroPoint: Int32,
                           leftShift: Int32, input0: QuantizedMultiplier, input1: QuantizedMultiplier,
                           output: QuantizedMultiplier, activation: ActivationRange) {
        self.count = count
        self.input0ZeroPoint = input0ZeroPoint
        self.input1ZeroPoint = input1ZeroPoint
        self.outputZeroPoint = outputZeroPoint
        self.leftShift = leftShift
        self.input0 = input0
        self.input1 = input1
        self.output = output
        self.activation = activation
    }
}

/// Max pool: input and output share scale and zero point.
public struct PoolS8Params: Sendable {
    public var input: FeatureShape
    public var output: FeatureShape
    public var window: RNWindow
    public var activation: ActivationRange
    @inlinable public init(input: FeatureShape, output: FeatureShape, window: RNWindow, activation: ActivationRange) {
        self.input = input
        self.output = output
        self.window = window
        self.activation = activation
    }
}

/// Output size of a window sliding over `size` with the given stride and paddings, or -1 when
/// the padded input is smaller than the window.
@inlinable
public func windowOutputSize(_ size: Int, kernel: Int, stride: Int, padBefore: Int, padAfter: Int) -> Int {
    let padded = size + padBefore + padAfter
    guard kernel >= 1, stride >= 1, padded >= kernel else { return -1 }
    return (padded - kernel) / stride + 1
}

extension RNWindow {
    /// Output height and width of this window over an input of the given size
    /// (`windowOutputSize` in each direction; -1 where the padded input is too small).
    @inlinable
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (windowOutputSize(height, kernel: kernelH, stride: strideH, padBefore: padTop, padAfter: padBottom),
         windowOutputSize(width, kernel: kernelW, stride: strideW, padBefore: padLeft, padAfter: padRight))
    }
}
