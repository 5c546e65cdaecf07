import Foundation
import Testing
import RNInflate

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
func fixture(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name))) }

@Suite struct InflateTests {
    static let names = ["text", "noise", "runs", "empty", "one"]

    @Test(arguments: names)
    func matchesZlibOutput(_ name: String) throws {
        let plain = try fixture("\(name).bin")
        for level in [0, 1, 6, 9] {
            #expect(try gunzip(fixture("\(name).\(level).gz")) == plain, "gzip level \(level)")
            #expect(try zlibDecompress(fixture("\(name).\(level).zlib")) == plain, "zlib level \(level)")
        }
        #expect(try inflate(fixture("\(name).fixed.deflate")) == plain, "fixed Huffman")
    }

    @Test func multipleGzipMembers() throws {
        #expect(String(decoding: try gunzip(fixture("two-members.gz")), as: UTF8.self) == "first member\nsecond member\n")
    }

    @Test func checksumsAndHeadersAreChecked() throws {
        var gz = try fixture("text.6.gz")
        gz[gz.count - 6] ^= 1                                   // CRC-32 field
        #expect(throws: InflateError.checksumMismatch("CRC-32")) { try gunzip(gz) }
        var size = try fixture("text.6.gz")
        size[size.count - 1] ^= 1
        #expect(throws: InflateError.sizeMismatch) { try gunzip(size) }
        var z = try fixture("text.6.zlib")
        z[z.count - 1] ^= 1
        #expect(throws: InflateError.checksumMismatch("Adler-32")) { try zlibDecompress(z) }
        #expect(throws: InflateError.self) { try gunzip(Array("plain text, not gzip at all".utf8)) }
        #expect(throws: InflateError.badBlockType) { try inflate([0x07]) }          // final block, type 3
        #expect(throws: InflateError.storedLengthMismatch) { try inflate([0x01, 0x05, 0x00, 0x00, 0x00]) }
    }

    @Test func everyTruncationFails() throws {
        for name in ["text.6.gz", "noise.1.gz", "runs.9.gz"] {
            let gz = try fixture(name)
            for length in stride(from: 0, to: gz.count, by: max(1, gz.count / 400)) {
                #expect(throws: InflateError.self, "\(name) cut at \(length)") { try gunzip(Array(gz[0..<length])) }
            }
        }
    }

    @Test func randomCorruptionNeverCrashes() throws {
        let gz = try fixture("text.9.gz")
        var state: UInt64 = 42
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        var failures = 0
        for _ in 0..<2000 {
            var bad = gz
            bad[10 + next() % (bad.count - 10)] ^= UInt8(1 + next() % 255)
            do { _ = try gunzip(bad, limit: 1 << 20) } catch { failures += 1 }
        }
        #expect(failures > 1900)   // the CRC catches what decoding does not
    }

    @Test func outputLimitStopsBombs() throws {
        let runs = try fixture("runs.9.gz")
        let size = try fixture("runs.bin").count
        #expect(throws: InflateError.outputLimit(1000)) { try gunzip(runs, limit: 1000) }
        #expect(try gunzip(runs, limit: size).count == size)
    }

    @Test func fashionMNISTFromTheSystemPackage() throws {
        let path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
        guard FileManager.default.fileExists(atPath: path) else { return }   // CI installs it
        let labels = try gunzip([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(labels.count == 10_008 && labels[0..<4] == [0, 0, 8, 1])       // IDX magic 0x801
    }
}
