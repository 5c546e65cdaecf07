import RNFormat

// DEFLATE (RFC 1951) decoding with the zlib (RFC 1950) and gzip (RFC 1952) wrappers, checksums
// verified. Shared by the trainer's IDX reader and the PNG decoder. Standard library only.
//
// The CRC-32 is RNFormat's (standard library only, shared with the model format).
//
// Every decoder takes an output limit: a stream that would inflate beyond it is rejected before
// the memory is used, so a tiny hostile file cannot demand gigabytes.

/// What can be wrong with a compressed stream. `description` is one line for users.
public enum InflateError: Error, Equatable, CustomStringConvertible {
    case truncated
    case badBlockType
    case storedLengthMismatch
    case badHuffmanTable(String)
    case badSymbol
    case distanceTooFar
    case outputLimit(Int)
    case badHeader(String)
    case checksumMismatch(String)
    case sizeMismatch

    public var description: String {
        switch self {
        case .truncated: return "compressed data ends early"
        case .badBlockType: return "deflate block type 3 is reserved"
        case .storedLengthMismatch: return "stored block length does not match its complement"
        case .badHuffmanTable(let what): return "invalid Huffman code lengths (\(what))"
        case .badSymbol: return "invalid Huffman symbol"
        case .distanceTooFar: return "back reference before the start of the data"
        case .outputLimit(let limit): return "data inflates beyond \(limit) bytes"
        case .badHeader(let what): return "bad header: \(what)"
        case .checksumMismatch(let which): return "\(which) checksum mismatch"
        case .sizeMismatch: return "gzip size field does not match the data"
        }
    }
}

// MARK: - Bit reader

/// LSB-first bit reader over a byte buffer (DEFLATE's bit order).
struct BitReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0          // next byte to load into `buffer`
    var buffer: UInt64 = 0
    var count = 0             // valid bits in `buffer`

    init(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int = 0) {
        self.bytes = bytes
        position = start
    }

    @inline(__always) mutating func refill() {
        while count <= 56 {
            if position < bytes.count {
                buffer |= UInt64(bytes[position]) << UInt64(count)
                position += 1
            } else if position < bytes.count + 8 {
                position += 1     // pad with zeros past the end; `overrun` tells
            } else {
                break
            }
            count += 8
        }
    }

    /// True when more bits were consumed than the input holds (the tail is read as zeros).
    var overrun: Bool { position * 8 - count > bytes.count * 8 }

    @inline(__always) mutating func peek(_ n: Int) -> UInt32 {
        if count < n { refill() }
        return UInt32(truncatingIfNeeded: buffer & ((1 << UInt64(n)) - 1))
    }

    @inline(__always) mutating func consume(_ n: Int) {
        buffer >>= UInt64(n)
        count -= n
    }

    @inline(__always) mutating func bits(_ n: Int) throws(InflateError) -> Int {
        if n == 0 { return 0 }
        let v = peek(n)
        consume(n)
        if overrun { throw .truncated }
        return Int(v)
    }

    /// Drops bits up to the next byte boundary.
    mutating func alignToByte() { consume(count % 8) }

    /// Byte offset of the next unread bit (after `alignToByte`).
    var byteOffset: Int { position - count / 8 }
}

// MARK: - Huffman tables

/// A canonical Huffman code as one lookup table indexed by the next `maxLength` input bits
/// (LSB first): entry = symbol | length << 9; length 0 marks an unused code.
struct HuffmanTable {
    var entries: [UInt16]
    var maxLength: Int

    init(lengths: ArraySlice<UInt8>, name: String) throws(InflateError) {
        var countPerLength = [Int](repeating: 0, count: 16)
        for l in lengths { countPerLength[Int(l)] += 1 }
        countPerLength[0] = 0
        maxLength = countPerLength.lastIndex { $0 > 0 } ?? 0
        // Kraft check: over-subscribed codes are invalid; incomplete ones are allowed only for
        // the degenerate single-code case (RFC 1951 permits one distance code).
        var left = 1
        for len in 1..<16 {
            left = left * 2 - countPerLength[len]
            if left < 0 { throw .badHuffmanTable("\(name) over-subscribed") }
        }
        let used = countPerLength.reduce(0, +)
        if left > 0 && used > 1 { throw .badHuffmanTable("\(name) incomplete") }
        maxLength = max(maxLength, 1)
        entries = [UInt16](repeating: 0, count: 1 << maxLength)
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for len in 1..<16 {
            code = (code + countPerLength[len - 1]) << 1
            nextCode[len] = code
        }
        for (offset, l) in lengths.enumerated() where l > 0 {
            let len = Int(l)
            let symbol = offset
            var c = nextCode[len]
            nextCode[len] += 1
            // Reverse the code's bits: DEFLATE sends Huffman codes MSB first.
            var reversed = 0
            for _ in 0..<len { reversed = (reversed << 1) | (c & 1); c >>= 1 }
            let entry = UInt16(symbol) | UInt16(len << 9)
            var index = reversed
            while index < entries.count {
                entries[index] = entry
                index += 1 << len
            }
        }
    }

    /// RFC 1951 section 3.2.6: literal/length codes 0-143 8 bits, 144-255 9, 256-279 7, 280-287 8;
    /// distance codes 0-31 5 bits (30 and 31 never valid in data).
    static let fixedLiterals = try! HuffmanTable(lengths: ArraySlice([UInt8](repeating: 8, count: 144)
        + [UInt8](repeating: 9, count: 112) + [UInt8](repeating: 7, count: 24) + [UInt8](repeating: 8, count: 8)),
        name: "fixed literals")
    static let fixedDistances = try! HuffmanTable(lengths: ArraySlice([UInt8](repeating: 5, count: 32)),
                                                  name: "fixed distances")

    @inline(__always) func decode(_ reader: inout BitReader) throws(InflateError) -> Int {
        let entry = entries[Int(reader.peek(maxLength))]
        let length = Int(entry >> 9)
        if length == 0 { throw .badSymbol }
        reader.consume(length)
        if reader.overrun { throw .truncated }
        return Int(entry & 0x1FF)
    }
}

// MARK: - Inflate

let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                         131, 163, 195, 227, 258]
let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                           2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

/// Decodes a raw DEFLATE stream starting at byte `start`, appending to `output`. Returns the
/// byte offset just past the stream's last block.
func inflateRaw(_ input: UnsafeBufferPointer<UInt8>, start: Int, into output: inout [UInt8],
                limit: Int) throws(InflateError) -> Int {
    var reader = BitReader(input, at: start)
    var isLast = false
    while !isLast {
        isLast = try reader.bits(1) == 1
        switch try reader.bits(2) {
        case 0:
            reader.alignToByte()
            let length = try reader.bits(16), complement = try reader.bits(16)
            guard length == (~complement & 0xFFFF) else { throw .storedLengthMismatch }
            // Copy straight from the input: the reader holds no whole bytes after the two fields.
            let at = reader.byteOffset
            guard at + length <= input.count else { throw .truncated }
            guard output.count + length <= limit else { throw .outputLimit(limit) }
            output.append(contentsOf: input[at..<(at + length)])
            reader = BitReader(input, at: at + length)
        case 1:
            try inflateBlock(&reader, HuffmanTable.fixedLiterals, HuffmanTable.fixedDistances, &output, limit)
        case 2:
            let (literals, distances) = try readDynamicTables(&reader)
            try inflateBlock(&reader, literals, distances, &output, limit)
        default:
            throw .badBlockType
        }
    }
    reader.alignToByte()
    return reader.byteOffset
}

func readDynamicTables(_ reader: inout BitReader) throws(InflateError) -> (HuffmanTable, HuffmanTable) {
    let literalCount = try reader.bits(5) + 257
    let distanceCount = try reader.bits(5) + 1
    let codeLengthCount = try reader.bits(4) + 4
    guard literalCount <= 286, distanceCount <= 30 else { throw .badHuffmanTable("too many codes") }
    var codeLengthLengths = [UInt8](repeating: 0, count: 19)
    for i in 0..<codeLengthCount { codeLengthLengths[codeLengthOrder[i]] = UInt8(try reader.bits(3)) }
    let codeLengths = try HuffmanTable(lengths: codeLengthLengths[...], name: "code lengths")
    var lengths = [UInt8]()
    lengths.reserveCapacity(literalCount + distanceCount)
    while lengths.count < literalCount + distanceCount {
        let symbol = try codeLengths.decode(&reader)
        switch symbol {
        case 0...15:
            lengths.append(UInt8(symbol))
        case 16:
            guard let previous = lengths.last else { throw .badHuffmanTable("repeat with no previous length") }
            lengths += [UInt8](repeating: previous, count: 3 + (try reader.bits(2)))
        case 17:
            lengths += [UInt8](repeating: 0, count: 3 + (try reader.bits(3)))
        default:
            lengths += [UInt8](repeating: 0, count: 11 + (try reader.bits(7)))
        }
    }
    guard lengths.count == literalCount + distanceCount else { throw .badHuffmanTable("lengths overflow") }
    guard lengths[256] > 0 else { throw .badHuffmanTable("no end-of-block code") }
    return (try HuffmanTable(lengths: lengths[0..<literalCount], name: "literals"),
            try HuffmanTable(lengths: lengths[literalCount...], name: "distances"))
}

@inline(__always)
func inflateBlock(_ reader: inout BitReader, _ literals: HuffmanTable, _ distances: HuffmanTable,
                  _ output: inout [UInt8], _ limit: Int) throws(InflateError) {
    while true {
        let symbol = try literals.decode(&reader)
        if symbol < 256 {
            guard output.count < limit else { throw .outputLimit(limit) }
            output.append(UInt8(symbol))
            continue
        }
        if symbol == 256 { return }
        let lengthIndex = symbol - 257
        guard lengthIndex < 29 else { throw .badSymbol }
        let length = lengthBase[lengthIndex] + (try reader.bits(lengthExtra[lengthIndex]))
        let distanceSymbol = try distances.decode(&reader)
        guard distanceSymbol < 30 else { throw .badSymbol }
        let distance = distanceBase[distanceSymbol] + (try reader.bits(distanceExtra[distanceSymbol]))
        guard distance <= output.count else { throw .distanceTooFar }
        guard output.count + length <= limit else { throw .outputLimit(limit) }
        // Byte by byte: the source may overlap what is being written (distance < length), and
        // appending a slice of `output` to itself would copy the whole array.
        let from = output.count - distance
        for i in 0..<length { output.append(output[from + i]) }
    }
}

// MARK: - Wrappers

/// Inflates a raw DEFLATE stream.
public func inflate(_ data: [UInt8], limit: Int = 1 << 30) throws(InflateError) -> [UInt8] {
    var output = [UInt8]()
    _ = try data.withUnsafeBufferPointer { (p) throws(InflateError) -> Int in
        try inflateRaw(p, start: 0, into: &output, limit: limit)
    }
    return output
}

/// Inflates a zlib stream (RFC 1950), checking its Adler-32. `expected` (a size the caller
/// knows) is reserved up front, so the output is not regrown and copied; never more than
/// DEFLATE can expand the input to (1032:1), so a small file cannot reserve gigabytes.
public func zlibDecompress(_ data: [UInt8], limit: Int = 1 << 30, expected: Int = 0) throws(InflateError) -> [UInt8] {
    guard data.count >= 6 else { throw .truncated }
    let cmf = Int(data[0]), flg = Int(data[1])
    guard cmf & 0x0F == 8, cmf >> 4 <= 7 else { throw .badHeader("zlib compression method is not deflate") }
    guard (cmf * 256 + flg) % 31 == 0 else { throw .badHeader("zlib header check bits") }
    guard flg & 0x20 == 0 else { throw .badHeader("zlib preset dictionary is not supported") }
    var output = [UInt8]()
    output.reserveCapacity(min(expected, limit, data.count * 1032 + 65_536))
    let end = try data.withUnsafeBufferPointer { (p) throws(InflateError) -> Int in
        try inflateRaw(p, start: 2, into: &output, limit: limit)
    }
    guard end + 4 <= data.count else { throw .truncated }
    let stored = data[end..<(end + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    guard adler32(output) == stored else { throw .checksumMismatch("Adler-32") }
    return output
}

/// Inflates a gzip file (RFC 1952), every member in turn, checking each CRC-32 and size.
public func gunzip(_ data: [UInt8], limit: Int = 1 << 30) throws(InflateError) -> [UInt8] {
    try gunzip(data, limit: limit, prefix: false)
}

/// The first `count` bytes a gzip file inflates to (all of it when shorter), inflating no
/// further and checking nothing past them: to read a header that says how much to inflate.
public func gunzipPrefix(_ data: [UInt8], count: Int) throws(InflateError) -> [UInt8] {
    // The limit refuses a whole stored block (up to 65,535 bytes) or match that would cross it,
    // so inflate that much further and cut.
    Array(try gunzip(data, limit: count + 65_536, prefix: true).prefix(count))
}

func gunzip(_ data: [UInt8], limit: Int, prefix: Bool) throws(InflateError) -> [UInt8] {
    var output = [UInt8]()
    var at = 0
    repeat {
        guard data.count - at >= 18 else { throw at == 0 ? .badHeader("not a gzip file (too short)") : .truncated }
        guard data[at] == 0x1F, data[at + 1] == 0x8B else { throw .badHeader("not a gzip file") }
        guard data[at + 2] == 8 else { throw .badHeader("gzip compression method is not deflate") }
        let flags = data[at + 3]
        guard flags & 0xE0 == 0 else { throw .badHeader("reserved gzip flags set") }
        var p = at + 10
        if flags & 0x04 != 0 {                       // FEXTRA
            guard p + 2 <= data.count else { throw .truncated }
            p += 2 + Int(data[p]) + Int(data[p + 1]) << 8
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {   // FNAME, FCOMMENT: zero-terminated
            while p < data.count && data[p] != 0 { p += 1 }
            p += 1
        }
        if flags & 0x02 != 0 { p += 2 }              // FHCRC
        guard p <= data.count else { throw .truncated }
        let memberStart = output.count
        let end: Int
        do {
            end = try data.withUnsafeBufferPointer { (b) throws(InflateError) -> Int in
                try inflateRaw(b, start: p, into: &output, limit: limit)
            }
        } catch {
            if prefix, case .outputLimit = error { return output }
            throw error
        }
        guard end + 8 <= data.count else { throw .truncated }
        func le32(_ i: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[i + $1]) << (8 * UInt32($1)) } }
        let crc = output.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[memberStart...])) }
        guard crc == le32(end) else { throw .checksumMismatch("CRC-32") }
        guard UInt32(truncatingIfNeeded: output.count - memberStart) == le32(end + 4) else { throw .sizeMismatch }
        at = end + 8
    } while at < data.count && data[at] == 0x1F
    return output
}

/// Adler-32 (RFC 1950) of `bytes`.
public func adler32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var a: UInt32 = 1, b: UInt32 = 0
    var n = 0
    for byte in bytes {
        a += UInt32(byte)
        b += a
        n += 1
        if n == 5552 { a %= 65521; b %= 65521; n = 0 }
    }
    return (b % 65521) << 16 | (a % 65521)
}
