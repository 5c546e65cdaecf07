// JPEG (ITU-T T.81) with Huffman coding: baseline and extended sequential (SOF0, SOF1) and
// progressive (SOF2), 8-bit samples, 1, 3 or 4 components (gray, YCbCr or RGB, Adobe CMYK or
// YCCK), any integral sampling factors (4:4:4, 4:2:2, 4:2:0, 4:4:0, ...), restart markers, and the
// EXIF orientation applied. Arithmetic coding, lossless, hierarchical and 12-bit are refused.
//
// A progressive file's scans decode into one coefficient array per component (natural order,
// Int16), transformed once every scan is in. A sequential file needs no such arrays: each row of
// MCUs (or of blocks, in a one-component scan) is transformed as soon as it is decoded, into the
// component's sample plane, so only one row of coefficients is held. The output stage
// (JPEGOutput.swift) runs the inverse DCT, upsampling and color conversion the way libjpeg does by
// default (ISLOW IDCT, "fancy" triangular upsampling), so results agree with Pillow within a
// level or two; it upsamples and converts row by row into the image.

/// Zigzag index -> natural (row-major) index in an 8x8 block.
let zigzag: [Int] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]

/// `zigzag` with 16 more entries of 63, as libjpeg's natural order has: a corrupt run that
/// passes the end of the block (or band) lands on coefficient 63 instead of failing, as there.
let zigzagPadded: [Int] = zigzag + [Int](repeating: 63, count: 16)

/// Decodes a JPEG file; the EXIF orientation, if any, is applied.
public func decodeJPEG(_ bytes: [UInt8]) throws(ImageError) -> Image {
    let decoder = JPEGDecoder(bytes)
    try decoder.readAll()
    var image = try decoder.output()
    image.warnings = decoder.warnings
    return image
}

struct JPEGComponent {
    var id: Int
    var h: Int, v: Int
    var quantTable: Int
    /// Blocks covering the component's own samples, and the MCU-padded grid the array holds.
    var blocksX = 0, blocksY = 0, paddedX = 0, paddedY = 0
    /// Coefficients in natural order, owned by the decoder: progressive, the whole (paddedY,
    /// paddedX, 64) grid; sequential, one row of MCUs (v, paddedX, 64).
    var coefficients = UnsafeMutableBufferPointer<Int16>(start: nil, count: 0)
    /// Samples over the padded block grid, (paddedY * 8, paddedX * 8); owned by the decoder.
    var plane = UnsafeMutableBufferPointer<UInt8>(start: nil, count: 0)
    var dcTable = 0, acTable = 0
}

/// A canonical Huffman table with a 9-bit lookup and a per-length slow path.
final class HuffmanTable {
    static let fastBits = 9
    /// (length << 8 | symbol) for codes of at most `fastBits` bits, indexed by the next bits; 0 = slow.
    var fast = [UInt16](repeating: 0, count: 1 << fastBits)
    var maxCode = [Int32](repeating: -1, count: 18)     // largest code of each length, -1 if none
    var valueOffset = [Int32](repeating: 0, count: 18)  // symbols index minus first code of each length
    var symbols: [UInt8] = []

    init(counts: [Int], symbols: [UInt8]) throws(ImageError) {
        self.symbols = symbols
        var code = 0, k = 0
        for length in 1...16 {
            valueOffset[length] = Int32(k - code)
            for _ in 0..<counts[length - 1] {
                guard code < 1 << length else { throw .corrupt("bogus Huffman table (code lengths over-subscribed)") }
                if length <= Self.fastBits {
                    let shift = Self.fastBits - length
                    for fill in 0..<(1 << shift) {
                        fast[code << shift | fill] = UInt16(length << 8) | UInt16(symbols[k])
                    }
                }
                code += 1
                k += 1
            }
            maxCode[length] = counts[length - 1] > 0 ? Int32(code - 1) : -1
            code <<= 1
        }
        maxCode[17] = Int32.max
    }
}

/// MSB-first entropy-coded segment reader: removes 0xFF00 stuffing and stops at a marker, feeding
/// zero bits after it; `overrun` counts the zero bits consumed, which means the data was cut short.
struct JPEGBits {
    var position: Int
    var buffer: UInt64 = 0
    var count = 0
    var marker: UInt8? = nil
    var padding = 0          // zero bits fed past the data
    /// Progressive AC scans: blocks left in the current end-of-band run.
    var eobRun = 0
    /// A code matched no symbol (read as symbol 0, as libjpeg does).
    var badCode = false

    init(at position: Int) { self.position = position }

    @inline(__always) mutating func fill(_ data: UnsafeBufferPointer<UInt8>) {
        while count <= 56 {
            var byte: UInt64 = 0
            if marker == nil && position < data.count {
                let b = data[position]
                if b == 0xFF {
                    let next: UInt8 = position + 1 < data.count ? data[position + 1] : 0xD9
                    if next == 0 { byte = 0xFF; position += 2 }
                    else if next == 0xFF { position += 1; continue }        // fill bytes before a marker
                    else { marker = next; padding += 8 }
                } else {
                    byte = UInt64(b); position += 1
                }
            } else {
                padding += 8
            }
            buffer |= byte << UInt64(56 - count)
            count += 8
        }
    }
    /// True when more zero padding has been consumed than the bits still buffered.
    var overrun: Bool { padding > count }

    @inline(__always) mutating func bits(_ n: Int, _ data: UnsafeBufferPointer<UInt8>) -> Int32 {
        if n == 0 { return 0 }
        if count < n { fill(data) }
        let value = Int32(truncatingIfNeeded: buffer >> UInt64(64 - n))
        buffer <<= UInt64(n)
        count -= n
        return value
    }
    @inline(__always) mutating func bit(_ data: UnsafeBufferPointer<UInt8>) -> Bool { bits(1, data) != 0 }

    /// An n-bit magnitude category value, sign-extended (T.81 F.2.2.1 EXTEND).
    @inline(__always) mutating func receiveExtend(_ n: Int, _ data: UnsafeBufferPointer<UInt8>) -> Int32 {
        let v = bits(n, data)
        return v < Int32(1) << Int32(n - 1) ? v - (Int32(1) << Int32(n)) + 1 : v
    }

    @inline(__always) mutating func decode(_ table: HuffmanTable, _ data: UnsafeBufferPointer<UInt8>) throws(ImageError) -> Int {
        if count < 16 { fill(data) }
        let entry = table.fast[Int(buffer >> UInt64(64 - HuffmanTable.fastBits))]
        if entry != 0 {
            let length = Int(entry >> 8)
            buffer <<= UInt64(length)
            count -= length
            return Int(entry & 0xFF)
        }
        for length in (HuffmanTable.fastBits + 1)...16 {
            let code = Int32(truncatingIfNeeded: buffer >> UInt64(64 - length))
            if code <= table.maxCode[length] {
                buffer <<= UInt64(length)
                count -= length
                let index = Int(code + table.valueOffset[length])
                guard index >= 0, index < table.symbols.count else { break }
                return Int(table.symbols[index])
            }
        }
        // libjpeg's answer to a code no table holds: 17 bits read, symbol 0 (a zero DC
        // difference, or end of block), and a warning.
        if count < 17 { fill(data) }
        buffer <<= 17
        count -= 17
        badCode = true
        return 0
    }

    /// Drops the bits left in the current byte and any buffered bytes, to resume at `position`.
    mutating func reset() { buffer = 0; count = 0; padding = 0; marker = nil }
}

final class JPEGDecoder {
    let bytes: [UInt8]
    var position = 2
    var quantTables = [[UInt16]?](repeating: nil, count: 4)
    var dcTables = [HuffmanTable?](repeating: nil, count: 4)
    var acTables = [HuffmanTable?](repeating: nil, count: 4)
    var components: [JPEGComponent] = []
    var width = 0, height = 0
    var progressive = false
    var maxH = 1, maxV = 1, mcusX = 0, mcusY = 0
    var restartInterval = 0
    var sawJFIF = false
    var adobeTransform: Int? = nil
    var orientation = 1
    var scans = 0
    /// Problems recovered from, as libjpeg warns of them.
    var warnings: [String] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    deinit {
        for c in components {
            if c.coefficients.baseAddress != nil { c.coefficients.deallocate() }
            if c.plane.baseAddress != nil { c.plane.deallocate() }
        }
    }

    // MARK: - Markers

    func readAll() throws(ImageError) {
        guard bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw .corrupt("not a JPEG file") }
        while true {
            let marker = try nextMarker()
            switch marker {
            case 0xD9:                                            // EOI
                guard scans > 0 else { throw .corrupt("JPEG has no image data before EOI") }
                return
            case 0xC0, 0xC1, 0xC2:
                try readFrame(progressive: marker == 0xC2)
            case 0xC3, 0xC5...0xC7, 0xCB, 0xCD...0xCF:
                throw .unsupported("lossless or hierarchical JPEG (SOF\(marker - 0xC0))")
            case 0xC9, 0xCA:
                throw .unsupported("arithmetic-coded JPEG (SOF\(marker - 0xC0))")
            case 0xC4: try readHuffmanTables()
            case 0xCC: throw .unsupported("arithmetic-coded JPEG (DAC)")
            case 0xDB: try readQuantTables()
            case 0xDD:
                let segment = try segmentBounds()
                guard segment.count == 2 else { throw .corrupt("DRI length \(segment.count + 2)") }
                restartInterval = Int(bytes[segment.lowerBound]) << 8 | Int(bytes[segment.lowerBound + 1])
                position = segment.upperBound
            case 0xDA: try readScan()
            case 0xDC: throw .unsupported("JPEG DNL marker")
            case 0xD0...0xD7: continue                            // stray restart marker: no payload
            case 0xE0: readJFIF(try segmentBounds())
            case 0xE1: readExif(try segmentBounds())
            case 0xEE: readAdobe(try segmentBounds())
            default:
                position = try segmentBounds().upperBound        // APPn, COM and others: skipped
            }
        }
    }

    /// The next marker code, skipping fill bytes and any stray data before it.
    func nextMarker() throws(ImageError) -> UInt8 {
        while true {
            guard position + 1 < bytes.count else { throw .truncated("JPEG ends before EOI") }
            if bytes[position] == 0xFF, bytes[position + 1] != 0, bytes[position + 1] != 0xFF {
                defer { position += 2 }
                return bytes[position + 1]
            }
            position += 1
        }
    }

    /// The payload range of the segment at `position` (after its two length bytes).
    func segmentBounds() throws(ImageError) -> Range<Int> {
        guard position + 2 <= bytes.count else { throw .truncated("JPEG segment length") }
        let length = Int(bytes[position]) << 8 | Int(bytes[position + 1])
        guard length >= 2 else { throw .corrupt("JPEG segment length \(length)") }
        guard position + length <= bytes.count else { throw .truncated("JPEG segment") }
        return (position + 2)..<(position + length)
    }

    func readQuantTables() throws(ImageError) {
        let segment = try segmentBounds()
        var at = segment.lowerBound
        while at < segment.upperBound {
            let precision = Int(bytes[at]) >> 4, id = Int(bytes[at]) & 15
            guard precision <= 1, id < 4 else { throw .corrupt("DQT table \(id) precision \(precision)") }
            let size = precision == 0 ? 64 : 128
            guard at + 1 + size <= segment.upperBound else { throw .corrupt("DQT segment too short") }
            var table = [UInt16](repeating: 0, count: 64)
            for k in 0..<64 {
                table[zigzag[k]] = precision == 0 ? UInt16(bytes[at + 1 + k])
                    : UInt16(bytes[at + 1 + 2 * k]) << 8 | UInt16(bytes[at + 2 + 2 * k])
            }
            quantTables[id] = table
            at += 1 + size
        }
        position = segment.upperBound
    }

    func readHuffmanTables() throws(ImageError) {
        let segment = try segmentBounds()
        var at = segment.lowerBound
        while at < segment.upperBound {
            guard at + 17 <= segment.upperBound else { throw .corrupt("DHT segment too short") }
            let kind = Int(bytes[at]) >> 4, id = Int(bytes[at]) & 15
            guard kind <= 1, id < 4 else { throw .corrupt("DHT class \(kind) table \(id)") }
            let counts = (0..<16).map { Int(bytes[at + 1 + $0]) }
            let total = counts.reduce(0, +)
            guard total <= 256, at + 17 + total <= segment.upperBound else {
                throw .corrupt("bogus Huffman table (\(total) symbols)")
            }
            let table = try HuffmanTable(counts: counts, symbols: Array(bytes[(at + 17)..<(at + 17 + total)]))
            if kind == 0 { dcTables[id] = table } else { acTables[id] = table }
            at += 17 + total
        }
        position = segment.upperBound
    }

    func readFrame(progressive: Bool) throws(ImageError) {
        guard components.isEmpty else { throw .corrupt("second JPEG frame header") }
        let segment = try segmentBounds()
        var c = ByteCursor(Array(bytes[segment]))
        let precision = try c.u8("SOF")
        height = try c.be16("SOF"); width = try c.be16("SOF")
        let count = try c.u8("SOF")
        guard precision == 8 else { throw .unsupported("\(precision)-bit JPEG samples") }
        guard height > 0 else { throw .unsupported("JPEG height defined by DNL") }
        try ImageLimits.check(width: width, height: height)
        guard [1, 3, 4].contains(count) else { throw .unsupported("JPEG with \(count) components") }
        guard segment.count == 6 + 3 * count else { throw .corrupt("SOF length \(segment.count + 2)") }
        for _ in 0..<count {
            let id = try c.u8("SOF"), sampling = try c.u8("SOF"), table = try c.u8("SOF")
            let h = sampling >> 4, v = sampling & 15
            guard (1...4).contains(h), (1...4).contains(v) else { throw .corrupt("JPEG sampling factors \(h)x\(v)") }
            guard table < 4 else { throw .corrupt("JPEG quantization table \(table)") }
            components.append(JPEGComponent(id: id, h: h, v: v, quantTable: table))
        }
        self.progressive = progressive
        maxH = components.map(\.h).max()!
        maxV = components.map(\.v).max()!
        for comp in components where maxH % comp.h != 0 || maxV % comp.v != 0 {
            throw .unsupported("fractional JPEG sampling (\(comp.h)x\(comp.v) of \(maxH)x\(maxV))")
        }
        mcusX = (width + 8 * maxH - 1) / (8 * maxH)
        mcusY = (height + 8 * maxV - 1) / (8 * maxV)
        for i in components.indices {
            let w = (width * components[i].h + maxH - 1) / maxH, hgt = (height * components[i].v + maxV - 1) / maxV
            components[i].blocksX = (w + 7) / 8
            components[i].blocksY = (hgt + 7) / 8
        }
        // A baseline block costs at least 2 bits (a DC code and an AC code), so a file too short
        // to hold every block's is cut short: refused before the coefficients are allocated
        // (a 150-byte file could claim 100 megapixels). Progressive scans can code many blocks
        // in a few bits (EOB runs), so they are bounded by the pixel limit alone.
        let blocks = components.reduce(0) { $0 + $1.blocksX * $1.blocksY }
        guard progressive || (bytes.count - segment.upperBound) * 4 >= blocks else {
            throw .truncated("JPEG scan data: \(blocks) blocks need at least \(blocks / 4) bytes, \(bytes.count - segment.upperBound) remain")
        }
        for i in components.indices {
            components[i].paddedX = mcusX * components[i].h
            components[i].paddedY = mcusY * components[i].v
            // Progressive coefficients are allocated by the component's first (DC) scan, once the
            // data left can hold it.
            guard !progressive else { continue }
            components[i].coefficients = .allocate(capacity: components[i].paddedX * components[i].v * 64)
            components[i].coefficients.initialize(repeating: 0)
            components[i].plane = .allocate(capacity: components[i].paddedX * components[i].paddedY * 64)
            components[i].plane.initialize(repeating: 128)   // what all-zero coefficients give
        }
        position = segment.upperBound
    }

    func readJFIF(_ segment: Range<Int>) {
        if bytes[segment].starts(with: Array("JFIF\0".utf8)) { sawJFIF = true }
        position = segment.upperBound
    }

    func readAdobe(_ segment: Range<Int>) {
        if segment.count >= 12, bytes[segment].starts(with: Array("Adobe".utf8)) {
            adobeTransform = Int(bytes[segment.lowerBound + 11])
        }
        position = segment.upperBound
    }

    /// EXIF: the orientation tag (0x0112) of IFD0; anything malformed is ignored, as viewers do.
    func readExif(_ segment: Range<Int>) {
        defer { position = segment.upperBound }
        let s = Array(bytes[segment])
        guard s.count >= 14, s.starts(with: Array("Exif\0\0".utf8)) else { return }
        let t = 6
        let little: Bool
        switch (s[t], s[t + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return
        }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= s.count else { return nil }
            return little ? Int(s[i]) | Int(s[i + 1]) << 8 : Int(s[i]) << 8 | Int(s[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard let a = u16(i), let b = u16(i + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(t + 4), let entries = u16(t + ifd) else { return }
        for e in 0..<entries {
            let at = t + ifd + 2 + 12 * e
            guard let tag = u16(at) else { return }
            if tag == 0x0112, let value = u16(at + 8), (1...8).contains(value) { orientation = value }
        }
    }

    // MARK: - Scans

    func readScan() throws(ImageError) {
        guard !components.isEmpty else { throw .corrupt("JPEG scan before the frame header") }
        let segment = try segmentBounds()
        var c = ByteCursor(Array(bytes[segment]))
        let count = try c.u8("SOS")
        guard (1...4).contains(count), segment.count == 4 + 2 * count else { throw .corrupt("SOS length \(segment.count + 2)") }
        var members: [Int] = []
        for _ in 0..<count {
            let id = try c.u8("SOS"), tables = try c.u8("SOS")
            guard let index = components.firstIndex(where: { $0.id == id }) else { throw .corrupt("scan names unknown component \(id)") }
            guard !members.contains(index) else { throw .corrupt("scan names component \(id) twice") }
            components[index].dcTable = tables >> 4
            components[index].acTable = tables & 15
            guard tables >> 4 < 4, tables & 15 < 4 else { throw .corrupt("scan Huffman table selector \(tables)") }
            members.append(index)
        }
        let ss = try c.u8("SOS"), se = try c.u8("SOS"), approximation = try c.u8("SOS")
        let ah = approximation >> 4, al = approximation & 15
        if progressive {
            guard ss <= se, se <= 63, (ss == 0) == (se == 0), ah <= 13, al <= 13 else {
                throw .corrupt("progressive scan parameters Ss=\(ss) Se=\(se) Ah=\(ah) Al=\(al)")
            }
            guard ss == 0 || count == 1 else { throw .corrupt("progressive AC scan with \(count) components") }
        } else {
            guard ss == 0, se == 63, approximation == 0 else { throw .corrupt("sequential scan with Ss=\(ss) Se=\(se)") }
        }
        var blocksPerMCU = 0
        for i in members {
            blocksPerMCU += count == 1 ? 1 : components[i].h * components[i].v
            if ss == 0 && ah == 0 { guard dcTables[components[i].dcTable] != nil else { throw .corrupt("scan uses undefined DC Huffman table \(components[i].dcTable)") } }
            if se > 0 { guard acTables[components[i].acTable] != nil else { throw .corrupt("scan uses undefined AC Huffman table \(components[i].acTable)") } }
        }
        guard blocksPerMCU <= 10 else { throw .corrupt("JPEG MCU of \(blocksPerMCU) blocks exceeds 10") }
        if !progressive {   // sequential rows are transformed as they are decoded
            for i in members where quantTables[components[i].quantTable] == nil {
                throw .corrupt("JPEG quantization table \(components[i].quantTable) is not defined")
            }
        } else {
            // A component's first scan must be its DC scan, which costs at least a bit per block:
            // its whole-image coefficients are allocated only when the data left can hold that.
            let new = members.filter { components[$0].coefficients.baseAddress == nil }
            let blocks = new.reduce(0) { $0 + components[$1].blocksX * components[$1].blocksY }
            if !new.isEmpty {
                guard ss == 0 && ah == 0 else { throw .corrupt("JPEG progressive AC or refinement scan before the component's DC scan") }
                guard (bytes.count - segment.upperBound) * 8 >= blocks else {
                    throw .truncated("JPEG scan data: \(blocks) blocks need at least \(blocks / 8) bytes, \(bytes.count - segment.upperBound) remain")
                }
            }
            for i in new {
                components[i].coefficients = .allocate(capacity: components[i].paddedX * components[i].paddedY * 64)
                components[i].coefficients.initialize(repeating: 0)
            }
        }
        position = segment.upperBound
        try decodeScan(members, ss: ss, se: se, ah: ah, al: al)
        scans += 1
    }

    private func decodeScan(_ members: [Int], ss: Int, se: Int, ah: Int, al: Int) throws(ImageError) {
        let single = members.count == 1
        let unitsX = single ? components[members[0]].blocksX : mcusX
        let unitsY = single ? components[members[0]].blocksY : mcusY
        let total = unitsX * unitsY
        let kind: BlockKind = !progressive ? .sequential
            : ss == 0 ? (ah == 0 ? .dcFirst : .dcRefine) : (ah == 0 ? .acFirst : .acRefine)
        // Per member: coefficients, blocks per unit, tables, DC predictor.
        let parts = members.map { components[$0] }
        let dc = parts.map { dcTables[$0.dcTable] }, ac = parts.map { acTables[$0.acTable] }
        let sequential = !progressive
        let quant = sequential ? parts.map { quantTables[$0.quantTable]!.map(Int32.init) } : []
        let restartInterval = self.restartInterval, start = position
        // The scan state lives inside the closure, so it is plain locals (no captured boxes).
        // Corrupt data is recovered as libjpeg recovers it (and so Pillow shows it): a bad Huffman
        // code reads as symbol 0 (JPEGBits.decode); scan data that stops at a marker early leaves
        // the units after it as they are (zero coefficients when sequential) until the next
        // restart marker. Data that stops because the file ends is an error, as in Pillow.
        var hitMarker = false, badCode = false
        let (failure, end) = bytes.withUnsafeBufferPointer { data -> (ImageError?, Int) in
            var predictors = [Int32](repeating: 0, count: parts.count)
            var bits = JPEGBits(at: start)
            var unit = 0
            var insufficient = false
            while unit < total {
                if restartInterval > 0 && unit > 0 && unit % restartInterval == 0 {
                    // Expect RSTn; resume after it.
                    var p = bits.position
                    while p + 1 < data.count && !(data[p] == 0xFF && data[p + 1] != 0 && data[p + 1] != 0xFF) { p += 1 }
                    if p + 1 < data.count, (0xD0...0xD7).contains(data[p + 1]) {
                        badCode = badCode || bits.badCode
                        bits = JPEGBits(at: p + 2)
                        for m in predictors.indices { predictors[m] = 0 }
                        insufficient = false
                    } else if p + 1 >= data.count {
                        return (.truncated("JPEG scan data"), 0)
                    } else if !insufficient {
                        return (.corrupt("missing JPEG restart marker"), 0)
                    }
                }
                // Data that ran out: at the end of the file an error now (not after decoding every
                // remaining unit from padding); at a marker, the units up to the next restart are skipped.
                if bits.overrun {
                    guard bits.marker != nil else { return (.truncated("JPEG scan data"), 0) }
                    insufficient = true
                    hitMarker = true
                }
                let ux = unit % unitsX, uy = unit / unitsX
                for m in parts.indices where !insufficient {
                    let comp = parts[m]
                    let (bw, bh) = single ? (1, 1) : (comp.h, comp.v)
                    for by in 0..<bh {
                        for bx in 0..<bw {
                            // Sequential: the band of the current unit row; progressive: the whole grid.
                            let blockRow = sequential ? by : uy * bh + by
                            let block = comp.coefficients.baseAddress! + (blockRow * comp.paddedX + ux * bw + bx) * 64
                            do throws(ImageError) {
                                try decodeBlock(kind, block, dc: dc[m], ac: ac[m], predictor: &predictors[m],
                                                ss: ss, se: se, al: al, bits: &bits, data: data)
                            } catch {
                                return (error, 0)
                            }
                        }
                    }
                }
                unit += 1
                if sequential && ux == unitsX - 1 {   // a unit row is complete: transform it, clear the band
                    for m in parts.indices {
                        let comp = parts[m], bh = single ? 1 : comp.v
                        quant[m].withUnsafeBufferPointer { q in
                            transformBlocks(comp.coefficients.baseAddress!, columns: comp.paddedX, rows: bh, quant: q.baseAddress!,
                                            into: comp.plane.baseAddress! + uy * bh * 8 * comp.paddedX * 8, stride: comp.paddedX * 8)
                        }
                        comp.coefficients.baseAddress!.update(repeating: 0, count: comp.paddedX * bh * 64)
                    }
                }
            }
            badCode = badCode || bits.badCode
            if bits.overrun {
                guard bits.marker != nil else { return (.truncated("JPEG scan data"), 0) }
                hitMarker = true
            }
            return (nil, bits.position)
        }
        if let failure { throw failure }
        if badCode { warn("corrupt JPEG data: bad Huffman code") }
        if hitMarker { warn("corrupt JPEG data: premature end of data segment") }
        position = end
    }

    /// Notes a recovered problem once (rn-infer prints them on stderr).
    func warn(_ text: String) { if !warnings.contains(text) { warnings.append(text) } }

    enum BlockKind { case sequential, dcFirst, dcRefine, acFirst, acRefine }

    @inline(__always)
    private func decodeBlock(_ kind: BlockKind, _ b: UnsafeMutablePointer<Int16>, dc: HuffmanTable?, ac: HuffmanTable?,
                             predictor: inout Int32, ss: Int, se: Int, al: Int,
                             bits: inout JPEGBits, data: UnsafeBufferPointer<UInt8>) throws(ImageError) {
        switch kind {
        case .sequential, .dcFirst:
            let t = try bits.decode(dc!, data)
            guard t <= 16 else { throw .corrupt("JPEG DC magnitude category \(t)") }
            predictor &+= t == 0 ? 0 : bits.receiveExtend(t, data)
            b[0] = Int16(truncatingIfNeeded: predictor << Int32(al))
            if kind == .sequential { try decodeAC(b, table: ac!, bits: &bits, data: data) }
        case .dcRefine:
            if bits.bit(data) { b[0] |= Int16(truncatingIfNeeded: 1 << al) }
        case .acFirst:
            try decodeACFirst(b, table: ac!, ss: ss, se: se, al: al, bits: &bits, data: data)
        case .acRefine:
            try decodeACRefine(b, table: ac!, ss: ss, se: se, al: al, bits: &bits, data: data)
        }
    }

    @inline(__always)
    private func decodeAC(_ b: UnsafeMutablePointer<Int16>, table: HuffmanTable, bits: inout JPEGBits,
                          data: UnsafeBufferPointer<UInt8>) throws(ImageError) {
        var k = 1
        while k < 64 {
            let rs = try bits.decode(table, data)
            let r = rs >> 4, s = rs & 15
            if s == 0 {
                if r != 15 { break }
                k += 16
                continue
            }
            k += r
            b[zigzagPadded[k]] = Int16(truncatingIfNeeded: bits.receiveExtend(s, data))
            k += 1
        }
    }

    private func decodeACFirst(_ b: UnsafeMutablePointer<Int16>, table: HuffmanTable, ss: Int, se: Int, al: Int,
                               bits: inout JPEGBits, data: UnsafeBufferPointer<UInt8>) throws(ImageError) {
        if bits.eobRun > 0 { bits.eobRun -= 1; return }
        var k = ss
        while k <= se {
            let rs = try bits.decode(table, data)
            let r = rs >> 4, s = rs & 15
            if s == 0 {
                if r < 15 {
                    bits.eobRun = (1 << r) - 1 + Int(bits.bits(r, data))
                    break
                }
                k += 16
                continue
            }
            k += r
            b[zigzagPadded[k]] = Int16(truncatingIfNeeded: bits.receiveExtend(s, data) << Int32(al))
            k += 1
        }
    }

    /// Successive approximation refinement of an AC band (T.81 G.1.2.3; libjpeg's decode_mcu_AC_refine).
    private func decodeACRefine(_ b: UnsafeMutablePointer<Int16>, table: HuffmanTable, ss: Int, se: Int, al: Int,
                                bits: inout JPEGBits, data: UnsafeBufferPointer<UInt8>) throws(ImageError) {
        let p1 = Int16(truncatingIfNeeded: 1 << al), m1 = Int16(truncatingIfNeeded: -1 << al)
        func refine(_ at: Int, _ bits: inout JPEGBits) {
            let c = b[at]
            if bits.bit(data), c & p1 == 0 { b[at] = c >= 0 ? c &+ p1 : c &+ m1 }
        }
        var k = ss
        if bits.eobRun == 0 {
            while k <= se {
                let rs = try bits.decode(table, data)
                var r = rs >> 4
                let s = rs & 15
                var value: Int16 = 0
                if s != 0 {
                    if s != 1 { bits.badCode = true }   // libjpeg warns and reads it as size 1
                    value = bits.bit(data) ? p1 : m1
                } else if r != 15 {
                    bits.eobRun = (1 << r) + Int(bits.bits(r, data))
                    break
                }
                // Skip r zero coefficients (refining the nonzero ones passed), then place `value`.
                while k <= se {
                    let at = zigzag[k]
                    if b[at] != 0 {
                        refine(at, &bits)
                    } else {
                        if r == 0 { break }
                        r -= 1
                    }
                    k += 1
                }
                if value != 0 { b[zigzagPadded[k]] = value }   // past the band as libjpeg places it
                k += 1
            }
        }
        if bits.eobRun > 0 {
            while k <= se {
                let at = zigzag[k]
                if b[at] != 0 { refine(at, &bits) }
                k += 1
            }
            bits.eobRun -= 1
        }
    }
}
