import RNFormat
import RNKernels

/// An executable model over caller-owned `.rnb` bytes.
///
/// Construct once (`RNModel(bytes:)` validates the file, the graph and the memory plan), then
/// `invoke` as often as needed. Nothing is copied and nothing is allocated, ever; the bytes must
/// stay alive and unchanged while the model is used. `invoke` runs blind: every shape, offset and
/// parameter it touches was proven at construction.
///
/// The arena is the caller's: `arenaBytes` bytes, 16-byte aligned, used only during `invoke`
/// (activations in the plan's places, kernel scratch at the end). It holds nothing between
/// calls, so one arena may serve several models in turn, but not two invokes at once.
public struct RNModel: Sendable {
    public let file: RNBFile

    public init(bytes: UnsafeRawBufferPointer) throws(RNError) {
        file = try RNBFile(validating: bytes)
        try validateGraph()
        try validatePlan()
    }

    /// Bytes of arena `invoke` needs.
    @inlinable public var arenaBytes: Int { file.arenaBytes }
    /// The least arena any plan of this graph could use (see FORMAT.md).
    @inlinable public var arenaLowerBound: Int { file.arenaLowerBound }
    @inlinable public var opCount: Int { file.opCount }
    @inlinable public var input: RNTensor { file.tensor(file.inputTensor) }
    @inlinable public var output: RNTensor { file.tensor(file.outputTensor) }

    /// Multiply-accumulates of op `index` (padded taps counted); 0 for add and pooling.
    public func macs(op index: Int) -> Int {
        let op = file.op(index)
        switch op.kind {
        case .conv2D, .conv2DAdd, .conv2DMaxPool: return convParams(op).macs
        case .fullyConnected: return file.tensor(op.input0).byteCount * file.tensor(op.output).byteCount
        case .add, .maxPool, .globalAveragePool: return 0
        }
    }

    /// Bytes of constant weights of op `index`.
    public func weightBytes(op index: Int) -> Int {
        let op = file.op(index)
        switch op.kind {
        case .conv2D, .fullyConnected, .conv2DAdd, .conv2DMaxPool: return Int(bitPattern: UInt(op.param(RNConvParam.weightsSize)))
        case .add, .maxPool, .globalAveragePool: return 0
        }
    }

    // MARK: - Op parameters, decoded from the validated tables

    @inlinable
    func featureShape(_ t: RNTensor) -> FeatureShape {
        FeatureShape(height: t.height, width: t.width, channels: t.channels)
    }

    @inlinable
    func activation(_ op: RNOp) -> ActivationRange {
        ActivationRange(min: op.activationMin, max: op.activationMax)
    }

    /// Conv parameters; for conv2d_add and conv2d_max_pool, those of the unstored convolution.
    @inlinable
    func convParams(_ op: RNOp) -> Conv2DS8Params {
        let input = file.tensor(op.input0), output = file.tensor(op.output)
        if op.kind == .conv2DMaxPool {
            let w = op.window
            let size = w.outputSize(height: input.height, width: input.width)
            let shape = FeatureShape(height: size.height, width: size.width, channels: output.channels)
            return Conv2DS8Params(input: featureShape(input), output: shape, window: w, inputZeroPoint: input.zeroPoint,
                                  outputZeroPoint: output.zeroPoint, activation: activation(op))
        }
        if op.kind == .conv2DAdd {
            return Conv2DS8Params(input: featureShape(input), output: featureShape(output), window: op.window,
                                  inputZeroPoint: input.zeroPoint, outputZeroPoint: op.signedParam(RNConvAddParam.convZeroPoint),
                                  activation: .none)
        }
        return Conv2DS8Params(input: featureShape(input), output: featureShape(output), window: op.window,
                              inputZeroPoint: input.zeroPoint, outputZeroPoint: output.zeroPoint,
                              activation: activation(op))
    }

    /// The add half of a conv2d_add: the convolution result is input 0, the residual input 1.
    @inlinable
    func convAddParams(_ op: RNOp) -> AddS8Params {
        let shifts = op.param(RNConvAddParam.packedShifts)
        func shift(_ byte: UInt32) -> Int32 { Int32(Int8(truncatingIfNeeded: (shifts >> (8 * byte)) & 0xFF)) }
        return AddS8Params(count: file.tensor(op.output).byteCount,
                           input0ZeroPoint: op.signedParam(RNConvAddParam.convZeroPoint),
                           input1ZeroPoint: file.tensor(op.input1).zeroPoint,
                           outputZeroPoint: file.tensor(op.output).zeroPoint,
                           leftShift: op.signedParam(RNConvAddParam.leftShift),
                           input0: QuantizedMultiplier(op.signedParam(RNConvAddParam.convMultiplier), shift(0)),
                           input1: QuantizedMultiplier(op.signedParam(RNConvAddParam.residualMultiplier), shift(1)),
                           output: QuantizedMultiplier(op.signedParam(RNConvAddParam.outputMultiplier), shift(2)),
                           activation: activation(op))
    }

    @inlinable
    func constant<T>(_ op: RNOp, _ slot: Int, as: T.Type) -> UnsafePointer<T> {
        (file.constants + Int(bitPattern: UInt(op.param(slot)))).assumingMemoryBound(to: T.self)
    }

    @inlinable
    func requantization(_ op: RNOp) -> PerChannelRequantization {
        PerChannelRequantization(bias: constant(op, RNConvParam.biasOffset, as: Int32.self),
                                 multiplier: constant(op, RNConvParam.multiplierOffset, as: Int32.self),
                                 shift: constant(op, RNConvParam.shiftOffset, as: Int32.self))
    }

    @inlinable
    func addParams(_ op: RNOp) -> AddS8Params {
        func multiplier(_ m: Int, _ s: Int) -> QuantizedMultiplier {
            QuantizedMultiplier(op.signedParam(m), op.signedParam(s))
        }
        return AddS8Params(count: file.tensor(op.output).byteCount,
                           input0ZeroPoint: file.tensor(op.input0).zeroPoint,
                           input1ZeroPoint: file.tensor(op.input1).zeroPoint,
                           outputZeroPoint: file.tensor(op.output).zeroPoint,
                           leftShift: op.signedParam(RNAddParam.leftShift),
                           input0: multiplier(RNAddParam.input0Multiplier, RNAddParam.input0Shift),
                           input1: multiplier(RNAddParam.input1Multiplier, RNAddParam.input1Shift),
                           output: multiplier(RNAddParam.outputMultiplier, RNAddParam.outputShift),
                           activation: activation(op))
    }

    /// Arena offset of a conv2d_max_pool's row ring.
    @inlinable
    func ringOffset(_ op: RNOp) -> Int { Int(bitPattern: UInt(op.param(RNConvMaxPoolParam.ringOffset))) }

    /// Bytes of op `i`'s row ring (conv2d_max_pool), rounded up to 16; 0 for other ops.
    public func ringBytes(op i: Int) -> Int {
        let op = file.op(i)
        guard op.kind == .conv2DMaxPool else { return 0 }
        return (conv2DMaxPoolS8ScratchByteCount(convParams(op), convPoolParams(op)) + 15) & ~15
    }

    /// The pool half of a conv2d_max_pool.
    @inlinable
    func convPoolParams(_ op: RNOp) -> PoolS8Params {
        PoolS8Params(input: convParams(op).output, output: featureShape(file.tensor(op.output)), window: op.poolWindow,
                     activation: .none)
    }

    @inlinable
    func poolParams(_ op: RNOp) -> PoolS8Params {
        PoolS8Params(input: featureShape(file.tensor(op.input0)), output: featureShape(file.tensor(op.output)),
                     window: op.window, activation: activation(op))
    }
}
