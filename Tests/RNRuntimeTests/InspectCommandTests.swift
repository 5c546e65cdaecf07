import Foundation
import Testing
import RNCommandLine

/// Runs a built tool next to the test bundle; returns (status, stdout, stderr).
func runTool(_ name: String, _ arguments: [String], stdin: String? = nil,
             environment: [String: String] = [:]) throws -> (Int32, String, String) {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    let process = Process()
    process.executableURL = FileManager.default.fileExists(atPath: binary.path)
        ? binary : Repo.root.appendingPathComponent(".build/debug/\(name)")
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    if let stdin { process.standardInput = FileHandle(forReadingAtPath: stdin) }
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

@Suite struct InspectCommandTests {
    let model = Repo.golden("tiny-resnet", "model.rnb").path

    @Test func jsonHasTheContractKeys() throws {
        let (status, stdout, stderr) = try runTool("rn-inspect", [model, "--json"])
        #expect(status == 0 && stderr.isEmpty)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        for key in ["macs", "weight_bytes", "arena_bytes", "arena_lower_bound_bytes", "input", "output", "layers"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(layers.count == 11)
        // Each layer's parameter slots by FORMAT.md's names: op 4 is an add (TFLite's left shift 20).
        let add = try #require(layers[4]["params"] as? [String: Any])
        #expect(layers[4]["kind"] as? String == "add" && add.count == 7 && add["left_shift"] as? Int == 20)
        #expect((layers[1]["params"] as? [String: Any])?.isEmpty == true)   // max_pool has none
        #expect(layers.compactMap { $0["macs"] as? Int }.reduce(0, +) == json["macs"] as? Int)
        #expect(json["macs"] as? Int == 104_992 && json["arena_bytes"] as? Int == 1584)
        let input = try #require(json["input"] as? [String: Any])
        #expect(input["shape"] as? [Int] == [1, 12, 12, 3] && input["zero_point"] as? Int == 0)
    }

    @Test func tableNamesLayersAndPlan() throws {
        let (status, stdout, _) = try runTool("rn-inspect", [model])
        #expect(status == 0)
        #expect(stdout.contains("conv2d_0") && stdout.contains("fully_connected_10"))
        #expect(stdout.contains("arena: 1,584 bytes") && stdout.contains("lower bound 1,584 bytes"))
    }

    @Test func badFilesAndUsage() throws {
        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent("rn-inspect-corrupt.rnb")
        var bytes = try Repo.bytes(URL(fileURLWithPath: model))
        bytes[500] ^= 0x40
        try Data(bytes).write(to: corrupt)
        let (status, stdout, stderr) = try runTool("rn-inspect", [corrupt.path])
        #expect(status == 1 && stdout.isEmpty)
        #expect(stderr.hasPrefix("error: \(corrupt.path): checksum mismatch") && stderr.split(separator: "\n").count == 1)

        let truncated = FileManager.default.temporaryDirectory.appendingPathComponent("rn-inspect-truncated.rnb")
        try Data(bytes[0..<1000]).write(to: truncated)
        let (status2, _, stderr2) = try runTool("rn-inspect", [truncated.path])
        #expect(status2 == 1 && stderr2.contains("truncated") && stderr2.contains("1000 bytes, expected 8264"))

        #expect(try runTool("rn-inspect", ["/no/such/model.rnb"]).0 == 1)
        #expect(try runTool("rn-inspect", [Repo.root.path]).2.contains("is a directory"))
        #expect(try runTool("rn-inspect", []).0 == 64)
        #expect(try runTool("rn-inspect", [model, "--frobnicate"]).0 == 64)
        #expect(try runTool("rn-inspect", [model, model]).0 == 64)
        let help = try runTool("rn-inspect", ["--help"])
        #expect(help.0 == 0 && help.1.contains("USAGE: rn-inspect <model.rnb> [--json]"))
    }

    @Test func argumentParserRules() throws {
        let spec = CommandSpec(name: "t", overview: "", arguments: [("a", "")], minimumPositionals: 1, maximumPositionals: 1,
                               options: [OptionSpec(["--n"], value: "N", help: ""), OptionSpec(["--x"], help: "")])
        let (parsed, help) = try spec.parseArguments(["--n=3", "file", "--x"])
        #expect(!help && parsed.positionals == ["file"] && parsed.value("--n") == "3" && parsed.flag("--x"))
        #expect(throws: UsageError(message: "missing value for '--n'")) { try spec.parseArguments(["f", "--n"]) }
        #expect(throws: UsageError(message: "'--x' takes no value")) { try spec.parseArguments(["f", "--x=1"]) }
        #expect(throws: UsageError(message: "'--n' given more than once")) { try spec.parseArguments(["f", "--n", "1", "--n", "2"]) }
        #expect(try spec.parseArguments(["--", "-weird"]).0.positionals == ["-weird"])
    }
}
