import RNFormat
import RNKernels

/// conv2d: `conv2DS8` over the input, weights in layout 0 or 1 (FORMAT.md, op kind 1).
struct Conv2DOp: ConvolutionOp {
    let record: RNOpRecordView
    let conv: Conv2DS8Params

    init(_ record: RNOpRecordView) {
        self.record = record
        conv = record.convolution(outputZeroPoint: record.output.zeroPoint, activation: record.activation)
    }

    func validate() throws(RNError) {
        try record.checkFeatureMap(record.op.input0)
        try record.checkFeatureMap(record.op.output)
        try record.checkWindow(conv.window, input: conv.input, output: conv.output)
        try weights.validate(convolution: conv)
    }

    func run(_ arena: RNArenaView) {
        let w = weights
        conv2DS8(conv, input: arena.data(record.input), weights: w.values, layout: w.layout,
                 requantization: w.requantization, scratch: arena.kernelScratch, output: arena.output)
    }
}
