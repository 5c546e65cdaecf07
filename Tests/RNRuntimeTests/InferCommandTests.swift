import Foundation
import Testing

/// rn-infer end to end on the default model (exported here from the committed .rnf).
@Suite(.serialized) struct InferCommandTests {
    static let directory: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-infer-tests-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()
    static let model: String = {
        let path = directory + "/fashion.rnb"
        let rnf = Repo.root.appendingPathComponent("Tools/models/fashion-resnet18-w16.rnf").path
        let sample = Repo.root.appendingPathComponent("Tests/Data/fashion-mnist-sample").path
        _ = try? runTool("rn-export", [rnf, "--calib", sample, "--calib-count", "100", "-o", path])
        return path
    }()
    let fashion = Repo.root.appendingPathComponent("Tests/Data/images/fashion-mnist").path
    let cifar = Repo.root.appendingPathComponent("Tests/Data/images/cifar10").path

    func json(_ stdout: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]])
    }

    @Test func fashionSamplesGetTheirClasses() throws {
        let (status, stdout, stderr) = try runTool("rn-infer", [Self.model, fashion, "--json", "--top", "2"])
        #expect(status == 0, "\(stderr)")
        let results = try json(stdout)
        #expect(results.count == 10)
        for result in results {
            let file = try #require(result["file"] as? String)
            let name = (file as NSString).lastPathComponent       // 00_9_Ankle_boot.png: class 9
            let want = Int(name.split(separator: "_")[1])!
            let top = try #require(result["top"] as? [[String: Any]])
            #expect(top.count == 2)
            #expect(top[0]["class"] as? Int == want, "\(name): got \(top[0])")
            #expect((top[0]["label"] as? String)?.replacingOccurrences(of: " ", with: "_")
                    == name.split(separator: "_", maxSplits: 2)[2].replacingOccurrences(of: ".png", with: "")
                    || name.contains("T-shirt"))
            let score = try #require(top[0]["score"] as? Double)
            #expect(score > 0.5 && score <= 1)
            #expect((result["logits"] as? [Int])?.count == 10)
        }
        // Sorted paths, text output names each file and its top class.
        #expect(results.map { $0["file"] as! String } == results.map { $0["file"] as! String }.sorted())
        let text = try runTool("rn-infer", [Self.model, fashion + "/00_9_Ankle_boot.png"])
        #expect(text.0 == 0 && text.1.contains("1. Ankle boot"))
        // RGB images into a gray model: converted, classified, exit 0.
        #expect(try runTool("rn-infer", [Self.model, cifar, "--top", "1"]).0 == 0)
    }

    @Test func badFilesAreReportedAndTheRestProcessed() throws {
        let good = fashion + "/02_1_Trouser.png"
        let png = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = Self.directory + "/truncated.png", corrupt = Self.directory + "/corrupt.png"
        try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: truncated))
        var flipped = png
        flipped[40] ^= 0xFF
        try flipped.write(to: URL(fileURLWithPath: corrupt))
        let text = Self.directory + "/notes.txt"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        let (status, stdout, stderr) = try runTool("rn-infer", [Self.model, truncated, good, corrupt, "/no/such.png", text, "--json"])
        #expect(status == 1)
        let lines = stderr.split(separator: "\n")
        #expect(lines.count == 4, "\(stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix("error: ") })
        #expect(lines[0].hasPrefix("error: \(truncated): file ends early"))
        #expect(lines[1].hasPrefix("error: \(corrupt): CRC mismatch"))
        #expect(lines[2] == "error: /no/such.png: no such file")
        #expect(lines[3] == "error: \(text): not a PNG, JPEG, PPM/PGM/PBM or BMP file")
        let results = try json(stdout)
        #expect(results.count == 1 && results[0]["file"] as? String == good)
    }

    @Test func rawInputsDumpsStdinAndBench() throws {
        let good = fashion + "/08_5_Sandal.png"
        let image = try json(try runTool("rn-infer", [Self.model, good, "--json"]).1)[0]
        // The same image as raw int8: the PGM pixels through the model's table give the same logits.
        let dump = Self.directory + "/dump"
        let dumped = try runTool("rn-infer", [Self.model, good, "--dump-decoded", dump])
        #expect(dumped.0 == 0)
        let ppm = try Data(contentsOf: URL(fileURLWithPath: dump + "/08_5_Sandal.png.ppm"))
        let header = Data("P6\n28 28\n255\n".utf8)
        #expect(ppm.starts(with: header) && ppm.count == header.count + 28 * 28 * 3)
        let pixels = [UInt8](ppm.suffix(28 * 28 * 3))
        var grayExpanded = true
        for i in stride(from: 0, to: pixels.count, by: 3) where pixels[i] != pixels[i + 1] || pixels[i] != pixels[i + 2] {
            grayExpanded = false
        }
        #expect(grayExpanded)
        // Stdin gives the same result as the file.
        let piped = try json(try runTool("rn-infer", [Self.model, "-", "--json"], stdin: good).1)
        #expect(piped.count == 1 && piped[0]["file"] as? String == "-")
        #expect(piped[0]["logits"] as? [Int] == image["logits"] as? [Int])
        // Raw: a file of the wrong size is refused; a right-sized one runs and prints logits.
        let raw = Self.directory + "/input.raw"
        try Data(repeating: 0, count: 28 * 28).write(to: URL(fileURLWithPath: raw))
        let rawRun = try runTool("rn-infer", [Self.model, raw, "--raw"])
        #expect(rawRun.0 == 0 && rawRun.1.contains("logits: "))
        try Data(repeating: 0, count: 100).write(to: URL(fileURLWithPath: raw))
        let wrong = try runTool("rn-infer", [Self.model, raw, "--raw"])
        #expect(wrong.0 == 1 && wrong.2 == "error: \(raw): 100 bytes, but the model's input is 784 (28x28x1 int8)\n")
        // Bench: decode, preprocess and invoke timed separately.
        let bench = try json(try runTool("rn-infer", [Self.model, good, "--bench", "3", "--json"]).1)[0]
        let b = try #require(bench["bench"] as? [String: Any])
        for key in ["runs", "decode_ms", "preprocess_ms", "invoke_ms", "decode_mpix_per_s"] { #expect(b[key] != nil, "\(key)") }
    }

    @Test func usage() throws {
        #expect(try runTool("rn-infer", ["--help"]).0 == 0)
        #expect(try runTool("rn-infer", [Self.model]).0 == 64)
        #expect(try runTool("rn-infer", [Self.model, fashion, "--top", "0"]).0 == 64)
        let notModel = try runTool("rn-infer", [fashion + "/00_9_Ankle_boot.png", fashion])
        #expect(notModel.0 == 1 && notModel.2.hasPrefix("error: "))
    }
}
