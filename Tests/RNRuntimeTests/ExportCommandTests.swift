import Foundation
import Testing
import RNQuantize
import RNTrain

@Suite struct ExportCommandTests {
    let sample = Repo.root.appendingPathComponent("Tests/Data/fashion-mnist-sample").path

    func temporary(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-export-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    /// Train a tiny model, export it with each calibration method, check the summary, JSON,
    /// C header, and that rn-inspect accepts the result.
    @Test func trainThenExportEndToEnd() throws {
        let rnf = temporary("tiny.rnf")
        let trained = try runTool("rn-train", ["--data", sample, "--limit", "256", "--test-limit", "64", "--width", "4",
                                               "--batch", "64", "--epochs", "1", "-o", rnf])
        #expect(trained.0 == 0, "\(trained.2)")
        let rnb = temporary("tiny.rnb"), header = temporary("tiny.h")
        let exported = try runTool("rn-export", [rnf, "--calib", sample, "--calib-count", "64", "-o", rnb, "--c-header", header,
                                                 "--evaluate", sample, "--evaluate-count", "100"])
        #expect(exported.0 == 0, "\(exported.2)")
        #expect(exported.1.contains("mse calibration on 64 images") && exported.1.contains("evaluation on 100 test images"))
        // Layers carry the names of the float layers they compute (metadata key 4).
        #expect(exported.1.contains("block0.conv2+block0.add") && exported.1.contains(" fc ") && exported.1.contains("lower bound"))
        let inspect = try runTool("rn-inspect", [rnb, "--json"])
        #expect(inspect.0 == 0)
        // The header's array holds exactly the .rnb bytes, and compiles as C.
        let text = try String(contentsOfFile: header, encoding: .utf8)
        let hex = text.components(separatedBy: "= {")[1].components(separatedBy: "};")[0]
        let bytes = hex.split(whereSeparator: { ", \n".contains($0) }).compactMap { UInt8($0.dropFirst(2), radix: 16) }
        #expect(bytes == (try Repo.bytes(URL(fileURLWithPath: rnb))))
        #expect(text.contains("#define RN_MODEL_ARENA_BYTES") && text.contains("#define RN_MODEL_INPUT_HEIGHT 28"))
        #expect(text.contains(" *   2: block0.conv2+block0.add, conv2d_add, "))
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-fsyntax-only", "-x", "c", header]
        try cc.run()
        cc.waitUntilExit()
        #expect(cc.terminationStatus == 0)

        for method in ["minmax", "percentile"] {
            let json = try runTool("rn-export", [rnf, "--calib", sample, "--calib-count", "32", "--calibration", method,
                                                 "--bias-correction", "-o", temporary("\(method).rnb"), "--json"])
            #expect(json.0 == 0, "\(json.2)")
            let object = try JSONSerialization.jsonObject(with: Data(json.1.utf8)) as? [String: Any]
            #expect(object?["calibration"] as? String == method)
            #expect((object?["activation_ranges"] as? [Any])?.count == (object?["layers"] as? [Any]).map { $0.count + 1 })
        }
    }

    @Test func randomModelsAndBadInput() throws {
        let rnb = temporary("random.rnb")
        let random = try runTool("rn-export", ["--random", "--arch", "plain18", "--width", "4", "--input", "20x16x3",
                                               "--classes", "5", "-o", rnb, "--json"])
        #expect(random.0 == 0, "\(random.2)")
        let object = try JSONSerialization.jsonObject(with: Data(random.1.utf8)) as? [String: Any]
        #expect((object?["input"] as? [String: Any])?["shape"] as? [Int] == [1, 20, 16, 3])
        #expect((object?["output"] as? [String: Any])?["shape"] as? [Int] == [1, 5])

        #expect(try runTool("rn-export", ["--random", "--arch", "resnet18", "--input", "32x32", "--classes", "10", "-o", rnb]).0 == 64)
        #expect(try runTool("rn-export", ["--random", "--arch", "resnet99", "--input", "32x32x3", "--classes", "10", "-o", rnb]).0 == 64)
        #expect(try runTool("rn-export", ["x.rnf", "--calib", sample, "--calibration", "best", "-o", rnb]).0 == 64)
        let badLayout = try runTool("rn-export", ["--random", "--arch", "resnet18", "--input", "32x32x3", "--classes", "10",
                                                  "--weight-layout", "nchw", "-o", rnb])
        #expect(badLayout.0 == 64 && badLayout.2.contains("unknown --weight-layout 'nchw' (ohwi, o16hwi4)"))

        // Layout 1: convolutions in o16hwi4, the fully connected layer in ohwi, kernel scratch declared.
        let blocked = try runTool("rn-export", ["--random", "--arch", "resnet18", "--width", "4", "--input", "20x16x3",
                                                "--classes", "5", "--weight-layout", "o16hwi4", "-o", rnb, "--json"])
        #expect(blocked.0 == 0, "\(blocked.2)")
        let summary = try JSONSerialization.jsonObject(with: Data(blocked.1.utf8)) as? [String: Any]
        let layers = summary?["layers"] as? [[String: Any]] ?? []
        #expect(layers.first?["weight_layout"] as? String == "o16hwi4")
        #expect(layers.first { $0["kind"] as? String == "fully_connected" }?["weight_layout"] as? String == "ohwi")
        #expect(layers.first { $0["kind"] as? String == "global_average_pool" }?["weight_layout"] == nil)
        #expect((summary?["scratch_bytes"] as? Int ?? 0) > 0)
        let missing = try runTool("rn-export", ["/no/model.rnf", "--calib", sample, "-o", rnb])
        #expect(missing.0 == 1 && missing.2 == "error: /no/model.rnf: no such file\n")
        let notModel = try runTool("rn-export", [Repo.root.appendingPathComponent("Package.swift").path, "--calib", sample, "-o", rnb])
        #expect(notModel.0 == 1 && notModel.2.contains("not an .rnf checkpoint"))
    }
}

/// PyTorch to rn, end to end: a ResNet trained by PyTorch on Fashion-MNIST (the fixture
/// generator records its test accuracy), exported to ONNX, then `rn-export model.onnx
/// --evaluate fashion-mnist` on all 10,000 test images: rn's float import reproduces PyTorch's
/// accuracy within 0.05 points, and int8 stays within 0.3 points with at least 99% agreement.
@Suite struct ONNXExportCommandTests {
    let onnx = Repo.root.appendingPathComponent("Tests/Data/onnx")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
    func trainedPyTorchModelKeepsItsAccuracy() throws {
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: onnx.appendingPathComponent("manifest.json"))) as? [String: Any])
        let entry = try #require((manifest["fixtures"] as? [[String: Any]])?.first { $0["pytorch_test_top1"] != nil })
        let pytorch = try #require(entry["pytorch_test_top1"] as? Double)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rn-onnx-\(getpid()).rnb").path
        let (status, stdout, stderr) = try runTool("rn-export", [onnx.appendingPathComponent(entry["file"] as! String).path,
                                                                 "--calib", "fashion-mnist", "--calib-count", "200", "--mean", "0.2860",
                                                                 "--std", "0.3530", "-o", out, "--evaluate", "fashion-mnist", "--json"])
        #expect(status == 0, "\(stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        let e = try #require(json["evaluation"] as? [String: Any])
        let float = try #require(e["float_top1"] as? Double), int8 = try #require(e["int8_top1"] as? Double)
        print("PyTorch \(pytorch), rn float \(float), rn int8 \(int8), agreement \(e["agreement"] ?? "")")
        #expect(e["images"] as? Int == 10_000)
        #expect(abs(float - pytorch) <= 0.0005 && abs(int8 - pytorch) <= 0.003 && (e["agreement"] as? Double ?? 0) >= 0.99)
        // Layers are named after the ONNX nodes.
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(layers.contains { ($0["name"] as? String)?.contains("/layer1/layer1.0/conv1/Conv") == true })
    }

    /// rn-drift compares the ONNX graph with its int8 export layer by layer, under ONNX names,
    /// taking normalization and labels from the .rnb's records.
    @Test func driftReadsTheONNXGraph() throws {
        let sample = Repo.root.appendingPathComponent("Tests/Data/fashion-mnist-sample").path
        let model = onnx.appendingPathComponent("fashion-resnet10-w8-trained.onnx").path
        let rnb = FileManager.default.temporaryDirectory.appendingPathComponent("rn-onnx-drift-\(getpid()).rnb").path
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("rn-onnx-drift-\(getpid()).json").path
        let exported = try runTool("rn-export", [model, "--calib", sample, "--calib-count", "100", "--mean", "0.2860", "--std", "0.3530", "-o", rnb])
        #expect(exported.0 == 0, "\(exported.2)")
        let (status, _, stderr) = try runTool("rn-drift", [model, rnb, "--data", sample, "--count", "200", "--sensitivity-count", "0", "--json", json])
        #expect(status == 0, "\(stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let layers = try #require(report["layers"] as? [[String: Any]])
        #expect(layers.first?["name"] as? String == "/conv1/Conv" && layers.last?["name"] as? String == "/fc/Gemm")
        #expect((report["agreement"] as? Double ?? 0) >= 0.97 && (report["float_top1"] as? Double ?? 0) > 0.8)
    }

    /// --resize and --crop: calibration images of any size go through torchvision's Resize +
    /// CenterCrop, and the model's preprocessing record keeps them for rn-infer.
    @Test func resizeAndCropLandInThePreprocessingRecord() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-onnx-folder-\(getpid())")
        var rng = SeededRandom(seed: 21)
        for (k, cls) in ["cats", "ships"].enumerated() {
            let folder = dir.appendingPathComponent(cls)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<10 {
                let (w, h) = i % 2 == 0 ? (40 + k, 50) : (60, 36 + k)   // sizes differ; the crop is square
                let pixels = (0..<(w * h * 3)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                try Data(Array("P6\n\(w) \(h)\n255\n".utf8) + pixels).write(to: folder.appendingPathComponent("\(i).ppm"))
            }
        }
        let rnb = dir.appendingPathComponent("model.rnb").path
        let model = onnx.appendingPathComponent("resnet18-tv-w4-torchscript-op13.onnx").path
        let labels = dir.appendingPathComponent("labels.txt").path
        try Data((0..<10).map { "kind \($0)" }.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: labels))
        let exported = try runTool("rn-export", [model, "--calib", dir.path, "--resize", "36", "--crop", "32", "--labels", labels, "-o", rnb])
        #expect(exported.0 == 0, "\(exported.2)")
        let buffer = try ModelBuffer(try Repo.bytes(URL(fileURLWithPath: rnb)))
        let pre = try #require(buffer.model.file.preprocessing)
        #expect(pre.resizeMode == .shorterSideThenCenterCrop && pre.resizeHeight == 36 && buffer.model.input.height == 32)
        #expect((pre.mean.0, pre.std.2) == (0.485, 0.225) && String(decoding: buffer.model.file.label(9)!, as: UTF8.self) == "kind 9")
        let infer = try runTool("rn-infer", [rnb, dir.appendingPathComponent("cats/1.ppm").path, "--json"])
        #expect(infer.0 == 0 && infer.1.contains("\"label\""), "\(infer.2)")
        let wrong = try runTool("rn-export", [model, "--calib", dir.path, "--labels", labels, "-o", rnb])   // no resize: stretched, fine
        #expect(wrong.0 == 0, "\(wrong.2)")
        let badLabels = try runTool("rn-export", [model, "--calib", dir.path, "-o", rnb])   // 2 class folders, 10 classes
        #expect(badLabels.0 == 1 && badLabels.2.contains("2 labels (from the calibration data), the model has 10 classes"), "\(badLabels.2)")
    }

    @Test func badONNXIsOneLine() throws {
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("rn-garbage-\(getpid()).onnx").path
        try Data([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00]).write(to: URL(fileURLWithPath: garbage))
        let (status, _, stderr) = try runTool("rn-export", [garbage, "--calib", Repo.root.appendingPathComponent("Tests/Data/fashion-mnist-sample").path,
                                                            "-o", "/tmp/never.rnb"])
        #expect(status == 1 && stderr.hasPrefix("error: \(garbage): ModelProto: length") && stderr.filter { $0 == "\n" }.count == 1, "\(stderr)")
    }
}
