import Foundation
import Testing
@testable import RNImage

let fixtureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
func fixtureBytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent(name))) }

/// MANIFEST lines: "<file> exact|jpeg" (Tools/fixtures/make-image-fixtures.py).
let manifest: [(file: String, tolerance: String)] = {
    let text = (try? String(contentsOf: fixtureDirectory.appendingPathComponent("MANIFEST"), encoding: .utf8)) ?? ""
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
        let parts = $0.split(separator: " ")
        return (String(parts[0]), String(parts[1]))
    }
}()

/// Pillow's decode of `file` as 8-bit RGB (the fixture's .expected.ppm, a plain P6 file).
func expected(_ file: String) throws -> (width: Int, height: Int, rgb: [UInt8]) {
    let stem = file.split(separator: ".").dropLast().joined(separator: ".")
    let bytes = try fixtureBytes(stem + ".expected.ppm")
    let header = String(decoding: bytes.prefix(32), as: UTF8.self).split(whereSeparator: \.isWhitespace)
    let w = Int(header[1])!, h = Int(header[2])!
    return (w, h, Array(bytes.suffix(w * h * 3)))
}

@Suite struct DecoderFixtureTests {
    @Test func manifestListsEveryFeature() {
        #expect(manifest.count >= 100)
        for prefix in ["png-gray1", "png-palette4-trns-adam7", "png-rgba16-adam7", "pnm-p2", "pnm-p6-max65535",
                       "bmp-pal1", "bmp-rgb565", "bmp-rgba32-v4-topdown", "jpeg-420-progressive", "jpeg-440",
                       "jpeg-cmyk-adobe", "jpeg-ycck-adobe", "jpeg-exif-orientation6", "jpeg-420-restart"] {
            #expect(manifest.contains { $0.file.hasPrefix(prefix) }, "no fixture for \(prefix)")
        }
    }

    @Test(arguments: manifest.map(\.file))
    func matchesPillow(_ file: String) throws {
        let tolerance = manifest.first { $0.file == file }!.tolerance
        let image = try decodeImage(try fixtureBytes(file))
        let want = try expected(file)
        #expect(image.width == want.width && image.height == want.height,
                "\(file): \(image.width)x\(image.height), Pillow \(want.width)x\(want.height)")
        guard image.width == want.width && image.height == want.height else { return }
        let got = image.rgb8()
        var differing = 0, beyondTwo = 0, total = 0, worst = 0, first: [String] = []
        for i in got.indices {
            let d = abs(Int(got[i]) - Int(want.rgb[i]))
            total += d
            worst = max(worst, d)
            if d > 0 {
                differing += 1
                if first.count < 5 { first.append("(\(i / 3 % image.width),\(i / 3 / image.width)).\(i % 3): \(got[i]) vs \(want.rgb[i])") }
            }
            if d > 2 { beyondTwo += 1 }
        }
        let mad = Double(total) / Double(got.count)
        if tolerance == "exact" {
            #expect(differing == 0, "\(file): \(differing) samples differ, max |d| \(worst); first \(first)")
        } else {
            let within = 1 - Double(beyondTwo) / Double(got.count)
            #expect(within >= 0.99 && mad < 0.5,
                    "\(file): \(String(format: "%.2f", within * 100))% within 2 levels, mean |d| \(String(format: "%.3f", mad)), max \(worst); first \(first)")
        }
    }
}
