import RNFormat
import RNKernels

/// fully_connected: the input flattened in storage order times `[K][N]` weights (layout 0) into
/// a `[1, K]` output (FORMAT.md, op kind 2).
struct FullyConnectedOp: RNOpImplementation {
    let record: RNOpRecordView
    var weights: OpWeights { OpWeights(record) }
    var params: FullyConnectedS8Params {
        FullyConnectedS8Params(inputCount: record.input.byteCount, outputCount: record.output.byteCount,
                               inputZeroPoint: record.input.zeroPoint, outputZeroPoint: record.output.zeroPoint,
                               activation: record.activation)
    }

    init(_ record: RNOpRecordView) { self.record = record }

    func validate() throws(RNError) {
        guard record.output.rank == 2 else { throw record.error(.shapeMismatch, found: record.op.output) }
        let p = params
        let (count, overflow) = p.outputCount.multipliedReportingOverflow(by: p.inputCount)
        guard !overflow else { throw record.error(.badWeightsSize, found: -1) }
        try weights.validate(outputs: p.outputCount, weightCount: count)
    }

    var macs: Int { params.macs }
    var weightBytes: Int { weights.byteCount }

    func run(_ arena: RNArenaView) {
        let w = weights
        fullyConnectedS8(params, input: arena.data(record.input), weights: w.values, requantization: w.requantization,
                         output: arena.output)
    }
}
