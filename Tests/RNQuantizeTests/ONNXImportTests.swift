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

/// A few protobuf fields, for hand-built ONNX messages.
enum Proto {
    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat { out.append(UInt8(v & 0x7F) | (v > 0x7F ? 0x80 : 0)); v >>= 7 } while v > 0
        return out
    }
    static func int(_ field: Int, _ v: Int64) -> [UInt8] { varint(UInt64(field) << 3) + varint(UInt64(bitPattern: v)) }
    static func bytes(_ field: Int, _ payload: [UInt8]) -> [UInt8] { varint(UInt64(field) << 3 | 2) + varint(UInt64(payload.count)) + payload }
    static func string(_ field: Int, _ s: String) -> [UInt8] { bytes(field, Array(s.utf8)) }
    static func floats(_ v: [Float]) -> [UInt8] { v.flatMap { f in (0..<4).map { UInt8(truncatingIfNeeded: f.bitPattern >> (8 * $0)) } } }

    /// TensorProto: dims, data type, name, raw data.
    static func tensor(_ name: String, dims: [Int64], type: Int64 = 1, raw: [UInt8]) -> [UInt8] {
        dims.flatMap { int(1, $0) } + int(2, type) + string(8, name) + bytes(9, raw)
    }
    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String) -> [UInt8] {
        inputs.flatMap { string(1, $0) } + outputs.flatMap { string(2, $0) } + string(3, name) + string(4, op)
    }
    /// ValueInfoProto of a float tensor with these dims.
    static func value(_ name: String, _ dims: [Int64]) -> [UInt8] {
        let shape = dims.flatMap { bytes(1, int(1, $0)) }
        return string(1, name) + bytes(2, bytes(1, int(1, 1) + bytes(2, shape)))
    }
    static func model(nodes: [[UInt8]], initializers: [[UInt8]] = [], input: [Int64] = [1, 1, 4, 4], opset: Int64 = 13) -> [UInt8] {
        let graph = nodes.flatMap { bytes(1, $0) } + string(2, "g") + initializers.flatMap { bytes(5, $0) }
            + bytes(11, value("x", input)) + bytes(12, value("y", [1, 2]))
        return int(1, 8) + bytes(7, graph) + bytes(8, int(2, opset))
    }
}

/// Bad ONNX input: one clear error naming the node or field, never a crash or a huge allocation.
@Suite struct ONNXBadInputTests {
    let info = CheckpointInfo(labels: [], mean: [0.5], std: [0.5])

    func importError(_ bytes: [UInt8]) -> String? {
        do {
            _ = try ONNXImporter.fold(try ONNXModel(bytes: bytes), info: info)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func everyTruncationAndFlipOfARealModelIsAnErrorOrAModel() throws {
        let bytes = [UInt8](try Data(contentsOf: ONNXImportTests.root.appendingPathComponent("resnet10-cifar-gray-view-op9.onnx")))
        #expect(importError(bytes) == nil)
        var errors = 0
        for length in stride(from: 0, to: bytes.count, by: 97) where importError(Array(bytes[..<length])) != nil { errors += 1 }
        #expect(errors == (bytes.count + 96) / 97, "every truncation is refused")
        var rng = SeededRandom(seed: 14)
        for _ in 0..<300 {   // random flips: any outcome but a crash
            var mutant = bytes
            mutant[Int.random(in: 0..<mutant.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            _ = importError(mutant)
        }
    }

    @Test func malformedMessagesNameTheProblem() {
        let w = Proto.tensor("w", dims: [2, 1, 1, 1], raw: Proto.floats([1, 2]))
        let good = Proto.model(nodes: [Proto.node("Conv", ["x", "w"], ["y"], name: "c")], initializers: [w])
        #expect(importError(good)?.contains("must end in logits") == true)   // well-formed, but no classifier
        // A length claiming 2^31 bytes: refused from the bytes left, nothing allocated.
        #expect(importError([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00])?.contains("runs past the end") == true)
        #expect(importError([0x0F])?.contains("wire type") == true)                       // wire type 7
        #expect(importError([0x08, 0xFF, 0xFF])?.contains("truncated varint") == true)
        #expect(importError(Proto.int(1, 8))?.contains("no graph") == true)
        let short = Proto.tensor("w", dims: [2, 1, 1, 1], raw: Proto.floats([1]))
        #expect(importError(Proto.model(nodes: [], initializers: [short]))?.contains("raw_data has 4 bytes") == true)
        let double = Proto.tensor("w", dims: [1], type: 11, raw: [UInt8](repeating: 0, count: 8))
        #expect(importError(Proto.model(nodes: [], initializers: [double]))?.contains("data type 11") == true)
        let external = Proto.string(8, "w") + Proto.int(2, 1) + Proto.int(14, 1)
        #expect(importError(Proto.model(nodes: [], initializers: [external]))?.contains("external data") == true)
        let huge = Proto.tensor("w", dims: [1 << 20, 1 << 20], raw: [])
        #expect(importError(Proto.model(nodes: [], initializers: [huge]))?.contains("more than 2^31") == true)
        let dangling = Proto.model(nodes: [Proto.node("Relu", ["nowhere"], ["y"], name: "r")])
        #expect(importError(dangling)?.contains("Relu node 'r': input 'nowhere' is not produced") == true)
        let unsupported = Proto.model(nodes: [Proto.node("Sigmoid", ["x"], ["a"], name: "s1"), Proto.node("Conv", ["a", "w"], ["b"], name: "c"),
                                              Proto.node("LSTM", ["b"], ["y"], name: "l")], initializers: [w])
        #expect(importError(unsupported) == "ONNX: unsupported ops: Sigmoid node 's1', LSTM node 'l'")
        #expect(importError(Proto.model(nodes: [], input: [1, 4, 4]))?.contains("rank 3") == true)
        #expect(importError(Proto.model(nodes: [], opset: 7))?.contains("opset 7") == true)
        let grouped = Proto.model(nodes: [Proto.node("Conv", ["x", "w"], ["y"], name: "c") + Proto.bytes(5, Proto.string(1, "group") + Proto.int(3, 2))],
                                  initializers: [w])
        #expect(importError(grouped)?.contains("Conv node 'c': grouped or depthwise") == true)
        // Strides past the format's 255 are refused before the SAME padding arithmetic (which overflowed).
        let strides = Proto.bytes(5, Proto.string(1, "strides") + Proto.bytes(8, Proto.varint(UInt64(Int64.max)) + Proto.varint(UInt64(Int64.max))))
        let same = Proto.bytes(5, Proto.string(1, "auto_pad") + Proto.bytes(4, Array("SAME_UPPER".utf8)))
        let strided = Proto.model(nodes: [Proto.node("Conv", ["x", "w"], ["y"], name: "c") + strides + same], initializers: [w])
        #expect(importError(strided)?.contains("must be 1 to 255") == true, "\(importError(strided) ?? "no error")")
    }
}

/// A torchvision-order graph (projection shortcut after the block's convolutions) is imported in
/// rn's order: the shortcut first, so every block's second convolution fuses with its add and
/// the plan is the one `rn-export --random` gives the same network.
@Suite struct ONNXScheduleTests {
    @Test func projectionShortcutsRunFirstAndEveryBlockFuses() throws {
        let bytes = [UInt8](try Data(contentsOf: ONNXImportTests.root.appendingPathComponent("resnet18-tv-w4-torchscript-op13.onnx")))
        let onnx = try ONNXModel(bytes: bytes)
        let names = onnx.graph.nodes.map(\.name)
        let conv2 = try #require(names.firstIndex(of: "/layer2/layer2.0/conv2/Conv"))
        let shortcut = try #require(names.firstIndex(of: "/layer2/layer2.0/downsample/downsample.0/Conv"))
        #expect(conv2 < shortcut, "the fixture keeps torchvision's order")
        let folded = try ONNXImporter.fold(onnx, info: CheckpointInfo(labels: (0..<10).map { "\($0)" }, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]))
        let order = folded.names
        #expect(order.firstIndex(of: "/layer2/layer2.0/downsample/downsample.0/Conv")! < order.firstIndex(of: "/layer2/layer2.0/conv1/Conv")!)
        let data = ImageDataset(pixels: syntheticImages(count: 8, height: 32, width: 32, channels: 3, seed: 1), labels: [Int](repeating: 0, count: 8),
                                height: 32, width: 32, channels: 3, classNames: (0..<10).map { "\($0)" }, source: "synthetic")
        let result = try Exporter.export(folded, calibration: data, options: ExportOptions(calibrationCount: 8))
        let fusedAdds = result.graph.ops.filter { if case .conv2DAdd = $0 { return true } else { return false } }.count
        #expect(fusedAdds == 8 && result.graph.names.filter { $0.hasSuffix("/Add") }.allSatisfy { $0.contains("conv2/Conv+") })
    }
}

/// Hand-built graphs for what the PyTorch fixtures do not reach: a Flatten of a whole feature map
/// into Gemm (weights in NCHW order), and the Shape / Gather / Unsqueeze / Concat chain older
/// exporters write for `x.view(x.size(0), -1)` feeding MatMul + Add.
@Suite struct ONNXHandBuiltTests {
    let x: [Float] = (0..<12).map { Float($0) * 0.25 - 1 }   // NCHW [1, 3, 2, 2]
    let w: [Float] = (0..<24).map { Float(($0 * 7) % 11) - 5 }   // [2, 12] for Gemm transB=1
    let bias: [Float] = [0.5, -0.25]

    /// y[k] = b[k] + sum over (c, y, x) of W[k][(c * 2 + y) * 2 + x] * X[c][y][x].
    var expected: [Float] { (0..<2).map { k in bias[k] + (0..<12).reduce(Float(0)) { $0 + w[k * 12 + $1] * x[$1] } } }

    func run(_ bytes: [UInt8]) throws -> [Float] {
        let folded = try ONNXImporter.fold(try ONNXModel(bytes: bytes), info: CheckpointInfo(labels: ["a", "b"], mean: [0, 0, 0], std: [1, 1, 1]))
        var nhwc = [Float](repeating: 0, count: 12)
        for c in 0..<3 { for y in 0..<2 { for xx in 0..<2 { nhwc[(y * 2 + xx) * 3 + c] = x[(c * 2 + y) * 2 + xx] } } }
        let out = folded.run(Tensor(n: 1, h: 2, w: 2, c: 3, values: nhwc)).last!
        return (0..<2).map { out.data[$0] }
    }

    func close(_ a: [Float], _ b: [Float]) -> Bool { zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) } }

    @Test func flattenedFeatureMapIntoGemmKeepsNCHWOrder() throws {
        let gemm = Proto.node("Gemm", ["f", "W", "B"], ["y"], name: "fc") + Proto.bytes(5, Proto.string(1, "transB") + Proto.int(3, 1))
        let model = Proto.model(nodes: [Proto.node("Flatten", ["x"], ["f"], name: "flat"), gemm],
                                initializers: [Proto.tensor("W", dims: [2, 12], raw: Proto.floats(w)), Proto.tensor("B", dims: [2], raw: Proto.floats(bias))],
                                input: [1, 3, 2, 2])
        let got = try run(model)
        #expect(close(got, expected), "\(got) vs \(expected)")
    }

    @Test func shapeChainReshapeThenMatMulAndBias() throws {
        let wT = (0..<24).map { i in w[(i % 2) * 12 + i / 2] }   // [12, 2] for MatMul
        func ints(_ name: String, _ v: [Int64]) -> [UInt8] {
            Proto.tensor(name, dims: [Int64(v.count)], type: 7, raw: v.flatMap { x in (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: x) >> (8 * $0)) } })
        }
        let nodes = [
            Proto.node("Shape", ["x"], ["s"], name: "shape"),
            Proto.node("Gather", ["s", "zero"], ["n"], name: "gather"),
            Proto.node("Unsqueeze", ["n"], ["n1"], name: "unsqueeze") + Proto.bytes(5, Proto.string(1, "axes") + Proto.int(8, 0)),
            Proto.node("Concat", ["n1", "minusOne"], ["shape2"], name: "concat") + Proto.bytes(5, Proto.string(1, "axis") + Proto.int(3, 0)),
            Proto.node("Reshape", ["x", "shape2"], ["f"], name: "view"),
            Proto.node("MatMul", ["f", "W"], ["m"], name: "matmul"),
            Proto.node("Add", ["m", "B"], ["y"], name: "bias"),
        ]
        let model = Proto.model(nodes: nodes, initializers: [Proto.tensor("W", dims: [12, 2], raw: Proto.floats(wT)),
                                                             Proto.tensor("B", dims: [2], raw: Proto.floats(bias)),
                                                             ints("zero", [0]), ints("minusOne", [-1])],
                                input: [1, 3, 2, 2], opset: 11)
        let got = try run(model)
        #expect(close(got, expected), "\(got) vs \(expected)")
    }
}

/// Clip(0, 6) becomes a fused ReLU6: in float it clamps at 6, in int8 its clamp stops at the step of 6.
@Suite struct ONNXReLU6Tests {
    @Test func clipZeroSixIsAFusedReLU6() throws {
        let bytes = [UInt8](try Data(contentsOf: ONNXImportTests.root.appendingPathComponent("resnet10-cifar-w4-relu6-op13.onnx")))
        let folded = try ONNXImporter.fold(try ONNXModel(bytes: bytes), info: CheckpointInfo(labels: (0..<6).map { "\($0)" },
                                                                                              mean: [0.5, 0.5, 0.5], std: [0.01, 0.01, 0.01]))
        let relu6 = folded.ops.indices.filter {
            switch folded.ops[$0] {
            case .conv(_, _, _, _, _, _, _, .relu6), .add(_, _, .relu6): return true
            default: return false
            }
        }
        #expect(relu6.count == 9)   // the stem, each block's first convolution and each block's add
        // std 0.01 blows the inputs up, so activations reach the clamp.
        let data = ImageDataset(pixels: syntheticImages(count: 8, height: 16, width: 16, channels: 3, seed: 3), labels: [Int](repeating: 0, count: 8),
                                height: 16, width: 16, channels: 3, classNames: (0..<6).map { "\($0)" }, source: "synthetic")
        let float = folded.run(Tensor(n: 8, h: 16, w: 16, c: 3, values: data.pixels.map { (Float($0) / 255 - 0.5) / 0.01 }))
        #expect(relu6.allSatisfy { i in float[i + 1].data[0..<float[i + 1].count].max()! == 6 })
        // In int8 each ReLU6 output's range is [0, 6] at most: its clamp [zero point, 127] then
        // ends at 6 (or at the step of 6, were the calibrated range wider).
        let graph = try Exporter.export(folded, calibration: data, options: ExportOptions(calibrationCount: 8)).graph
        let relu6Names = Set(relu6.map { folded.names[$0] })
        let clamped = graph.ops.indices.filter { relu6Names.contains(String(graph.names[$0].split(separator: "+").last!)) }
        #expect(clamped.count == 9)
        for j in clamped {
            let t = graph.tensors[j + 1], top = Double(graph.ops[j].activation.max - t.zeroPoint) * Double(t.scale)
            #expect(graph.ops[j].activation.min == t.zeroPoint && abs(top - 6) <= Double(t.scale) / 2, "\(graph.names[j]): clamp top \(top)")
        }
    }
}
