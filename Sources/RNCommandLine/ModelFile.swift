import Foundation
import RNFormat
import RNHostKernels
import RNQuantize
import RNRuntime

/// A failure that a tool reports as one `error:` line and exit status 1.
public struct ToolError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The bytes of the regular file at `path`, refused (before reading) when it is missing, a
/// directory or over `limit` bytes. Errors are one line without the path: callers prefix it.
/// `kind` names what the file should be, e.g. "an .rnb model".
func readFileBytes(_ path: String, limit: Int, kind: String) throws(ToolError) -> [UInt8] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw ToolError("no such file") }
    guard !isDirectory.boolValue else { throw ToolError("is a directory, not \(kind)") }
    guard let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int else {
        throw ToolError("cannot read file size")
    }
    guard size <= limit else { throw ToolError("\(size) bytes is larger than the \(limit >> 20) MiB limit for \(kind)") }
    guard let data = FileManager.default.contents(atPath: path) else { throw ToolError("cannot read") }
    return [UInt8](data)
}

/// Installs the host's fastest kernels (RNHostKernels); an unknown `RN_HOST_KERNELS` is a
/// one-line error naming the accepted values. Returns what runs, for reports.
@discardableResult
public func installHostKernels() throws(ToolError) -> String {
    do { return try HostKernels.install() } catch { throw ToolError(error.description) }
}

/// An `.rnb` file read from disk into aligned memory and validated by the device runtime.
public struct LoadedModel {
    public let path: String
    public let buffer: ModelBuffer
    /// Valid while this LoadedModel lives.
    public var model: RNModel { buffer.model }

    /// Reads and validates `path`. Errors name the file and the problem in one line.
    public init(path: String) throws(ToolError) {
        self.path = path
        try installHostKernels()
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path, limit: (1 << 31) - 1, kind: "an .rnb model") }
        catch { throw ToolError("\(path): \(error.description)") }
        do {
            buffer = try ModelBuffer(bytes)
        } catch {
            throw ToolError("\(path): \(describe(error))")
        }
    }
}
