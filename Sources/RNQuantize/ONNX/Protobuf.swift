// The protobuf wire format, as much as ONNX needs: varints, 32- and 64-bit words, and
// length-delimited fields (strings, bytes, sub-messages, packed repeated numbers). Bounded:
// every length is checked against the bytes left before anything is read or allocated, so a
// field claiming gigabytes costs nothing.

/// A problem in a protobuf message: one line naming the field.
public struct ProtobufError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A field's wire type (the low 3 bits of its key).
enum WireType: UInt64 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

/// Reads the fields of one message in `bytes[start..<end]`.
struct ProtoReader {
    let bytes: [UInt8]
    var at: Int
    let end: Int
    /// The message's name, for errors ("GraphProto").
    let message: String

    init(_ bytes: [UInt8], _ range: Range<Int>, message: String) {
        self.bytes = bytes
        at = range.lowerBound
        end = range.upperBound
        self.message = message
    }

    var atEnd: Bool { at >= end }

    func error(_ text: String) -> ProtobufError { ProtobufError("\(message): \(text)") }

    mutating func varint() throws(ProtobufError) -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard at < end else { throw error("truncated varint at byte \(at)") }
            let byte = bytes[at]
            at += 1
            guard shift < 64 else { throw error("varint longer than 10 bytes at byte \(at)") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// The next field's number and wire type, or nil at the message's end.
    mutating func field() throws(ProtobufError) -> (number: Int, type: WireType)? {
        guard !atEnd else { return nil }
        let key = try varint()
        guard let type = WireType(rawValue: key & 7) else { throw error("unsupported wire type \(key & 7) at byte \(at)") }
        guard key >> 3 >= 1, key >> 3 < 1 << 29 else { throw error("bad field number \(key >> 3)") }
        return (Int(key >> 3), type)
    }

    /// The byte range of a length-delimited field.
    mutating func lengthDelimited() throws(ProtobufError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - at) else { throw error("length \(length) runs past the end (\(end - at) bytes left)") }
        let range = at..<(at + Int(length))
        at = range.upperBound
        return range
    }

    mutating func fixed32() throws(ProtobufError) -> UInt32 {
        guard end - at >= 4 else { throw error("truncated 32-bit field") }
        defer { at += 4 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }

    mutating func fixed64() throws(ProtobufError) -> UInt64 {
        guard end - at >= 8 else { throw error("truncated 64-bit field") }
        defer { at += 8 }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }

    /// Skips a field this reader does not use.
    mutating func skip(_ type: WireType) throws(ProtobufError) {
        switch type {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }

    mutating func string(_ type: WireType) throws(ProtobufError) -> String {
        guard type == .lengthDelimited else { throw error("string field with wire type \(type.rawValue)") }
        return String(decoding: bytes[try lengthDelimited()], as: UTF8.self)
    }

    mutating func int64(_ type: WireType) throws(ProtobufError) -> Int64 {
        guard type == .varint else { throw error("integer field with wire type \(type.rawValue)") }
        return Int64(bitPattern: try varint())
    }

    mutating func float(_ type: WireType) throws(ProtobufError) -> Float {
        guard type == .fixed32 else { throw error("float field with wire type \(type.rawValue)") }
        return Float(bitPattern: try fixed32())
    }

    /// A sub-message's reader.
    mutating func message(_ type: WireType, _ name: String) throws(ProtobufError) -> ProtoReader {
        guard type == .lengthDelimited else { throw error("\(name) field with wire type \(type.rawValue)") }
        return ProtoReader(bytes, try lengthDelimited(), message: name)
    }

    /// Repeated varints, packed (one length-delimited field) or not (one value).
    mutating func int64s(_ type: WireType, into values: inout [Int64]) throws(ProtobufError) {
        if type == .varint { values.append(try int64(type)); return }
        guard type == .lengthDelimited else { throw error("repeated integer field with wire type \(type.rawValue)") }
        var inner = ProtoReader(bytes, try lengthDelimited(), message: message)
        while !inner.atEnd { values.append(Int64(bitPattern: try inner.varint())) }
    }

    /// Repeated floats, packed or not.
    mutating func floats(_ type: WireType, into values: inout [Float]) throws(ProtobufError) {
        if type == .fixed32 { values.append(try float(type)); return }
        guard type == .lengthDelimited else { throw error("repeated float field with wire type \(type.rawValue)") }
        let range = try lengthDelimited()
        guard range.count % 4 == 0 else { throw error("packed floats of \(range.count) bytes") }
        values.reserveCapacity(values.count + range.count / 4)
        var inner = ProtoReader(bytes, range, message: message)
        while !inner.atEnd { values.append(Float(bitPattern: try inner.fixed32())) }
    }
}
