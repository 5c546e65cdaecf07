import RNKernels

// Host side of the requantization contract (DESIGN.md section 2): turning real multipliers
// into the Q31 mantissa and shift that RNKernels/Requantize.swift applies.

extension QuantizedMultiplier {
    /// Quantizes a real multiplier like TFLite's `QuantizeMultiplier`: frexp, round the mantissa
    /// times 2^31 half away from zero, renormalize when it rounds up to 2^31, and flush to (0, 0)
    /// when the shift would fall below -31. Examples: 0.5 -> (2^30, 0); 1.0 -> (2^30, 1);
    /// 0.75 -> (1610612736, 0); 2^-40 -> (0, 0). Requires `real >= 0` and finite.
    public init(real: Double) {
        guard real > 0, real.isFinite else { self.init(0, 0); return }
        // real = significand * 2^exponent, significand in [1, 2); frexp's fraction is half that.
        let fraction = real.significand / 2
        var shift = Int(real.exponent) + 1
        var q = (fraction * 2_147_483_648.0).rounded(.toNearestOrAwayFromZero)
        if q == 2_147_483_648.0 {
            q /= 2
            shift += 1
        }
        guard shift >= -31 else { self.init(0, 0); return }
        precondition(shift <= 30, "QuantizedMultiplier: real multiplier \(real) needs shift > 30")
        self.init(Int32(q), Int32(shift))
    }

    /// The real number this multiplier represents.
    public var real: Double {
        Double(multiplier.raw) / 2_147_483_648.0 * Double(sign: .plus, exponent: Int(shift.raw), significand: 1)
    }

}

extension QuantizedMultiplier {
    /// The multiplier of a mean of `count` values, as TFLite's `QuantizedMeanOrSum` derives it:
    /// `QuantizeMultiplier(inputScale / outputScale)` gives (m, s); then with
    /// k = min(floor(log2 count), 32, 31 + s), the mantissa becomes (m * 2^k) / count (int64,
    /// truncated) and the shift s - k. E.g. equal scales, count 3: (2^30, 1) -> k = 1,
    /// (2^31 / 3, 0) = (715827882, 0); count 4: (2^30, 1) -> (2^30, -1), exactly 1/4.
    public init(meanOf count: Int, inputScale: Float, outputScale: Float) {
        let base = QuantizedMultiplier(real: Double(inputScale) / Double(outputScale))
        guard count > 0, base.multiplier.raw != 0 else { self = base; return }
        let k = min(Int.bitWidth - 1 - count.leadingZeroBitCount, 32, 31 + Int(base.shift.raw))
        let mantissa = (Int64(base.multiplier.raw) << Int64(k)) / Int64(count)
        self.init(Int32(mantissa), base.shift.raw - Int32(k))
    }
}

extension QuantizedMultiplier {
    /// TFLite int8 add: inputs rescaled to twice the larger input scale with 20 bits of
    /// headroom, m_i = s_i / (2 max(s0, s1)), m_out = 2 max(s0, s1) / (2^20 s_out).
    public static func add(_ s0: Float, _ s1: Float, output out: Float) -> (QuantizedMultiplier, QuantizedMultiplier, QuantizedMultiplier) {
        let twiceMax = 2 * max(Double(s0), Double(s1))
        return (QuantizedMultiplier(real: Double(s0) / twiceMax), QuantizedMultiplier(real: Double(s1) / twiceMax),
                QuantizedMultiplier(real: twiceMax / (Double(1 << 20) * Double(out))))
    }
}
