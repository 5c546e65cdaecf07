import RNFormat
import RNKernels

/// global_average_pool: each channel's mean over H x W in the input's own scale and zero point,
/// rounded half away from zero (FORMAT.md, op kind 5).
struct GlobalAveragePoolOp: RNOpImplementation {
    let record: RNOpRecordView

    init(_ record: RNOpRecordView) { self.record = record }

    func validate() throws(RNError) {
        try record.checkChannelReduction()
        try record.checkSameQuantization(record.input, record.output)
    }

    func run(_ arena: RNArenaView) {
        globalAveragePoolS8Reference(input: arena.data(record.input), shape: record.input.featureShape,
                                     activation: record.activation, output: arena.output)
    }
}
