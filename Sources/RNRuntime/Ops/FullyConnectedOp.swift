import RNFormat
import RNKernels

/// fully_connected: the input flattened in storage order times `[K][N]` weights (layout 0) into
/// a `[1, K]` output (FORMAT.md, op kind 2).
struct FullyConnectedOp: RNOpImplementation {
    let record: RNOpRecordView
    let weights: OpWeights
    let params: FullyConnectedS8Params

    init(_ record: RNOpRecordView) {
        self.record = record
        weights = OpWeights(record)
        let input = record.input, output = record.output
        params = FullyConnectedS8Params(inputCount: input.byteCount, outputCount: output.byteCount,
                                        inputZeroPoint: input.zeroPoint, outputZeroPoint: output.zeroPoint,
                                        activation: record.activation)
    }

    func validate() throws(RNError) {
        guard record.output.rank == 2 else { throw record.error(.shapeMismatch, found: record.op.output) }
        let (count, overflow) = params.outputCount.multipliedReportingOverflow(by: params.inputCount)
        guard !overflow else { throw record.error(.badWeightsSize, found: -1) }
        try weights.validate(outputs: params.outputCount, weightCount: count)
    }

    var macs: Int { params.macs }
    var weightBytes: Int { weights.byteCount }

    func run(_ arena: RNArenaView) {
        fullyConnectedS8(params, input: arena.data(record.input), weights: weights.values,
                         requantization: weights.requantization, output: arena.output)
    }
}
