import Testing
import RNFormat
import RNKernels
import RNKernelsAVX2
import RNKernelsAVXVNNI
import RNKernelsAVX512VNNI
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

    /// `channels` draws the input channel count; `widths` and `outputs` the input width and
    /// output channel ranges.
    static func randomCase(_ rng: inout SeededRandom, channels: (inout SeededRandom) -> Int = { Int.random(in: 16...70, using: &$0) },
                           widths: ClosedRange<Int> = 1...7, outputs: ClosedRange<Int> = 1...20) -> Case {
        let h = Int.random(in: 1...9, using: &rng), w = Int.random(in: widths, using: &rng)
        let cin = channels(&rng), cout = Int.random(in: outputs, using: &rng)
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
                   channels: @escaping (inout SeededRandom) -> Int = { Int.random(in: 16...70, using: &$0) },
                   widths: ClosedRange<Int> = 1...7, outputs: ClosedRange<Int> = 1...20) {
        var rng = SeededRandom(seed: seed)
        var checked = 0
        for trial in 0..<trials {
            let c = Self.randomCase(&rng, channels: channels, widths: widths, outputs: outputs)
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
                      channels: @escaping (inout SeededRandom) -> Int = { Int.random(in: 16...70, using: &$0) },
                      widths: ClosedRange<Int> = 1...7, outputs: ClosedRange<Int> = 1...20) {
        var rng = SeededRandom(seed: seed)
        for trial in 0..<trials {
            let c = Self.randomCase(&rng, channels: channels, widths: widths, outputs: outputs)
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
        checkTiled(avx2KernelSet.tiled!.conv2D, avx2KernelSet.tiled!.conv2DAdd, seed: 79)
    }

    @Test(.enabled(if: rn_cpu_has_avx_vnni() != 0)) func tiledAVXVNNIMatchesReference() {
        checkTiled(avxVNNIKernelSet.tiled!.conv2D, avxVNNIKernelSet.tiled!.conv2DAdd,
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

    /// The vectorized fully connected layer and standalone Add (twins and dispatchers) against
    /// their references: lengths around the 16- and 4-element chunks, in-place adds.
    @Test func fullyConnectedAndAddMatchReference() {
        var rng = SeededRandom(seed: 103)
        func bytes(_ n: Int, _ range: ClosedRange<Int8> = -128...127) -> [Int8] { (0..<n).map { _ in Int8.random(in: range, using: &rng) } }
        for trial in 0..<300 {
            let n = Int.random(in: 1...600, using: &rng), k = Int.random(in: 1...20, using: &rng)
            let zp = Int32.random(in: -128...127, using: &rng)
            let p = FullyConnectedS8Params(inputCount: n, outputCount: k, inputZeroPoint: Int32.random(in: -128...127, using: &rng),
                                           outputZeroPoint: zp, activation: Bool.random(using: &rng) ? ActivationRange(min: zp, max: 127) : .none)
            let input = bytes(n), weights = bytes(n * k, -127...127)
            let bias = (0..<k).map { _ in Int32.random(in: -50_000...50_000, using: &rng) }
            let multipliers = (0..<k).map { _ in QuantizedMultiplier(real: Double.random(in: 1e-5...0.01, using: &rng)) }
            let m = multipliers.map(\.multiplier.raw), sh = multipliers.map(\.shift.raw)
            var want = [Int8](repeating: 0, count: k), tiled = want, dispatched = want
            bias.withUnsafeBufferPointer { b in m.withUnsafeBufferPointer { mp in sh.withUnsafeBufferPointer { sp in
                let q = PerChannelRequantization(bias: b.baseAddress!, multiplier: mp.baseAddress!, shift: sp.baseAddress!)
                fullyConnectedS8Reference(p, input: input, weights: weights, requantization: q, output: &want)
                fullyConnectedS8Tiled(p, input: input, weights: weights, requantization: q, output: &tiled)
                fullyConnectedS8(p, input: input, weights: weights, requantization: q, output: &dispatched)
            }}}
            #expect(tiled == want && dispatched == want, "fully connected, trial \(trial): \(n) -> \(k)")

            let count = Int.random(in: 1...70, using: &rng)
            let add = AddS8Params(count: count, input0ZeroPoint: Int32.random(in: -128...127, using: &rng),
                                  input1ZeroPoint: Int32.random(in: -128...127, using: &rng),
                                  outputZeroPoint: Int32.random(in: -128...127, using: &rng), leftShift: 20,
                                  input0: QuantizedMultiplier(real: Double.random(in: 0.1...0.5, using: &rng)),
                                  input1: QuantizedMultiplier(real: Double.random(in: 0.1...0.5, using: &rng)),
                                  output: QuantizedMultiplier(real: Double.random(in: 1e-6...1e-5, using: &rng)),
                                  activation: Bool.random(using: &rng) ? ActivationRange(min: -20, max: 127) : .none)
            let a = bytes(count), b = bytes(count)
            var sum = [Int8](repeating: 0, count: count), fast = sum, inPlace = a
            addS8Reference(add, input0: a, input1: b, output: &sum)
            addS8Tiled(add, input0: a, input1: b, output: &fast)
            inPlace.withUnsafeMutableBufferPointer { addS8(add, input0: $0.baseAddress!, input1: b, output: $0.baseAddress!) }
            #expect(fast == sum && inPlace == sum, "add, trial \(trial): \(count) elements")
        }
    }

    // MARK: - Blocked kernels (weights in layout 1)

    /// Layout 1 copies of OHWI weights, and kernel scratch prefilled with garbage.
    static func blockedOperands(_ p: Conv2DS8Params, _ weights: UnsafePointer<Int8>) -> (weights: [Int8], scratch: [UInt8]) {
        let kh = p.window.kernelH, kw = p.window.kernelW, cin = p.input.channels, cout = p.output.channels
        let ohwi = Array(UnsafeBufferPointer(start: weights, count: cout * kh * kw * cin))
        return (RNBWriter.arrangeWeights(ohwi, outputs: cout, kernelH: kh, kernelW: kw, inputs: cin, as: .o16hwi4),
                [UInt8](repeating: 0xA5, count: conv2DS8BlockedScratchByteCount(p)))
    }

    /// A blocked conv kernel (or dispatcher) under the layout-0 signature the checks call.
    static func blocked(_ kernel: @escaping Conv2DBlockedS8Kernel) -> Conv {
        { p, input, weights, q, output in
            let operands = blockedOperands(p, weights)
            var scratch = operands.scratch
            scratch.withUnsafeMutableBytes { kernel(p, input, operands.weights, q, $0.baseAddress!, output) }
        }
    }

    static func blocked(_ kernel: @escaping Conv2DAddBlockedS8Kernel) -> ConvAdd {
        { conv, add, input, weights, q, residual, output in
            let operands = blockedOperands(conv, weights)
            var scratch = operands.scratch
            scratch.withUnsafeMutableBytes { kernel(conv, add, input, operands.weights, q, residual, $0.baseAddress!, output) }
        }
    }

    /// Blocked kernels over 1 to 70 input channels (groups of 4 padded), 1 to 56 output channels
    /// (1 to 4 blocks of 16: pairs, a single block, partial blocks) and widths up to 19 (8-pixel
    /// tiles and every tail).
    func checkBlocked(_ conv: @escaping Conv2DBlockedS8Kernel, _ convAdd: @escaping Conv2DAddBlockedS8Kernel, seed: UInt64) {
        let any: (inout SeededRandom) -> Int = { Int.random(in: 1...70, using: &$0) }
        checkConv(Self.blocked(conv), seed: seed, trials: 300, channels: any, widths: 1...19, outputs: 1...56)
        checkConvAdd(Self.blocked(convAdd), seed: seed + 1, trials: 150, channels: any, widths: 1...19, outputs: 1...56)
    }

    /// Weights over the blocked kernels' 256 KiB cache budget (480-560 input channels, 50-90
    /// outputs), which switches their loop order to pairs of blocks outermost.
    @Test func blockedLargeWeightsMatchReference() {
        let wide: (inout SeededRandom) -> Int = { Int.random(in: 480...560, using: &$0) }
        var kernels: [(Conv2DBlockedS8Kernel, Conv2DAddBlockedS8Kernel)] = [
            ({ conv2DS8Blocked(PortableBlockedInstructions.self, $0, input: $1, weights: $2, requantization: $3, scratch: $4, output: $5) },
             { conv2DAddS8Blocked(PortableBlockedInstructions.self, $0, $1, input: $2, weights: $3, requantization: $4,
                                  residual: $5, scratch: $6, output: $7) })]
        if rn_cpu_has_avx512_vnni() != 0 { kernels.append((avx512VNNIKernelSet.blocked!.conv2D, avx512VNNIKernelSet.blocked!.conv2DAdd)) }
        if rn_cpu_has_avx_vnni() != 0 { kernels.append((avxVNNIKernelSet.blocked!.conv2D, avxVNNIKernelSet.blocked!.conv2DAdd)) }
        for (k, (conv, convAdd)) in kernels.enumerated() {
            checkConv(Self.blocked(conv), seed: 107 + UInt64(k), trials: 24, channels: wide, widths: 1...9, outputs: 50...90)
            checkConvAdd(Self.blocked(convAdd), seed: 109 + UInt64(k), trials: 12, channels: wide, widths: 1...9, outputs: 50...90)
        }
    }

    @Test func blockedReferenceMatchesReference() {
        checkBlocked({ conv2DS8Reference($0, input: $1, weights: $2, layout: .o16hwi4, requantization: $3, output: $5) },
                     { conv2DAddS8Reference($0, $1, input: $2, weights: $3, layout: .o16hwi4, requantization: $4,
                                            residual: $5, output: $7) }, seed: 91)
    }

    @Test func blockedPortableMatchesReference() {
        checkBlocked({ conv2DS8Blocked(PortableBlockedInstructions.self, $0, input: $1, weights: $2, requantization: $3, scratch: $4, output: $5) },
                     { conv2DAddS8Blocked(PortableBlockedInstructions.self, $0, $1, input: $2, weights: $3, requantization: $4, residual: $5,
                                          scratch: $6, output: $7) }, seed: 93)
    }

    @Test func blockedDispatchMatchesReference() {
        checkBlocked({ conv2DS8($0, input: $1, weights: $2, layout: .o16hwi4, requantization: $3, scratch: $4, output: $5) },
                     { conv2DAddS8($0, $1, input: $2, weights: $3, layout: .o16hwi4, requantization: $4, residual: $5,
                                   scratch: $6, output: $7) }, seed: 95)
    }

    /// The portable blocked source compiled with AVX2 (skipped on CPUs without it).
    @Test(.enabled(if: rn_cpu_has_avx2_fma() != 0)) func blockedAVX2MatchesReference() {
        checkBlocked(avx2KernelSet.blocked!.conv2D, avx2KernelSet.blocked!.conv2DAdd, seed: 111)
    }

    /// The same blocked source with vpdpbusd (skipped on CPUs without AVX512-VNNI).
    @Test(.enabled(if: rn_cpu_has_avx512_vnni() != 0)) func blockedAVX512VNNIMatchesReference() {
        checkBlocked(avx512VNNIKernelSet.blocked!.conv2D, avx512VNNIKernelSet.blocked!.conv2DAdd, seed: 97)
    }

    /// The same blocked source with AVX-VNNI's 256-bit vpdpbusd (skipped on CPUs without it).
    @Test(.enabled(if: rn_cpu_has_avx_vnni() != 0)) func blockedAVXVNNIMatchesReference() {
        checkBlocked(avxVNNIKernelSet.blocked!.conv2D, avxVNNIKernelSet.blocked!.conv2DAdd, seed: 113)
    }

    /// Both instructions (where the CPU has them) against the portable twin and the plain sum,
    /// on random bytes and the extremes (255 x -128, 255 x 127).
    @Test(.enabled(if: rn_cpu_has_avx512_vnni() != 0 || rn_cpu_has_avx_vnni() != 0)) func dot4InstructionMatchesPortable() {
        var rng = SeededRandom(seed: 99)
        var cases = (0..<500).map { _ in
            (SIMD16<Int32>((0..<16).map { _ in Int32.random(in: Int32.min / 2...Int32.max / 2, using: &rng) }),
             Int32(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)),
             (0..<64).map { _ in Int8.random(in: -128...127, using: &rng) })
        }
        cases.append((SIMD16(repeating: Int32.max - 200_000), -1, [Int8](repeating: 127, count: 64)))
        cases.append((SIMD16(repeating: 0), -1, [Int8](repeating: -128, count: 64)))
        for (acc, input, bytes) in cases {
            bytes.withUnsafeBytes { w in
                let fast = rn_cpu_has_avx512_vnni() != 0 ? AVX512VNNIInstructions.dot4(acc, input, AVX512VNNIInstructions.weights(w.baseAddress!)) : nil
                let ymm = rn_cpu_has_avx_vnni() != 0 ? AVXVNNIBlockedInstructions.dot4(acc, input, AVXVNNIBlockedInstructions.weights(w.baseAddress!)) : nil
                let portable = PortableBlockedInstructions.dot4(acc, input, PortableBlockedInstructions.weights(w.baseAddress!))
                var plain = acc
                for lane in 0..<16 {
                    for j in 0..<4 {
                        plain[lane] &+= Int32(UInt8(truncatingIfNeeded: UInt32(bitPattern: input) >> (8 * UInt32(j))))
                            * Int32(bytes[4 * lane + j])
                    }
                }
                #expect((fast ?? plain) == plain && (ymm ?? plain) == plain && portable == plain)
            }
        }
    }

    /// The lane-wise requantization every tiled and blocked epilogue uses (portable twin, any
    /// CPU) against the scalar function, positive (left) shifts as often as right ones: no golden
    /// model has a positive shift, so this is where they are checked.
    @Test func portableLaneRequantizationMatchesScalar() {
        var rng = SeededRandom(seed: 102)
        var leftShifts = 0
        for trial in 0..<4000 {
            var x = SIMD16<Int32>(), m = x, s = x
            for i in 0..<16 {
                x[i] = trial % 4 == 0 ? [Int32.min, Int32.max, -1, 0, 1, 1 << 20, -(1 << 20)][Int.random(in: 0...6, using: &rng)]
                                      : Int32.random(in: -(1 << 24)...(1 << 24), using: &rng) >> Int32.random(in: 0...24, using: &rng)
                m[i] = Int.random(in: 0...15, using: &rng) == 0 ? 0 : Int32.random(in: (1 << 30)...Int32.max, using: &rng)
                s[i] = m[i] == 0 ? 0 : Bool.random(using: &rng) ? Int32.random(in: 1...30, using: &rng) : Int32.random(in: -31...0, using: &rng)
                if s[i] > 0 { leftShifts += 1 }
            }
            let lanes = PortableBlockedInstructions.requantize(x, m, s)
            for i in 0..<16 { #expect(lanes[i] == multiplyByQuantizedMultiplier(x[i], m[i], s[i]), "trial \(trial) lane \(i)") }
        }
        #expect(leftShifts > 20_000)
    }

    /// The vpmuldq requantization against its portable twin and against the scalar function
    /// over random values, multipliers in [2^30, 2^31) or 0 and every shift -31...30.
    @Test(.enabled(if: rn_cpu_has_avx512_vnni() != 0)) func requantizeInstructionsMatchPortable() {
        var rng = SeededRandom(seed: 101)
        for trial in 0..<4000 {
            var x = SIMD16<Int32>(), m = x, s = x
            for i in 0..<16 {
                x[i] = trial % 4 == 0 ? [Int32.min, Int32.max, -1, 0, 1][Int.random(in: 0...4, using: &rng)]
                                      : Int32.random(in: Int32.min...Int32.max, using: &rng)
                m[i] = Int.random(in: 0...15, using: &rng) == 0 ? 0 : Int32.random(in: (1 << 30)...Int32.max, using: &rng)
                s[i] = Int32.random(in: -31...30, using: &rng)
            }
            let fast = AVX512VNNIInstructions.requantize(x, m, s), portable = PortableBlockedInstructions.requantize(x, m, s)
            #expect(fast == portable, "trial \(trial)")
            for i in 0..<16 { #expect(portable[i] == multiplyByQuantizedMultiplier(x[i], m[i], s[i]), "trial \(trial) lane \(i)") }
        }
    }
}
