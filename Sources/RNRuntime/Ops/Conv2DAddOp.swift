import RNFormat
import RNKernels

/// conv2d_add: a convolution into an unstored tensor (zero point in the params, clamp
/// [-128, 127]) added to the residual (input 1) with TFLite add arithmetic (FORMAT.md, op kind 6).
/// The output may overwrite the residual (`RNOpKind.mayRunInPlace`).
struct Conv2DAddOp: RNOpImplementation {
    let record: RNOpRecordView
    let weights: OpWeights
    let params: RNConvAddParams
    let conv: Conv2DS8Params
    /// The add half: the convolution result is input 0, the residual input 1.
    let add: AddS8Params

    init(_ record: RNOpRecordView) {
        self.record = record
        weights = OpWeights(record)
        let p = record.op.params(RNConvAddParams.self), out = record.output
        params = p
        conv = record.convolution(outputHeight: out.height, outputWidth: out.width, outputZeroPoint: p.convZeroPoint,
                                  activation: .none)
        add = AddS8Params(count: out.byteCount, input0ZeroPoint: p.convZeroPoint, input1ZeroPoint: record.input1.zeroPoint,
                          outputZeroPoint: out.zeroPoint, leftShift: p.leftShift,
                          input0: QuantizedMultiplier(p.convMultiplier, Int32(p.convShift)),
                          input1: QuantizedMultiplier(p.residualMultiplier, Int32(p.residualShift)),
                          output: QuantizedMultiplier(p.outputMultiplier, Int32(p.outputShift)),
                          activation: record.activation)
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

    var macs: Int { conv.macs }
    var weightBytes: Int { weights.byteCount }

    func run(_ arena: RNArenaView) {
        conv2DAddS8(conv, add, input: arena.data(record.input), weights: weights.values, layout: weights.layout,
                    requantization: weights.requantization, residual: arena.data(record.input1),
                    scratch: arena.kernelScratch, output: arena.output)
    }
}
