import Foundation
import Testing
import RNFormat
import RNKernels
@testable import RNQuantize
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

    /// The int8 values of the tensor rn runs, from the values of the file's own input or output
    /// tensor (int8, uint8 or float32, with its (scale, zero point)): as TFLite's QUANTIZE for a
    /// float input (round(x / scale) + zero point, in float); for an integer one, the same scale
    /// and a zero point moved by the type's offset; a float output is the int8 one dequantized.
    static func int8(_ raw: Data, type: String, file: [Double], rn: RNTensor) -> [Int8] {
        if type == "float32" {
            let s = rn.scale, z = rn.zeroPoint
            return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { Int8(max(-128, min(127, Int32(($0 / s).rounded()) + z))) }
        }
        #expect(Float(file[0]) == rn.scale, "the file's \(type) tensor and rn's int8 tensor share a scale")
        let offset = Int32(rn.zeroPoint) - Int32(file[1])
        return raw.map { Int8(max(-128, min(127, (type == "uint8" ? Int32($0) : Int32(Int8(bitPattern: $0))) + offset))) }
    }

    @Test(arguments: names)
    func outputsEqualTFLM(_ name: String) throws {
        let entry = Self.fixtures.first { ($0["file"] as! String) == "\(name).tflite" }!
        let bytes = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent("\(name).tflite")))
        let channels = (entry["input"] as! [Int])[2]
        let graph = try TFLiteImporter.graph(bytes, mean: nil, std: nil, labels: nil)
        #expect(graph.ops.contains { if case .conv2DAdd = $0 { return true } else { return false } }, "residual adds fused")
        let perChannel = graph.ops.contains { if case .conv2D(_, _, let w, _) = $0 { return Set(w.scales).count > 1 } else { return false } }
        #expect(perChannel == (entry["per_channel"] as! Bool))
        let raw = try Data(contentsOf: Self.root.appendingPathComponent("\(name).inputs.bin"))
        let tflm = try Data(contentsOf: Self.root.appendingPathComponent("\(name).tflm.bin"))
        // TFLite's reference kernels (BUILTIN_REF) agree with TFLM on these fixtures, so rn matches both.
        let reference = try Data(contentsOf: Self.root.appendingPathComponent("\(name).ref.bin"))
        #expect(entry["outputs_ref_equal_tflm"] as? Bool == true && reference == tflm)
        for layout in [RNWeightLayout.ohwi, .o16hwi4] {
            let buffer = try ModelBuffer(try RNBWriter.write(graph, weightLayout: layout))
            let model = buffer.model
            let inputs = Self.int8(raw, type: entry["input_type"] as! String, file: entry["input_quantization"] as! [Double], rn: model.input)
            let want = Self.int8(tflm, type: entry["output_type"] as! String, file: entry["output_quantization"] as! [Double], rn: model.output)
            let n = model.input.byteCount
            var ours: [Int8] = []
            for k in 0..<(inputs.count / n) { ours += try run(model, Array(inputs[(k * n)..<((k + 1) * n)])) }
            if entry["input_type"] as! String == "uint8" {   // the pixel table (rn_quantize_image_u8) is the file's QUANTIZE
                #expect(raw.enumerated().map { k, p in graph.inputTable[(k % channels) * 256 + Int(p)] } == inputs)
            }
            print("\(name): rn arena \(model.arenaBytes) bytes, TFLM \(entry["tflm_arena_bytes"]!); \(ours.count) output bytes, \(zip(ours, want).filter { $0 == $1 }.count) equal")
            #expect(!ours.isEmpty && diff(ours, want) == "OK", "\(name) against TFLM, weights in \(layout)")
            #expect(model.arenaBytes * 2 <= entry["tflm_arena_bytes"] as! Int, "at most half of TFLM's arena")
        }
    }
}

/// Where TFLite's two interpreters disagree: a per-channel FULLY_CONNECTED on the inputs (of
/// 4,000 seeded ones) for which TFLite's reference kernels round once and TFLM rounds twice
/// (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT). rn's contract is TFLM's.
@Suite struct TFLiteRoundingTests {
    @Test func fullyConnectedRoundsTwiceAsTFLM() throws {
        let root = TFLiteImportTests.root, name = "dense-per-channel-rounding"
        let graph = try TFLiteImporter.graph([UInt8](try Data(contentsOf: root.appendingPathComponent("\(name).tflite"))), mean: nil, std: nil, labels: nil)
        let buffer = try ModelBuffer(try RNBWriter.write(graph))
        let model = buffer.model
        let inputs = try Data(contentsOf: root.appendingPathComponent("\(name).inputs.bin")).map { Int8(bitPattern: $0) }
        let tflm = try Data(contentsOf: root.appendingPathComponent("\(name).tflm.bin")).map { Int8(bitPattern: $0) }
        let reference = try Data(contentsOf: root.appendingPathComponent("\(name).ref.bin")).map { Int8(bitPattern: $0) }
        let n = model.input.byteCount
        var ours: [Int8] = []
        for k in 0..<(inputs.count / n) { ours += try run(model, Array(inputs[(k * n)..<((k + 1) * n)])) }
        #expect(!ours.isEmpty && diff(ours, tflm) == "OK")
        let differing = zip(reference, tflm).filter { $0 != $1 }
        #expect(!differing.isEmpty && differing.allSatisfy { abs(Int($0) - Int($1)) == 1 }, "the two interpreters differ by one step")
    }
}

/// Each imported fixture through every host kernel path this CPU has (`RN_HOST_KERNELS`, one
/// rn-infer process per value, as KernelPathTests does for the goldens), in both weight layouts.
@Suite struct TFLiteKernelPathTests {
    @Test(arguments: TFLiteImportTests.names)
    func everyKernelSetGivesTFLMsBytes(_ name: String) throws {
        let entry = TFLiteImportTests.fixtures.first { ($0["file"] as! String) == "\(name).tflite" }!
        let root = TFLiteImportTests.root
        let graph = try TFLiteImporter.graph([UInt8](try Data(contentsOf: root.appendingPathComponent("\(name).tflite"))), mean: nil, std: nil, labels: nil)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-tflite-paths-\(getpid())-\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for layout in [RNWeightLayout.ohwi, .o16hwi4] {
            let bytes = try RNBWriter.write(graph, weightLayout: layout)
            let buffer = try ModelBuffer(bytes)
            let model = buffer.model
            let path = dir.appendingPathComponent("model-\(layout.rawValue).rnb").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let inputs = TFLiteImportTests.int8(try Data(contentsOf: root.appendingPathComponent("\(name).inputs.bin")), type: entry["input_type"] as! String,
                                                file: entry["input_quantization"] as! [Double], rn: model.input)
            let want = TFLiteImportTests.int8(try Data(contentsOf: root.appendingPathComponent("\(name).tflm.bin")), type: entry["output_type"] as! String,
                                              file: entry["output_quantization"] as! [Double], rn: model.output)
            let n = model.input.byteCount
            let files = try (0..<(inputs.count / n)).map { k -> String in
                let file = dir.appendingPathComponent("input\(k).bin").path
                try Data(inputs[(k * n)..<((k + 1) * n)].map { UInt8(bitPattern: $0) }).write(to: URL(fileURLWithPath: file))
                return file
            }
            for value in KernelPathTests.values {
                let (status, stdout, stderr) = try runTool("rn-infer", [path, "--raw", "--json"] + files, environment: ["RN_HOST_KERNELS": value])
                #expect(status == 0, "\(value): \(stderr)")
                let results = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]])
                let outputs = results.flatMap { ($0["logits"] as? [Int] ?? []).map { Int8($0) } }
                #expect(diff(outputs, want) == "OK", "\(name) in \(layout) with RN_HOST_KERNELS=\(value)")
            }
        }
    }
}

/// Bad .tflite input: one error naming the operator or field, never a crash or a huge allocation.
@Suite struct TFLiteBadInputTests {
    func importError(_ bytes: [UInt8]) -> String? {
        do { _ = try TFLiteImporter.graph(bytes, mean: nil, std: nil, labels: nil); return nil } catch { return "\(error)" }
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
            if let graph = try? TFLiteImporter.graph(mutant, mean: nil, std: nil, labels: nil) {
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
        let uint8 = TFLiteImportTests.root.appendingPathComponent("resnet8-imagenet-w16-uint8-io.tflite").path
        let pixels = try runTool("rn-export", [uint8, "-o", rnb, "--mean", "0.5,0.5,0.5"])
        #expect(pixels.0 == 1 && pixels.2.hasSuffix("uint8-io.tflite: TFLite input 'serving_default_keras_tensor_162:0' is uint8 pixels, mapped to int8 by the model itself: mean and std do not apply\n"), "\(pixels.2)")
        let count = try runTool("rn-export", [model, "-o", rnb, "--std", "0.5"])
        #expect(count.0 == 1 && count.2.contains("has 3 channels: mean and std need 3 values each"), "\(count.2)")
        let bad = try runTool("rn-export", [TFLiteImportTests.root.appendingPathComponent("unsupported-depthwise.tflite").path, "-o", rnb])
        #expect(bad.0 == 1 && bad.2.hasSuffix("unsupported-depthwise.tflite: TFLite: unsupported operators: DEPTHWISE_CONV_2D (operator 0)\n"), "\(bad.2)")
    }
}

/// Targeted corruptions of a real fixture, each at one field found through the reader: the error
/// names the tensor or operator, and nothing traps or allocates by a corrupt count.
@Suite struct TFLiteFieldTests {
    let bytes = [UInt8](try! Data(contentsOf: TFLiteImportTests.root.appendingPathComponent("resnet10-cifar-w8-int8.tflite")))
    var model: FBTable { try! FlatBuffer(bytes: bytes).root("Model") }
    var subgraph: FBTable { try! model.tables(2, "SubGraph")[0] }
    var firstConv: FBTable { try! subgraph.tables(3, "Operator")[0] }
    /// Operator 0 (the stem CONV_2D) reads tensors [input, filter, bias].
    func tensor(_ operand: Int) -> FBTable {
        let index = try! firstConv.int32s(1)[operand]
        return try! subgraph.tables(0, "Tensor")[index]
    }
    func quantization(_ operand: Int) -> FBTable { try! tensor(operand).table(4, "QuantizationParameters")! }
    func element(_ table: FBTable, _ field: Int, _ k: Int = 0, size: Int = 4) -> Int { try! table.vector(field, elementSize: size)!.start + k * size }

    func patched(_ at: Int, _ value: UInt32, size: Int = 4) -> String? {
        var b = bytes
        for k in 0..<size { b[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
        do { _ = try TFLiteImporter.graph(b, mean: nil, std: nil, labels: nil); return nil } catch { return "\(error)" }
    }
    func expectError(_ error: String?, _ parts: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error.map { e in !e.contains("\n") && parts.allSatisfy { e.contains($0) } } == true, "\(error ?? "no error")", sourceLocation: sourceLocation)
    }

    @Test func eachFieldIsChecked() throws {
        let filter = try tensor(1).string(3), input = try tensor(0).string(3)
        let op0 = "TFLite operator 0 (CONV_2D"
        expectError(patched(try #require(try tensor(1).field(2, size: 4)), 99_999), op0, filter, "buffer 99999 of")
        expectError(patched(element(tensor(1), 0), 9), op0, filter, "bytes for shape [9,")            // byte size against shape
        expectError(patched(try #require(try tensor(0).field(1, size: 1)), 1, size: 1), op0, input, "not int8")   // float16
        expectError(patched(try #require(try tensor(1).field(1, size: 1)), 3, size: 1), op0, "filter")             // uint8 weights
        let scales = try #require(try quantization(1).target(2))
        expectError(patched(scales, 7), op0, filter, "1 or 8 positive scales", "7 scales")                         // per-channel count
        expectError(patched(element(quantization(1), 2, 3), 0), op0, filter, "positive scales")                     // a zero scale
        expectError(patched(element(quantization(1), 2, 3), Float(-0.5).bitPattern), op0, filter, "positive scales") // a negative one
        expectError(patched(element(quantization(0), 2), 0), op0, input, "positive scale")                          // activation scale
        expectError(patched(element(firstConv, 1, 1), 99_999), "operator 0", "tensor index 99999 of")
        let ops = try subgraph.tables(3, "Operator"), last = ops.count - 1   // the last operator's opcode_index is stored, not the default 0
        expectError(patched(try #require(try ops[last].field(0, size: 4)), 9_999), "Operator \(last): opcode_index 9999 of")
        let code = try model.tables(1, "OperatorCode")[try firstConv.int(0)]
        expectError(patched(try #require(try code.field(2, size: 4)), 9), "unsupported operators: CONV_2D version 9 (operator 0)")
        expectError(patched(firstConv.position, 0x7FFF_FFF0), "Operator 0", "vtable", "outside the")                 // vtable outside the file
        expectError(patched(element(subgraph, 3), 0), "Operator 0", "vtable size 0")                                // an offset to itself
        expectError(patched(element(subgraph, 0) - 4, 0x4000_0000), "Tensor", "vector of 1073741824")               // a count past the end
    }

    /// RELU6's clamp (CalculateActivationRangeQuantized): the step of 6, or 127 when 6 is at or past the top.
    @Test func relu6ClampsAtTheStepOfSix() throws {
        let importer = TFLiteImporter.Importer(tensors: [], buffers: [], ops: [])
        let op = TFLiteImporter.Operator(index: 0, code: 3, version: 3, inputs: [], outputs: [], options: nil)
        #expect(try importer.activation(3, (scale: 0.05, zeroPoint: -128), op) == ActivationRange(min: -128, max: -8))
        #expect(try importer.activation(3, (scale: 6 / 255, zeroPoint: -128), op) == ActivationRange(min: -128, max: 127))
        #expect(try importer.activation(1, (scale: 0.05, zeroPoint: -3), op) == ActivationRange(min: -3, max: 127))
        #expect(throws: ExportError.self) { try importer.activation(2, (scale: 0.05, zeroPoint: 0), op) }
    }
}
