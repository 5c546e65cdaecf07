// The FlatBuffers binary format, read-only and bounded, as much as TFLite's schema needs:
// tables through their vtables, scalars with defaults, sub-tables, vectors and strings. Every
// offset and length is checked against the buffer before it is followed, and offsets to
// sub-objects only point forward, so a hostile file can neither read outside the buffer nor loop.

/// A problem in a FlatBuffer: one line naming the table and field.
public struct FlatBufferError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

struct FlatBuffer {
    let bytes: [UInt8]

    func check(_ at: Int, _ size: Int, _ what: @autoclosure () -> String) throws(FlatBufferError) {
        guard at >= 0, size >= 0, at <= bytes.count, size <= bytes.count - at else {
            throw FlatBufferError("\(what()): offset \(at) + \(size) outside the \(bytes.count)-byte file")
        }
    }
    func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
    func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }

    /// The root table.
    func root(_ name: String) throws(FlatBufferError) -> FBTable {
        try check(0, 4, name)
        return try table(at: Int(u32(0)), name)
    }

    func table(at position: Int, _ name: String) throws(FlatBufferError) -> FBTable {
        try check(position, 4, name)
        let vtable = position - Int(Int32(bitPattern: u32(position)))
        try check(vtable, 4, "\(name) vtable")
        let size = u16(vtable)
        guard size >= 4, size % 2 == 0 else { throw FlatBufferError("\(name): vtable size \(size)") }
        try check(vtable, size, "\(name) vtable")
        return FBTable(buffer: self, position: position, vtable: vtable, vtableSize: size, name: name)
    }
}

struct FBTable {
    let buffer: FlatBuffer
    let position: Int
    let vtable: Int
    let vtableSize: Int
    let name: String

    /// Where field `i`'s value is, or nil when absent.
    func field(_ i: Int, size: Int) throws(FlatBufferError) -> Int? {
        let entry = 4 + 2 * i
        guard entry + 2 <= vtableSize else { return nil }
        let offset = buffer.u16(vtable + entry)
        guard offset != 0 else { return nil }
        try buffer.check(position + offset, size, "\(name) field \(i)")
        return position + offset
    }

    func int(_ i: Int, size: Int = 4, default value: Int = 0) throws(FlatBufferError) -> Int {
        guard let at = try field(i, size: size) else { return value }
        switch size {
        case 1: return Int(Int8(bitPattern: buffer.bytes[at]))
        case 2: return Int(Int16(bitPattern: UInt16(buffer.u16(at))))
        default: return Int(Int32(bitPattern: buffer.u32(at)))
        }
    }
    func uint8(_ i: Int, default value: Int = 0) throws(FlatBufferError) -> Int {
        guard let at = try field(i, size: 1) else { return value }
        return Int(buffer.bytes[at])
    }
    func bool(_ i: Int) throws(FlatBufferError) -> Bool { try uint8(i) != 0 }

    /// The position a uoffset field points to (forward only).
    func target(_ i: Int) throws(FlatBufferError) -> Int? {
        guard let at = try field(i, size: 4) else { return nil }
        let to = at + Int(buffer.u32(at))
        try buffer.check(to, 4, "\(name) field \(i)")
        return to
    }

    func table(_ i: Int, _ name: String) throws(FlatBufferError) -> FBTable? {
        guard let at = try target(i) else { return nil }
        return try buffer.table(at: at, name)
    }

    /// A vector of `elementSize`-byte elements: its first element's position and count.
    func vector(_ i: Int, elementSize: Int, of what: String = "elements") throws(FlatBufferError) -> (start: Int, count: Int)? {
        guard let at = try target(i) else { return nil }
        let count = Int(buffer.u32(at))
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow else { throw FlatBufferError("\(name) field \(i): vector of \(count) \(what)") }
        try buffer.check(at + 4, bytes, "\(name) field \(i) (vector of \(count) \(what))")
        return (at + 4, count)
    }

    func tables(_ i: Int, _ name: String) throws(FlatBufferError) -> [FBTable] {
        guard let (start, count) = try vector(i, elementSize: 4, of: "\(name) tables") else { return [] }
        var out: [FBTable] = []
        for k in 0..<count {
            let at = start + 4 * k
            out.append(try buffer.table(at: at + Int(buffer.u32(at)), "\(name) \(k)"))
        }
        return out
    }

    func int32s(_ i: Int) throws(FlatBufferError) -> [Int] {
        guard let (start, count) = try vector(i, elementSize: 4) else { return [] }
        return (0..<count).map { Int(Int32(bitPattern: buffer.u32(start + 4 * $0))) }
    }
    func int64s(_ i: Int) throws(FlatBufferError) -> [Int64] {
        guard let (start, count) = try vector(i, elementSize: 8) else { return [] }
        return (0..<count).map { Int64(bitPattern: UInt64(buffer.u32(start + 8 * $0)) | UInt64(buffer.u32(start + 8 * $0 + 4)) << 32) }
    }
    func floats(_ i: Int) throws(FlatBufferError) -> [Float] {
        guard let (start, count) = try vector(i, elementSize: 4) else { return [] }
        return (0..<count).map { Float(bitPattern: buffer.u32(start + 4 * $0)) }
    }
    func bytes(_ i: Int) throws(FlatBufferError) -> ArraySlice<UInt8>? {
        guard let (start, count) = try vector(i, elementSize: 1) else { return nil }
        return buffer.bytes[start..<(start + count)]
    }
    func string(_ i: Int) throws(FlatBufferError) -> String {
        guard let s = try bytes(i) else { return "" }
        return String(decoding: s, as: UTF8.self)
    }
}
