import Testing
@testable import RNKernels
import RNQuantize
import RNTrain

/// The TFLite/gemmlowp formulas written the obvious way with Int64: the oracle for the 32-bit
/// implementation in RNKernels.
func srdhmOracle(_ a: Int32, _ b: Int32) -> Int32 {
    if a == .min && b == .min { return .max }
    let ab = Int64(a) * Int64(b)
    let nudge: Int64 = ab >= 0 ? (1 << 30) : (1 - (1 << 30))
    return Int32((ab + nudge) / (1 << 31))
}

func rdbpotOracle(_ x: Int32, _ e: Int32) -> Int32 {
    let mask = Int64((1 << Int64(e)) - 1)
    let remainder = Int64(x) & mask
    let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
    return Int32((Int64(x) >> Int64(e)) + (remainder > threshold ? 1 : 0))
}

@Suite struct RequantizeTests {
    @Test func doublingHighMulHandChecked() {
        let half: Int32 = 1 << 30                       // 0.5 in Q31
        #expect(saturatingRoundingDoublingHighMul(5, half) == 3)        //  2.5 ->  3
        #expect(saturatingRoundingDoublingHighMul(-5, half) == -2)      // -2.5 -> -2 (tie toward +inf)
        #expect(saturatingRoundingDoublingHighMul(6, half) == 3)
        #expect(saturatingRoundingDoublingHighMul(-6, half) == -3)
        #expect(saturatingRoundingDoublingHighMul(7, half) == 4)        //  3.5 ->  4
        #expect(saturatingRoundingDoublingHighMul(-7, half) == -3)      // -3.5 -> -3
        #expect(saturatingRoundingDoublingHighMul(0, half) == 0)
        #expect(saturatingRoundingDoublingHighMul(.min, .min) == .max)  // the saturating corner
        #expect(saturatingRoundingDoublingHighMul(.max, .max) == Int32.max - 1)
        #expect(saturatingRoundingDoublingHighMul(.min, .max) == Int32.min + 1)
        #expect(saturatingRoundingDoublingHighMul(1_000_000, 1_610_612_736) == 750_000)  // * 0.75
    }

    @Test func roundingDivideByPowerOfTwoHandChecked() {
        #expect(roundingDivideByPOT(3, 1) == 2)     //  1.5  ->  2
        #expect(roundingDivideByPOT(-3, 1) == -2)   // -1.5  -> -2 (away from zero)
        #expect(roundingDivideByPOT(5, 2) == 1)     //  1.25 ->  1
        #expect(roundingDivideByPOT(-5, 2) == -1)
        #expect(roundingDivideByPOT(6, 2) == 2)     //  1.5  ->  2
        #expect(roundingDivideByPOT(-6, 2) == -2)
        #expect(roundingDivideByPOT(-7, 2) == -2)   // -1.75 -> -2
        #expect(roundingDivideByPOT(12345, 0) == 12345)
        #expect(roundingDivideByPOT(.max, 31) == 1)
        #expect(roundingDivideByPOT(.min, 31) == -1)
        #expect(roundingDivideByPOT(-(1 << 30), 31) == -1)   // -0.5 -> -1
        #expect(roundingDivideByPOT(1 << 30, 31) == 1)       //  0.5 ->  1
    }

    @Test func multiplyByQuantizedMultiplierHandChecked() {
        // M = 0.25 as (2^30, -1): double rounding, as TFLite.
        #expect(multiplyByQuantizedMultiplier(6, 1 << 30, -1) == 2)
        #expect(multiplyByQuantizedMultiplier(-6, 1 << 30, -1) == -2)
        #expect(multiplyByQuantizedMultiplier(5, 1 << 30, -1) == 2)     // 1.25, double rounded
        #expect(multiplyByQuantizedMultiplier(-5, 1 << 30, -1) == -1)   // -2.5 -> -2 -> -1
        // Left shifts: M = 1.0 as (2^30, 1); M = 3.0 as (1610612736, 2).
        #expect(multiplyByQuantizedMultiplier(7, 1 << 30, 1) == 7)
        #expect(multiplyByQuantizedMultiplier(-7, 1 << 30, 1) == -7)
        #expect(multiplyByQuantizedMultiplier(100, 1_610_612_736, 2) == 300)
        // A typical conv requantization: M = 0.0123 -> q = round(0.7872 * 2^31) = 1690499128, s = -6.
        let m = QuantizedMultiplier(real: 0.0123)
        #expect(m == QuantizedMultiplier(1_690_499_128, -6))
        #expect(multiplyByQuantizedMultiplier(10_000, m.multiplier.raw, m.shift.raw) == 123)
        #expect(multiplyByQuantizedMultiplier(-10_000, m.multiplier.raw, m.shift.raw) == -123)
        #expect(requantize(-10_000, by: m) == -123)
    }

    @Test func quantizeMultiplierHandChecked() {
        #expect(QuantizedMultiplier(real: 0.5) == QuantizedMultiplier(1 << 30, 0))
        #expect(QuantizedMultiplier(real: 1.0) == QuantizedMultiplier(1 << 30, 1))
        #expect(QuantizedMultiplier(real: 0.75) == QuantizedMultiplier(1_610_612_736, 0))
        #expect(QuantizedMultiplier(real: 0) == QuantizedMultiplier(0, 0))
        #expect(QuantizedMultiplier(real: 0x1p-40) == QuantizedMultiplier(0, 0))       // shift < -31: flushed
        // Rounds up to 2^31 and renormalizes: 1 - 2^-33 has mantissa 2^31 after rounding.
        #expect(QuantizedMultiplier(real: 1 - 0x1p-33) == QuantizedMultiplier(1 << 30, 1))
        for real in [0.5, 0.123, 1.75, 0.0001, 3.9] {
            let m = QuantizedMultiplier(real: real)
            #expect(m.isValid)
            #expect(abs(m.real - real) / real < 1e-9)
        }
    }

    /// Real multiplier -> (Q31, shift) -> real: relative error within half a Q31 step, and the
    /// fixed-point product within 1 of the exactly rounded real product.
    @Test func multiplierDerivationRoundTrips() {
        var rng = SeededRandom(seed: 12)
        for _ in 0..<20_000 {
            let real = Double(sign: .plus, exponent: Int.random(in: -30...20, using: &rng),
                              significand: Double.random(in: 1..<2, using: &rng))
            let m = QuantizedMultiplier(real: real)
            #expect(m.isValid)
            #expect(abs(m.real - real) / real <= 0x1p-31, "\(real)")
            let x = Int32.random(in: -100_000...100_000, using: &rng)
            let exact = (Double(x) * real)
            guard abs(exact) < 1e9 else { continue }
            #expect(abs(Double(requantize(x, by: m)) - exact.rounded()) <= 1, "\(x) * \(real)")
        }
    }

    @Test func thirtyTwoBitArithmeticMatchesInt64Oracle() {
        var rng = SeededRandom(seed: 7)
        let edges: [Int32] = [0, 1, -1, 2, -2, .max, .min, .max - 1, .min + 1, 1 << 30, -(1 << 30), 1 << 15, 3, -3]
        // The cases that break naive versions must actually be drawn: the saturating corner, and
        // exact ties of both roundings (a product of exactly k + 1/2 units, a remainder of exactly half).
        var saturated = 0, highMulTies = 0, divideTies = 0
        for _ in 0..<200_000 {
            let a = Bool.random(using: &rng) ? edges.randomElement(using: &rng)! : Int32.random(in: .min ... .max, using: &rng)
            let b = Bool.random(using: &rng) ? edges.randomElement(using: &rng)! : Int32.random(in: .min ... .max, using: &rng)
            #expect(saturatingRoundingDoublingHighMul(a, b) == srdhmOracle(a, b), "srdhm(\(a), \(b))")
            let e = Int32.random(in: 0...31, using: &rng)
            #expect(roundingDivideByPOT(a, e) == rdbpotOracle(a, e), "rdbpot(\(a), \(e))")
            if a == .min && b == .min { saturated += 1 }
            if (Int64(a) * Int64(b)) & 0x7FFF_FFFF == 0x4000_0000 { highMulTies += 1 }
            if e > 0 && Int64(a) & ((1 << Int64(e)) - 1) == 1 << Int64(e - 1) { divideTies += 1 }
        }
        #expect(saturated > 0 && highMulTies > 100 && divideTies > 100,
                "corners drawn: saturated \(saturated), high-mul ties \(highMulTies), divide ties \(divideTies)")
    }
}
