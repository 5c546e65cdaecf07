import Foundation
import Testing
import RNFormat
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
        #expect(graph.ops.contains { if case .conv2DAdd = $0 { return true } else { return false } }, "residual adds fused")
        for layout in [RNWeightLayout.ohwi, .o16hwi4] {
        let buffer = try ModelBuffer(try RNBWriter.write(graph, weightLayout: layout))
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
        // TFLite's reference kernels (BUILTIN_REF) agree with TFLM on these fixtures, so rn matches both.
        let reference = try Data(contentsOf: Self.root.appendingPathComponent("\(name).ref.bin"))
        #expect(entry["outputs_ref_equal_tflm"] as? Bool == true && reference == tflm)
        print("\(name): rn arena \(model.arenaBytes) bytes, TFLM \(entry["tflm_arena_bytes"]!); \(ours.count) output bytes, \(zip(ours, want).filter { $0 == $1 }.count) equal")
        #expect(diff(ours, want) == "OK", "\(name) against TFLM, weights in \(layout)")
        }
    }
}

/// Bad .tflite input: one error naming the operator or field, never a crash or a huge allocation.
@Suite struct TFLiteBadInputTests {
    func importError(_ bytes: [UInt8]) -> String? {
        do { _ = try TFLiteImporter.graph(bytes, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], labels: nil); return nil } catch { return "\(error)" }
    }

    @Test func truncationsFlipsAndUnsupportedOperators() throws {
        let bytes = [UInt8](try Data(contentsOf: TFLiteImportTests.root.appendingPathComponent("resnet10-cifar-w8-int8.tflite")))
        #expect(importError(bytes) == nil)
        for length in stride(from: 0, to: bytes.count, by: 211) {
            #expect(importError(Array(bytes[..<length])) != nil, "truncated to \(length) bytes")
        }
        var rng = SeededRandom(seed: 15)
        for _ in 0..<500 {   // flips in the structure (the first 4 KB and the last 8 KB): an error or a graph, never a crash
            var mutant = bytes
            let at = Bool.random(using: &rng) ? Int.random(in: 0..<4096, using: &rng) : Int.random(in: (bytes.count - 8192)..<bytes.count, using: &rng)
            mutant[at] ^= UInt8.random(in: 1...255, using: &rng)
            if let graph = try? TFLiteImporter.graph(mutant, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], labels: nil) {
                _ = try? RNBWriter.write(graph)   // what imports must also write or be refused cleanly
            }
        }
        let depthwise = [UInt8](try Data(contentsOf: TFLiteImportTests.root.appendingPathComponent("unsupported-depthwise.tflite")))
        #expect(importError(depthwise) == "TFLite: unsupported operators: DEPTHWISE_CONV_2D (operator 0)")
        #expect(importError(Array("not a model at all".utf8))?.contains("no TFL3 identifier") == true)
        var badRoot = bytes
        badRoot[0] = 0xFF; badRoot[1] = 0xFF; badRoot[2] = 0xFF; badRoot[3] = 0x7F   // root offset past the end
        #expect(importError(badRoot)?.contains("outside the") == true)
    }

    @Test func rnExportTFLiteIsOneCommand() throws {
        let model = TFLiteImportTests.root.appendingPathComponent("resnet10-imagenet-w8-int8.tflite").path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-tflite-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let rnb = dir.appendingPathComponent("m.rnb").path, header = dir.appendingPathComponent("m.h").path
        let (status, stdout, stderr) = try runTool("rn-export", [model, "-o", rnb, "--c-header", header, "--json"])
        #expect(status == 0, "\(stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        #expect((json["arena_bytes"] as? Int ?? .max) * 2 <= 12_973)   // at most half of TFLM's arena for this model
        #expect(try String(contentsOfFile: header, encoding: .utf8).contains("#define RN_MODEL_ARENA_BYTES"))
        let bad = try runTool("rn-export", [TFLiteImportTests.root.appendingPathComponent("unsupported-depthwise.tflite").path, "-o", rnb])
        #expect(bad.0 == 1 && bad.2.hasSuffix("unsupported-depthwise.tflite: TFLite: unsupported operators: DEPTHWISE_CONV_2D (operator 0)\n"), "\(bad.2)")
    }
}
