import RNFormat
import RNKernels

/// conv2d: `conv2DS8` over the input, weights in layout 0 or 1 (FORMAT.md, op kind 1).
struct Conv2DOp: RNOpImplementation {
    let record: RNOpRecordView
    let weights: OpWeights
    let conv: Conv2DS8Params

    init(_ record: RNOpRecordView) {
        self.record = record
        weights = OpWeights(record)
        let out = record.output
        conv = record.convolution(outputHeight: out.height, outputWidth: out.width, outputZeroPoint: out.zeroPoint,
                                  activation: record.activation)
    }

    func validate() throws(RNError) {
        try record.checkFeatureMap(record.op.input0)
        try record.checkFeatureMap(record.op.output)
        try record.checkWindow(conv.window, input: conv.input, output: conv.output)
        try weights.validate(convolution: conv)
    }

    var macs: Int { conv.macs }
    var weightBytes: Int { weights.byteCount }

    func run(_ arena: RNArenaView) {
        conv2DS8(conv, input: arena.data(record.input), weights: weights.values, layout: weights.layout,
                 requantization: weights.requantization, scratch: arena.kernelScratch, output: arena.output)
    }
}
