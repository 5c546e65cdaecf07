// Fixed-point requantization, bit-exact with TensorFlow Lite's default (double rounding)
// `MultiplyByQuantizedMultiplier`.
//
// A real multiplier M > 0 is stored as a Q31 mantissa q in [2^30, 2^31) and a shift s with
// M ~= q / 2^31 * 2^s. Applying it to an int32 accumulator x:
//   1. if s > 0, x = x * 2^s (wrapping; the exporter keeps it in range)
//   2. y = SaturatingRoundingDoublingHighMul(x, q) ~= x * q / 2^31, computed exactly as gemmlowp:
//      (x*q + nudge) / 2^31 with nudge = 2^30 for x*q >= 0, else 1 - 2^30, and C's division
//      truncating toward zero. That rounds to nearest with ties toward +infinity: +2.5 -> 3 but
//      -2.5 -> -2. The single overflow case x = q = -2^31 saturates to 2^31 - 1.
//   3. if s < 0, RoundingDivideByPOT(y, -s) = y / 2^-s rounded to nearest, ties away from zero
//      (+1.5 -> 2, -1.5 -> -2).
//
// Worked numbers, M = 0.5 stored as q = 2^30, s = 0:
//    x =  5 ->  2.5 ->  3      x = -5 -> -2.5 -> -2 (tie toward +infinity)      x = -6 -> -3
// M = 0.25 stored as q = 2^30, s = -1:
//    x =  6 -> step 2 gives  3, step 3:  1.5 ->  2
//    x = -6 -> step 2 gives -3, step 3: -1.5 -> -2
//    x =  5 -> step 2 gives  3, step 3:  1.5 ->  2  (double rounding: 5 * 0.25 = 1.25 would round
//    to 1 in one step; TFLite's default gives 2, and so do we)
// M = 1.0 stored as q = 2^30, s = 1: x = 7 -> 14 -> 7 (a left shift, then exact halving).
//
// Everything here stays in 32-bit integer arithmetic (Int64 conversions are rejected by the
// Embedded `-no-allocations` build on 32-bit targets): the 64-bit product comes from
// `multipliedFullWidth` as (high, low) words.

/// A Q31 multiplier mantissa: 0, or in [2^30, 2^31). `real = raw / 2^31`.
public struct Q31: Equatable, Sendable {
    public var raw: Int32
    @inlinable public init(raw: Int32) { self.raw = raw }
}

/// A power-of-two exponent applied with a Q31 multiplier; positive shifts left.
public struct Shift: Equatable, Sendable {
    public var raw: Int32
    @inlinable public init(raw: Int32) { self.raw = raw }
}

/// A real multiplier in fixed point: `real ~= multiplier.raw / 2^31 * 2^shift.raw`.
public struct QuantizedMultiplier: Equatable, Sendable {
    public var multiplier: Q31
    public var shift: Shift
    @inlinable public init(multiplier: Q31, shift: Shift) {
        self.multiplier = multiplier
        self.shift = shift
    }
    @inlinable public init(_ multiplier: Int32, _ shift: Int32) {
        self.init(multiplier: Q31(raw: multiplier), shift: Shift(raw: shift))
    }

    /// Whether a file may carry this pair: multiplier 0 with shift 0, or a normalized mantissa
    /// and a shift in -31...30.
    @inlinable public var isValid: Bool {
        if multiplier.raw == 0 { return shift.raw == 0 }
        return multiplier.raw >= 0x4000_0000 && shift.raw >= -31 && shift.raw <= 30
    }
}

/// a * b / 2^31 rounded to nearest, ties toward +infinity; saturates the single overflow case
/// a = b = -2^31. TFLite/gemmlowp `SaturatingRoundingDoublingHighMul`.
///
/// gemmlowp adds a nudge of 2^30 (product >= 0) or 1 - 2^30 (product < 0) and divides by 2^31
/// truncating toward zero. For a negative product p the truncation adds 2^31 - 1 before an
/// arithmetic shift, and (p + 1 - 2^30) + (2^31 - 1) = p + 2^30, so both signs are exactly
/// floor((p + 2^30) / 2^31): one 64-bit add and a shift (SMULL, ADDS, ADC, LSL, ORR on Cortex-M4).
/// E.g. p = -2^30 (-0.5): 0; p = -2^30 - 1: -1; p = -3 * 2^30 (-1.5): -1; p = 2^30 (0.5): 1.
@inlinable @inline(__always)
public func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
    if a == Int32.min && b == Int32.min { return Int32.max }
    let product = a.multipliedFullWidth(by: b)   // 64-bit a*b as (high, low)
    let (low, carry) = product.low.addingReportingOverflow(0x4000_0000)
    let high = product.high &+ (carry ? 1 : 0)
    return (high &<< 1) | Int32(bitPattern: low &>> 31)   // bits 31...62 of the sum
}

/// round(x / 2^exponent), ties away from zero, for exponent in 0...31.
/// TFLite/gemmlowp `RoundingDivideByPOT`.
@inlinable @inline(__always)
public func roundingDivideByPOT(_ x: Int32, _ exponent: Int32) -> Int32 {
    let mask = Int32(bitPattern: (UInt32(1) &<< UInt32(bitPattern: exponent)) &- 1)
    let remainder = x & mask
    let threshold = (mask &>> 1) &+ (x < 0 ? 1 : 0)
    return (x &>> exponent) &+ (remainder > threshold ? 1 : 0)
}

/// x * M in fixed point, exactly TFLite's `MultiplyByQuantizedMultiplier(x, q, shift)`.
@inlinable @inline(__always)
public func multiplyByQuantizedMultiplier(_ x: Int32, _ multiplier: Int32, _ shift: Int32) -> Int32 {
    let leftShift = shift > 0 ? shift : 0
    let rightShift = shift > 0 ? 0 : -shift
    return roundingDivideByPOT(saturatingRoundingDoublingHighMul(x &<< leftShift, multiplier), rightShift)
}

/// Strongly typed spelling of `multiplyByQuantizedMultiplier`.
@inlinable @inline(__always)
public func requantize(_ x: Int32, by m: QuantizedMultiplier) -> Int32 {
    multiplyByQuantizedMultiplier(x, m.multiplier.raw, m.shift.raw)
}
