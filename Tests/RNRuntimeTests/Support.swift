import Foundation
import RNFormat
import RNQuantize
import RNRuntime

/// Repository paths, found from this file's location.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func golden(_ name: String, _ file: String) -> URL {
        root.appendingPathComponent("Tests/Golden/\(name)/\(file)")
    }
    static func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }
}

/// A 16-byte aligned arena of exactly `count` bytes, freed on deinit.
final class Arena {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ count: Int) { buffer = .allocate(byteCount: max(count, 1), alignment: 16) }
    deinit { buffer.deallocate() }
}

/// Runs `model` on `input` with a fresh arena of exactly the model's size.
func run(_ model: RNModel, _ input: [Int8]) throws(RNError) -> [Int8] {
    let arena = Arena(model.arenaBytes)
    var output = [Int8](repeating: 0, count: model.output.byteCount)
    try model.invoke(arena: arena.buffer, input: input, output: &output)
    return output
}

/// "OK" or the first mismatches, their positions, the count and max |delta| (STYLE.md habit 12).
func diff(_ got: [Int8], _ want: [Int8]) -> String {
    guard got.count == want.count else { return "sizes differ: \(got.count) vs \(want.count)" }
    let bad = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
    if bad.isEmpty { return "OK" }
    let first = bad.prefix(8).map { "[\($0.offset)] \($0.element.0) != \($0.element.1)" }.joined(separator: ", ")
    let maxDelta = bad.map { abs(Int($0.element.0) - Int($0.element.1)) }.max()!
    return "\(bad.count) of \(got.count) differ, max |delta| \(maxDelta): \(first)"
}
