import RNFormat
import RNKernels

// The op table: every op kind the runtime executes, registered once (`RNModel.visit`). Each kind
// lives in one file beside this one, as a type that decodes the op's record into typed
// parameters and holds everything the runtime knows about it: validation against its tensors
// and constants, the ring it needs in the arena, its MAC count, and the kernel call. `Validation`,
// `Invoke`, the memory-plan rules and the reports iterate over ops through this table only.
//
// Adding an op kind: its traits and parameter slots in RNFormat/Layout.swift (and FORMAT.md), its
// reference kernel in RNKernels/Reference, a file here, and one line in `visit` below.

/// What the runtime knows about one op kind.
protocol RNOpImplementation {
    /// Decodes `record` (op `index` of `model`). Only RNBFile's record checks have run: the
    /// decoded values are trusted only after `validate`.
    init(_ record: RNOpRecordView)
    /// Checks the op against its tensors, windows, constants and scratch; throws the first problem.
    func validate() throws(RNError)
    /// Multiply-accumulates, padded taps counted (0 for ops without weights).
    var macs: Int { get }
    /// Bytes of constant weights.
    var weightBytes: Int { get }
    /// The arena range this op uses during its run only (a ring of rows), or nil.
    var ring: RNArenaRange? { get }
    /// Runs the validated op: inputs and output in `arena`.
    func run(_ arena: RNArenaView)
}

extension RNOpImplementation {
    var macs: Int { 0 }
    var weightBytes: Int { 0 }
    var ring: RNArenaRange? { nil }
}

/// An operation over any op kind, applied by `RNModel.visit`.
protocol RNOpVisitor {
    associatedtype Result
    func visit<Op: RNOpImplementation>(_ op: Op) throws(RNError) -> Result
}

extension RNModel {
    /// The registration point: op `index` decoded as its kind's implementation, handed to `visitor`.
    func visit<V: RNOpVisitor>(op index: Int, _ visitor: V) throws(RNError) -> V.Result {
        let record = RNOpRecordView(model: self, index: index)
        switch record.op.kind {
        case .conv2D: return try visitor.visit(Conv2DOp(record))
        case .fullyConnected: return try visitor.visit(FullyConnectedOp(record))
        case .add: return try visitor.visit(AddOp(record))
        case .maxPool: return try visitor.visit(MaxPoolOp(record))
        case .globalAveragePool: return try visitor.visit(GlobalAveragePoolOp(record))
        case .conv2DAdd: return try visitor.visit(Conv2DAddOp(record))
        case .conv2DMaxPool: return try visitor.visit(Conv2DMaxPoolOp(record))
        case .mean: return try visitor.visit(MeanOp(record))
        }
    }
}

// MARK: - What op files share

/// A byte range of the arena, 16-byte aligned. (A struct, not a tuple: the metadata of a tuple
/// returned through the generic visitor is built at run time, an allocation on first use.)
public struct RNArenaRange: Sendable {
    public var offset: Int
    public var bytes: Int
}

/// One op record with the model it belongs to: the tensors, constants and error index op files use.
struct RNOpRecordView {
    let model: RNModel
    let index: Int
    let op: RNOp

    init(model: RNModel, index: Int) {
        self.model = model
        self.index = index
        op = model.file.op(index)
    }

    var file: RNBFile { model.file }
    var input: RNTensor { file.tensor(op.input0) }
    /// Input 1 (the second addend, the residual); only for two-input kinds.
    var input1: RNTensor { file.tensor(op.input1) }
    var output: RNTensor { file.tensor(op.output) }
    var activation: ActivationRange { ActivationRange(min: op.activationMin, max: op.activationMax) }

    func error(_ status: RNStatus, found: Int = 0, limit: Int = 0) -> RNError {
        RNError(status, index: index, found: found, limit: limit)
    }

    /// A pointer `offset` bytes into the constants section (only dereferenced once validated).
    func constant<T>(_ offset: UInt32, as: T.Type) -> UnsafePointer<T> {
        (file.constants + Int(bitPattern: UInt(offset))).assumingMemoryBound(to: T.self)
    }

    func checkFeatureMap(_ t: Int) throws(RNError) {
        guard file.tensor(t).rank == 4 else { throw error(.shapeMismatch, found: t) }
    }

    /// Kernel, stride and padding of `w`, and the output size it gives over `input`.
    func checkWindow(_ w: RNWindow, input: FeatureShape, output: FeatureShape) throws(RNError) {
        guard w.kernelH >= 1, w.kernelW >= 1 else { throw error(.badWindow) }
        guard w.strideH >= 1, w.strideW >= 1 else { throw error(.badStride) }
        guard w.padTop < w.kernelH, w.padBottom < w.kernelH, w.padLeft < w.kernelW, w.padRight < w.kernelW else {
            throw error(.badPadding)
        }
        let (oh, ow) = w.outputSize(height: input.height, width: input.width)
        guard oh == output.height, ow == output.width else { throw error(.badOutputShape, found: output.height, limit: oh) }
    }

    /// A reduction over height and width: a rank-4 input, an output of its C channels, C innermost.
    func checkChannelReduction() throws(RNError) {
        try checkFeatureMap(op.input0)
        guard output.innermost == input.channels, output.byteCount == input.channels else {
            throw error(.channelMismatch, found: output.innermost, limit: input.channels)
        }
    }

    func checkSameQuantization(_ a: RNTensor, _ b: RNTensor) throws(RNError) {
        guard a.scale == b.scale, a.zeroPoint == b.zeroPoint else { throw error(.quantizationMismatch) }
    }

    /// TFLite add parameters: left shift 0...23, input shifts <= 0, every multiplier valid.
    func checkAddParameters(_ p: AddS8Params) throws(RNError) {
        guard p.leftShift >= 0, p.leftShift <= 23, p.input0.shift.raw <= 0, p.input1.shift.raw <= 0 else {
            throw error(.badAddParameters, found: Int(p.leftShift))
        }
        guard p.input0.isValid, p.input1.isValid, p.output.isValid else { throw error(.badMultiplier) }
    }
}

/// The arena during one op's run.
struct RNArenaView {
    let base: UnsafeMutableRawPointer
    /// The kernel scratch at the arena's end (`scratch_bytes`).
    let kernelScratch: UnsafeMutableRawPointer
    /// The op's output tensor.
    let output: UnsafeMutablePointer<Int8>

    func data(_ t: RNTensor) -> UnsafePointer<Int8> {
        UnsafePointer((base + t.arenaOffset).assumingMemoryBound(to: Int8.self))
    }
    func bytes(at range: RNArenaRange) -> UnsafeMutablePointer<Int8> {
        (base + range.offset).assumingMemoryBound(to: Int8.self)
    }
}

extension RNTensor {
    /// Height, width and channels of a rank-4 tensor.
    var featureShape: FeatureShape { FeatureShape(height: height, width: width, channels: channels) }
}
