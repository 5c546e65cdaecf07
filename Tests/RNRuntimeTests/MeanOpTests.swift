import Testing
import RNFormat
import RNKernels
import RNQuantize
import RNRuntime
import RNTrain

// The mean op (TFLite int8 MEAN over height and width), added through the op table: its
// reference kernel and its multiplier on hand-computed values, then a whole file with a mean
// written, loaded, checked and run.

@Suite struct MeanOpTests {
    func mean(_ input: [Int8], height: Int, width: Int, channels: Int, inputZeroPoint: Int32, outputZeroPoint: Int32,
              _ m: QuantizedMultiplier) -> [Int8] {
        var out = [Int8](repeating: 0, count: channels)
        meanS8Reference(input: input, shape: .init(height: height, width: width, channels: channels), inputZeroPoint: inputZeroPoint,
                        multiplier: m, outputZeroPoint: outputZeroPoint, activation: .none, output: &out)
        return out
    }

    @Test func multiplierAdaptedByTheElementCountAsTFLite() {
        // Equal scales: QuantizeMultiplier(1.0) = (2^30, 1).
        // n = 3: k = floor(log2 3) = 1, mantissa 2^31 / 3 = 715827882 (below 2^30), shift 0.
        #expect(QuantizedMultiplier(meanOf: 3, inputScale: 0.1, outputScale: 0.1) == QuantizedMultiplier(715_827_882, 0))
        // n = 4: exactly 1/4 as (2^30, -1).
        #expect(QuantizedMultiplier(meanOf: 4, inputScale: 0.1, outputScale: 0.1) == QuantizedMultiplier(1 << 30, -1))
        // Ratio 2 = (2^30, 2); n = 100: k = 6, (2^36 / 100, 2 - 6) = (687194767, -4), 0.02.
        #expect(QuantizedMultiplier(meanOf: 100, inputScale: 0.5, outputScale: 0.25) == QuantizedMultiplier(687_194_767, -4))
        // Ratio 2^-31 = (2^30, -30): k is capped at 31 + shift = 1, so n = 8 gives (2^31 / 8, -31).
        #expect(QuantizedMultiplier(meanOf: 8, inputScale: 1, outputScale: 2_147_483_648) == QuantizedMultiplier(1 << 28, -31))
    }

    @Test func referenceKernelHandChecked() {
        // 1x3, two channels, zero points 0, multiplier for n = 3 with equal scales.
        // Channel 0: 3 + 4 + 6 = 13, x 715827882 / 2^31 = 4.33 -> 4.
        // Channel 1: -18 x 0.3333333330 = -5.99999999 -> -6.
        let third = QuantizedMultiplier(715_827_882, 0)
        #expect(mean([3, -5, 4, -6, 6, -7], height: 1, width: 3, channels: 2, inputZeroPoint: 0, outputZeroPoint: 0, third) == [4, -6])
        // 2x2, input zero point 10, output zero point -3, n = 4 as (2^30, -1).
        // Channel 0: 11 + 12 + 13 + 15 - 40 = 11: SRDHM 5.5 -> 6, /2 -> 3, -3 -> 0 (11/4 = 2.75).
        // Channel 1: 0 + 0 + 1 + 2 - 40 = -37: SRDHM -18.5 -> -18 (tie toward +inf), /2 -> -9,
        // -3 -> -12 (-37/4 = -9.25).
        let quarter = QuantizedMultiplier(1 << 30, -1)
        #expect(mean([11, 0, 12, 0, 13, 1, 15, 2], height: 2, width: 2, channels: 2, inputZeroPoint: 10, outputZeroPoint: -3,
                     quarter) == [0, -12])
        // The clamp: 127 everywhere, zero point -128 in, 0 out, ratio 1: mean 255 -> 127.
        #expect(mean([127, 127, 127, 127], height: 2, width: 2, channels: 1, inputZeroPoint: -128, outputZeroPoint: 0,
                     QuantizedMultiplier(meanOf: 4, inputScale: 1, outputScale: 1)) == [127])
    }

    /// [1, 3, 5, 4] input -> mean to its own quantization -> [1, 1, 1, 4].
    static func graph(multiplier: QuantizedMultiplier? = nil) -> ModelGraph {
        var g = ModelGraph(input: .init(shape: [1, 3, 5, 4], scale: 0.05, zeroPoint: 7),
                           inputTable: (0..<4 * 256).map { Int8(truncatingIfNeeded: $0 % 256 - 128) })
        let out = ModelGraph.Tensor(shape: [1, 1, 1, 4], scale: 0.02, zeroPoint: -11)
        g.append(.mean(input: 0, multiplier: multiplier ?? QuantizedMultiplier(meanOf: 15, inputScale: 0.05, outputScale: 0.02),
                       activation: .none), output: out)
        g.names = ["head.mean"]
        return g
    }

    @Test func meanModelLoadsAndRunsLikeTheKernelAndTheFloatSimulation() throws {
        let g = Self.graph()
        let buffer = try ModelBuffer(try RNBWriter.write(g))
        let model = buffer.model
        #expect(model.file.op(0).kind == .mean && model.macs(op: 0) == 0)
        #expect(String(decoding: model.file.opName(0)!, as: UTF8.self) == "head.mean")
        var rng = SeededRandom(seed: 3)
        for _ in 0..<20 {
            let input = (0..<60).map { _ in Int8.random(in: -128...127, using: &rng) }
            let got = try run(model, input)
            let want = mean(input, height: 3, width: 5, channels: 4, inputZeroPoint: 7, outputZeroPoint: -11,
                            QuantizedMultiplier(meanOf: 15, inputScale: 0.05, outputScale: 0.02))
            #expect(diff(got, want) == "OK")
            let simulated = FakeQuantization.run(g, op: 0, tensors: [input, []])
            #expect(zip(got, simulated).allSatisfy { abs(Int($0) - Int($1)) <= 1 }, "\(got) vs \(simulated)")
        }
    }

    @Test func loaderAdmitsMantissasBelowTwoToThe30AndRefusesTheRest() throws {
        let bytes = try RNBWriter.write(Self.graph())
        // The adapted multiplier of n = 15 lies below 2^30 already; 1 is still a valid mantissa.
        #expect(ModelPatch.status(bytes) { _ in } == .ok)
        #expect(ModelPatch.status(bytes) { $0.param(0, RNMeanParams.Slot.multiplier, 1) } == .ok)
        #expect(ModelPatch.status(bytes) { $0.param(0, RNMeanParams.Slot.multiplier, UInt32(bitPattern: -5)) } == .badMultiplier)
        #expect(ModelPatch.status(bytes) { $0.param(0, RNMeanParams.Slot.multiplier, 0) } == .badMultiplier)   // shift not 0
        #expect(ModelPatch.status(bytes) { $0.param(0, RNMeanParams.Slot.shift, 31) } == .badShift)
        #expect(ModelPatch.status(bytes) { $0.param(0, RNMeanParams.Slot.shift, UInt32(bitPattern: -32)) } == .badShift)
        #expect(ModelPatch.status(bytes) { $0.param(0, 2, 1) } == .opFieldNotZero)
        #expect(ModelPatch.status(bytes) { $0.op(0, RNBOpRecord.windowOffset, 1, width: 1) } == .opFieldNotZero)
        #expect(ModelPatch.status(bytes) { $0.tensor(1, RNBTensorRecord.dimsOffset + 12, 3) } == .channelMismatch)
    }
}

/// The in-place rule of the plan (RNRuntime/MemoryPlan.swift): a conv2d_add may overwrite its residual,
/// but not when the residual is also the convolution's input (its neighbours are still read).
@Suite struct PlanRuleTests {
    @Test func convAddOverItsOwnConvolutionInputIsRefused() throws {
        var g = ModelGraph(input: .init(shape: [1, 4, 4, 4], scale: 0.05, zeroPoint: 0),
                           inputTable: (0..<4 * 256).map { Int8(truncatingIfNeeded: $0 % 256 - 128) })
        let m = QuantizedMultiplier(1 << 30, -4), half = QuantizedMultiplier(1 << 30, 0)
        let weights = ModelGraph.Weights(values: [Int8](repeating: 1, count: 4 * 9 * 4), bias: [0, 0, 0, 0],
                                         multipliers: [m, m, m, m])
        g.append(.conv2DAdd(input: 0, residual: 0, window: .square(3, stride: 1, padding: 1), weights: weights, convScale: 0.05,
                            convZeroPoint: 0, leftShift: 20, multipliers: (half, half, QuantizedMultiplier(1 << 30, -19)),
                            activation: .none),
                 output: .init(shape: [1, 4, 4, 4], scale: 0.05, zeroPoint: 0))
        let rules = g
        #expect(!rules.mayWriteInPlace(op: 0, over: 0) && rules.inPlacePartner(of: 1) == nil)
        let bytes = try RNBWriter.write(g)   // the planner keeps them apart
        #expect(ModelPatch.status(bytes) { _ in } == .ok)
        #expect(ModelPatch.status(bytes) { $0.tensor(1, RNBTensorRecord.arenaOffsetOffset, UInt32($0.file.tensor(0).arenaOffset)) }
                == .inPlaceNotAllowed)
    }
}
