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
