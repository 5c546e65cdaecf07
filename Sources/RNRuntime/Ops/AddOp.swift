import RNFormat
import RNKernels

/// add: TensorFlow Lite's int8 Add of two tensors of one shape (FORMAT.md, op kind 3). The output
/// may overwrite either input (`RNOpKind.mayRunInPlace`).
struct AddOp: RNOpImplementation {
    let record: RNOpRecordView

    init(_ record: RNOpRecordView) { self.record = record }

    var params: AddS8Params {
        let p = record.op.params(RNAddParams.self)
        return AddS8Params(count: record.output.byteCount, input0ZeroPoint: record.input.zeroPoint,
                           input1ZeroPoint: record.input1.zeroPoint, outputZeroPoint: record.output.zeroPoint,
                           leftShift: p.leftShift, input0: QuantizedMultiplier(p.input0Multiplier, p.input0Shift),
                           input1: QuantizedMultiplier(p.input1Multiplier, p.input1Shift),
                           output: QuantizedMultiplier(p.outputMultiplier, p.outputShift), activation: record.activation)
    }

    func validate() throws(RNError) {
        let a = record.input, b = record.input1, out = record.output
        guard a.rank == out.rank, b.rank == out.rank, a.dims == out.dims, b.dims == out.dims else {
            throw record.error(.shapeMismatch)
        }
        try record.checkAddParameters(params)
    }

    func run(_ arena: RNArenaView) {
        addS8(params, input0: arena.data(record.input), input1: arena.data(record.input1), output: arena.output)
    }
}
