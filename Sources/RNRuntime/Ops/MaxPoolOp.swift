import RNFormat
import RNKernels

/// max_pool: the window's maximum, padding never a candidate; scale and zero point kept
/// (FORMAT.md, op kind 4).
struct MaxPoolOp: RNOpImplementation {
    let record: RNOpRecordView
    let params: PoolS8Params

    init(_ record: RNOpRecordView) {
        self.record = record
        params = PoolS8Params(input: record.input.featureShape, output: record.output.featureShape,
                              window: record.op.window, activation: record.activation)
    }

    func validate() throws(RNError) {
        try record.checkFeatureMap(record.op.input0)
        try record.checkFeatureMap(record.op.output)
        try record.checkWindow(params.window, input: params.input, output: params.output)
        guard params.input.channels == params.output.channels else {
            throw record.error(.channelMismatch, found: params.output.channels, limit: params.input.channels)
        }
        try record.checkSameQuantization(record.input, record.output)
    }

    func run(_ arena: RNArenaView) {
        maxPoolS8Reference(params, input: arena.data(record.input), output: arena.output)
    }
}
