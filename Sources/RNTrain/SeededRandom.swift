import Foundation
/// A seedable generator (SplitMix64) with the float draws the trainer needs; the same seed gives
/// the same initial weights, shuffles and augmentations on every machine.
public struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits.
    public mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
    public mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * unit() }
    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u = max(unit(), 1e-7), v = unit()
        return (-2 * logf(u)).squareRoot() * cosf(2 * Float.pi * v)
    }
    public mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
