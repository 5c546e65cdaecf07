import RNFormat
import RNKernels

/// conv2d_add: a convolution into an unstored tensor (zero point in the params, clamp
/// [-128, 127]) added to the residual (input 1) with TFLite add arithmetic (FORMAT.md, op kind 6).
/// The output may overwrite the residual (`RNOpKind.mayRunInPlace`).
struct Conv2DAddOp: ConvolutionOp {
    let record: RNOpRecordView
    var params: RNConvAddParams { record.op.params(RNConvAddParams.self) }
    /// The convolution into the unstored tensor t.
    var conv: Conv2DS8Params { record.convolution(outputZeroPoint: params.convZeroPoint, activation: .none) }

    init(_ record: RNOpRecordView) { self.record = record }

    /// The add half: the convolution result is input 0, the residual input 1.
    var add: AddS8Params {
        let p = params
        return AddS8Params(count: record.output.byteCount, input0ZeroPoint: p.convZeroPoint,
                           input1ZeroPoint: record.input1.zeroPoint, outputZeroPoint: record.output.zeroPoint,
                           leftShift: p.leftShift, input0: QuantizedMultiplier(p.convMultiplier, Int32(p.convShift)),
                           input1: QuantizedMultiplier(p.residualMultiplier, Int32(p.residualShift)),
                           output: QuantizedMultiplier(p.outputMultiplier, Int32(p.outputShift)), activation: record.activation)
    }

    func validate() throws(RNError) {
        try Conv2DOp(record).validate()
        let residual = record.input1, output = record.output
        guard residual.rank == output.rank, residual.dims == output.dims else { throw record.error(.shapeMismatch) }
        guard params.convZeroPoint >= -128, params.convZeroPoint <= 127, params.packedReserved == 0 else {
            throw record.error(.badAddParameters)
        }
        try record.checkAddParameters(add)
    }

    func run(_ arena: RNArenaView) {
        let w = weights
        conv2DAddS8(conv, add, input: arena.data(record.input), weights: w.values, layout: w.layout,
                    requantization: w.requantization, residual: arena.data(record.input1),
                    scratch: arena.kernelScratch, output: arena.output)
    }
}
