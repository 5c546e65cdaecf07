import Foundation
import Testing
import RNQuantize
import RNTrain

/// ONNX import against ONNX Runtime: each fixture (Tools/fixtures/make-onnx-fixtures.py: PyTorch's
/// two exporters, opsets 9 to 18, folded and unfolded batch norm, torchvision and CIFAR layouts)
/// imported, run by the trainer's float layers, and compared with ONNX Runtime's float outputs.
@Suite struct ONNXImportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/onnx")
    static var fixtures: [String] {
        let manifest = try! JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("manifest.json"))) as! [String: Any]
        return (manifest["fixtures"] as! [[String: Any]]).map { ($0["file"] as! String).replacingOccurrences(of: ".onnx", with: "") }
    }

    static func floats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test(arguments: fixtures)
    func floatImportMatchesONNXRuntime(_ name: String) throws {
        let bytes = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("\(name).onnx")))
        let model = try ONNXModel(bytes: bytes)
        let info = CheckpointInfo(labels: [], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25])
        let folded = try ONNXImporter.fold(model, info: info)
        let (h, w, c) = folded.input
        let inputs = try Self.floats(Self.root.appendingPathComponent("\(name).inputs.bin"))   // NCHW
        let expected = try Self.floats(Self.root.appendingPathComponent("\(name).expected.bin"))
        let n = inputs.count / (c * h * w), classes = expected.count / n
        var nhwc = [Float](repeating: 0, count: inputs.count)
        for b in 0..<n { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
            nhwc[((b * h + y) * w + x) * c + ch] = inputs[((b * c + ch) * h + y) * w + x]
        } } } }
        let logits = folded.run(Tensor(n: n, h: h, w: w, c: c, values: nhwc)).last!
        #expect(logits.count == expected.count)
        var worst = 0.0
        for b in 0..<n {
            let want = expected[(b * classes)..<((b + 1) * classes)], peak = Double(want.map { abs($0) }.max()!)
            for k in 0..<classes {
                worst = max(worst, Double(abs(logits.data[b * classes + k] - want[b * classes + k])) / max(peak, 1e-6))
            }
        }
        print("\(name): worst difference from ONNX Runtime \(worst) of the largest logit")
        #expect(worst <= 1e-4, "\(name): worst relative difference \(worst)")
    }
}
