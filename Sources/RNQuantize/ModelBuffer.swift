import RNFormat
import RNRuntime

/// Bytes copied into 16-byte aligned memory this object owns (the runtime requires the
/// alignment; `[UInt8]` does not promise it). Unvalidated: see `ModelBuffer` for a model.
public final class AlignedBytes {
    public let buffer: UnsafeMutableRawBufferPointer
    public let count: Int

    public init(_ bytes: [UInt8]) {
        count = bytes.count
        buffer = .allocate(byteCount: max(bytes.count, 1), alignment: 64)
        buffer.copyBytes(from: bytes)
    }
    deinit { buffer.deallocate() }

    /// Exactly the bytes given, nothing more.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: buffer.baseAddress, count: count) }
}

/// A model's bytes in aligned memory and the model validated over them, kept together.
///
/// `model` reads this object's memory without copying: keep the `ModelBuffer` alive for as long
/// as `model` (or anything taken from it) is used. `let m = try ModelBuffer(b).model` is a bug.
public final class ModelBuffer {
    public let storage: AlignedBytes
    public let model: RNModel

    public init(_ bytes: [UInt8]) throws(RNError) {
        storage = AlignedBytes(bytes)
        model = try RNModel(bytes: storage.bytes)
    }
}

/// A one-line description of a runtime error, naming the field and the numbers involved.
public func describe(_ error: RNError) -> String {
    var text = "\(error.status.message)"
    if error.index >= 0 { text += " (index \(error.index))" }
    if error.found != 0 || error.limit != 0 {
        switch error.status {
        case .arenaTooSmall: text += ": \(error.found) bytes given, \(error.limit) needed"
        case .truncatedFile, .truncatedHeader: text += ": \(error.found) bytes, expected \(error.limit)"
        default: text += ": found \(error.found), limit \(error.limit)"
        }
    }
    return text
}

