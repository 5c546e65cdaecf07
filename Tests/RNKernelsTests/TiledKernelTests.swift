import Testing
import RNFormat
import RNKernels
import RNKernelsAVX2
import RNKernelsAVXVNNI
import CRNCPU
import RNQuantize
import RNTrain

/// Every fast kernel against its reference twin over random shapes: odd sizes, 1 to 7 pixel
/// widths, channel counts that are not multiples of 16, asymmetric padding, strides 1 and 2.
@Suite struct TiledKernelTests {
    struct Case {
        var conv: Conv2DS8Params
        var input: [Int8], weights: [Int8], bias: [Int32], multiplier: [Int32], shift: [Int32]
    }

    /// `channels` draws the input channel count.
    static func randomCase(_ rng: inout SeededRandom, channels: (inout SeededRandom) -> Int = { Int.random(in: 16...70, using: &$0) }) -> Case {
        let h = Int.random(in: 1...9, using: &rng), w = Int.random(in: 1...7, using: &rng)
        let cin = channels(&rng), cout = Int.random(in: 1...20, using: &rng)
        let kh = [1, 3, 3, 5][Int.random(in: 0...3, using: &rng)], kw = [1, 3, 3, 2][Int.random(in: 0...3, using: &rng)]
        let s = Int.random(in: 1...2, using: &rng)
        let window = RNWindow(kernelH: kh, kernelW: kw, strideH: s, strideW: Int.random(in: 1...2, using: &rng),
                              padTop: Int.random(in: 0..<kh, using: &rng), padLeft: Int.random(in: 0..<kw, using: &rng),
                              padBottom: Int.random(in: 0..<kh, using: &rng), padRight: Int.random(in: 0..<kw, using: &rng))
        let oh = windowOutputSize(h, kernel: kh, stride: window.strideH, padBefore: window.padTop, padAfter: window.padBottom)
        let ow = windowOutputSize(w, kernel: kw, stride: window.strideW, padBefore: window.padLeft, padAfter: window.padRight)
        let zp = Int32.random(in: -128...127, using: &rng)
        let conv = Conv2DS8Params(input: .init(height: h, width: w, channels: cin),
                                  output: .init(height: max(oh, 0), width: max(ow, 0), channels: cout), window: window,
                                  inputZeroPoint: Int32.random(in: -128...127, using: &rng), outputZeroPoint: zp,
                                  activation: Bool.random(using: &rng) ? ActivationRange(min: zp, max: 127) : .none)
        let multipliers = (0..<cout).map { _ in QuantizedMultiplier(real: Double.random(in: 1e-5...0.01, using: &rng)) }
        return Case(conv: conv, input: (0..<(h * w * cin)).map { _ in Int8.random(in: -128...127, using: &rng) },
                    weights: (0..<(cout * kh * kw * cin)).map { _ in Int8.random(in: -127...127, using: &rng) },
                    bias: (0..<cout).map { _ in Int32.random(in: -50_000...50_000, using: &rng) },
                    multiplier: multipliers.map(\.multiplier.raw), shift: multipliers.map(\.shift.raw))
    }

    typealias Conv = Conv2DS8Kernel         // RNKernels' kernel signatures
    typealias ConvAdd = Conv2DAddS8Kernel
    /// Multiples of 4 from 4 to 72: the dual-MAC kernels' domain.
    static func multiplesOf4(_ rng: inout SeededRandom) -> Int { 4 * Int.random(in: 1...18, using: &rng) }

    /// `kernel` against conv2DS8Reference over `trials` random cases.
    func checkConv(_ kernel: Conv, seed: UInt64, trials: Int = 300,
                   channels: @escaping (inout SeededRandom) -> Int = { Int.random(in: 16...70, using: &$0) }) {
        var rng = SeededRandom(seed: seed)
        var checked = 0
        for trial in 0..<trials {
            let c = Self.randomCase(&rng, channels: channels)
            guard c.conv.output.height > 0, c.conv.output.width > 0 else { continue }
            var want = [Int8](repeating: 0, count: c.conv.output.elementCount), got = want
            c.bias.withUnsafeBufferPointer { b in c.multiplier.withUnsafeBufferPointer { m in c.shift.withUnsafeBufferPointer { s in
                let q = PerChannelRequantization(bias: b.baseAddress!, multiplier: m.baseAddress!, shift: s.baseAddress!)
                conv2DS8Reference(c.conv, input: c.input, weights: c.weights, requantization: q, output: &want)
                kernel(c.conv, c.input, c.weights, q, &got)
            }}}
            #expect(got == want, "trial \(trial): \(c.conv.input) -> \(c.conv.output), \(c.conv.window)")
            checked += 1
        }
        #expect(checked > trials * 5 / 6)
    }

    /// `kernel` (writing over its residual, as the runtime runs it) against conv2DAddS8Reference.
    func checkConvAdd(_ kernel: ConvAdd, seed: UInt64, trials: Int = 150,
                      channels: @escaping (inout SeededRandom) -> Int = { Int.random(in: 16...70, using: &$0) }) {
        var rng = SeededRandom(seed: seed)
        for trial in 0..<trials {
            let c = Self.randomCase(&rng, channels: channels)
            guard c.conv.output.height > 0, c.conv.output.width > 0 else { continue }
            var conv = c.conv
            conv.activation = .none
            let n = conv.output.elementCount
            let add = AddS8Params(count: n, input0ZeroPoint: conv.outputZeroPoint, input1ZeroPoint: Int32.random(in: -128...127, using: &rng),
                                  outputZeroPoint: -128, leftShift: 20, input0: QuantizedMultiplier(real: 0.4),
                                  input1: QuantizedMultiplier(real: 0.5), output: QuantizedMultiplier(real: 3e-6),
                                  activation: ActivationRange(min: -128, max: 127))
            let residual = (0..<n).map { _ in Int8.random(in: -128...127, using: &rng) }
            var want = [Int8](repeating: 0, count: n)
            var inPlace = residual
            c.bias.withUnsafeBufferPointer { b in c.multiplier.withUnsafeBufferPointer { m in c.shift.withUnsafeBufferPointer { s in
                let q = PerChannelRequantization(bias: b.baseAddress!, multiplier: m.baseAddress!, shift: s.baseAddress!)
                conv2DAddS8Reference(conv, add, input: c.input, weights: c.weights, requantization: q, residual: residual, output: &want)
                inPlace.withUnsafeMutableBufferPointer { r in
                    kernel(conv, add, c.input, c.weights, q, UnsafePointer(r.baseAddress!), r.baseAddress!)
                }
            }}}
            #expect(inPlace == want, "trial \(trial): \(conv.input) -> \(conv.output), \(conv.window)")
        }
    }

    @Test func conv2DS8DispatchMatchesReference() {
        checkConv({ conv2DS8($0, input: $1, weights: $2, requantization: $3, output: $4) }, seed: 71)
    }

    @Test func conv2DAddS8DispatchMatchesReference() {
        checkConvAdd({ conv2DAddS8($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }, seed: 72)
    }

    /// A tiled instantiation over any channel count (1 to 70: runs shorter than 16, tails,
    /// output channels not a multiple of 4).
    func checkTiled(_ conv: @escaping Conv, _ convAdd: @escaping ConvAdd, seed: UInt64) {
        let any: (inout SeededRandom) -> Int = { Int.random(in: 1...70, using: &$0) }
        checkConv(conv, seed: seed, trials: 400, channels: any)
        checkConvAdd(convAdd, seed: seed + 1, trials: 200, channels: any)
    }

    @Test func tiledMatchesReference() {
        checkTiled({ conv2DS8Tiled($0, input: $1, weights: $2, requantization: $3, output: $4) },
                   { conv2DAddS8Tiled($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }, seed: 77)
    }

    /// The same tiled source compiled with AVX2, and with AVX-VNNI (each skipped on CPUs without it).
    @Test(.enabled(if: rn_cpu_has_avx2_fma() != 0)) func tiledAVX2MatchesReference() {
        checkTiled({ conv2DS8TiledAVX2($0, input: $1, weights: $2, requantization: $3, output: $4) },
                   { conv2DAddS8TiledAVX2($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) }, seed: 79)
    }

    @Test(.enabled(if: rn_cpu_has_avx_vnni() != 0)) func tiledAVXVNNIMatchesReference() {
        checkTiled({ conv2DS8TiledAVXVNNI($0, input: $1, weights: $2, requantization: $3, output: $4) },
                   { conv2DAddS8TiledAVXVNNI($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) },
                   seed: 81)
    }

    /// The Cortex-M kernels, here with rn_dsp.h's portable intrinsics (firmware-sim checks the
    /// native instructions give the same bytes on the simulated M4 and M7).
    @Test func dualMACMatchesReference() {
        checkConv({ conv2DS8DualMAC($0, input: $1, weights: $2, requantization: $3, output: $4) }, seed: 75,
                  channels: Self.multiplesOf4)
        checkConvAdd({ conv2DAddS8DualMAC($0, $1, input: $2, weights: $3, requantization: $4, residual: $5, output: $6) },
                     seed: 76, channels: Self.multiplesOf4)
    }
}
