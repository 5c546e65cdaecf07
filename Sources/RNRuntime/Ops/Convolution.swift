import RNFormat
import RNKernels

/// The constants of an op with weights (conv2d, fully_connected, conv2d_add, conv2d_max_pool):
/// slots 0 to 4 (`RNConvParams`) point at the weights in the op's layout, the int32 biases and
/// the per-channel multipliers and shifts.
struct OpWeights {
    let record: RNOpRecordView
    let params: RNConvParams

    init(_ record: RNOpRecordView) {
        self.record = record
        params = record.op.params(RNConvParams.self)
    }

    var layout: RNWeightLayout { record.op.weightLayout }
    /// In `layout`; see RNWeightLayout.
    var values: UnsafePointer<Int8> { record.constant(params.weightsOffset, as: Int8.self) }
    var requantization: PerChannelRequantization {
        PerChannelRequantization(bias: record.constant(params.biasOffset, as: Int32.self),
                                 multiplier: record.constant(params.multiplierOffset, as: Int32.self),
                                 shift: record.constant(params.shiftOffset, as: Int32.self))
    }
    var byteCount: Int { Int(bitPattern: UInt(params.weightsSize)) }

    /// Checks a convolution's constants (`conv`: its shapes) in either layout.
    func validate(convolution conv: Conv2DS8Params) throws(RNError) {
        let w = conv.window
        let run = w.kernelW * conv.input.channels   // weights under one kernel row
        if layout == .o16hwi4 {
            let groups = (run + 3) / 4
            let (padded, overflow) = ((conv.output.channels + 15) / 16 * 16).multipliedReportingOverflow(by: w.kernelH * groups * 4)
            guard !overflow else { throw record.error(.badWeightsSize, found: -1) }
            try validate(outputs: conv.output.channels, weightCount: padded)
            try validateBlockedPadding(outputs: conv.output.channels, kernelH: w.kernelH, run: run)
            let (row, overflowRow) = (w.padLeft + conv.input.width + w.padRight).multipliedReportingOverflow(by: conv.input.channels)
            let (rows, overflowRows) = row.multipliedReportingOverflow(by: w.kernelH + 8 * w.strideH)
            let needed = !overflowRow && !overflowRows && rows < 0x4000_0000 ? conv2DS8BlockedScratchByteCount(conv) : -1
            guard needed >= 0, needed <= record.file.scratchBytes else {
                throw record.error(.badScratchSize, found: record.file.scratchBytes, limit: needed)
            }
            return
        }
        let (perOutput, overflowTaps) = run.multipliedReportingOverflow(by: w.kernelH)
        let (count, overflow) = conv.output.channels.multipliedReportingOverflow(by: perOutput)
        guard !overflowTaps, !overflow else { throw record.error(.badWeightsSize, found: -1) }
        try validate(outputs: conv.output.channels, weightCount: count)
    }

    /// Layout 1: every padding weight is 0. Only the padding is visited: a lane past C_out is
    /// padding at every row position, a real lane only past the row's KW x C_in weights.
    func validateBlockedPadding(outputs: Int, kernelH: Int, run: Int) throws(RNError) {
        let groups = (run + 3) / 4, w = values
        for b in 0..<(outputs + 15) / 16 {
            for ky in 0..<kernelH {
                let row = (b * kernelH + ky) * groups * 64
                for lane in 0..<16 {
                    for k in (16 * b + lane >= outputs ? 0 : run)..<groups * 4 {
                        let at = row + (k / 4 * 16 + lane) * 4 + k % 4
                        guard w[at] == 0 else { throw record.error(.badWeightValue, found: at) }
                    }
                }
            }
        }
    }

    /// `weights_size` is `weightCount`; weights, biases, multipliers and shifts inside the
    /// constants and aligned; weights symmetric (never -128); each multiplier valid.
    func validate(outputs: Int, weightCount: Int) throws(RNError) {
        let size = record.file.constantsSize
        func range(_ raw: UInt32, bytes: Int, alignment: Int, _ status: RNStatus) throws(RNError) {
            guard raw < 0x8000_0000 else { throw record.error(status, found: -1) }
            let offset = Int(bitPattern: UInt(raw))
            guard offset & (alignment - 1) == 0 else {
                throw record.error(status == .weightsOutOfBounds ? .weightsMisaligned : status, found: offset, limit: alignment)
            }
            guard offset <= size, bytes <= size - offset else { throw record.error(status, found: offset, limit: size) }
        }
        guard byteCount == weightCount else {
            throw record.error(.badWeightsSize, found: Int(truncatingIfNeeded: params.weightsSize), limit: weightCount)
        }
        try range(params.weightsOffset, bytes: weightCount, alignment: 16, .weightsOutOfBounds)
        try range(params.biasOffset, bytes: 4 * outputs, alignment: 4, .biasOutOfBounds)
        try range(params.multiplierOffset, bytes: 4 * outputs, alignment: 4, .multiplierOutOfBounds)
        try range(params.shiftOffset, bytes: 4 * outputs, alignment: 4, .shiftOutOfBounds)

        let w = values
        for k in 0..<weightCount where w[k] == -128 { throw record.error(.badWeightValue, found: k) }
        let q = requantization
        for c in 0..<outputs {
            let m = QuantizedMultiplier(q.multiplier[c], q.shift[c])
            guard m.isValid else {
                let status: RNStatus = m.multiplier.raw != 0 && (m.shift.raw < -31 || m.shift.raw > 30) ? .badShift : .badMultiplier
                throw record.error(status, found: c)
            }
        }
    }
}

/// conv2d, conv2d_add and conv2d_max_pool: a convolution over the op's input with its weights.
protocol ConvolutionOp: RNOpImplementation {
    var record: RNOpRecordView { get }
    /// The convolution's shapes and quantization (for the fused kinds, of its unstored result).
    var conv: Conv2DS8Params { get }
}

extension ConvolutionOp {
    var weights: OpWeights { OpWeights(record) }
    var macs: Int { conv.macs }
    var weightBytes: Int { weights.byteCount }
}

extension RNOpRecordView {
    /// The convolution over this op's input: the op's window, output channels and input zero
    /// point, with the given output size (the output's by default), zero point and clamp.
    func convolution(outputSize: (height: Int, width: Int)? = nil, outputZeroPoint: Int32,
                     activation: ActivationRange) -> Conv2DS8Params {
        let size = outputSize ?? (output.height, output.width)
        return Conv2DS8Params(input: input.featureShape,
                              output: FeatureShape(height: size.height, width: size.width, channels: output.channels),
                              window: op.window, inputZeroPoint: input.zeroPoint, outputZeroPoint: outputZeroPoint,
                              activation: activation)
    }
}
