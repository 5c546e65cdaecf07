import Foundation
import RNFormat
import RNHostKernels
import RNImage
import RNQuantize
import RNRuntime
import RNTrain

/// rn-export: float checkpoint (or random weights) to an int8 .rnb.
public enum ExportCommand {
    public static let spec = CommandSpec(
        name: "rn-export",
        overview: "Quantize a float .rnf or ONNX model to an int8 .rnb (batch norm folded, calibrated, arena planned), or convert an int8 .tflite.",
        arguments: [("model.rnf|model.onnx|model.tflite", "The model: rn-train's, a float ONNX graph, or a fully int8 .tflite (its quantization kept; omit with --random).")],
        minimumPositionals: 0, maximumPositionals: 1,
        options: [
            OptionSpec(["--calib"], value: "path|fashion-mnist", help: "Calibration images: training split of this data set."),
            OptionSpec(["--calib-count"], value: "n", help: "Calibration images, evenly spaced (default 500)."),
            OptionSpec(["--calibration"], value: "minmax|percentile|mse", help: "How activation ranges are chosen (default mse)."),
            OptionSpec(["--bias-correction"], help: "Shift biases by the mean error weight quantization causes."),
            OptionSpec(["-o", "--output"], value: "model.rnb", help: "The int8 model to write."),
            OptionSpec(["--weight-layout"], value: "ohwi|o16hwi4",
                       help: "Convolution weights: ohwi (default; any CPU, Cortex-M DSP kernels) or o16hwi4 (blocked, for AVX512-VNNI hosts)."),
            OptionSpec(["--c-header"], value: "model.h", help: "Also write the bytes as a C array with arena and shape #defines."),
            OptionSpec(["--evaluate"], value: "path|fashion-mnist", help: "Then compare float and int8 top-1 on this data's test split."),
            OptionSpec(["--evaluate-count"], value: "n", help: "Test images for --evaluate (default all)."),
            OptionSpec(["--json"], help: "Print the summary as JSON."),
            OptionSpec(["--random"], help: "Random weights instead of a model (needs --arch, --input, --classes)."),
            OptionSpec(["--arch"], value: "name", help: "With --random: resnet18, resnet34, plain18, plain34."),
            OptionSpec(["--width"], value: "n", help: "With --random: first-stage channels (default 64)."),
            OptionSpec(["--stem"], value: "cifar|imagenet", help: "With --random: default cifar up to 64x64 input, else imagenet."),
            OptionSpec(["--input"], value: "HxWxC", help: "With --random, or ONNX with a symbolic input: input shape, e.g. 32x32x3."),
            OptionSpec(["--mean"], value: "R,G,B", help: "ONNX, and TFLite with int8 or float input: per-channel mean on pixel/255 (default ImageNet's 0.485,0.456,0.406; gray 0.5)."),
            OptionSpec(["--std"], value: "R,G,B", help: "ONNX, and TFLite with int8 or float input: per-channel std on pixel/255 (default ImageNet's 0.229,0.224,0.225; gray 0.5)."),
            OptionSpec(["--resize"], value: "n", help: "ONNX: resize images' shorter side to n, then center-crop to the input (torchvision Resize + CenterCrop)."),
            OptionSpec(["--crop"], value: "n", help: "ONNX: the center crop, n x n: the input size when the graph's is symbolic."),
            OptionSpec(["--labels"], value: "file", help: "ONNX: class names, one per line."),
            OptionSpec(["--classes"], value: "k", help: "With --random: number of classes."),
            OptionSpec(["--seed"], value: "s", help: "With --random: weight seed (default 1)."),
        ])

    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        let args = spec.parse(arguments)
        let name = spec.name
        do { try installHostKernels() } catch { fail(error.description) }   // --evaluate and calibration checks run the int8 runtime
        guard let output = args.value("--output") else { usageError("missing -o model.rnb", command: name) }
        let methodName = args.value("--calibration") ?? "mse"
        guard let method = CalibrationMethod(rawValue: methodName) else {
            usageError("unknown --calibration '\(methodName)' (minmax, percentile, mse)", command: name)
        }
        let count = args.int("--calib-count", default: 500, in: 1...100_000, command: name)
        let layouts: [String: RNWeightLayout] = ["ohwi": .ohwi, "o16hwi4": .o16hwi4]
        let layoutName = args.value("--weight-layout") ?? "ohwi"
        guard let layout = layouts[layoutName] else {
            usageError("unknown --weight-layout '\(layoutName)' (ohwi, o16hwi4)", command: name)
        }
        let options = ExportOptions(method: method, calibrationCount: count, biasCorrection: args.flag("--bias-correction"),
                                    weightLayout: layout)
        if let path = args.positionals.first, path.lowercased().hasSuffix(".tflite") {
            exportTFLite(path, args: args, output: output, layout: layout)
            return
        }
        do {
            let start = Date()
            var net: ResNet? = nil, folded: FoldedModel? = nil, info: CheckpointInfo, calibration: ImageDataset, source: String
            var pipeline: PixelPipeline? = nil   // an ONNX model's, for image folders
            if let path = args.positionals.first, path.lowercased().hasSuffix(".onnx") {
                guard let calib = args.value("--calib") else { usageError("missing --calib path|fashion-mnist", command: name) }
                let imported = try importONNX(path, args: args, calib: calib)
                (folded, info, source, calibration, pipeline) = (imported.model, imported.model.info, path, imported.calibration, imported.pipeline)
            } else if args.flag("--random") {
                guard args.positionals.isEmpty else { usageError("--random takes no model file", command: name) }
                guard let archName = args.value("--arch"), let kind = Architecture.Kind(rawValue: archName) else {
                    usageError("--random needs --arch resnet18|resnet34|plain18|plain34", command: name)
                }
                guard let shape = args.value("--input"), let dims = parseShape(shape) else {
                    usageError("--random needs --input HxWxC (e.g. 32x32x3)", command: name)
                }
                guard args.value("--classes") != nil else { usageError("--random needs --classes", command: name) }
                let classes = args.int("--classes", default: 10, in: 2...100_000, command: name)
                let width = args.int("--width", default: 64, in: 1...1024, command: name)
                let stemName = args.value("--stem") ?? (max(dims.0, dims.1) <= 64 ? "cifar" : "imagenet")
                guard let stem = Architecture.Stem(rawValue: stemName) else {
                    usageError("unknown --stem '\(stemName)' (cifar, imagenet)", command: name)
                }
                let seed = UInt64(args.int("--seed", default: 1, in: 0...Int(Int32.max), command: name))
                let arch = Architecture(kind: kind, width: width, stem: stem, inputHeight: dims.0, inputWidth: dims.1,
                                        inputChannels: dims.2, classes: classes)
                let random = Exporter.randomNetwork(arch, seed: seed)
                (net, info, calibration) = (random.0, random.1, random.2)
                source = "random \(kind.rawValue) width \(width) \(stem.rawValue) stem \(shape), seed \(seed)"
            } else {
                guard let path = args.positionals.first else { usageError("missing <model.rnf> (or --random)", command: name) }
                guard let calib = args.value("--calib") else { usageError("missing --calib path|fashion-mnist", command: name) }
                let read = try RNF.read(path)
                (net, info) = (read.0, read.1)
                calibration = try loadTrainingData(calib).train
                source = path
            }
            let provenance = [("generator", "rn-export"), ("source", source)]
            var exportOptions = options
            exportOptions.resizeShorterSide = folded == nil ? nil : args.value("--resize").map { _ in
                args.int("--resize", default: 0, in: 1...65535, command: name)
            }
            let result = try net.map { try Exporter.export($0, info: info, calibration: calibration, options: exportOptions, provenance: provenance) }
                ?? Exporter.export(folded!, calibration: calibration, options: exportOptions, provenance: provenance)
            try Data(result.bytes).write(to: URL(fileURLWithPath: output), options: .atomic)
            let buffer = try ModelBuffer(result.bytes)
            if let header = args.value("--c-header") {
                try cHeader(for: result.bytes, model: buffer.model, source: source).write(toFile: header, atomically: true, encoding: .utf8)
            }
            let seconds = Date().timeIntervalSince(start)
            let summary = ModelSummary(buffer.model)
            let ranges = result.graph.ranges
            var comparison: AccuracyComparison?
            if let evaluate = args.value("--evaluate") {
                let limit = args.int("--evaluate-count", default: Int.max, in: 1...Int.max, command: name)
                let data = try loadTrainingData(evaluate, pipeline: pipeline).test.prefix(limit)
                comparison = try net.map { try compareAccuracy(net: $0, info: info, model: buffer.model, data: data) }
                    ?? compareAccuracy(folded: folded!, model: buffer.model, data: data)
            }
            if args.flag("--json") {
                var members = summary.jsonMembers
                members.insert(("calibration", .string(method.rawValue)), at: 0)
                members.insert(("export_seconds", .double(seconds)), at: 1)
                members.append(("activation_ranges", .array(ranges.enumerated().map { t, r in
                    .object([("tensor", .int(t)), ("name", .string(t == 0 ? "input" : result.graph.names[t - 1])),
                             ("low", .double(Double(r.low))), ("high", .double(Double(r.high)))])
                })))
                if let c = comparison {
                    members.append(("evaluation", .object([("images", .int(c.images)), ("float_top1", .double(c.floatTop1)),
                                                           ("int8_top1", .double(c.int8Top1)), ("agreement", .double(c.agreement)),
                                                           ("top1_drop", .double(c.top1Drop))])))
                }
                print(JSON.object(members).text())
            } else {
                print("\(source) -> \(output) (\(result.bytes.count) bytes, \(method.rawValue) calibration on \(min(count, calibration.count)) images\(options.biasCorrection ? ", bias correction" : ""), \(String(format: "%.1f", seconds)) s)")
                print(summary.text(ranges: ranges.map { String(describing: $0) }), terminator: "")
                if let c = comparison {
                    print(String(format: "evaluation on %d test images: float top-1 %.2f%%, int8 top-1 %.2f%% (drop %.2f points), agreement %.2f%%",
                                 c.images, c.floatTop1 * 100, c.int8Top1 * 100, c.top1Drop, c.agreement * 100))
                }
            }
        } catch {
            fail("\(error)")
        }
    }

    /// Reads and imports a float ONNX model with the preprocessing the flags give (ONNX carries
    /// none): --input (or a --crop square) when the graph's input is symbolic, --resize, --mean
    /// and --std (ImageNet's by default), --labels (else the data's class names). Calibration
    /// images from a folder go through that resize and crop.
    static func importONNX(_ path: String, args: ParsedArguments, calib: String) throws
        -> (model: FoldedModel, calibration: ImageDataset, pipeline: PixelPipeline) {
        let name = spec.name
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path, limit: (1 << 31) - 1, kind: "an ONNX model") } catch { throw ToolError("\(path): \(error)") }
        let onnx: ONNXModel
        do { onnx = try ONNXModel(bytes: bytes) } catch { throw ToolError("\(path): \(error)") }
        var input: (height: Int, width: Int, channels: Int)? = nil
        if let text = args.value("--input") {
            guard let d = parseShape(text) else { usageError("--input wants HxWxC, e.g. 224x224x3", command: name) }
            input = (d.0, d.1, d.2)
        } else if args.value("--crop") != nil {
            let crop = args.int("--crop", default: 224, in: 1...4096, command: name)
            let channels = onnx.graph.inputs.first.flatMap { $0.shape.count == 4 ? $0.shape[1] : nil }
            guard case .value(let c)? = channels else { usageError("--crop needs the graph's channel count; give --input HxWxC", command: name) }
            input = (crop, crop, c)
        }
        // Fold once for the shapes; the normalization only matters to calibration, set below.
        let provisional: FoldedModel
        do {
            provisional = try ONNXImporter.fold(onnx, input: input, info: CheckpointInfo(labels: [], mean: [], std: []))
        } catch { throw ToolError("\(path): \(error)") }
        let shape = provisional.input
        let resize = args.value("--resize").map { _ in args.int("--resize", default: 256, in: 1...65535, command: name) }
        let pipeline = PixelPipeline(width: shape.width, height: shape.height, channels: shape.channels,
                                     resize: resize.map { .shorterSideThenCrop(shorter: $0) } ?? .stretch)
        let calibration = try loadTrainingData(calib, pipeline: pipeline).train
        guard (calibration.height, calibration.width, calibration.channels) == (shape.height, shape.width, shape.channels) else {
            throw ToolError("\(calib): images are \(calibration.height)x\(calibration.width)x\(calibration.channels), the model takes \(shape.height)x\(shape.width)x\(shape.channels)")
        }
        let (mean, std) = normalization(args, channels: shape.channels)
        guard case let .fullyConnected(_, _, _, classes)? = provisional.ops.last else { throw ToolError("\(path): the graph does not end in logits") }
        var labels = try labelsFile(args) ?? calibration.classNames
        if labels.isEmpty { labels = (0..<classes).map { "class \($0)" } }
        guard labels.count == classes else {
            throw ToolError("\(path): \(labels.count) labels (from \(args.value("--labels") ?? "the calibration data")), the model has \(classes) classes")
        }
        let info = CheckpointInfo(labels: labels, mean: mean, std: std, provenance: ["source": path])
        let model = try FoldedModel(ops: provisional.ops, names: provisional.names, input: shape, info: info)
        return (model, calibration, pipeline)
    }

    /// --mean and --std for an imported model (on pixel / 255): ImageNet's by default, 0.5 and 0.5 for gray.
    static func normalization(_ args: ParsedArguments, channels: Int) -> (mean: [Float], std: [Float]) {
        let defaults = Preprocessing.defaultNormalization(channels: channels)
        func perChannel(_ flag: String, _ fallback: [Float]) -> [Float] {
            guard let values = floats(args, flag) else { return fallback }
            guard values.count == channels else { usageError("\(flag) wants \(channels) comma-separated numbers", command: spec.name) }
            return values
        }
        return (perChannel("--mean", defaults.mean), perChannel("--std", defaults.std))
    }

    /// --mean or --std as given: finite numbers, the std's positive; nil without the flag.
    static func floats(_ args: ParsedArguments, _ flag: String) -> [Float]? {
        guard let text = args.value(flag) else { return nil }
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite && (flag == "--mean" || $0! > 0) }) else {
            usageError("\(flag) wants comma-separated numbers\(flag == "--std" ? ", each positive" : "")", command: spec.name)
        }
        return values.map { $0! }
    }

    /// --labels FILE: class names, one per line (trailing blank lines ignored), or nil without the flag.
    static func labelsFile(_ args: ParsedArguments) throws -> [String]? {
        guard let file = args.value("--labels") else { return nil }
        let text: [UInt8]
        do { text = try readFileBytes(file, limit: 16 << 20, kind: "a labels file") } catch { throw ToolError("\(file): \(error)") }
        var labels = String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        while labels.last == "" { labels.removeLast() }
        return labels
    }

    /// rn-export model.tflite: the file's int8 quantization kept exactly; no calibration.
    static func exportTFLite(_ path: String, args: ParsedArguments, output: String, layout: RNWeightLayout) {
        let name = spec.name
        do {
            let bytes: [UInt8]
            do { bytes = try readFileBytes(path, limit: (1 << 31) - 1, kind: "a .tflite model") } catch { throw ToolError("\(path): \(error)") }
            var graph: ModelGraph
            do {
                graph = try TFLiteImporter.graph(bytes, mean: floats(args, "--mean"), std: floats(args, "--std"), labels: try labelsFile(args))
            } catch let error as ToolError { throw error } catch { throw ToolError("\(path): \(error)") }
            // The preprocessing only builds the uint8-pixel tables and sizes; it does not touch the model's arithmetic.
            if args.value("--resize") != nil {
                let shorter = args.int("--resize", default: 0, in: 1...65535, command: name)
                (graph.preprocessing!.resizeMode, graph.preprocessing!.resizeHeight, graph.preprocessing!.resizeWidth) = (.shorterSideThenCenterCrop, shorter, shorter)
            }
            graph.provenance = [("generator", "rn-export"), ("source", path), ("quantization", "kept from the .tflite")]
            let rnb = try RNBWriter.write(graph, weightLayout: layout)
            try Data(rnb).write(to: URL(fileURLWithPath: output), options: .atomic)
            let buffer = try ModelBuffer(rnb)
            if let header = args.value("--c-header") {
                try cHeader(for: rnb, model: buffer.model, source: path).write(toFile: header, atomically: true, encoding: .utf8)
            }
            let summary = ModelSummary(buffer.model)
            if args.flag("--json") {
                print(JSON.object(summary.jsonMembers).text())
            } else {
                print("\(path) -> \(output) (\(rnb.count) bytes, int8 quantization from the .tflite)")
                print(summary.text(ranges: nil), terminator: "")
            }
        } catch {
            fail("\(error)")
        }
    }

    /// "32x32x3" -> (32, 32, 3).
    static func parseShape(_ text: String) -> (Int, Int, Int)? {
        let parts = text.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 >= 1 && $0 <= 4096 }), parts[2] <= 4 else { return nil }
        return (parts[0], parts[1], parts[2])
    }
}
