import RNFormat
import RNKernels

/// mean: TensorFlow Lite's int8 MEAN over height and width, requantized to the output's own scale
/// and zero point with the multiplier adapted by the element count (FORMAT.md, op kind 8). What
/// Keras' GlobalAveragePooling2D becomes in an int8 `.tflite`.
struct MeanOp: RNOpImplementation {
    let record: RNOpRecordView
    var multiplier: QuantizedMultiplier {
        let p = record.op.params(RNMeanParams.self)
        return QuantizedMultiplier(p.multiplier, p.shift)
    }

    init(_ record: RNOpRecordView) { self.record = record }

    func validate() throws(RNError) {
        try record.checkChannelReduction()
        // The adapted mantissa may lie below 2^30 (TFLite divides it by the element count); it
        // must be positive, or 0 with shift 0.
        let m = multiplier
        guard m.multiplier.raw >= 0, m.multiplier.raw != 0 || m.shift.raw == 0 else { throw record.error(.badMultiplier) }
        guard m.shift.raw >= -31, m.shift.raw <= 30 else { throw record.error(.badShift, found: Int(m.shift.raw)) }
    }

    func run(_ arena: RNArenaView) {
        meanS8Reference(input: arena.data(record.input), shape: record.input.featureShape, inputZeroPoint: record.input.zeroPoint,
                        multiplier: multiplier, outputZeroPoint: record.output.zeroPoint, activation: record.activation,
                        output: arena.output)
    }
}
