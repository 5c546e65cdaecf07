// Windows BMP: 1, 4 and 8-bit palettes, RLE8 and RLE4 compression, 16-bit (5-5-5 or BITFIELDS
// such as 5-6-5), 24-bit and 32-bit (BGRX, or BITFIELDS with an alpha mask), bottom-up or
// top-down (negative height); OS/2 core (12-byte), INFO (40) and V2-V5 headers.
//
// A masked field of n bits widens to 8 bits by v * 255 / (2^n - 1), rounded down (Pillow's rule).
// As in Pillow, a palette index past the palette is black, RLE pixels skipped by a delta or an
// early end of line are palette index 0, and an RLE stream that ends (end of bitmap, or the
// data) before every pixel is set is an error.

/// Decodes a BMP file.
public func decodeBMP(_ bytes: [UInt8]) throws(ImageError) -> Image {
    var c = ByteCursor(bytes)
    try c.need(18, "BMP header")
    guard bytes[0] == 0x42, bytes[1] == 0x4D else { throw .corrupt("not a BMP file") }
    let dataOffset = c.le32(at: 10)
    let headerSize = c.le32(at: 14)
    guard [12, 40, 52, 56, 64, 108, 124].contains(headerSize) else { throw .unsupported("BMP header size \(headerSize)") }
    try c.need(14 + headerSize, "BMP header")
    let width: Int, signedHeight: Int, bpp: Int, compression: Int, colorsUsed: Int
    if headerSize == 12 {
        width = c.le16(at: 18); signedHeight = c.le16(at: 20); bpp = c.le16(at: 24)
        compression = 0; colorsUsed = 0
    } else {
        width = Int(Int32(truncatingIfNeeded: c.le32(at: 18)))
        signedHeight = Int(Int32(truncatingIfNeeded: c.le32(at: 22)))
        bpp = c.le16(at: 28); compression = c.le32(at: 30); colorsUsed = c.le32(at: 46)
    }
    let topDown = signedHeight < 0
    let height = abs(signedHeight)
    guard width >= 0 else { throw .corrupt("negative BMP width \(width)") }
    try ImageLimits.check(width: width, height: height)
    guard [1, 4, 8, 16, 24, 32].contains(bpp) else { throw .unsupported("BMP with \(bpp) bits per pixel") }
    switch compression {
    case 0: break
    case 1, 2:
        guard bpp == (compression == 1 ? 8 : 4) else { throw .corrupt("BMP RLE\(compression == 1 ? 8 : 4) with \(bpp) bits per pixel") }
    case 3, 6: guard bpp == 16 || bpp == 32 else { throw .corrupt("BITFIELDS with \(bpp) bits per pixel") }
    default: throw .unsupported("BMP compression \(compression)")
    }

    // Channel masks (R, G, B, A): from the header (V2+), after a 40-byte header, or the defaults.
    var masks: [UInt32] = bpp == 16 ? [0x7C00, 0x03E0, 0x001F, 0] : [0xFF0000, 0x00FF00, 0x0000FF, 0]
    var paletteStart = 14 + headerSize
    if compression == 3 || compression == 6 {
        let at = 14 + 40
        let count = compression == 6 || headerSize >= 56 ? 4 : 3
        try c.need(at + 4 * count, "BMP color masks")
        for i in 0..<count { masks[i] = UInt32(c.le32(at: at + 4 * i)) }
        if headerSize == 40 { paletteStart += 4 * count }
    } else if bpp == 32, headerSize >= 56 {
        masks[3] = 0    // BI_RGB: the fourth byte is padding, whatever the header says
    }

    var palette: [UInt8] = []            // (entries, 3) RGB
    if bpp <= 8 {
        let entrySize = headerSize == 12 ? 3 : 4
        let entries = colorsUsed == 0 ? 1 << bpp : colorsUsed
        guard entries <= 1 << bpp else { throw .corrupt("BMP palette has \(entries) colors for \(bpp) bits") }
        try c.need(paletteStart + entries * entrySize, "BMP palette")
        for i in 0..<entries {
            let e = paletteStart + i * entrySize
            palette += [bytes[e + 2], bytes[e + 1], bytes[e]]
        }
        palette += [UInt8](repeating: 0, count: 3 << bpp - palette.count)   // indices past the palette: black
    }
    if compression == 1 || compression == 2 {
        guard dataOffset <= bytes.count else { throw .truncated("pixel data at offset \(dataOffset)") }
        let indices = try decodeRLE(bytes, from: dataOffset, width: width, height: height, nibbles: compression == 2)
        var samples = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let from = (topDown ? y : height - 1 - y) * width
            for x in 0..<width {
                let i = 3 * Int(indices[from + x]), o = 3 * (y * width + x)
                samples[o] = palette[i]; samples[o + 1] = palette[i + 1]; samples[o + 2] = palette[i + 2]
            }
        }
        return Image(width: width, height: height, layout: .rgb, samples: samples)
    }

    let rowBytes = (width * bpp + 31) / 32 * 4
    guard dataOffset <= bytes.count, bytes.count - dataOffset >= rowBytes * height else {
        throw .truncated("pixel data needs \(rowBytes * height) bytes at offset \(dataOffset)")
    }
    let hasAlpha = bpp == 32 && masks[3] != 0
    let channels = hasAlpha ? 4 : 3
    var samples = [UInt8](repeating: 0, count: width * height * channels)
    let fields = masks.map(MaskField.init)
    bytes.withUnsafeBufferPointer { src in
        samples.withUnsafeMutableBufferPointer { out in
            for y in 0..<height {
                let row = src.baseAddress! + dataOffset + (topDown ? y : height - 1 - y) * rowBytes
                let o = out.baseAddress! + y * width * channels
                for x in 0..<width {
                    let p = o + x * channels
                    switch bpp {
                    case 24:
                        p[0] = row[3 * x + 2]; p[1] = row[3 * x + 1]; p[2] = row[3 * x]
                    case 16, 32:
                        let v = bpp == 16 ? UInt32(row[2 * x]) | UInt32(row[2 * x + 1]) << 8
                            : UInt32(row[4 * x]) | UInt32(row[4 * x + 1]) << 8 | UInt32(row[4 * x + 2]) << 16 | UInt32(row[4 * x + 3]) << 24
                        for ch in 0..<channels { p[ch] = fields[ch].extract(v) }
                    default:
                        let bit = x * bpp
                        let index = Int(row[bit >> 3]) >> (8 - bpp - (bit & 7)) & ((1 << bpp) - 1)
                        p[0] = palette[3 * index]; p[1] = palette[3 * index + 1]; p[2] = palette[3 * index + 2]
                    }
                }
            }
        }
    }
    return Image(width: width, height: height, layout: hasAlpha ? .rgba : .rgb, samples: samples)
}

/// RLE8 or RLE4 (`nibbles`) pixel data from `start`: palette indices, rows in file order. The
/// stream fills the pixels in order: a run (count, value) repeats the value, or for RLE4 its two
/// nibbles alternately, clipped at the end of the row; escape 0 ends the line (the rest of the
/// row stays 0), 1 ends the bitmap, 2 (dx, dy) skips dx pixels and dy rows, and n >= 3 copies
/// n literal indices (bytes, or nibbles high first), padded to an even file offset. Decoding
/// stops when every pixel is set; the work is bounded by the pixels and the data.
private func decodeRLE(_ bytes: [UInt8], from start: Int, width: Int, height: Int, nibbles: Bool) throws(ImageError) -> [UInt8] {
    // A first pass only walks the stream, so that one which ends early is refused before the
    // pixels it claims are allocated; the second writes them.
    try walkRLE(bytes, from: start, width: width, height: height, nibbles: nibbles, into: nil)
    var out = [UInt8](repeating: 0, count: width * height)
    try out.withUnsafeMutableBufferPointer { (o) throws(ImageError) in
        try walkRLE(bytes, from: start, width: width, height: height, nibbles: nibbles, into: o)
    }
    return out
}

private func walkRLE(_ bytes: [UInt8], from start: Int, width: Int, height: Int, nibbles: Bool,
                     into out: UnsafeMutableBufferPointer<UInt8>?) throws(ImageError) {
    let total = width * height
    var at = start, n = 0, x = 0    // next byte, pixels set so far, column as the runs count it
    func put(_ v: UInt8) { out?[n] = v; n += 1 }
    func short() -> ImageError { .truncated("BMP RLE data ends at pixel \(n) of \(total)") }
    while n < total, at + 1 < bytes.count {
        let count = Int(bytes[at]), value = bytes[at + 1]
        at += 2
        if count > 0 {
            let run = max(0, min(count, width - x))
            for k in 0..<run { put(nibbles ? (k % 2 == 0 ? value >> 4 : value & 0x0F) : value) }
            x += run
            continue
        }
        switch value {
        case 0:                     // end of line
            n = min(total, (n + width - 1) / width * width)
            x = 0
        case 1:                     // end of bitmap, before every pixel is set
            throw short()
        case 2:                     // delta
            guard at + 1 < bytes.count else { throw short() }
            n = min(total, n + Int(bytes[at]) + Int(bytes[at + 1]) * width)
            at += 2
            x = n % width
        default:                    // absolute
            let literal = min(Int(value), total - n)
            let available = (bytes.count - at) * (nibbles ? 2 : 1)
            for k in 0..<min(literal, available) {
                put(nibbles ? (k % 2 == 0 ? bytes[at + k / 2] >> 4 : bytes[at + k / 2] & 0x0F) : bytes[at + k])
            }
            guard literal <= available else { throw short() }   // the data ends inside the literal
            at += nibbles ? (literal + 1) / 2 : literal
            x += Int(value)
            if at % 2 != 0 { at += 1 }
        }
    }
    guard n == total else { throw short() }
}

/// One contiguous bit field of a BITFIELDS mask, widened to 8 bits.
private struct MaskField {
    let shift: UInt32
    let mask: UInt32       // after shifting
    init(_ mask: UInt32) {
        shift = mask == 0 ? 0 : UInt32(mask.trailingZeroBitCount)
        self.mask = mask >> shift
    }
    func extract(_ pixel: UInt32) -> UInt8 {
        guard mask != 0 else { return 0 }
        return UInt8(UInt64((pixel >> shift) & mask) * 255 / UInt64(mask))
    }
}
