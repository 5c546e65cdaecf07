import RNFormat
import RNKernels

// Graph and memory-plan validation: everything `invoke` relies on, proven once at load.
// RNBFile already checked each record on its own; here records are checked against each other:
// operand order, shapes, constants, quantization parameters, and the arena plan.

extension RNModel {
    // MARK: - Graph

    func validateGraph() throws(RNError) {
        for i in 0..<file.opCount {
            let op = file.op(i)
            // Tensors are numbered in the order they are computed: 0 is the input, op i writes i + 1.
            guard op.output == i + 1 else { throw RNError(.outputOutOfOrder, index: i, found: op.output) }
            guard op.input0 <= i, op.input1 <= i else {
                throw RNError(.operandNotReady, index: i, found: max(op.input0, op.input1))
            }
            switch op.kind {
            case .conv2D: try validateConv(op, i)
            case .conv2DAdd: try validateConvAdd(op, i)
            case .conv2DMaxPool: try validateConvMaxPool(op, i)
            case .fullyConnected: try validateFullyConnected(op, i)
            case .add: try validateAdd(op, i)
            case .maxPool: try validateMaxPool(op, i)
            case .globalAveragePool: try validateGlobalAveragePool(op, i)
            }
        }
        for t in 0..<file.tensorCount where t != file.outputTensor && lastUse(of: t) < 0 {
            throw RNError(.tensorUnused, index: t)
        }
    }

    /// Index of the last op that reads tensor `t`, or -1.
    func lastUse(of t: Int) -> Int {
        var last = -1
        for i in 0..<file.opCount {
            let op = file.op(i)
            if op.input0 == t || op.input1 == t { last = i }
        }
        return last
    }

    func checkFeatureMap(_ t: Int, op i: Int) throws(RNError) {
        guard file.tensor(t).rank == 4 else { throw RNError(.shapeMismatch, index: i, found: t) }
    }

    func checkWindow(_ op: RNOp, _ i: Int, input: RNTensor, output: RNTensor) throws(RNError) {
        try checkWindow(op.window, i, input: input, output: output)
    }

    func checkWindow(_ w: RNWindow, _ i: Int, input: RNTensor, output: RNTensor) throws(RNError) {
        guard w.kernelH >= 1, w.kernelW >= 1 else { throw RNError(.badWindow, index: i) }
        guard w.strideH >= 1, w.strideW >= 1 else { throw RNError(.badStride, index: i) }
        guard w.padTop < w.kernelH, w.padBottom < w.kernelH, w.padLeft < w.kernelW, w.padRight < w.kernelW else {
            throw RNError(.badPadding, index: i)
        }
        let (oh, ow) = w.outputSize(height: input.height, width: input.width)
        guard oh == output.height, ow == output.width else {
            throw RNError(.badOutputShape, index: i, found: output.height, limit: oh)
        }
    }

    /// Weights, bias, multipliers and shifts of a conv or fully connected op with `outputs`
    /// channels of `perOutput` weights each (layout 0), or of a convolution in layout 1, whose
    /// padding weights must be 0 and whose kernel scratch must fit in the file's scratch.
    func checkConstants(_ op: RNOp, _ i: Int, outputs: Int, perOutput: Int) throws(RNError) {
        if op.weightLayout == .o16hwi4 {
            let kh = op.window.kernelH, run = perOutput / kh   // KW x C_in weights per kernel row
            let groups = (run + 3) / 4
            let (padded, overflow) = ((outputs + 15) / 16 * 16).multipliedReportingOverflow(by: kh * groups * 4)
            guard !overflow else { throw RNError(.badWeightsSize, index: i, found: -1) }
            try checkConstants(op, i, outputs: outputs, weightCount: padded)
            let w = constant(op, RNConvParam.weightsOffset, as: Int8.self)
            // Only the padding is visited: a lane past C_out is padding at every row position, a
            // real lane only past the row's KW x C_in weights.
            for b in 0..<(outputs + 15) / 16 {
                for ky in 0..<kh {
                    let row = (b * kh + ky) * groups * 64
                    for lane in 0..<16 {
                        for k in (16 * b + lane >= outputs ? 0 : run)..<groups * 4 {
                            let at = row + (k / 4 * 16 + lane) * 4 + k % 4
                            guard w[at] == 0 else { throw RNError(.badWeightValue, index: i, found: at) }
                        }
                    }
                }
            }
            let conv = convParams(op)
            let (row, overflowRow) = (conv.window.padLeft + conv.input.width + conv.window.padRight)
                .multipliedReportingOverflow(by: conv.input.channels)
            let (rows, overflowRows) = row.multipliedReportingOverflow(by: conv.window.kernelH + 8 * conv.window.strideH)
            guard !overflowRow, !overflowRows, rows < 0x4000_0000,
                  conv2DS8BlockedScratchByteCount(conv) <= file.scratchBytes else {
                throw RNError(.badScratchSize, index: i, found: file.scratchBytes)
            }
            return
        }
        let (weightCount, overflow) = outputs.multipliedReportingOverflow(by: perOutput)
        guard !overflow else { throw RNError(.badWeightsSize, index: i, found: -1) }
        try checkConstants(op, i, outputs: outputs, weightCount: weightCount)
    }

    func checkConstants(_ op: RNOp, _ i: Int, outputs: Int, weightCount: Int) throws(RNError) {
        let size = file.constantsSize
        func range(_ slot: Int, bytes: Int, alignment: Int, _ status: RNStatus) throws(RNError) -> Int {
            let raw = op.param(slot)
            guard raw < 0x8000_0000 else { throw RNError(status, index: i, found: -1) }
            let offset = Int(bitPattern: UInt(raw))
            guard offset & (alignment - 1) == 0 else {
                throw RNError(status == .weightsOutOfBounds ? .weightsMisaligned : status, index: i, found: offset,
                              limit: alignment)
            }
            guard offset <= size, bytes <= size - offset else {
                throw RNError(status, index: i, found: offset, limit: size)
            }
            return offset
        }
        guard Int(bitPattern: UInt(op.param(RNConvParam.weightsSize))) == weightCount else {
            throw RNError(.badWeightsSize, index: i, found: Int(truncatingIfNeeded: op.param(RNConvParam.weightsSize)),
                          limit: weightCount)
        }
        let weights = try range(RNConvParam.weightsOffset, bytes: weightCount, alignment: 16, .weightsOutOfBounds)
        _ = try range(RNConvParam.biasOffset, bytes: 4 * outputs, alignment: 4, .biasOutOfBounds)
        _ = try range(RNConvParam.multiplierOffset, bytes: 4 * outputs, alignment: 4, .multiplierOutOfBounds)
        _ = try range(RNConvParam.shiftOffset, bytes: 4 * outputs, alignment: 4, .shiftOutOfBounds)

        let w = (file.constants + weights).assumingMemoryBound(to: Int8.self)
        for k in 0..<weightCount where w[k] == -128 {
            throw RNError(.badWeightValue, index: i, found: k)
        }
        let q = requantization(op)
        for c in 0..<outputs {
            let m = QuantizedMultiplier(q.multiplier[c], q.shift[c])
            guard m.isValid else {
                let status: RNStatus = m.multiplier.raw != 0 && (m.shift.raw < -31 || m.shift.raw > 30)
                    ? .badShift : .badMultiplier
                throw RNError(status, index: i, found: c)
            }
        }
    }

    func validateConv(_ op: RNOp, _ i: Int) throws(RNError) {
        try checkFeatureMap(op.input0, op: i)
        try checkFeatureMap(op.output, op: i)
        let input = file.tensor(op.input0), output = file.tensor(op.output)
        try checkWindow(op, i, input: input, output: output)
        let w = op.window
        try checkConstants(op, i, outputs: output.channels, perOutput: w.kernelH * w.kernelW * input.channels)
    }

    func validateConvMaxPool(_ op: RNOp, _ i: Int) throws(RNError) {
        try checkFeatureMap(op.input0, op: i)
        try checkFeatureMap(op.output, op: i)
        let input = file.tensor(op.input0), output = file.tensor(op.output)
        let conv = convParams(op), pool = convPoolParams(op)
        // The unstored convolution: its window against the input, the pool's against it.
        guard conv.output.height >= 1, conv.output.width >= 1 else { throw RNError(.badOutputShape, index: i) }
        let intermediate = RNTensor(rank: 4, dims: (1, conv.output.height, conv.output.width, output.channels),
                                    scale: output.scale, zeroPoint: output.zeroPoint, arenaOffset: 0, byteCount: 0)
        try checkWindow(op.window, i, input: input, output: intermediate)
        try checkWindow(op.poolWindow, i, input: intermediate, output: output)
        let w = op.window
        try checkConstants(op, i, outputs: output.channels, perOutput: w.kernelH * w.kernelW * input.channels)
        // The ring: conv2DMaxPoolS8ScratchByteCount bytes (overflow-checked for 32-bit targets)
        // inside the activation arena, aligned; overlaps are checked with the plan.
        let (row, overflowRow) = conv.output.width.multipliedReportingOverflow(by: output.channels)
        let (ring, overflow) = row.multipliedReportingOverflow(by: pool.window.kernelH)
        let raw = op.param(RNConvMaxPoolParam.ringOffset)
        guard !overflowRow, !overflow, ring < 0x7FFF_0000, raw < 0x8000_0000, raw & 15 == 0,
              Int(bitPattern: UInt(raw)) <= file.activationBytes - ((ring + 15) & ~15) else {
            throw RNError(.tensorOutsideArena, index: i, found: Int(truncatingIfNeeded: raw), limit: file.activationBytes)
        }
    }

    func validateConvAdd(_ op: RNOp, _ i: Int) throws(RNError) {
        try validateConv(op, i)
        let residual = file.tensor(op.input1), output = file.tensor(op.output)
        guard residual.rank == output.rank, residual.dims == output.dims else { throw RNError(.shapeMismatch, index: i) }
        let zeroPoint = op.signedParam(RNConvAddParam.convZeroPoint)
        guard zeroPoint >= -128, zeroPoint <= 127, op.param(RNConvAddParam.packedShifts) >> 24 == 0 else {
            throw RNError(.badAddParameters, index: i)
        }
        try checkAddParameters(convAddParams(op), i)
    }

    func validateFullyConnected(_ op: RNOp, _ i: Int) throws(RNError) {
        let input = file.tensor(op.input0), output = file.tensor(op.output)
        guard output.rank == 2 else { throw RNError(.shapeMismatch, index: i, found: op.output) }
        try checkConstants(op, i, outputs: output.byteCount, perOutput: input.byteCount)
    }

    func validateAdd(_ op: RNOp, _ i: Int) throws(RNError) {
        let a = file.tensor(op.input0), b = file.tensor(op.input1), out = file.tensor(op.output)
        guard a.rank == out.rank, b.rank == out.rank, a.dims == out.dims, b.dims == out.dims else {
            throw RNError(.shapeMismatch, index: i)
        }
        try checkAddParameters(addParams(op), i)
    }

    func checkAddParameters(_ p: AddS8Params, _ i: Int) throws(RNError) {
        guard p.leftShift >= 0, p.leftShift <= 23, p.input0.shift.raw <= 0, p.input1.shift.raw <= 0 else {
            throw RNError(.badAddParameters, index: i, found: Int(p.leftShift))
        }
        guard p.input0.isValid, p.input1.isValid, p.output.isValid else {
            throw RNError(.badMultiplier, index: i)
        }
    }

    func checkSameQuantization(_ a: RNTensor, _ b: RNTensor, _ i: Int) throws(RNError) {
        guard a.scale == b.scale, a.zeroPoint == b.zeroPoint else {
            throw RNError(.quantizationMismatch, index: i)
        }
    }

    func validateMaxPool(_ op: RNOp, _ i: Int) throws(RNError) {
        try checkFeatureMap(op.input0, op: i)
        try checkFeatureMap(op.output, op: i)
        let input = file.tensor(op.input0), output = file.tensor(op.output)
        try checkWindow(op, i, input: input, output: output)
        guard input.channels == output.channels else {
            throw RNError(.channelMismatch, index: i, found: output.channels, limit: input.channels)
        }
        try checkSameQuantization(input, output, i)
    }

    func validateGlobalAveragePool(_ op: RNOp, _ i: Int) throws(RNError) {
        try checkFeatureMap(op.input0, op: i)
        let input = file.tensor(op.input0), output = file.tensor(op.output)
        guard output.innermost == input.channels, output.byteCount == input.channels else {
            throw RNError(.channelMismatch, index: i, found: output.innermost, limit: input.channels)
        }
        try checkSameQuantization(input, output, i)
    }

    // MARK: - Memory plan

    /// Steps during which tensor `t` holds data, inclusive: from its producer, op t - 1 (the
    /// input, t = 0, is copied in at step -1), to its last reader (`opCount` for the output,
    /// which is copied out after the last op).
    public func lifetime(of t: Int) -> (first: Int, last: Int) {
        (t - 1, t == file.outputTensor ? file.opCount : lastUse(of: t))
    }

    /// Whether op `i` may write its output exactly over input tensor `t` (at `t`'s last use):
    /// an add over either input, a conv2d_add over its residual. Both read each element of that
    /// input just before writing the same element.
    func mayWriteInPlace(op i: Int, over t: Int) -> Bool {
        let op = file.op(i)
        switch op.kind {
        case .add: return op.input0 == t || op.input1 == t
        case .conv2DAdd: return op.input1 == t
        case .conv2D, .fullyConnected, .maxPool, .globalAveragePool, .conv2DMaxPool: return false
        }
    }

    /// Checks that no two tensors live at the same step overlap in the arena, except an output
    /// written exactly over an input at that input's last use where `mayWriteInPlace` allows. O(tensors x ops): tensor b can only meet tensor a
    /// (a < b) when b is born during a's life, b - 1 <= last(a).
    func validatePlan() throws(RNError) {
        try validateRings()
        for a in 0..<file.tensorCount {
            let ta = file.tensor(a)
            let lastA = lifetime(of: a).last
            var b = a + 1
            while b < file.tensorCount && b - 1 <= lastA {
                let tb = file.tensor(b)
                if ta.arenaOffset < tb.arenaOffset + tb.byteCount && tb.arenaOffset < ta.arenaOffset + ta.byteCount {
                    let inPlace = b - 1 == lastA && mayWriteInPlace(op: b - 1, over: a) && ta.arenaOffset == tb.arenaOffset
                    if !inPlace {
                        throw RNError(b - 1 == lastA ? .inPlaceNotAllowed : .planOverlap, index: a, found: b)
                    }
                }
                b += 1
            }
        }
    }

    /// Each conv2d_max_pool ring must not overlap any tensor live during its op.
    func validateRings() throws(RNError) {
        for i in 0..<file.opCount where file.op(i).kind == .conv2DMaxPool {
            let start = ringOffset(file.op(i)), end = start + ringBytes(op: i)
            for t in 0..<file.tensorCount {
                let l = lifetime(of: t), tensor = file.tensor(t)
                guard l.first <= i && i <= l.last else { continue }
                if tensor.arenaOffset < end && start < tensor.arenaOffset + tensor.byteCount {
                    throw RNError(.planOverlap, index: i, found: t)
                }
            }
        }
    }

    /// The least arena any valid plan of this graph needs: the largest number of 16-byte blocks
    /// live at one step (each tensor rounded up to whole blocks, the step's row ring included; an
    /// op's output not counted when an input it may overwrite dies there), times 16,
    /// plus the scratch bytes. O(ops^2 x tensors): host tools call it, the loader does not.
    public func computeLowerBound() -> Int {
        var peak = 0
        for step in -1...file.opCount {
            var live = 0
            for t in 0..<file.tensorCount {
                let l = lifetime(of: t)
                if l.first <= step && step <= l.last { live += (file.tensor(t).byteCount + 15) / 16 }
            }
            if step >= 0 && step < file.opCount { live += ringBytes(op: step) / 16 }
            if step >= 0 && step < file.opCount {
                let op = file.op(step)
                func dies(_ t: Int) -> Bool { t >= 0 && lifetime(of: t).last == step && mayWriteInPlace(op: step, over: t) }
                if dies(op.input0) || dies(op.input1) { live -= (file.tensor(op.output).byteCount + 15) / 16 }
            }
            peak = max(peak, live)
        }
        return peak * 16 + file.scratchBytes
    }
}
