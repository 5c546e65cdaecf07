import Foundation
import Testing
import RNFormat
import RNQuantize
import RNRuntime

/// FORMAT.md is enough to write a valid file: `Tools/rnb-writer.py`, written from the page alone
/// (Python, standard library), writes a model with every op kind, both weight layouts, its own
/// plan, lower bound, scratch, multipliers and metadata (an unknown key included), and computes
/// its outputs by the page's formulas. The runtime must accept the file and give those bytes.
@Suite struct OutsiderWriterTests {
    @Test func fileFromTheSpecLoadsAndComputesWhatTheSpecSays() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnb-writer-\(getpid())")
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", root.appendingPathComponent("Tools/rnb-writer.py").path, dir.path]
        let err = Pipe()
        python.standardError = err
        python.standardOutput = Pipe()
        try python.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        try #require(python.terminationStatus == 0, "Tools/rnb-writer.py failed: \(stderr)")

        let buffer = try ModelBuffer([UInt8](try Data(contentsOf: dir.appendingPathComponent("model.rnb"))))
        let model = buffer.model
        let kinds = Set((0..<model.opCount).map { model.file.op($0).kind.rawValue })
        #expect(kinds == Set(1...8), "every op kind is in the file")
        #expect(model.arenaLowerBound == model.computeLowerBound())
        #expect(model.name(op: 2) == "block0.conv2+block0.add")
        let inputs = [UInt8](try Data(contentsOf: dir.appendingPathComponent("inputs.bin"))).map { Int8(bitPattern: $0) }
        let expected = [UInt8](try Data(contentsOf: dir.appendingPathComponent("expected.bin"))).map { Int8(bitPattern: $0) }
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: model.arenaBytes, alignment: 16)
        defer { arena.deallocate() }
        var outputs: [Int8] = []
        let n = model.input.byteCount
        for k in 0..<inputs.count / n {
            var out = [Int8](repeating: 0, count: model.output.byteCount)
            try Array(inputs[(k * n)..<((k + 1) * n)]).withUnsafeBufferPointer { x throws(RNError) in
                try model.invoke(arena: arena, input: x.baseAddress!, output: &out)
            }
            outputs += out
        }
        #expect(outputs == expected, "runtime \(outputs) vs FORMAT.md \(expected)")
    }
}
