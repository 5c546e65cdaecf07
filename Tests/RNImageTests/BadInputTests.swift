import Foundation
import RNFormat
import Testing
@testable import RNImage

/// Decodes `bytes` expecting an ImageError; returns its message, or nil (and records an issue)
/// when the decode succeeded.
func failure(_ bytes: [UInt8], _ what: String) -> String? {
    do {
        let image = try decodeImage(bytes)
        Issue.record("\(what): decoded \(image.width)x\(image.height) instead of failing")
        return nil
    } catch {
        return error.description
    }
}

/// The byte offset of the first occurrence of `pattern`.
func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int? {
    guard bytes.count >= pattern.count else { return nil }
    return (start...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
}

/// A PNG with IHDR fields replaced and its CRC recomputed.
func pngWithHeader(_ base: [UInt8], width: UInt32? = nil, height: UInt32? = nil, depth: UInt8? = nil) -> [UInt8] {
    var png = base
    func put(_ v: UInt32, at i: Int) { for k in 0..<4 { png[i + k] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(k))) } }
    if let width { put(width, at: 16) }
    if let height { put(height, at: 20) }
    if let depth { png[24] = depth }
    let crc = png.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[12..<29])) }
    put(crc, at: 29)
    return png
}

@Suite struct BadInputTests {
    /// Binary formats: every proper prefix must fail with an error, never crash or succeed.
    @Test(arguments: ["png-rgb8-adam7.png", "png-palette4.png", "png-gray16.png", "jpeg-420-progressive.jpg",
                      "jpeg-420-restart.jpg", "jpeg-gray.jpg", "jpeg-cmyk-adobe.jpg", "jpeg-440-progressive.jpg",
                      "bmp-pal4.bmp", "bmp-rgb24.bmp", "bmp-rgba32-v5.bmp", "pnm-p6-max255.ppm", "pnm-p5-max65535.pgm"])
    func everyTruncationFails(_ file: String) throws {
        let bytes = try fixtureBytes(file)
        var accepted: [Int] = []
        // A PNG cut only inside its final IEND chunk (the last 12 bytes) keeps all of its image
        // data, and Pillow opens it: so does rn. Every cut before that must fail.
        let end = file.hasSuffix(".png") ? bytes.count - 12 : bytes.count
        for length in 0..<end {
            if (try? decodeImage(Array(bytes[..<length]))) != nil { accepted.append(length) }
        }
        #expect(accepted.isEmpty, "\(file): truncations to \(accepted.prefix(5)) bytes decoded")
    }

    /// ASCII PNM: cutting inside or before the last sample must fail.
    @Test func asciiTruncationsFail() throws {
        let bytes = try fixtureBytes("pnm-p3-max1000.ppm")
        var end = bytes.count
        while end > 0 && (bytes[end - 1] == 0x0A || bytes[end - 1] == 0x20) { end -= 1 }
        while end > 0 && bytes[end - 1] != 0x20 && bytes[end - 1] != 0x0A { end -= 1 }     // start of the last sample
        for length in 0..<end { _ = failure(Array(bytes[..<length]), "P3 cut at \(length)") }
    }

    @Test func pngChecksAndHeaders() throws {
        let base = try fixtureBytes("png-rgb8.png")
        var flipped = base
        let idat = find(Array("IDAT".utf8), in: base)!
        flipped[idat + 6] ^= 0x10
        #expect(failure(flipped, "IDAT flip") == "CRC mismatch in IDAT chunk")
        #expect(failure(pngWithHeader(base, width: 0), "width 0") == "image has zero size (0x12)")
        #expect(failure(pngWithHeader(base, width: 100_000, height: 100_000), "huge")?.hasPrefix("image too large") == true)
        #expect(failure(pngWithHeader(base, depth: 3), "depth 3") == "bit depth 3 is invalid for PNG color type 2")
        var unknown = base                                                  // rename tEXt to a critical chunk
        let text = find(Array("tEXt".utf8), in: base)!
        unknown[text] = UInt8(ascii: "X")
        let crcAt = text + 4 + (Int(base[text - 4]) << 24 | Int(base[text - 3]) << 16 | Int(base[text - 2]) << 8 | Int(base[text - 1]))
        let crc = unknown.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[text..<crcAt])) }
        for k in 0..<4 { unknown[crcAt + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(k))) }
        #expect(failure(unknown, "critical chunk") == "unsupported: critical PNG chunk XEXt")
    }

    /// Past the palette is black, as Pillow shows it (the generated fixtures png-palette-past-end
    /// and bmp-pal4-past-palette compare whole images with Pillow's).
    @Test func paletteIndexOutOfRange() throws {
        // png-palette2 has 4 entries; keep 2 (PLTE length 6) and recompute the CRC.
        let base = try fixtureBytes("png-palette2.png")
        let plte = find(Array("PLTE".utf8), in: base)!
        var png = Array(base[..<(plte - 4)])
        var chunk: [UInt8] = Array("PLTE".utf8) + Array(base[(plte + 4)..<(plte + 10)])
        let crc = chunk.withUnsafeBytes { crc32($0) }
        chunk += (0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32($0))) }
        png += [0, 0, 0, 6] + chunk
        let oldLength = Int(base[plte - 1])
        png += base[(plte + 4 + oldLength + 4)...]
        let full = try decodeImage(base), cut = try decodeImage(png)
        let indices = (0..<(full.width * full.height)).filter { Array(full.samples[(3 * $0)..<(3 * $0 + 3)]) == Array(base[(plte + 10)..<(plte + 13)]) }
        #expect(!indices.isEmpty && indices.allSatisfy { cut.samples[(3 * $0)..<(3 * $0 + 3)].allSatisfy { $0 == 0 } }, "entry 2 became black")

        var bmp = try fixtureBytes("bmp-pal4.bmp")
        bmp[46] = 2                                                         // colors used: 2 of 16
        let reduced = try decodeImage(bmp)
        #expect(reduced.width == 21 && reduced.samples.contains(0))
    }

    @Test func jpegStructure() throws {
        let base = try fixtureBytes("jpeg-420.jpg")
        let sof = find([0xFF, 0xC0], in: base)!
        var arithmetic = base
        arithmetic[sof + 1] = 0xC9
        #expect(failure(arithmetic, "SOF9") == "unsupported: arithmetic-coded JPEG (SOF9)")
        var twelve = base
        twelve[sof + 4] = 12
        #expect(failure(twelve, "12-bit") == "unsupported: 12-bit JPEG samples")
        var zero = base
        zero[sof + 7] = 0; zero[sof + 8] = 0                                 // width 0
        #expect(failure(zero, "width 0") == "image has zero size (0x37)")
        var dnl = base
        dnl[sof + 5] = 0; dnl[sof + 6] = 0                                   // height 0: defined by DNL
        #expect(failure(dnl, "height 0") == "unsupported: JPEG height defined by DNL")
        // Bogus Huffman tables: more symbols than the segment holds; and three codes of length 1
        // (over-subscribed) with the symbol count unchanged.
        var huffman = base
        let dht = find([0xFF, 0xC4], in: base)!
        huffman[dht + 5] = 3
        #expect(failure(huffman, "DHT")?.contains("Huffman") == true)
        var oversubscribed = base
        let counts = (dht + 5)..<(dht + 21)
        let longest = counts.last { base[$0] >= 3 }!
        oversubscribed[longest] -= 3
        oversubscribed[dht + 5] += 3
        #expect(failure(oversubscribed, "DHT") == "bogus Huffman table (code lengths over-subscribed)")
        // A scan that names a table never defined.
        var table = base
        let sos = find([0xFF, 0xDA], in: base)!
        table[sos + 6] = 0x33
        #expect(failure(table, "SOS") == "scan uses undefined DC Huffman table 3")
        // A progressive refinement scan before a component's first DC scan: refused (the DC scan
        // is what allocates the component's coefficients).
        let progressive = try fixtureBytes("jpeg-420-progressive.jpg")
        let firstScan = find([0xFF, 0xDA], in: progressive)!
        var early = progressive
        #expect(early[firstScan + 4] == 3 && early[firstScan + 11] == 0)   // three components, Ss = 0
        early[firstScan + 13] = 0x21                                          // Ah = 2: a refinement
        #expect(failure(early, "refinement first") == "JPEG progressive AC or refinement scan before the component's DC scan")
        // Entropy data replaced by garbage: an error (bad code or data ending early), not a crash.
        var garbage = base
        for i in (sos + 14)..<(garbage.count - 2) { garbage[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) | 0x01 }
        _ = try? decodeImage(garbage)
    }

    @Test func bmpAndPnmHeaders() throws {
        var rle = try fixtureBytes("bmp-pal4.bmp")
        rle[30] = 1                                                         // RLE8 on a 4-bit image
        #expect(failure(rle, "RLE") == "BMP RLE8 with 4 bits per pixel")
        // An RLE stream that ends before every pixel is set is an error, as in Pillow.
        let stream = try fixtureBytes("bmp-rle8.bmp")
        _ = try decodeImage(Array(stream[..<(stream.count - 4)]))            // the last row's run sets every pixel: no end needed
        for cut in [stream.count - 6, stream.count - 20] {
            #expect(failure(Array(stream[..<cut]), "RLE cut at \(cut)")?.hasPrefix("file ends early (BMP RLE data ends at pixel") == true)
        }
        var early = stream
        early[early.count - 6] = 0; early[early.count - 5] = 1               // end of bitmap instead of the last row
        #expect(failure(early, "early end")?.hasPrefix("file ends early (BMP RLE data ends at pixel 39 of 52") == true)
        var huge = try fixtureBytes("bmp-rgb24.bmp")
        huge[22] = 0; huge[23] = 0; huge[24] = 0x10                         // height 1,048,576
        #expect(failure(huge, "huge BMP")?.hasPrefix("image too large") == true)
        #expect(failure(Array("P6\n0 4\n255\n".utf8), "zero") == "image has zero size (0x4)")
        #expect(failure(Array("P6\n20000 20000\n255\n".utf8), "huge")?.hasPrefix("image too large") == true)
        #expect(failure(Array("P4\n8 8\n".utf8), "P4") == "file ends early (raster has 0 bytes, needs 8)")
        #expect(failure(Array("P1\n3 1\n1 0 2\n".utf8), "P1") == "PBM pixel '2' is not 0 or 1")
        #expect(failure(Array("P1\n3 2\n101 0".utf8), "P1 short") == "file ends early (PBM raster has 4 of 6 pixels)")
        #expect(failure(Array("P2\n2 1\n9\n3 12\n".utf8), "sample") == "sample 12 exceeds maxval 9")
        #expect(failure(Array("P5\n2 1\n0\n".utf8) + [0, 0], "maxval 0") == "maxval 0 outside 1...65535")
        #expect(failure(Array("GIF89a".utf8), "GIF") == "not a PNG, JPEG, PPM/PGM/PBM or BMP file")
    }

    /// Seeded random byte changes over every fixture, half of them in the headers: each must decode
    /// or throw; nothing may trap.
    @Test func randomCorruptionNeverCrashes() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        var rejected = 0, total = 0
        for (file, _) in manifest {
            let base = try fixtureBytes(file)
            for trial in 0..<24 {
                var bytes = base
                // Half the trials anywhere, half in the headers (the first 160 bytes).
                let span = trial % 2 == 0 ? bytes.count : min(bytes.count, 160)
                for _ in 0..<(1 + next() % 4) { bytes[next() % span] = UInt8(next() & 0xFF) }
                total += 1
                if (try? decodeImage(bytes)) == nil { rejected += 1 }
            }
        }
        #expect(total == manifest.count * 24)
        #expect(rejected > 0)
    }
}
