import Foundation
import RNDrift
import RNImage
import RNQuantize
import RNRuntime
import RNTrain

/// rn-drift: how far the int8 model drifts from its float original, layer by layer.
public enum DriftCommand {
    public static let spec = CommandSpec(
        name: "rn-drift",
        overview: "Compare a float .rnf or ONNX model with its int8 .rnb, layer by layer, on real images.",
        arguments: [("model.rnf|model.onnx", "The float model (an ONNX graph takes its preprocessing and labels from the .rnb)."),
                    ("model.rnb", "The int8 model exported from it.")],
        minimumPositionals: 2, maximumPositionals: 2,
        options: [
            OptionSpec(["--data"], value: "path|fashion-mnist", help: "Images to compare on (the data set's test split)."),
            OptionSpec(["--count"], value: "n", help: "Use the first n test images (default all)."),
            OptionSpec(["--sensitivity-count"], value: "n", help: "Images for the keep-one-layer-in-float reruns (default 1000; 0 = skip)."),
            OptionSpec(["--json"], value: "file", help: "Write the report as JSON."),
            OptionSpec(["--html"], value: "file", help: "Write a self-contained HTML report with SVG charts."),
            OptionSpec(["--max-drop"], value: "points", help: "Exit 1 when float minus int8 top-1 exceeds this many points."),
        ])

    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        let args = spec.parse(arguments)
        let name = spec.name
        guard let dataSpec = args.value("--data") else { usageError("missing --data path|fashion-mnist", command: name) }
        let count = args.int("--count", default: Int.max, in: 1...Int.max, command: name)
        let sensitivity = args.int("--sensitivity-count", default: 1000, in: 0...Int.max, command: name)
        var maxDrop: Double?
        if let text = args.value("--max-drop") {
            guard let v = Double(text), v >= 0 else { usageError("--max-drop expects points >= 0, got '\(text)'", command: name) }
            maxDrop = v
        }
        do {
            let start = Date()
            let int8 = try LoadedModel(path: args.positionals[1])
            let folded = try floatModel(args.positionals[0], int8: int8.model)
            // Image folders through the int8 model's own resize and crop.
            let data = try loadTrainingData(dataSpec, pipeline: PixelPipeline(model: int8.model)).test.prefix(count)
            let bar = ProgressBar()
            let report: DriftReport
            do {
                report = try measureDrift(folded: folded, model: int8.model, data: data, sensitivityCount: sensitivity) { done, total in
                    bar.update(done: done, total: total, prefix: "comparing", detail: "")
                }
            } catch let error as DriftError {
                throw ToolError("\(args.positionals[0]) and \(args.positionals[1]): \(error.description)")
            }
            bar.clear()
            print(report.text, terminator: "")
            if let path = args.value("--json") {
                let data = try JSONSerialization.data(withJSONObject: report.json, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
            }
            if let path = args.value("--html") {
                try report.html(title: "rn-drift: \(args.positionals[1]) against \(args.positionals[0])")
                    .write(toFile: path, atomically: true, encoding: .utf8)
            }
            printError(String(format: "rn-drift: %d images in %.1f s", report.images, Date().timeIntervalSince(start)))
            if let maxDrop, report.top1Drop > maxDrop {
                fail(String(format: "top-1 drop %.2f points exceeds --max-drop %.2f", report.top1Drop, maxDrop))
            }
        } catch {
            fail("\(error)")
        }
    }

    /// The float side: an `.rnf` folded as the exporter folds it, or an ONNX graph imported with
    /// the int8 model's preprocessing (mean, std, input size) and labels, which rn-export stored.
    static func floatModel(_ path: String, int8: RNModel) throws -> FoldedModel {
        guard path.lowercased().hasSuffix(".onnx") else {
            let (net, info) = try RNF.read(path)
            return try FoldedModel(net, info: info)
        }
        guard let pre = int8.file.preprocessing else {
            throw ToolError("\(path): the int8 model has no preprocessing record to take the float model's normalization from")
        }
        let c = pre.channels
        let info = CheckpointInfo(labels: (0..<int8.output.byteCount).map { k in int8.file.label(k).map { String(decoding: $0, as: UTF8.self) } ?? "class \(k)" },
                                  mean: Array([pre.mean.0, pre.mean.1, pre.mean.2].prefix(c)), std: Array([pre.std.0, pre.std.1, pre.std.2].prefix(c)))
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path, limit: (1 << 31) - 1, kind: "an ONNX model") } catch { throw ToolError("\(path): \(error)") }
        do {
            let input = int8.input
            return try ONNXImporter.fold(try ONNXModel(bytes: bytes), input: (input.height, input.width, input.channels), info: info)
        } catch {
            throw ToolError("\(path): \(error)")
        }
    }
}
