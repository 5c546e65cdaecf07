import Foundation
import RNFormat
import RNHostKernels
import RNQuantize
import RNRuntime
import RNTrain

/// A failure that a tool reports as one `error:` line and exit status 1.
public struct ToolError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `readBoundedFile` (RNTrain) as a tool error.
func readFileBytes(_ path: String, limit: Int, kind: String) throws(ToolError) -> [UInt8] {
    do { return try readBoundedFile(path, limit: limit, kind: kind) } catch { throw ToolError(error.description) }
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
        // The tools allocate the declared arena up front: bounded, so a small file cannot claim gigabytes.
        guard buffer.model.arenaBytes <= ToolLimits.arenaBytes else {
            throw ToolError("\(path): the model declares a \(buffer.model.arenaBytes)-byte arena, over the tools' \(ToolLimits.arenaBytes >> 20) MiB limit")
        }
    }
}

/// What the host tools allocate at most for one model (README: resource limits).
public enum ToolLimits {
    /// The arena rn-infer, rn-bench and rn-drift allocate (a ResNet-18 at 224x224 needs a few MB).
    public static let arenaBytes = 1 << 30
}
