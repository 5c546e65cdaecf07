import Foundation
import RNCommandLine
import RNFormat
import RNImage
import RNInflate
import RNQuantize
import RNRuntime
import RNTrain

/// Every parser that reads files from elsewhere, as one fuzz target each (`Tools/fuzz TARGET
/// SECONDS`, libFuzzer with AddressSanitizer), and as what the regression tests replay: each
/// input goes through the same calls the tools make. Errors are the expected outcome; a trap,
/// a hang or an allocation out of proportion to the input is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The `.rnb` loader; then rn-inspect's summary (text and JSON) and the C header; then
    /// rn-infer's image path (a small RGB image through the model's preprocessing and pixel
    /// table) and one invoke into the declared arena (when it is at most `arenaCap`).
    case rnb
    case png, jpeg, bmp, pnm
    /// Raw DEFLATE, zlib and gzip on the same input.
    case inflate
    /// The `.rnf` checkpoint reader.
    case rnf
    /// The IDX reader, gzipped or not.
    case idx
    /// The ONNX reader, then the import into a folded float model.
    case onnx
    /// The TFLite reader and importer, then the `.rnb` writer on what it imports, and the
    /// `.rnb` target's path on the written model.
    case tflite

    /// The largest arena the `.rnb` target invokes into.
    public static let arenaCap = 4 << 20

    /// Runs one input.
    public func run(_ bytes: [UInt8]) {
        // Checksums mended first, so that mutations reach the checks behind them (the
        // checksum checks themselves run on the input as it came in).
        switch self {
        case .rnb:
            Self.model(bytes)
            Self.model(Self.mendingCRC(bytes))
        case .png:
            Self.image(try? decodePNG(bytes))
            Self.image(try? decodePNG(Self.mendingChunkCRCs(bytes)))
        case .jpeg: Self.image(try? decodeJPEG(bytes))
        case .bmp: Self.image(try? decodeBMP(bytes))
        case .pnm: Self.image(try? decodePNM(bytes))
        case .inflate:
            _ = try? RNInflate.inflate(bytes, limit: 64 << 20)
            _ = try? zlibDecompress(bytes, limit: 64 << 20)
            _ = try? gunzip(bytes, limit: 64 << 20)
        case .rnf:
            _ = try? RNF.decode(bytes, path: "fuzz.rnf")
            _ = try? RNF.decode(Self.mendingCRC(bytes), path: "fuzz.rnf")
        case .idx: _ = try? parseIDX(bytes, path: "fuzz.idx", expectedType: 0x08, rank: bytes.count > 3 ? Int(bytes[3]) : 1)
        case .onnx:
            guard let model = try? ONNXModel(bytes: bytes) else { return }
            _ = try? ONNXImporter.fold(model, info: CheckpointInfo(labels: [], mean: [], std: []))
        case .tflite:
            guard let graph = try? TFLiteImporter.graph(bytes, mean: nil, std: nil, labels: nil),
                  let rnb = try? RNBWriter.write(graph) else { return }
            Self.model(rnb)   // what it imports runs through the tools like any model
        }
    }

    /// `.rnb` and `.rnf` files: the CRC-32 at byte 12 over bytes 16 to the end.
    static func mendingCRC(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= 16 else { return bytes }
        var b = bytes
        let crc = b.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[16...])) }
        for k in 0..<4 { b[12 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        return b
    }

    /// PNG: each chunk's CRC-32 (big-endian, over type and data) recomputed.
    static func mendingChunkCRCs(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes, at = 8
        while at + 12 <= b.count {
            let length = (0..<4).reduce(0) { $0 << 8 | Int(b[at + $1]) }
            guard length <= b.count - at - 12 else { break }
            let crc = b.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[(at + 4)..<(at + 8 + length)])) }
            for k in 0..<4 { b[at + 8 + length + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(3 - k))) }
            at += 12 + length
        }
        return b
    }

    /// A decoded image through both channel conversions and a resize with center crop.
    static func image(_ image: Image?) {
        guard let image else { return }
        for channels in [1, 3] {
            _ = try? PixelPipeline(width: 5, height: 4, channels: channels, resize: .shorterSideThenCrop(shorter: 6)).pixels(from: image)
        }
    }

    static func model(_ bytes: [UInt8]) {
        guard let buffer = try? ModelBuffer(bytes) else { return }
        let model = buffer.model
        // What rn-inspect and rn-export --c-header print for any model the loader accepts.
        let summary = ModelSummary(model)
        _ = summary.text(ranges: nil)
        _ = JSON.object(summary.jsonMembers).text()
        _ = cHeader(for: bytes, model: model, source: "fuzz.rnb")
        guard model.arenaBytes <= arenaCap else { return }
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: max(model.arenaBytes, 1), alignment: 16)
        defer { arena.deallocate() }
        var input = [Int8](repeating: 0, count: model.input.byteCount)
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        // rn-infer's image path: a 7x5 RGB image through the model's own pipeline and table.
        let rgb = Image(width: 7, height: 5, layout: .rgb, samples: (0..<105).map { UInt8($0 * 37 & 255) })
        if let pixels = try? PixelPipeline(model: model).pixels(from: rgb) {
            pixels.withUnsafeBufferPointer { p in input.withUnsafeMutableBufferPointer { model.quantizeImage(pixels: p.baseAddress!, into: $0.baseAddress!) } }
        }
        input.withUnsafeBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in _ = try? model.invoke(arena: arena, input: i.baseAddress!, output: o.baseAddress!) }
        }
    }
}

/// Seed inputs the fixtures do not already hold: small `.rnf` checkpoints (every kind and stem,
/// width 1 to 2, 8x8 inputs) and small IDX files, written into `directory/TARGET/`.
public func writeFuzzSeeds(to directory: String) throws {
    func write(_ target: FuzzTarget, _ name: String, _ bytes: [UInt8]) throws {
        let folder = (directory as NSString).appendingPathComponent(target.rawValue)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
    }
    for kind in Architecture.Kind.allCases {
        for stem in Architecture.Stem.allCases {
            let arch = Architecture(kind: kind, width: 1, stem: stem, inputHeight: 8, inputWidth: 8, inputChannels: 1, classes: 2)
            let info = CheckpointInfo(labels: ["a", "b"], mean: [0.5], std: [0.25])
            try write(.rnf, "\(kind.rawValue)-\(stem.rawValue).rnf", try RNF.encode(ResNet(arch, seed: 1), info: info, includeMomentum: stem == .cifar))
        }
    }
    let images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2] + (0..<12).map { UInt8($0 * 20) }
    try write(.idx, "images.idx", images)
    try write(.idx, "labels.idx", [0, 0, 8, 1, 0, 0, 0, 3, 1, 0, 9])
}
