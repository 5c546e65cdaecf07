import Foundation
import RNFormat

// The `.rnf` float checkpoint; RNF.md in this folder is its byte-level specification.

/// Everything in a checkpoint besides the float arrays.
public struct CheckpointInfo: Codable, Equatable {
    public var labels: [String]
    /// Per-channel normalisation on pixel / 255, computed from the training data.
    public var mean: [Float]
    public var std: [Float]
    /// Free-form provenance: data, seed, command, accuracy...
    public var provenance: [String: String]
    public var epochsDone: Int
    public var globalStep: Int
    public var history: [EpochLog]
    /// The training settings, so that --resume continues the same run.
    public var training: [String: String]

    enum CodingKeys: String, CodingKey {
        case labels, mean, std, provenance, epochsDone = "epochs_done", globalStep = "global_step", history, training
    }

    public init(labels: [String], mean: [Float], std: [Float], provenance: [String: String] = [:], epochsDone: Int = 0,
                globalStep: Int = 0, history: [EpochLog] = [], training: [String: String] = [:]) {
        self.labels = labels; self.mean = mean; self.std = std; self.provenance = provenance
        self.epochsDone = epochsDone; self.globalStep = globalStep; self.history = history; self.training = training
    }
}

extension Architecture.Kind {
    /// The architecture byte of an `.rnf` header (RNF.md): fixed codes, not the case order.
    public var rnfCode: UInt8 {
        switch self {
        case .resnet18: return 0
        case .resnet34: return 1
        case .plain18: return 2
        case .plain34: return 3
        }
    }

    public init?(rnfCode: UInt8) {
        guard let kind = Self.allCases.first(where: { $0.rnfCode == rnfCode }) else { return nil }
        self = kind
    }
}

public enum RNF {
    static let magic = Array("RNF1".utf8)
    static let version: UInt16 = 1
    static let headerSize = 64

    /// The checkpoint's bytes: header, JSON info, then float arrays (parameters, batch-norm
    /// running statistics, and SGD momentum when `includeMomentum`).
    public static func encode(_ net: ResNet, info: CheckpointInfo, includeMomentum: Bool = true) throws -> [UInt8] {
        let a = net.architecture
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = [UInt8](try encoder.encode(info))
        var floats = [Float]()
        for p in net.parameters { floats += p.value }
        for bn in net.batchNorms { floats += bn.runningMean + bn.runningVar }
        if includeMomentum { for p in net.parameters { floats += p.momentum } }
        let floatsAt = (headerSize + json.count + 15) / 16 * 16
        var out = [UInt8](repeating: 0, count: floatsAt + floats.count * 4)
        func put32(_ at: Int, _ v: UInt32) { for k in 0..<4 { out[at + k] = UInt8((v >> (8 * k)) & 0xFF) } }
        out[0..<4] = magic[...]
        out[4] = UInt8(version); out[5] = 0
        out[6] = UInt8(headerSize); out[7] = 0
        put32(8, UInt32(out.count))
        out[16] = a.kind.rnfCode
        out[17] = a.stem == .cifar ? 0 : 1
        out[18] = a.zeroInitResidual ? 1 : 0
        out[19] = includeMomentum ? 1 : 0
        for (i, v) in [a.width, a.inputHeight, a.inputWidth, a.inputChannels, a.classes].enumerated() {
            put32(20 + 4 * i, UInt32(v))
        }
        put32(40, UInt32(headerSize)); put32(44, UInt32(json.count))
        put32(48, UInt32(floatsAt)); put32(52, UInt32(floats.count))
        out.replaceSubrange(headerSize..<(headerSize + json.count), with: json)
        floats.withUnsafeBytes { out.replaceSubrange(floatsAt..<out.count, with: $0) }
        let crc = out.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[16...])) }
        put32(12, crc)
        return out
    }

    /// Reads a checkpoint: the network (weights, running statistics, momentum if stored) and its info.
    public static func decode(_ bytes: [UInt8], path: String) throws -> (ResNet, CheckpointInfo) {
        func fail(_ what: String) -> DataError { DataError("\(path): \(what)") }
        guard bytes.count >= headerSize else { throw fail("truncated: \(bytes.count) bytes, shorter than the .rnf header") }
        guard Array(bytes[0..<4]) == magic else { throw fail("not an .rnf checkpoint (bad magic)") }
        func get32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        guard Int(bytes[4]) | Int(bytes[5]) << 8 == Int(version) else { throw fail("unsupported .rnf version \(bytes[4])") }
        let fileSize = get32(8)
        guard fileSize <= bytes.count else { throw fail("truncated: \(bytes.count) bytes, header says \(fileSize)") }
        guard fileSize == bytes.count else { throw fail("\(bytes.count) bytes, header says \(fileSize)") }
        let crc = bytes.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[16...])) }
        guard crc == UInt32(get32(12)) else { throw fail("checksum mismatch") }
        guard let kind = Architecture.Kind(rnfCode: bytes[16]), bytes[17] <= 1 else { throw fail("unknown architecture") }
        let (width, h, w, c, classes) = (get32(20), get32(24), get32(28), get32(32), get32(36))
        guard (1...4096).contains(width), (1...4096).contains(h), (1...4096).contains(w), (1...4).contains(c),
              (2...100_000).contains(classes) else { throw fail("implausible architecture fields") }
        let arch = Architecture(kind: kind, width: width,
                                stem: bytes[17] == 0 ? .cifar : .imagenet, inputHeight: h, inputWidth: w,
                                inputChannels: c, classes: classes, zeroInitResidual: bytes[18] == 1)
        let (jsonAt, jsonCount, floatsAt, floatCount) = (get32(40), get32(44), get32(48), get32(52))
        guard jsonAt == headerSize, jsonAt + jsonCount <= floatsAt, floatsAt + 4 * floatCount == fileSize else {
            throw fail("section sizes disagree with the file size")
        }
        let info: CheckpointInfo
        do { info = try JSONDecoder().decode(CheckpointInfo.self, from: Data(bytes[jsonAt..<(jsonAt + jsonCount)])) } catch {
            throw fail("bad checkpoint info: \(error.localizedDescription)")
        }
        guard info.labels.count == classes, info.mean.count == c, info.std.count == c else {
            throw fail("labels or normalisation do not match the architecture")
        }
        // The float count is checked against the shape before any network is built, so a small
        // file cannot make the reader allocate a network out of proportion to it.
        let (parameterFloats, statisticFloats) = arch.floatCounts
        let hasMomentum = bytes[19] == 1
        guard floatCount == parameterFloats * (hasMomentum ? 2 : 1) + statisticFloats else {
            throw fail("\(floatCount) floats, the architecture needs \(parameterFloats * (hasMomentum ? 2 : 1) + statisticFloats)")
        }
        let net = ResNet(arch, seed: 0)
        var floats = [Float](repeating: 0, count: floatCount)
        floats.withUnsafeMutableBytes { $0.copyBytes(from: bytes[floatsAt..<fileSize]) }
        var at = 0
        func take(_ n: Int) -> [Float] { defer { at += n }; return Array(floats[at..<(at + n)]) }
        for p in net.parameters { p.value = take(p.value.count) }
        for bn in net.batchNorms { bn.runningMean = take(bn.channels); bn.runningVar = take(bn.channels) }
        if hasMomentum { for p in net.parameters { p.momentum = take(p.value.count) } }
        return (net, info)
    }

    /// Writes atomically: a temporary file in the same folder, then rename, so an interrupted
    /// run leaves the previous checkpoint intact.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        try Data(bytes).write(to: temporary)
        if rename(temporary.path, url.path) != 0 {
            throw DataError("\(path): cannot write (\(String(cString: strerror(errno))))")
        }
    }

    public static func read(_ path: String) throws -> (ResNet, CheckpointInfo) {
        try decode(try readFile(path, limit: FileLimits.checkpoint, kind: "an .rnf checkpoint"), path: path)
    }
}
