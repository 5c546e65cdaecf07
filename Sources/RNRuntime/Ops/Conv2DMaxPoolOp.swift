import RNFormat
import RNKernels

/// conv2d_max_pool: a convolution (clamped by the op's range, quantized like the output)
/// streamed row by row into the max pool after it, `pool kernel_h` convolution rows at a time in
/// a ring in the activation arena (FORMAT.md, op kind 7).
public struct Conv2DMaxPoolOp: ConvolutionOp {
    let record: RNOpRecordView
    var params: RNConvMaxPoolParams { record.op.params(RNConvMaxPoolParams.self) }
    /// The unstored convolution, of the op's window over the input, quantized like the output.
    var conv: Conv2DS8Params {
        record.convolution(outputSize: record.op.window.outputSize(height: record.input.height, width: record.input.width),
                           outputZeroPoint: record.output.zeroPoint, activation: record.activation)
    }

    init(_ record: RNOpRecordView) { self.record = record }

    var pool: PoolS8Params {
        PoolS8Params(input: conv.output, output: record.output.featureShape, window: params.poolWindow, activation: .none)
    }

    /// Bytes of the ring: `pool kernel_h` rows of the convolution (`conv2DMaxPoolS8ScratchByteCount`),
    /// rounded up to 16. The exporter's planner sizes rings with this too.
    public static func ringBytes(convolutionWidth: Int, channels: Int, poolKernelH: Int) -> Int {
        (poolKernelH * convolutionWidth * channels + 15) & ~15
    }

    var ring: RNArenaRange? {
        RNArenaRange(offset: Int(bitPattern: UInt(params.ringOffset)),
                     bytes: Self.ringBytes(convolutionWidth: conv.output.width, channels: conv.output.channels, poolKernelH: pool.window.kernelH))
    }

    func validate() throws(RNError) {
        try record.checkFeatureMap(record.op.input0)
        try record.checkFeatureMap(record.op.output)
        // The unstored convolution: its window against the input, the pool's against it.
        guard conv.output.height >= 1, conv.output.width >= 1 else { throw record.error(.badOutputShape) }
        try record.checkWindow(conv.window, input: conv.input, output: conv.output)
        try record.checkWindow(pool.window, input: pool.input, output: pool.output)
        try weights.validate(convolution: conv)
        // The ring inside the activation arena, aligned (overflow-checked for 32-bit targets);
        // overlaps are checked with the plan.
        let (row, overflowRow) = conv.output.width.multipliedReportingOverflow(by: conv.output.channels)
        let (bytes, overflow) = row.multipliedReportingOverflow(by: pool.window.kernelH)
        let raw = params.ringOffset
        guard !overflowRow, !overflow, bytes < 0x7FFF_0000, raw < 0x8000_0000, raw & 15 == 0,
              Int(bitPattern: UInt(raw)) <= record.file.activationBytes - ((bytes + 15) & ~15) else {
            throw record.error(.tensorOutsideArena, found: Int(truncatingIfNeeded: raw), limit: record.file.activationBytes)
        }
    }

    func run(_ arena: RNArenaView) {
        let w = weights
        conv2DMaxPoolS8(conv, pool, input: arena.data(record.input), weights: w.values, layout: w.layout,
                        requantization: w.requantization, scratch: arena.bytes(at: ring!),
                        kernelScratch: arena.kernelScratch, output: arena.output)
    }
}
