import RNFormat
import RNKernels

/// global_average_pool: each channel's mean over H x W in the input's own scale and zero point,
/// rounded half away from zero (FORMAT.md, op kind 5).
struct GlobalAveragePoolOp: RNOpImplementation {
    let record: RNOpRecordView

    init(_ record: RNOpRecordView) { self.record = record }

    func validate() throws(RNError) {
        try record.checkFeatureMap(record.op.input0)
        let input = record.input, output = record.output
        guard output.innermost == input.channels, output.byteCount == input.channels else {
            throw record.error(.channelMismatch, found: output.innermost, limit: input.channels)
        }
        try record.checkSameQuantization(input, output)
    }

    func run(_ arena: RNArenaView) {
        globalAveragePoolS8Reference(input: arena.data(record.input), shape: record.input.featureShape,
                                     activation: record.activation, output: arena.output)
    }
}
