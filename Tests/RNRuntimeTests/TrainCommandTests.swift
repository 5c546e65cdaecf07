import Foundation
import Testing

@Suite struct TrainCommandTests {
    let sample = Repo.root.appendingPathComponent("Tests/Data/fashion-mnist-sample").path

    @Test func badUsageAndBadData() throws {
        let unknown = try runTool("rn-train", ["--data", sample, "--arch", "resnet19", "-o", "/tmp/x.rnf"])
        #expect(unknown.0 == 64 && unknown.2.hasPrefix("error: unknown --arch 'resnet19'"))
        let zero = try runTool("rn-train", ["--data", sample, "--width", "0", "-o", "/tmp/x.rnf"])
        #expect(zero.0 == 64 && zero.2.contains("--width expects an integer"))
        #expect(try runTool("rn-train", ["--data", sample]).0 == 64)                      // no -o
        let missing = try runTool("rn-train", ["--data", "/no/such/data", "-o", "/tmp/x.rnf"])
        #expect(missing.0 == 1 && missing.2 == "error: /no/such/data: no such file or directory\n")
        #expect(try runTool("rn-train", ["--help"]).1.contains("--zero-init-residual"))
    }

    @Test func trainsResumesAndPlots() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-train-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let model = dir.appendingPathComponent("m.rnf").path, log = dir.appendingPathComponent("log.json").path
        let curve = dir.appendingPathComponent("curve.svg").path
        let common = ["--data", sample, "--limit", "256", "--test-limit", "100", "--width", "2", "--batch", "64",
                      "-o", model, "--log-json", log, "--curve", curve]
        let first = try runTool("rn-train", common + ["--epochs", "1"])
        #expect(first.0 == 0, "\(first.2)")
        #expect(first.1.contains("epoch 1/1") && first.1.contains("final test accuracy"))
        let second = try runTool("rn-train", common + ["--epochs", "2", "--resume", model])
        #expect(second.0 == 0, "\(second.2)")
        #expect(second.1.contains("epoch 2/2") && !second.1.contains("epoch 1/2"))
        let history = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: log))) as? [[String: Any]]
        #expect(history?.count == 2 && history?.last?["test_error"] != nil)
        let curveSVG = try String(contentsOfFile: curve, encoding: .utf8)
        #expect(curveSVG.contains("<polyline"))
        let plotted = dir.appendingPathComponent("two.svg").path
        let plot = try runTool("rn-train", ["--curve", plotted, "--plot-log", log, "--plot-log", log])
        let plottedSVG = try String(contentsOfFile: plotted, encoding: .utf8)
        #expect(plot.0 == 0 && plottedSVG.components(separatedBy: "<polyline").count == 5)
        let evaluated = try runTool("rn-train", ["--evaluate", model, "--data", sample, "--test-limit", "100", "--json"])
        #expect(evaluated.0 == 0, "\(evaluated.2)")
        let result = try JSONSerialization.jsonObject(with: Data(evaluated.1.utf8)) as? [String: Any]
        #expect(result?["images"] as? Int == 100 && (result?["per_class"] as? [Any])?.count == 10)
        let wrongData = try runTool("rn-train", ["--evaluate", model, "--data",
                                                 Repo.root.appendingPathComponent("Tests/Data/cifar10-sample/test_batch_first20.bin").path])
        #expect(wrongData.0 == 1 && wrongData.2.contains("model expects 28x28x1 images"))
        // A damaged checkpoint is refused by --resume with the file named.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        bytes[bytes.count - 3] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: model))
        let damaged = try runTool("rn-train", common + ["--epochs", "3", "--resume", model])
        #expect(damaged.0 == 1 && damaged.2 == "error: \(model): checksum mismatch\n")
    }
}
