import Foundation
import Testing
import RNQuantize
import RNRuntime
import RNTrain

/// int8 `.tflite` import against TensorFlow Lite: each fixture (Tools/fixtures/make-tflite-fixtures.py,
/// Keras ResNets fully int8-quantized) imported, written, loaded and run by the real runtime on
/// the seeded inputs; the int8 outputs must equal TFLM's interpreter's byte for byte.
@Suite struct TFLiteImportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/tflite")
    static var fixtures: [[String: Any]] {
        let manifest = try! JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("manifest.json"))) as! [String: Any]
        return manifest["fixtures"] as! [[String: Any]]
    }
    static var names: [String] { fixtures.map { ($0["file"] as! String).replacingOccurrences(of: ".tflite", with: "") } }

    @Test(arguments: names)
    func outputsEqualTFLM(_ name: String) throws {
        let entry = Self.fixtures.first { ($0["file"] as! String) == "\(name).tflite" }!
        let bytes = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("\(name).tflite")))
        let channels = (entry["input"] as! [Int])[2]
        let graph = try TFLiteImporter.graph(bytes, mean: [Float](repeating: 0.5, count: channels), std: [Float](repeating: 0.5, count: channels), labels: nil)
        let buffer = try ModelBuffer(try RNBWriter.write(graph))
        let model = buffer.model
        let raw = try Data(contentsOf: Self.root.appendingPathComponent("\(name).inputs.bin"))
        let floatIO = entry["input_type"] as! String == "float32"
        let n = model.input.byteCount, count = floatIO ? raw.count / (4 * n) : raw.count / n
        var inputs: [[Int8]] = []
        for k in 0..<count {
            if floatIO {   // TFLite's QUANTIZE: round(x / scale) + zero point, half away from zero, in float
                let x = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)[(k * n)..<((k + 1) * n)]) }
                let s = model.input.scale, z = model.input.zeroPoint
                inputs.append(x.map { Int8(max(-128, min(127, Int32(($0 / s).rounded()) + z))) })
            } else {
                inputs.append(raw[(k * n)..<((k + 1) * n)].map { Int8(bitPattern: $0) })
            }
        }
        var ours: [Int8] = []
        for x in inputs { ours += try run(model, x) }
        let tflm = try Data(contentsOf: Self.root.appendingPathComponent("\(name).tflm.bin"))
        let want: [Int8]
        if floatIO {   // TFLM dequantized its int8 output: map each float back to its step
            let f = tflm.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let s = model.output.scale, z = model.output.zeroPoint
            want = f.map { Int8(Int32(($0 / s).rounded()) + z) }
        } else {
            want = tflm.map { Int8(bitPattern: $0) }
        }
        print("\(name): rn arena \(model.arenaBytes) bytes, TFLM \(entry["tflm_arena_bytes"]!); \(ours.count) output bytes, \(zip(ours, want).filter { $0 == $1 }.count) equal")
        #expect(diff(ours, want) == "OK", "\(name) against TFLM")
    }
}
