import Foundation
import RNFormat
import RNImage
import RNRuntime
import RNTrain

/// rn-infer: classify image files (or raw int8 inputs) with an .rnb model.
public enum InferCommand {
    public static let spec = CommandSpec(
        name: "rn-infer",
        overview: "Classify PNG, JPEG, PPM/PGM/PBM and BMP images with an int8 .rnb model.",
        arguments: [("model.rnb", "The int8 model."),
                    ("file...", "Images, directories (searched recursively, sorted) or - for standard input.")],
        minimumPositionals: 2, maximumPositionals: Int.max,
        options: [
            OptionSpec(["--top"], value: "k", help: "Classes to show per file (default 3)."),
            OptionSpec(["--json"], help: "Print a JSON array, one object per file: file, top, logits."),
            OptionSpec(["--raw"], help: "Each file is raw int8 input in the model's layout; print the int8 output."),
            OptionSpec(["--dump-decoded"], value: "dir", help: "Also write each decoded image, before resizing, as DIR/<name>.ppm."),
            OptionSpec(["--bench"], value: "n", help: "Decode and invoke each file n times; report medians separately."),
        ])

    /// Extensions picked up when searching a directory (files named explicitly are always tried).
    static let imageExtensions = imageFileExtensions
    /// No image file we accept is larger than this; bigger files are refused before reading.
    static let maxFileBytes = FileLimits.image

    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        let args = spec.parse(arguments)
        let top = args.int("--top", default: 3, in: 1...100_000, command: spec.name)
        let benchRuns = args.int("--bench", default: 0, in: 1...100_000, command: spec.name)
        let loaded: LoadedModel
        do { loaded = try LoadedModel(path: args.positionals[0]) } catch { fail(error.description) }
        let session = InferenceSession(loaded)
        if let dir = args.value("--dump-decoded") {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            catch { fail("\(dir): cannot create directory") }
        }

        var results: [JSON] = []
        var failures = 0
        for file in expand(Array(args.positionals.dropFirst())) {
            do {
                let bytes = try read(file)
                let result = try args.flag("--raw") ? session.runRaw(bytes, file: file)
                    : session.run(image: bytes, file: file, dumpTo: args.value("--dump-decoded"))
                let bench = benchRuns > 0 ? try session.bench(bytes, raw: args.flag("--raw"), runs: benchRuns) : nil
                if args.flag("--json") {
                    results.append(result.json(top: top, bench: bench))
                } else {
                    print(result.text(top: top, raw: args.flag("--raw")) + (bench.map { "\n  " + $0.text } ?? ""))
                }
            } catch {
                printError("error: \(file): \(error.description)")
                failures += 1
            }
        }
        if args.flag("--json") { print(JSON.array(results).text()) }
        exit(failures == 0 ? ExitCode.success.rawValue : ExitCode.failure.rawValue)
    }

    /// Arguments to files: directories become their image files, recursively, sorted by path.
    static func expand(_ arguments: [String]) -> [String] {
        var files: [String] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard argument != "-", FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory),
                  isDirectory.boolValue else {
                files.append(argument)      // missing files are reported when read
                continue
            }
            let found = (FileManager.default.enumerator(atPath: argument)?.allObjects as? [String] ?? [])
                .filter { imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted()
            files += found.map { (argument as NSString).appendingPathComponent($0) }
        }
        return files
    }

    static func read(_ file: String) throws(ToolError) -> [UInt8] {
        if file == "-" {
            // Standard input in chunks, refused past the same limit as files.
            var bytes: [UInt8] = []
            while true {
                let chunk = FileHandle.standardInput.readData(ofLength: 1 << 20)
                if chunk.isEmpty { return bytes }
                bytes += chunk
                guard bytes.count <= maxFileBytes else {
                    throw ToolError("standard input is larger than the \(maxFileBytes >> 20) MiB limit")
                }
            }
        }
        return try readFileBytes(file, limit: maxFileBytes, kind: "an image")
    }
}

/// One model, its arena and pixel pipeline, reused for every file.
struct InferenceSession {
    let loaded: LoadedModel
    let pipeline: PixelPipeline
    let arena: UnsafeMutableRawBufferPointer
    /// The model's class names ("class N" where it has none), read once.
    let labels: [String]
    var model: RNModel { loaded.model }

    init(_ loaded: LoadedModel) {
        self.loaded = loaded
        pipeline = PixelPipeline(model: loaded.model)
        labels = (0..<loaded.model.output.byteCount).map { c in
            loaded.model.file.label(c).map { String(decoding: $0, as: UTF8.self) } ?? "class \(c)"
        }
        // The arena lives as long as the process; one allocation, before any file.
        arena = .allocate(byteCount: max(loaded.model.arenaBytes, 1), alignment: 16)
    }

    struct Result {
        var file: String
        var logits: [Int8]
        var scores: [Double]
        var labels: [String]

        func ranked(_ k: Int) -> [Int] {
            Array(scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k))
        }

        func text(top: Int, raw: Bool) -> String {
            var lines = [file]
            if raw { lines.append("  logits: " + logits.map(String.init).joined(separator: " ")) }
            let width = ranked(top).map { labels[$0].count }.max() ?? 0
            for (rank, c) in ranked(top).enumerated() {
                let label = labels[c].padding(toLength: width, withPad: " ", startingAt: 0)
                lines.append("  \(rank + 1). \(label)  \(String(format: "%6.2f%%", scores[c] * 100))  (class \(c))")
            }
            return lines.joined(separator: "\n")
        }

        func json(top: Int, bench: Bench?) -> JSON {
            var members: [(String, JSON)] = [
                ("file", .string(file)),
                ("top", .array(ranked(top).map { c in
                    .object([("class", .int(c)), ("label", .string(labels[c])), ("score", .double(scores[c]))])
                })),
                ("logits", .array(logits.map { .int(Int($0)) })),
            ]
            if let bench { members.append(("bench", bench.json)) }
            return .object(members)
        }
    }

    func decode(_ bytes: [UInt8]) throws(ToolError) -> Image {
        do throws(ImageError) { return try decodeImage(bytes) } catch { throw ToolError(error.description) }
    }

    /// The model's uint8 input pixels from a decoded image (its preprocessing).
    func pixels(_ image: Image) throws(ToolError) -> [UInt8] {
        do throws(ImageError) { return try pipeline.pixels(from: image) } catch { throw ToolError(error.description) }
    }

    func run(image bytes: [UInt8], file: String, dumpTo directory: String?) throws(ToolError) -> Result {
        let image = try decode(bytes)
        for warning in image.warnings { printError("warning: \(file): \(warning)") }
        if let directory {
            let name = file == "-" ? "stdin" : (file as NSString).lastPathComponent
            let path = (directory as NSString).appendingPathComponent(name + ".ppm")
            // Header, then the samples straight from the image: no copy of a large image.
            let header = Array("P6\n\(image.width) \(image.height)\n255\n".utf8), rgb = image.rgb8()
            guard let f = fopen(path, "wb") else { throw ToolError("cannot write \(path)") }
            let written = fwrite(header, 1, header.count, f) + rgb.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
            guard fclose(f) == 0, written == header.count + rgb.count else { throw ToolError("cannot write \(path)") }
        }
        return classify(quantize(try pixels(image)), file: file)
    }

    func runRaw(_ bytes: [UInt8], file: String) throws(ToolError) -> Result {
        let input = model.input
        guard bytes.count == input.byteCount else {
            throw ToolError("\(bytes.count) bytes, but the model's input is \(input.byteCount) (\(shape(input).dropFirst().map(String.init).joined(separator: "x")) int8)")
        }
        return classify(bytes.map { Int8(bitPattern: $0) }, file: file)
    }

    func quantize(_ pixels: [UInt8]) -> [Int8] {
        var input = [Int8](repeating: 0, count: model.input.byteCount)
        pixels.withUnsafeBufferPointer { p in
            input.withUnsafeMutableBufferPointer { model.quantizeImage(pixels: p.baseAddress!, into: $0.baseAddress!) }
        }
        return input
    }

    func invoke(_ input: [Int8]) -> [Int8] {
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                // The session's arena is the model's size, so invoke's checks cannot fail.
                try! model.invoke(arena: arena, input: i.baseAddress!, output: o.baseAddress!)
            }
        }
        return output
    }

    func classify(_ input: [Int8], file: String) -> Result {
        let logits = invoke(input)
        let out = model.output
        let real = logits.map { Double(out.scale) * Double(Int32($0) - out.zeroPoint) }
        let peak = real.max() ?? 0
        let exps = real.map { Foundation.exp($0 - peak) }
        let sum = exps.reduce(0, +)
        return Result(file: file, logits: logits, scores: exps.map { $0 / sum }, labels: labels)
    }

    // MARK: - Bench

    struct Bench {
        var runs: Int
        var megapixels: Double
        var decodeMs: Double?, preprocessMs: Double?, invokeMs: Double

        var text: String {
            var parts: [String] = []
            if let decodeMs {
                parts.append(String(format: "decode %.3f ms (%.1f MP/s)", decodeMs, megapixels / (decodeMs / 1000)))
            }
            if let preprocessMs { parts.append(String(format: "preprocess %.3f ms", preprocessMs)) }
            parts.append(String(format: "invoke %.3f ms", invokeMs))
            return "median of \(runs): " + parts.joined(separator: ", ")
        }

        var json: JSON {
            var members: [(String, JSON)] = [("runs", .int(runs))]
            if let decodeMs {
                members += [("decode_ms", .double(decodeMs)), ("megapixels", .double(megapixels)),
                            ("decode_mpix_per_s", .double(megapixels / (decodeMs / 1000)))]
            }
            if let preprocessMs { members.append(("preprocess_ms", .double(preprocessMs))) }
            members.append(("invoke_ms", .double(invokeMs)))
            return .object(members)
        }
    }

    /// Medians over `runs` of decoding, preprocessing and invoking, each timed on its own.
    func bench(_ bytes: [UInt8], raw: Bool, runs: Int) throws(ToolError) -> Bench {
        func median(_ body: () throws(ToolError) -> Void) throws(ToolError) -> Double {
            var times: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            return times.sorted()[times.count / 2]
        }
        if raw {
            let input = bytes.map { Int8(bitPattern: $0) }
            return Bench(runs: runs, megapixels: 0, decodeMs: nil, preprocessMs: nil,
                         invokeMs: try median { _ = invoke(input) })
        }
        var image: Image? = nil
        let decoding = try median { () throws(ToolError) in image = try decode(bytes) }
        var input: [Int8] = []
        let preprocess = try median { () throws(ToolError) in input = quantize(try pixels(image!)) }
        let run = try median { _ = invoke(input) }
        return Bench(runs: runs, megapixels: Double(image!.width * image!.height) / 1e6, decodeMs: decoding,
                     preprocessMs: preprocess, invokeMs: run)
    }
}

extension PixelPipeline {
    /// The model's input size and its stored preprocessing record (FORMAT.md, metadata key 2);
    /// without a record, a stretch to the input size.
    public init(model: RNModel) {
        let input = model.input
        self.init(width: input.width, height: input.height, channels: input.channels)
        if let p = model.file.preprocessing {
            bgr = p.channelOrder == .bgr
            if p.resizeMode == .shorterSideThenCenterCrop { resize = .shorterSideThenCrop(shorter: p.resizeHeight) }
        }
    }
}
