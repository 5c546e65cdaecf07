import RNFormat
import RNInflate

// PNG (ISO/IEC 15948): every color type and bit depth, PLTE with tRNS, Adam7 interlacing, the
// five row filters, and the CRC of every chunk. Ancillary chunks other than tRNS are skipped; an
// unknown critical chunk is refused.
//
// Output: gray (1, 2, 4 bit depths widened to 8 bits by v * 255 / (2^d - 1)), gray+alpha, RGB
// and RGBA at 8 or 16 bits as stored; palette images become RGB, or RGBA with tRNS.
//
// As Pillow (and libpng's readers) tolerate: a palette index past the palette is black (opaque);
// once the image data has been read, a missing IEND, or a broken chunk or garbage after the last
// IDAT, ends the file instead of failing it.

private let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

/// Adam7 passes: (x start, y start, x step, y step).
private let adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]

struct PNGHeader {
    var width = 0, height = 0, depth = 0, colorType = 0, interlaced = false

    /// Samples per pixel as stored.
    var storedChannels: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]! }
    var bitsPerPixel: Int { storedChannels * depth }
    func rowBytes(_ width: Int) -> Int { (width * bitsPerPixel + 7) / 8 }
    /// Bytes of filtered data a conforming stream inflates to.
    var rawSize: Int {
        guard interlaced else { return height * (1 + rowBytes(width)) }
        return adam7.reduce(0) { total, pass in
            let w = (width - pass.0 + pass.2 - 1) / pass.2, h = (height - pass.1 + pass.3 - 1) / pass.3
            return total + (w > 0 && h > 0 ? h * (1 + rowBytes(w)) : 0)
        }
    }
}

/// Decodes a PNG file.
public func decodePNG(_ bytes: [UInt8]) throws(ImageError) -> Image {
    guard bytes.starts(with: signature) else {
        throw bytes.count < signature.count ? .truncated("PNG signature") : .corrupt("bad PNG signature")
    }
    var cursor = ByteCursor(bytes, at: signature.count)
    var header: PNGHeader?
    var palette: [UInt8] = []          // (entries, 3) RGB
    var paletteAlpha: [UInt8] = []     // tRNS for palette images, 255 beyond its end
    var compressed: [UInt8] = []
    var paletteEntries = 0
    var sawEnd = false
    while !sawEnd {
        let length: Int, typeStart: Int, type: String, data: Int
        do throws(ImageError) {
            length = try cursor.be32("chunk length")
            guard length <= 0x7FFF_FFFF else { throw .corrupt("chunk length \(length) exceeds 2^31 - 1") }
            try cursor.need(length + 8, "chunk")
            typeStart = cursor.at
            type = String(decoding: bytes[typeStart..<(typeStart + 4)], as: UTF8.self)
            data = typeStart + 4
            let stored = ByteCursor(bytes, at: data + length).be32Unchecked
            let crc = bytes.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[typeStart..<(data + length)])) }
            guard crc == UInt32(stored) else { throw .corrupt("CRC mismatch in \(type) chunk") }
        } catch {
            // After image data, a broken or missing chunk ends the file, as in Pillow: the image
            // data then decides (an IDAT run cut short fails to inflate). Before it, the error stands.
            if !compressed.isEmpty { break }
            throw error
        }
        cursor.at = data + length + 4
        if header == nil && type != "IHDR" { throw .corrupt("first chunk is \(type), not IHDR") }
        switch type {
        case "IHDR":
            guard header == nil else { throw .corrupt("second IHDR chunk") }
            guard length == 13 else { throw .corrupt("IHDR length \(length), expected 13") }
            var c = ByteCursor(bytes, at: data)
            var h = PNGHeader()
            h.width = try c.be32("IHDR"); h.height = try c.be32("IHDR")
            h.depth = try c.u8("IHDR"); h.colorType = try c.u8("IHDR")
            let method = try c.u8("IHDR"), filter = try c.u8("IHDR"), interlace = try c.u8("IHDR")
            let depths: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
            guard let allowed = depths[h.colorType] else { throw .corrupt("invalid PNG color type \(h.colorType)") }
            guard allowed.contains(h.depth) else {
                throw .corrupt("bit depth \(h.depth) is invalid for PNG color type \(h.colorType)")
            }
            guard method == 0, filter == 0 else { throw .unsupported("PNG compression/filter method \(method)/\(filter)") }
            guard interlace <= 1 else { throw .corrupt("invalid PNG interlace method \(interlace)") }
            h.interlaced = interlace == 1
            try ImageLimits.check(width: h.width, height: h.height)
            header = h
        case "PLTE":
            guard length % 3 == 0, length >= 3, length <= 768 else { throw .corrupt("PLTE length \(length)") }
            palette = Array(bytes[data..<(data + length)])
            paletteEntries = length / 3
        case "tRNS":
            if header!.colorType == 3 {
                guard length <= paletteEntries else { throw .corrupt("tRNS has more entries than PLTE") }
                paletteAlpha = Array(bytes[data..<(data + length)])
            }
        case "IDAT":
            compressed.append(contentsOf: bytes[data..<(data + length)])
        case "IEND":
            sawEnd = true
        default:
            // Bit 5 of the first letter: lower case marks an ancillary chunk, safe to skip.
            guard bytes[typeStart] & 0x20 != 0 else { throw .unsupported("critical PNG chunk \(type)") }
        }
    }
    let h = header!
    if h.colorType == 3 && palette.isEmpty { throw .corrupt("palette image without PLTE") }
    palette += [UInt8](repeating: 0, count: 768 - palette.count)   // indices past the palette: black
    guard !compressed.isEmpty else { throw .corrupt("no IDAT chunk") }
    var raw: [UInt8]
    do { raw = try zlibDecompress(compressed, limit: h.rawSize, expected: h.rawSize) } catch { throw ImageError(error) }
    guard raw.count == h.rawSize else { throw .corrupt("image data has \(raw.count) bytes, expected \(h.rawSize)") }
    compressed = []

    let outChannels = h.colorType == 3 ? (paletteAlpha.isEmpty ? 3 : 4) : h.storedChannels
    let outDepth = h.depth == 16 ? 16 : 8
    let layout: Image.Layout = [1: .gray, 2: .grayAlpha, 3: .rgb, 4: .rgba][outChannels]!
    let bpp = max(1, h.bitsPerPixel / 8)
    if !h.interlaced && h.depth >= 8 && h.colorType != 3 {
        // Whole-byte samples as stored: unfilter in place (each row moves back over its filter
        // byte) and the inflated data becomes the image, with no second copy.
        let rowBytes = h.rowBytes(h.width)
        try raw.withUnsafeMutableBufferPointer { (r) throws(ImageError) in
            try unfilter(UnsafePointer(r.baseAddress!), rows: h.height, rowBytes: rowBytes, bytesPerPixel: bpp, into: r.baseAddress!)
        }
        raw.removeLast(h.height)
        return Image(width: h.width, height: h.height, layout: layout, depth: outDepth, samples: raw)
    }
    // Otherwise unfilter each pass into a (height, rowBytes) plane, then expand to samples.
    var samples = [UInt8](repeating: 0, count: h.width * h.height * outChannels * outDepth / 8)
    let expander = SampleExpander(header: h, palette: palette, paletteAlpha: paletteAlpha, outChannels: outChannels)
    var offset = 0
    let passes = h.interlaced ? adam7 : [(0, 0, 1, 1)]
    for (x0, y0, dx, dy) in passes {
        let w = (h.width - x0 + dx - 1) / dx, rows = (h.height - y0 + dy - 1) / dy
        guard w > 0, rows > 0 else { continue }
        let rowBytes = h.rowBytes(w)
        var plane = [UInt8](repeating: 0, count: rows * rowBytes)
        try raw.withUnsafeBufferPointer { (r) throws(ImageError) in
            try plane.withUnsafeMutableBufferPointer { (p) throws(ImageError) in
                try unfilter(r.baseAddress! + offset, rows: rows, rowBytes: rowBytes, bytesPerPixel: bpp, into: p.baseAddress!)
            }
        }
        offset += rows * (rowBytes + 1)
        try expander.expand(plane, rowBytes: rowBytes, width: w, rows: rows,
                            x0: x0, y0: y0, dx: dx, dy: dy, into: &samples, imageWidth: h.width)
    }
    return Image(width: h.width, height: h.height, layout: layout, depth: outDepth, samples: samples)
}

extension ByteCursor {
    /// A big-endian u32 the caller has already bounds-checked.
    var be32Unchecked: Int {
        Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
    }
}

/// Reverses the PNG row filters (None, Sub, Up, Average, Paeth) of `rows` rows, each one filter
/// byte and `rowBytes` data bytes, starting at `raw[from]`.
/// Undoes the row filters of `rows` rows of `rowBytes` bytes, each after its filter byte at
/// `src`, into `dst` without the filter bytes. `dst` may be `src` itself: row y is written at
/// y * rowBytes, never past the bytes of row y still to be read, and the row above it is final.
private func unfilter(_ src: UnsafePointer<UInt8>, rows: Int, rowBytes: Int, bytesPerPixel bpp: Int,
                      into dst: UnsafeMutablePointer<UInt8>) throws(ImageError) {
    for y in 0..<rows {
        let filter = src[y * (rowBytes + 1)]
        let s = src + y * (rowBytes + 1) + 1
        let d = dst + y * rowBytes
        let up: UnsafeMutablePointer<UInt8>? = y > 0 ? d - rowBytes : nil
        switch filter {
        case 0:
            for i in 0..<rowBytes { d[i] = s[i] }   // forward: src and dst may overlap
        case 1:
            for i in 0..<rowBytes { d[i] = s[i] &+ (i >= bpp ? d[i - bpp] : 0) }
        case 2:
            for i in 0..<rowBytes { d[i] = s[i] &+ (up?[i] ?? 0) }
        case 3:
            for i in 0..<rowBytes {
                let left = i >= bpp ? Int(d[i - bpp]) : 0, above = up.map { Int($0[i]) } ?? 0
                d[i] = s[i] &+ UInt8((left + above) >> 1)
            }
        case 4:
            for i in 0..<rowBytes {
                let a = i >= bpp ? Int(d[i - bpp]) : 0
                let b = up.map { Int($0[i]) } ?? 0
                let c = (i >= bpp ? up.map { Int($0[i - bpp]) } : nil) ?? 0
                let p = a + b - c
                let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                let predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                d[i] = s[i] &+ UInt8(predictor)
            }
        default:
            throw .corrupt("invalid PNG filter type \(filter)")
        }
    }
}

/// Turns unfiltered rows into output samples: sub-byte gray widened, palette looked up.
private struct SampleExpander {
    let header: PNGHeader
    let palette: [UInt8]
    let paletteAlpha: [UInt8]
    let outChannels: Int

    init(header: PNGHeader, palette: [UInt8], paletteAlpha: [UInt8], outChannels: Int) {
        self.header = header
        self.palette = palette
        self.paletteAlpha = paletteAlpha
        self.outChannels = outChannels
    }

    func expand(_ plane: [UInt8], rowBytes: Int, width: Int, rows: Int, x0: Int, y0: Int, dx: Int, dy: Int,
                into samples: inout [UInt8], imageWidth: Int) throws(ImageError) {
        let depth = header.depth
        let pixelBytes = header.storedChannels * depth / 8   // whole bytes per pixel at depth >= 8
        let outPixelBytes = outChannels * (depth == 16 ? 2 : 1)
        plane.withUnsafeBufferPointer { src in
            samples.withUnsafeMutableBufferPointer { out in
                for r in 0..<rows {
                    let row = src.baseAddress! + r * rowBytes
                    let outRow = out.baseAddress! + ((y0 + r * dy) * imageWidth) * outPixelBytes
                    if depth >= 8 && header.colorType != 3 {
                        if dx == 1 {
                            outRow.update(from: row, count: width * pixelBytes)
                        } else {
                            for x in 0..<width {
                                (outRow + (x0 + x * dx) * pixelBytes).update(from: row + x * pixelBytes, count: pixelBytes)
                            }
                        }
                        continue
                    }
                    // Sub-byte or palette: one sample per pixel, `depth` bits, most significant first.
                    let mask = (1 << depth) - 1
                    for x in 0..<width {
                        let bit = x * depth
                        let v = Int(row[bit >> 3]) >> (8 - depth - (bit & 7)) & mask
                        let o = outRow + (x0 + x * dx) * outPixelBytes
                        if header.colorType == 3 {
                            o[0] = palette[3 * v]; o[1] = palette[3 * v + 1]; o[2] = palette[3 * v + 2]
                            if outChannels == 4 { o[3] = v < paletteAlpha.count ? paletteAlpha[v] : 255 }
                        } else {
                            o[0] = UInt8(v * 255 / mask)
                        }
                    }
                }
            }
        }
    }
}
