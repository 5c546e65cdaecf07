import RNFormat

/// Residual add, exactly TFLite's int8 Add:
///
///   a = (x0 - zp0) << left_shift, b = (x1 - zp1) << left_shift
///   sum = MBQM(a, m0, s0) + MBQM(b, m1, s1)
///   out = clamp(MBQM(sum, m_out, s_out) + zp_out)
///
/// where MBQM is `multiplyByQuantizedMultiplier`; TFLite's `...SmallerThanOneExp` variant is the
/// same function for shifts <= 0, which the loader enforces for the input multipliers.
/// - input0, input1, output: (count), int8. `output` may equal `input0` or `input1` (in place).
public func addS8Reference(_ p: AddS8Params, input0: UnsafePointer<Int8>, input1: UnsafePointer<Int8>,
                           output: UnsafeMutablePointer<Int8>) {
    for i in 0..<p.count {
        output[i] = addS8ReferenceOutput(p, input0[i], input1[i])
    }
}

/// One element of `addS8Reference`.
@usableFromInline @inline(__always)
func addS8ReferenceOutput(_ p: AddS8Params, _ x0: Int8, _ x1: Int8) -> Int8 {
    let a = (Int32(x0) &- p.input0ZeroPoint) &<< p.leftShift
    let b = (Int32(x1) &- p.input1ZeroPoint) &<< p.leftShift
    let sum = requantize(a, by: p.input0) &+ requantize(b, by: p.input1)
    let scaled = requantize(sum, by: p.output) &+ p.outputZeroPoint
    return Int8(truncatingIfNeeded: p.activation.clamp(scaled))
}
