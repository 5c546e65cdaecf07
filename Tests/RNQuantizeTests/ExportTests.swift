import Foundation
import Testing
import RNFormat
import RNKernels
@testable import RNQuantize
import RNRuntime
import RNTrain
import RNTestSupport

/// A small trained ResNet with the sample's splits, built once per process.
let trained = trainedTinyModel(seed: 11)

/// Serialized: the tests share one trained network, and forward passes cache into its layers.
@Suite(.serialized) struct ExportTests {
    @Test func foldingPreservesTheFloatNetwork() throws {
        let (net, info, _, test) = trained
        let folded = try FoldedModel(net, info: info)
        var rng = SeededRandom(seed: 0)
        let (x, _) = BatchMaker(mean: info.mean, std: info.std).batch(test, Array(0..<20)[...], rng: &rng, augment: false)
        let want = net.forward(x, training: false).array
        let got = folded.run(x).last!.array
        let worst = zip(want, got).map { abs($0 - $1) / max(1, abs($0)) }.max()!
        #expect(worst < 1e-4, "folded vs unfolded logits differ by \(worst)")
        #expect(folded.names.first == "stem" && folded.names.last == "fc")
    }

    @Test func weightQuantizationIsSymmetricPerChannel() throws {
        let (values, scales) = try Quantizer.quantizeWeights([0.5, -1.0, 0.25, 0, 0, 0, 2, 2, -2], outputs: 3, name: "t")
        #expect(scales == [1.0 / 127, 1, 2.0 / 127])
        #expect(values == [64, -127, 32, 0, 0, 0, 127, 127, -127])     // 63.5 rounds away from zero
        #expect(throws: ExportError.self) { try Quantizer.quantizeWeights([0, 0], outputs: 1, name: "t") }
        #expect(affineQuantization(RealRange(0, 6)).zeroPoint == -128)
        let symmetric = affineQuantization(RealRange(-1, 1))
        #expect(symmetric.zeroPoint == -1 && abs(symmetric.scale - 2 / 255) < 1e-9)
    }

    /// Every op of the exported model, run by the runtime, against the float simulation of the
    /// same quantised arithmetic fed the runtime's own int8 inputs: at most 1 LSB apart. Checked
    /// unfused, so that every layer's output is observable; FusionTests proves the fused model
    /// gives the same bytes.
    @Test(arguments: CalibrationMethod.allCases)
    func runtimeMatchesFakeQuantizationWithinOneLSB(_ method: CalibrationMethod) throws {
        let (net, info, train, test) = trained
        let result = try Exporter.export(net, info: info, calibration: train,
                                         options: ExportOptions(method: method, calibrationCount: 200, biasCorrection: method == .mse,
                                                                       fuseResidualAdds: false))
        let buffer = try ModelBuffer(result.bytes)
        let model = buffer.model
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: model.arenaBytes, alignment: 16)
        defer { arena.deallocate() }
        var offByOne = 0, compared = 0, worst = 0
        for image in 0..<6 {
            let pixels = Array(test.pixels[(image * 784)..<((image + 1) * 784)])
            var input = [Int8](repeating: 0, count: 784)
            model.quantizeImage(pixels: pixels, into: &input)
            var tensors = [[Int8]](repeating: [], count: model.opCount + 1)
            tensors[0] = input
            var output = [Int8](repeating: 0, count: 10)
            try model.invoke(arena: arena, input: input, output: &output) { e in
                if e.phase == .end { tensors[e.outputTensor] = Array(UnsafeBufferPointer(start: e.output, count: e.byteCount)) }
            }
            for i in 0..<model.opCount {
                let simulated = FakeQuantization.run(result.graph, op: i, tensors: tensors)
                for (a, b) in zip(simulated, tensors[i + 1]) {
                    let d = abs(Int(a) - Int(b))
                    worst = max(worst, d)
                    offByOne += d == 1 ? 1 : 0
                    compared += 1
                }
            }
        }
        print("\(method): \(compared) int8 outputs compared, \(offByOne) differ by 1 LSB, max \(worst)")
        #expect(worst <= 1, "\(method): max difference \(worst) LSB")
        #expect(offByOne < compared / 20)
    }

    @Test func calibrationMethodsChooseSensibleRanges() throws {
        let (net, info, train, _) = trained
        let folded = try FoldedModel(net, info: info)
        let calibrator = Calibrator(model: folded)
        let indices = Exporter.calibrationIndices(train, count: 100)
        let minmax = try calibrator.ranges(train, indices: indices, method: .minmax)
        let percentile = try calibrator.ranges(train, indices: indices, method: .percentile)
        let mse = try calibrator.ranges(train, indices: indices, method: .mse)
        #expect(minmax[0] == calibrator.inputRange())
        // Tensors whose range is their own (pooling outputs inherit their input's).
        let calibrated = (1...folded.ops.count).filter { t in
            switch folded.ops[t - 1] {
            case .maxPool, .globalAveragePool: return false
            default: return true
            }
        }
        for t in calibrated {
            #expect(minmax[t].low <= 0 && minmax[t].high >= 0)
            #expect(percentile[t].high <= minmax[t].high * 1.0001 && mse[t].high <= minmax[t].high * 1.0001)
        }
        // Pools share their input's range exactly.
        for (i, op) in folded.ops.enumerated() {
            if case .globalAveragePool(let input) = op { #expect(mse[i + 1] == mse[input]) }
        }
        #expect(throws: ExportError.self) { try calibrator.ranges(train, indices: [], method: .minmax) }
    }

    @Test func badExportInputs() throws {
        let (net, info, train, _) = trained
        let cifar = try loadCIFAR10(paths: [cifarSample])
        #expect(throws: ExportError.self) { try Exporter.export(net, info: info, calibration: cifar, options: ExportOptions()) }
        let (broken, _) = try RNF.decode(try RNF.encode(net, info: info), path: "copy")
        broken.blocks[1].first.conv.weight.value[3] = .nan
        do {
            _ = try Exporter.export(broken, info: info, calibration: train, options: ExportOptions(calibrationCount: 10))
            Issue.record("NaN weights were exported")
        } catch {
            #expect("\(error)".hasPrefix("block1.conv1: weights or batch-norm statistics are not finite"))
        }
    }
}

@Suite(.serialized) struct FusionTests {
    /// conv2d_add must give the same bytes as the conv2d + add pair it replaces, on every image,
    /// while the arena shrinks.
    @Test func fusedResidualAddIsBitExactWithTheUnfusedPair() throws {
        let (net, info, train, test) = trained
        let fused = try Exporter.export(net, info: info, calibration: train, options: ExportOptions(calibrationCount: 100))
        let plain = try Exporter.export(net, info: info, calibration: train,
                                        options: ExportOptions(calibrationCount: 100, fuseResidualAdds: false))
        let a = try ModelBuffer(fused.bytes), b = try ModelBuffer(plain.bytes)
        #expect(a.model.opCount == b.model.opCount - 8)      // one fused op per residual block
        #expect(a.model.arenaBytes < b.model.arenaBytes)
        let arenaA = UnsafeMutableRawBufferPointer.allocate(byteCount: a.model.arenaBytes, alignment: 16)
        let arenaB = UnsafeMutableRawBufferPointer.allocate(byteCount: b.model.arenaBytes, alignment: 16)
        defer { arenaA.deallocate(); arenaB.deallocate() }
        for image in 0..<40 {
            var input = [Int8](repeating: 0, count: 784)
            a.model.quantizeImage(pixels: Array(test.pixels[(image * 784)..<((image + 1) * 784)]), into: &input)
            var outA = [Int8](repeating: 0, count: 10), outB = outA
            try a.model.invoke(arena: arenaA, input: input, output: &outA)
            try b.model.invoke(arena: arenaB, input: input, output: &outB)
            #expect(outA == outB, "image \(image)")
        }
    }
}

extension FusionTests {
    /// The ImageNet stem streamed into its pool gives the same bytes as conv2d + max_pool.
    @Test func streamedStemIsBitExactWithTheUnfusedPair() throws {
        let arch = Architecture(kind: .resnet18, width: 4, stem: .imagenet, inputHeight: 45, inputWidth: 38, inputChannels: 3, classes: 6)
        let (net, info, data) = Exporter.randomNetwork(arch, seed: 8, calibrationImages: 24)
        let fused = try ModelBuffer(Exporter.export(net, info: info, calibration: data, options: ExportOptions(calibrationCount: 24)).bytes)
        let plain = try ModelBuffer(Exporter.export(net, info: info, calibration: data,
                                                    options: ExportOptions(calibrationCount: 24, fuseStemPool: false)).bytes)
        #expect(fused.model.file.op(0).kind == .conv2DMaxPool && plain.model.file.op(1).kind == .maxPool)
        #expect(fused.model.ringBytes(op: 0) > 0 && fused.model.arenaBytes < plain.model.arenaBytes)
        let arenaA = UnsafeMutableRawBufferPointer.allocate(byteCount: fused.model.arenaBytes, alignment: 16)
        let arenaB = UnsafeMutableRawBufferPointer.allocate(byteCount: plain.model.arenaBytes, alignment: 16)
        defer { arenaA.deallocate(); arenaB.deallocate() }
        let bytes = data.imageBytes
        for image in 0..<12 {
            var input = [Int8](repeating: 0, count: bytes)
            fused.model.quantizeImage(pixels: Array(data.pixels[(image * bytes)..<((image + 1) * bytes)]), into: &input)
            var a = [Int8](repeating: 0, count: 6), b = a
            try fused.model.invoke(arena: arenaA, input: input, output: &a)
            try plain.model.invoke(arena: arenaB, input: input, output: &b)
            #expect(a == b, "image \(image)")
        }
    }
}
