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

/// An `.rnb` file read from disk into aligned memory and validated by the device runtime.
public struct LoadedModel {
    public let path: String
    public let buffer: ModelBuffer
    /// Valid while this LoadedModel lives.
    public var model: RNModel { buffer.model }

    /// Reads and validates `path`. Errors name the file and the problem in one line.
    public init(path: String) throws(ToolError) {
        self.path = path
        HostKernels.install()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ToolError("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw ToolError("\(path): is a directory, not an .rnb model") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw ToolError("\(path): cannot read file size") }
        guard size < 1 << 31 else { throw ToolError("\(path): \(size) bytes is larger than any .rnb model (2 GiB)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ToolError("\(path): cannot read") }
        do {
            buffer = try ModelBuffer([UInt8](data))
        } catch {
            throw ToolError("\(path): \(describe(error))")
        }
    }
}
