import Testing
import RNFormat
import RNKernels
import RNQuantize
import RNTrain

// Hand-computed cases for each reference kernel: small enough to check on paper, chosen to hit
// padding, negative values, rounding ties and the fused clamp.

func same3x3() -> RNWindow {
    RNWindow(kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
}

@Suite struct ReferenceKernelTests {
    @Test func conv2DHandChecked() {
        // Input 2x2x1, zero point 1: x - zp = [[2, 0], [1, 4]].
        let input: [Int8] = [3, 1, 2, 5]
        // Channel 0: all ones, centre 2, bias 1. Channel 1: all -1, bias 0.
        let weights: [Int8] = [1, 1, 1, 1, 2, 1, 1, 1, 1] + [Int8](repeating: -1, count: 9)
        let bias: [Int32] = [1, 0]
        let multiplier: [Int32] = [1 << 30, 1 << 30]      // M = 0.5
        let shift: [Int32] = [0, 0]
        func run(_ activation: ActivationRange) -> [Int8] {
            var out = [Int8](repeating: 0, count: 8)
            let p = Conv2DS8Params(input: .init(height: 2, width: 2, channels: 1),
                                   output: .init(height: 2, width: 2, channels: 2), window: same3x3(),
                                   inputZeroPoint: 1, outputZeroPoint: -3, activation: activation)
            bias.withUnsafeBufferPointer { b in multiplier.withUnsafeBufferPointer { m in shift.withUnsafeBufferPointer { s in
                conv2DS8Reference(p, input: input, weights: weights,
                                  requantization: .init(bias: b.baseAddress!, multiplier: m.baseAddress!, shift: s.baseAddress!),
                                  output: &out)
            }}}
            return out
        }
        // Channel 0 accumulators 10, 8, 9, 12 -> x0.5 -> 5, 4, 5 (4.5 up), 6 -> -3 -> 2, 1, 2, 3.
        // Channel 1 accumulators -7 at every position (all taps in the 3x3 window) -> -3.5 -> -3
        // (tie toward +inf) -> -6; with ReLU (clamp at zp = -3) -> -3.
        #expect(run(.none) == [2, -6, 1, -6, 2, -6, 3, -6])
        #expect(run(ActivationRange(min: -3, max: 127)) == [2, -3, 1, -3, 2, -3, 3, -3])
        #expect(run(ActivationRange(min: -128, max: 1)) == [1, -6, 1, -6, 1, -6, 1, -6])
    }

    @Test func conv2DStrideAndAsymmetricPadding() {
        // 1x3 input, kernel 1x2, stride 2, pad right 1: windows [x0 x1], [x2 pad].
        let input: [Int8] = [10, 20, 30]
        let weights: [Int8] = [1, 2]
        var out = [Int8](repeating: 0, count: 2)
        let window = RNWindow(kernelH: 1, kernelW: 2, strideH: 1, strideW: 2, padTop: 0, padLeft: 0, padBottom: 0, padRight: 1)
        let p = Conv2DS8Params(input: .init(height: 1, width: 3, channels: 1), output: .init(height: 1, width: 2, channels: 1),
                               window: window, inputZeroPoint: 0, outputZeroPoint: 0, activation: .none)
        let bias: [Int32] = [0], m: [Int32] = [1 << 30], s: [Int32] = [-1]   // M = 0.25
        conv2DS8Reference(p, input: input, weights: weights,
                          requantization: .init(bias: bias, multiplier: m, shift: s), output: &out)
        #expect(out == [13, 8])   // 50 / 4 = 12.5 -> 13; 30 / 4 = 7.5 -> 8
    }

    @Test func fullyConnectedHandChecked() {
        let input: [Int8] = [1, -2, 3]                 // zp -1: [2, -1, 4]
        let weights: [Int8] = [1, 1, 1, 127, -127, 0]
        let bias: [Int32] = [-5, 100], m: [Int32] = [1 << 30, 1 << 30], s: [Int32] = [1, -8]
        var out = [Int8](repeating: 0, count: 2)
        let p = FullyConnectedS8Params(inputCount: 3, outputCount: 2, inputZeroPoint: -1, outputZeroPoint: 2, activation: .none)
        fullyConnectedS8Reference(p, input: input, weights: weights,
                                  requantization: .init(bias: bias, multiplier: m, shift: s), output: &out)
        // k0: -5 + 2 - 1 + 4 = 0 -> 0 + 2 = 2.  k1: 100 + 254 + 127 = 481 * 2^-9 = 0.94 -> 1 + 2 = 3.
        #expect(out == [2, 3])
    }

    @Test func addHandChecked() {
        // Scales 0.5 and 0.25 into 1.0: m0 = 0.5, m1 = 0.25, m_out = 1 / 2^20.
        let p = AddS8Params(count: 4, input0ZeroPoint: 0, input1ZeroPoint: 0, outputZeroPoint: 0, leftShift: 20,
                            input0: QuantizedMultiplier(real: 0.5), input1: QuantizedMultiplier(real: 0.25),
                            output: QuantizedMultiplier(real: 0x1p-20), activation: .none)
        var out = [Int8](repeating: 0, count: 4)
        addS8Reference(p, input0: [10, -10, 127, -128], input1: [8, -8, 127, -128], output: &out)
        #expect(out == [7, -7, 95, -96])   // 5 + 2; 63.5 + 31.75 = 95.25; -64 - 32
        // Output scale 0.5: 0.5 + 0.25 = 0.75 -> 1.5 steps -> 2, and -1.5 -> -2 (away from zero).
        var q = p
        q.output = QuantizedMultiplier(real: 0x1p-19)
        q.outputZeroPoint = 0
        var ties = [Int8](repeating: 0, count: 2)
        addS8Reference(q, input0: [1, -1], input1: [1, -1], output: &ties)
        #expect(ties == [2, -2])
        // In place over input0, with ReLU at output zero point -128 + zero points on the inputs.
        var inPlace: [Int8] = [0, 4]
        var r = p
        r.input0ZeroPoint = 2; r.input1ZeroPoint = -2; r.outputZeroPoint = -128
        r.activation = ActivationRange(min: -128, max: 127)
        inPlace.withUnsafeMutableBufferPointer { buf in
            addS8Reference(r, input0: buf.baseAddress!, input1: [-6, 2], output: buf.baseAddress!)
        }
        // (0-2)*0.5 + (-6+2)*0.25 = -2 -> -130 -> clamp -128; (4-2)*0.5 + (2+2)*0.25 = 2 -> -126.
        #expect(inPlace == [-128, -126])
    }

    @Test func maxPoolHandChecked() {
        // 3x3x1, kernel 3, stride 2, pad 1 -> 2x2; padding never wins even over -128.
        let input: [Int8] = [-128, -100, 5,
                             -90, -128, 7,
                             1, 2, -128]
        var out = [Int8](repeating: 0, count: 4)
        let w = RNWindow(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
        maxPoolS8Reference(PoolS8Params(input: .init(height: 3, width: 3, channels: 1),
                                        output: .init(height: 2, width: 2, channels: 1), window: w, activation: .none),
                           input: input, output: &out)
        #expect(out == [-90, 7, 2, 7])
        var single = [Int8](repeating: 0, count: 1)
        maxPoolS8Reference(PoolS8Params(input: .init(height: 1, width: 1, channels: 1),
                                        output: .init(height: 1, width: 1, channels: 1), window: w, activation: .none),
                           input: [-128], output: &single)
        #expect(single == [-128])
    }

    @Test func globalAveragePoolRoundsHalfAwayFromZero() {
        // 2x2x4: channel sums 6, -6, 5, -5 over n = 4 -> 1.5, -1.5, 1.25, -1.25.
        let input: [Int8] = [1, -1, 1, -1,  2, -2, 2, -2,  1, -1, 1, -1,  2, -2, 1, -1]
        var out = [Int8](repeating: 0, count: 4)
        globalAveragePoolS8Reference(input: input, shape: .init(height: 2, width: 2, channels: 4),
                                     activation: .none, output: &out)
        #expect(out == [2, -2, 1, -1])
        var clamped = [Int8](repeating: 0, count: 4)
        globalAveragePoolS8Reference(input: input, shape: .init(height: 2, width: 2, channels: 4),
                                     activation: ActivationRange(min: -1, max: 1), output: &clamped)
        #expect(clamped == [1, -1, 1, -1])
    }

    @Test func inputTableHandChecked() {
        // q = round(((p / 255 - 0.5) / 0.5) / 0.01) + 10: p 0 -> -90, 255 -> 110, 128 -> 0.39 -> 10,
        // 200 -> 56.86 -> 67, 50 -> -60.78 -> -51.
        let pre = Preprocessing(channels: 1, resizeHeight: 1, resizeWidth: 1, mean: [0.5], std: [0.5])
        let table = pre.inputTable(scale: 0.01, zeroPoint: 10)
        #expect([table[0], table[255], table[128], table[200], table[50]] == [-90, 110, 10, 67, -51])
        // Scale 0.005 saturates both ends: -200 -> -128, 200 -> 127.
        let narrow = pre.inputTable(scale: 0.005, zeroPoint: 0)
        #expect(narrow[0] == -128 && narrow[255] == 127)
        // Two channels: RGB-interleaved pixels pick their channel's table.
        let two = Preprocessing(channels: 2, resizeHeight: 1, resizeWidth: 1, mean: [0.5, 0], std: [0.5, 1])
        let table2 = two.inputTable(scale: 0.01, zeroPoint: 0)
        var out = [Int8](repeating: 0, count: 4)
        quantizeInputU8Reference(pixels: [0, 0, 255, 51], count: 4, channels: 2, table: table2, output: &out)
        #expect(out == [-100, 0, 100, 20])
    }
}

@Suite struct FusedKernelTests {
    /// conv2DAddS8Reference against conv2DS8Reference into a buffer followed by addS8Reference,
    /// over random shapes and parameters, including writing over the residual in place.
    @Test func convAddEqualsConvThenAdd() {
        var rng = SeededRandom(seed: 31)
        for trial in 0..<60 {
            let h = Int.random(in: 1...7, using: &rng), w = Int.random(in: 1...7, using: &rng)
            let cin = Int.random(in: 1...5, using: &rng), cout = Int.random(in: 1...6, using: &rng)
            let k = [1, 3][trial % 2], s = Int.random(in: 1...2, using: &rng), pad = k / 2
            let oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1
            let window = RNWindow(kernelH: k, kernelW: k, strideH: s, strideW: s, padTop: pad, padLeft: pad, padBottom: pad, padRight: pad)
            let convZeroPoint = Int32.random(in: -20...20, using: &rng)
            let conv = Conv2DS8Params(input: .init(height: h, width: w, channels: cin), output: .init(height: oh, width: ow, channels: cout),
                                      window: window, inputZeroPoint: Int32.random(in: -128...127, using: &rng),
                                      outputZeroPoint: convZeroPoint, activation: .none)
            let add = AddS8Params(count: oh * ow * cout, input0ZeroPoint: convZeroPoint, input1ZeroPoint: Int32.random(in: -128...127, using: &rng),
                                  outputZeroPoint: -128, leftShift: 20, input0: QuantizedMultiplier(real: Double.random(in: 0.1...0.5, using: &rng)),
                                  input1: QuantizedMultiplier(real: 0.5), output: QuantizedMultiplier(real: Double.random(in: 1e-7...1e-5, using: &rng)),
                                  activation: ActivationRange(min: -128, max: 127))
            let input = (0..<(h * w * cin)).map { _ in Int8.random(in: -128...127, using: &rng) }
            let weights = (0..<(cout * k * k * cin)).map { _ in Int8.random(in: -127...127, using: &rng) }
            let bias = (0..<cout).map { _ in Int32.random(in: -3000...3000, using: &rng) }
            let multipliers = (0..<cout).map { _ in QuantizedMultiplier(real: Double.random(in: 0.001...0.02, using: &rng)) }
            let m = multipliers.map(\.multiplier.raw), sh = multipliers.map(\.shift.raw)
            let residual = (0..<(oh * ow * cout)).map { _ in Int8.random(in: -128...127, using: &rng) }
            var temporary = [Int8](repeating: 0, count: oh * ow * cout), want = temporary
            var inPlace = residual
            bias.withUnsafeBufferPointer { b in m.withUnsafeBufferPointer { mp in sh.withUnsafeBufferPointer { sp in
                let q = PerChannelRequantization(bias: b.baseAddress!, multiplier: mp.baseAddress!, shift: sp.baseAddress!)
                conv2DS8Reference(conv, input: input, weights: weights, requantization: q, output: &temporary)
                addS8Reference(add, input0: temporary, input1: residual, output: &want)
                inPlace.withUnsafeMutableBufferPointer { r in
                    conv2DAddS8Reference(conv, add, input: input, weights: weights, requantization: q,
                                         residual: UnsafePointer(r.baseAddress!), output: r.baseAddress!)
                }
            }}}
            #expect(inPlace == want, "trial \(trial)")
        }
    }
}

extension FusedKernelTests {
    /// conv2DMaxPoolS8Reference and the conv2DMaxPoolS8 dispatcher (rows by conv2DS8) against
    /// conv2DS8Reference into a buffer, then maxPoolS8Reference.
    @Test func convMaxPoolEqualsConvThenPool() {
        var rng = SeededRandom(seed: 41)
        for trial in 0..<150 {
            let h = Int.random(in: 1...12, using: &rng), w = Int.random(in: 1...12, using: &rng)
            let cin = Int.random(in: 1...20, using: &rng), cout = Int.random(in: 1...9, using: &rng)
            let k = [1, 3, 7][trial % 3], s = Int.random(in: 1...2, using: &rng), pad = k / 2
            let ch = (h + 2 * pad - k) / s + 1, cw = (w + 2 * pad - k) / s + 1
            let pk = Int.random(in: 1...3, using: &rng), ps = Int.random(in: 1...3, using: &rng), pp = Int.random(in: 0...(pk - 1), using: &rng)
            guard ch + 2 * pp >= pk, cw + 2 * pp >= pk else { continue }
            let oh = (ch + 2 * pp - pk) / ps + 1, ow = (cw + 2 * pp - pk) / ps + 1
            let zeroPoint = Int32.random(in: -128...0, using: &rng)
            let conv = Conv2DS8Params(input: .init(height: h, width: w, channels: cin), output: .init(height: ch, width: cw, channels: cout),
                                      window: RNWindow(kernelH: k, kernelW: k, strideH: s, strideW: s, padTop: pad, padLeft: pad, padBottom: pad, padRight: pad),
                                      inputZeroPoint: Int32.random(in: -128...127, using: &rng), outputZeroPoint: zeroPoint,
                                      activation: ActivationRange(min: zeroPoint, max: 127))
            let pool = PoolS8Params(input: conv.output, output: .init(height: oh, width: ow, channels: cout),
                                    window: RNWindow(kernelH: pk, kernelW: pk, strideH: ps, strideW: ps, padTop: pp, padLeft: pp, padBottom: pp, padRight: pp),
                                    activation: .none)
            let input = (0..<(h * w * cin)).map { _ in Int8.random(in: -128...127, using: &rng) }
            let weights = (0..<(cout * k * k * cin)).map { _ in Int8.random(in: -127...127, using: &rng) }
            let bias = (0..<cout).map { _ in Int32.random(in: -3000...3000, using: &rng) }
            let multipliers = (0..<cout).map { _ in QuantizedMultiplier(real: Double.random(in: 0.001...0.02, using: &rng)) }
            let m = multipliers.map(\.multiplier.raw), sh = multipliers.map(\.shift.raw)
            var temporary = [Int8](repeating: 0, count: ch * cw * cout)
            var want = [Int8](repeating: 0, count: oh * ow * cout), got = want, fast = want
            var scratch = [Int8](repeating: 77, count: conv2DMaxPoolS8ScratchByteCount(conv, pool)), scratch2 = scratch
            // Layout 1: the same weights arranged for the blocked kernels, which also need kernel scratch.
            let blocked = RNBWriter.arrangeWeights(weights, outputs: cout, kernelH: k, kernelW: k, inputs: cin, as: .o16hwi4)
            var kernelScratch = [UInt8](repeating: 0xA5, count: conv2DS8BlockedScratchByteCount(conv))
            var blockedReference = want, blockedFast = want
            bias.withUnsafeBufferPointer { b in m.withUnsafeBufferPointer { mp in sh.withUnsafeBufferPointer { sp in
                let q = PerChannelRequantization(bias: b.baseAddress!, multiplier: mp.baseAddress!, shift: sp.baseAddress!)
                conv2DS8Reference(conv, input: input, weights: weights, requantization: q, output: &temporary)
                maxPoolS8Reference(pool, input: temporary, output: &want)
                conv2DMaxPoolS8Reference(conv, pool, input: input, weights: weights, requantization: q, scratch: &scratch, output: &got)
                conv2DMaxPoolS8(conv, pool, input: input, weights: weights, requantization: q, scratch: &scratch2, output: &fast)
                conv2DMaxPoolS8Reference(conv, pool, input: input, weights: blocked, layout: .o16hwi4, requantization: q,
                                         scratch: &scratch, output: &blockedReference)
                kernelScratch.withUnsafeMutableBytes { k in
                    conv2DMaxPoolS8(conv, pool, input: input, weights: blocked, layout: .o16hwi4, requantization: q,
                                    scratch: &scratch2, kernelScratch: k.baseAddress!, output: &blockedFast)
                }
            }}}
            #expect(got == want, "trial \(trial): conv \(k)/\(s) on \(h)x\(w), pool \(pk)/\(ps) pad \(pp)")
            #expect(fast == want, "dispatcher, trial \(trial): conv \(k)/\(s) on \(h)x\(w)x\(cin), pool \(pk)/\(ps) pad \(pp)")
            #expect(blockedReference == want, "layout 1 reference, trial \(trial)")
            #expect(blockedFast == want, "layout 1 dispatcher, trial \(trial): conv \(k)/\(s) on \(h)x\(w)x\(cin)")
        }
    }
}
