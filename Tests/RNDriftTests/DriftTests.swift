import Foundation
import Testing
import RNFormat
@testable import RNDrift
import RNQuantize
import RNRuntime
import RNTrain
import RNTestSupport

/// A small trained ResNet, a slice of the test split, and its int8 export.
let trained: (ResNet, CheckpointInfo, ImageDataset, [UInt8]) = {
    let (net, info, train, test) = trainedTinyModel(seed: 21)
    let bytes = try! Exporter.export(net, info: info, calibration: train, options: ExportOptions(calibrationCount: 200)).bytes
    return (net, info, test.prefix(120), bytes)
}()

@Suite(.serialized) struct DriftTests {
    @Test func metricsOnHandComputedTensors() {
        // Identical: no noise (capped at 200 dB), cosine 1.
        #expect(decibels(4, 0) == 200)
        // Signal 1^2 + 2^2 = 5, noise 0.1^2 + 0.2^2 = 0.05: 10 log10(100) = 20 dB.
        #expect(abs(decibels(5, 0.05) - 20) < 1e-12)
        // KL of a distribution with itself is 0; of (1, 0) against (0.5, 0.5) is ln 2.
        #expect(klDivergence([0.3, 0.7], [0.3, 0.7]) == 0)
        #expect(abs(klDivergence([1, 0], [0.5, 0.5]) - log(2)) < 1e-12)
        #expect(abs(softmax([0, log(3)])[1] - 0.75) < 1e-12 && argmax([1, 3, 3]) == 1)
        var a = LayerSums(), b = LayerSums()
        a.signal = 1; a.noise = 0.5; a.maxLSB = 2; a.values = 3
        b.signal = 2; b.noise = 0.5; b.maxLSB = 5; b.values = 4; b.clipped = 1
        a.merge(b)
        #expect(a.signal == 3 && a.noise == 1 && a.maxLSB == 5 && a.values == 7 && a.clipped == 1)
    }

    @Test func reportsTheExportedModel() throws {
        let (net, info, test, bytes) = trained
        let buffer = try ModelBuffer(bytes)
        let report = try measureDrift(net: net, info: info, model: buffer.model, data: test, sensitivityCount: 40)
        #expect(report.images == 120 && report.layers.count == buffer.model.opCount)
        #expect(report.agreement > 0.9, "agreement \(report.agreement)")
        #expect(report.layers.allSatisfy { $0.sqnrDB > 15 && $0.cosine > 0.98 && $0.rmseLSB < 3 })
        #expect(report.sensitivity.count == 5)
        #expect(report.floatConfusion.flatMap { $0 }.reduce(0, +) == 120)
        #expect(report.errorHistogram.reduce(0, +) > 0)
        // JSON keys of the contract, and four charts in the HTML.
        let json = report.json as! [String: Any]
        for key in ["float_top1", "int8_top1", "agreement", "top1_drop", "images", "layers"] { #expect(json[key] != nil, "\(key)") }
        let layer = (json["layers"] as! [[String: Any]])[0]
        for key in ["name", "sqnr_db", "cosine", "max_abs_lsb"] { #expect(layer[key] != nil, "\(key)") }
        #expect(try JSONSerialization.data(withJSONObject: report.json).count > 100)
        let html = report.html(title: "t")
        #expect(html.components(separatedBy: "<svg").count - 1 == 4)
        #expect(html.components(separatedBy: "class=\"cell\"").count - 1 == 2 * 100)
    }

    /// A deliberately mis-scaled layer (every output shift of one conv doubled) is the worst.
    @Test func misScaledLayerIsFlaggedWorst() throws {
        let (net, info, test, bytes) = trained
        var broken = bytes
        let file = try ModelBuffer(bytes).model.file
        let target = 6
        let op = file.op(target)
        #expect(op.kind == .conv2D)
        let shifts = file.constantsOffset + Int(op.params(RNConvParams.self).shiftOffset)
        for c in 0..<file.tensor(target + 1).channels {
            let at = shifts + 4 * c
            broken[at] = UInt8(bitPattern: Int8(bitPattern: broken[at]) + 1)
        }
        let crc = broken.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[RNBHeader.crcStart...])) }
        for k in 0..<4 { broken[RNBHeader.crcOffset + k] = UInt8((crc >> (8 * k)) & 0xFF) }
        let buffer = try ModelBuffer(broken)
        let report = try measureDrift(net: net, info: info, model: buffer.model, data: test.prefix(40), sensitivityCount: 40)
        let worst = report.layers.indices.min { report.layers[$0].sqnrAloneDB < report.layers[$1].sqnrAloneDB }!
        #expect(worst == target, "worst layer \(report.layers[worst].name), expected \(report.layers[target].name)")
        #expect(report.sensitivity.first?.layer == report.layers[target].name)
        #expect(report.sensitivity.first!.recoveredPoints >= 0)
    }

    @Test func modelsThatDoNotBelongTogether() throws {
        let (net, info, test, bytes) = trained
        let other = Architecture(kind: .resnet18, width: 4, stem: .imagenet, inputHeight: 28, inputWidth: 28, inputChannels: 1, classes: 10)
        let (otherNet, _, _) = Exporter.randomNetwork(other, seed: 1, calibrationImages: 8)
        let buffer = try ModelBuffer(bytes)
        #expect(throws: DriftError.self) { try measureDrift(net: otherNet, info: info, model: buffer.model, data: test) }
        let cifar = try loadCIFAR10(paths: [cifarSample])
        #expect(throws: DriftError.self) { try measureDrift(net: net, info: info, model: buffer.model, data: cifar) }
        #expect(throws: DriftError.self) { try measureDrift(net: net, info: info, model: buffer.model, data: test.prefix(0)) }
    }
}
