// Netpbm PBM, PGM and PPM: P1/P4 (bitmaps), P2/P5 (gray) and P3/P6 (RGB), ASCII and binary,
// maxval 1 to 65535.
//
// Samples are rescaled to the full range the way Pillow does, so decodes compare exactly:
// 8-bit output round(v / maxval * 255) for maxval <= 255 and for RGB at any maxval; gray with
// maxval > 255 becomes 16-bit, round(v / maxval * 65535). Rounding is IEEE double arithmetic,
// ties to even (v 1 of maxval 2 -> 127.5 -> 128). Samples above maxval are an error.
// Bitmaps become 8-bit gray, 1 (black) -> 0 and 0 -> 255, as Pillow shows them: P4 rows are
// packed most significant bit first, each padded to a byte; P1 digits need no separators
// (whitespace and comments between them are skipped, any other character is an error).

/// Decodes a PGM or PPM file.
public func decodePNM(_ bytes: [UInt8]) throws(ImageError) -> Image {
    guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P") else { throw .corrupt("not a PNM file") }
    let kind = Int(bytes[1]) - 48
    guard (1...6).contains(kind) else { throw .corrupt("unknown PNM type P\(kind)") }
    var scanner = TokenScanner(bytes: bytes, at: 2)
    let width = try scanner.number("width"), height = try scanner.number("height")
    if kind == 1 || kind == 4 { return try decodePBM(bytes, binary: kind == 4, width: width, height: height, scanner: scanner) }
    let maxval = try scanner.number("maxval")
    guard maxval >= 1, maxval <= 65535 else { throw .corrupt("maxval \(maxval) outside 1...65535") }
    try ImageLimits.check(width: width, height: height)
    let channels = kind == 3 || kind == 6 ? 3 : 1
    let wide = channels == 1 && maxval > 255
    let outMax = wide ? 65535.0 : 255.0
    let count = width * height * channels
    var samples = [UInt8](repeating: 0, count: count * (wide ? 2 : 1))

    let binary = kind >= 5
    if binary {
        // Exactly one whitespace byte separates maxval from the raster.
        guard scanner.at < bytes.count, isSpace(bytes[scanner.at]) else { throw .truncated("PNM header") }
        scanner.at += 1
        let bytesPerSample = maxval > 255 ? 2 : 1
        guard bytes.count - scanner.at >= count * bytesPerSample else {
            throw .truncated("raster has \(bytes.count - scanner.at) bytes, needs \(count * bytesPerSample)")
        }
    }
    // One scale per input value, computed once: Pillow's round(v / maxval * out_max) in doubles.
    var scale = [UInt16](repeating: 0, count: maxval + 1)
    for v in 0...maxval { scale[v] = UInt16((Double(v) / Double(maxval) * outMax).rounded(.toNearestOrEven)) }
    var start = scanner.at
    for i in 0..<count {
        let v: Int
        if binary {
            v = maxval > 255 ? Int(bytes[start]) << 8 | Int(bytes[start + 1]) : Int(bytes[start])
            start += maxval > 255 ? 2 : 1
        } else {
            v = try scanner.number("sample \(i)")
        }
        guard v <= maxval else { throw .corrupt("sample \(v) exceeds maxval \(maxval)") }
        let s = scale[v]
        if wide {
            samples[2 * i] = UInt8(s >> 8); samples[2 * i + 1] = UInt8(s & 0xFF)
        } else {
            samples[i] = UInt8(s)
        }
    }
    return Image(width: width, height: height, layout: channels == 3 ? .rgb : .gray, depth: wide ? 16 : 8,
                 samples: samples)
}

/// The raster of a P1 or P4 bitmap whose header the scanner has read up to the height.
private func decodePBM(_ bytes: [UInt8], binary: Bool, width: Int, height: Int, scanner: TokenScanner) throws(ImageError) -> Image {
    try ImageLimits.check(width: width, height: height)
    var samples = [UInt8](repeating: 0, count: width * height)
    var at = scanner.at
    if binary {
        guard at < bytes.count, isSpace(bytes[at]) else { throw .truncated("PBM header") }
        at += 1
        let rowBytes = (width + 7) / 8
        guard bytes.count - at >= rowBytes * height else {
            throw .truncated("raster has \(bytes.count - at) bytes, needs \(rowBytes * height)")
        }
        for y in 0..<height {
            for x in 0..<width {
                let bit = bytes[at + y * rowBytes + x / 8] >> (7 - UInt8(x % 8)) & 1
                samples[y * width + x] = bit == 1 ? 0 : 255
            }
        }
    } else {
        var i = 0
        while i < samples.count {
            guard at < bytes.count else { throw .truncated("PBM raster has \(i) of \(samples.count) pixels") }
            let b = bytes[at]
            at += 1
            if isSpace(b) { continue }
            if b == UInt8(ascii: "#") {
                while at < bytes.count && bytes[at] != 0x0A && bytes[at] != 0x0D { at += 1 }
                continue
            }
            guard b == UInt8(ascii: "0") || b == UInt8(ascii: "1") else { throw .corrupt("PBM pixel '\(Character(Unicode.Scalar(b)))' is not 0 or 1") }
            samples[i] = b == UInt8(ascii: "1") ? 0 : 255
            i += 1
        }
    }
    return Image(width: width, height: height, layout: .gray, samples: samples)
}

private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

/// Decimal numbers separated by whitespace and `#` comments (to end of line).
private struct TokenScanner {
    let bytes: [UInt8]
    var at: Int

    mutating func number(_ what: String) throws(ImageError) -> Int {
        while at < bytes.count {
            if isSpace(bytes[at]) { at += 1 }
            else if bytes[at] == UInt8(ascii: "#") { while at < bytes.count && bytes[at] != 0x0A && bytes[at] != 0x0D { at += 1 } }
            else { break }
        }
        guard at < bytes.count else { throw .truncated("PNM \(what)") }
        var value = 0, digits = 0
        while at < bytes.count, (0x30...0x39).contains(bytes[at]) {
            value = value * 10 + Int(bytes[at] - 0x30)
            digits += 1
            at += 1
            guard value <= 1 << 31 else { throw .corrupt("PNM \(what) is too large") }
        }
        guard digits > 0 else { throw .corrupt("PNM \(what) is not a number") }
        return value
    }
}
