import Foundation
import Testing

/// Runs a repository script; returns (status, combined output).
func runScript(_ path: String, _ arguments: [String] = []) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = Repo.root.appendingPathComponent(path)
    process.arguments = arguments
    process.currentDirectoryURL = Repo.root
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

/// The device modules as firmware gets them: Embedded Swift, allocation forbidden.
@Suite struct EmbeddedBuildTests {
    /// Builds libRNRuntime.a for the host, links a plain C program against it (nothing else),
    /// and runs it on every golden case: same bytes as the Swift runtime.
    @Test func cProgramLinksAndMatchesGoldens() throws {
        let (status, output) = try runScript("Tools/c-link-test")
        #expect(status == 0, "\(output)")
        // Every golden model, layout-1 ones (model-o16hwi4.rnb) included, ran and matched.
        let goldens = try FileManager.default.subpathsOfDirectory(atPath: Repo.root.appendingPathComponent("Tests/Golden").path)
            .filter { $0.hasSuffix(".rnb") }
        #expect(goldens.count == 6 && output.components(separatedBy: "\nOK\n").count - 1 == goldens.count, "\(output)")
        #expect(!output.contains("MISMATCH"))
    }

    /// The same sources compile for a Cortex-M4 with -no-allocations.
    @Test func deviceModulesBuildForCortexM4() throws {
        let (status, output) = try runScript("Tools/build-runtime-lib", ["--target", "armv7em-none-none-eabi"])
        #expect(status == 0, "\(output)")
        #expect(output.hasSuffix("armv7em-none-none-eabi/libRNRuntime.a\n"), "\(output)")
    }
}
