import Foundation
import Testing
import RNFormat
import RNImage
import RNInflate
import RNQuantize
import RNTestSupportC
import RNTrain
@testable import RNFuzz

/// The bytes this thread allocates in `body` (nil where the counter is unavailable, under ASan).
func allocatedBytes(_ body: () -> Void) -> Int64? {
    guard rn_test_alloc_counting_available() != 0 else { body(); return nil }
    rn_test_alloc_count_begin()
    body()
    _ = rn_test_alloc_count_end()
    return rn_test_alloc_bytes()
}

/// Hostile inputs that crashed a tool or cost memory out of proportion to their size (issue
/// 19), each fixed at the check that was missing: they must fail cleanly, allocating at most a
/// small multiple of their own size.
@Suite struct HostileInputTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/fuzz")

    /// A width-1 ResNet-18 checkpoint patched to declare width 4096 (its CRC mended): the float
    /// count is refused from the shape, before a network of billions of parameters is built.
    @Test func rnfFloatCountBeforeTheNetwork() throws {
        let arch = Architecture(kind: .resnet18, width: 1, stem: .cifar, inputHeight: 8, inputWidth: 8, inputChannels: 1, classes: 2)
        var bytes = try RNF.encode(ResNet(arch, seed: 1), info: CheckpointInfo(labels: ["a", "b"], mean: [0.5], std: [0.5]))
        bytes[20] = 0x00; bytes[21] = 0x10   // width 4096
        bytes = FuzzTarget.mendingCRC(bytes)
        var message = ""
        let used = allocatedBytes { do { _ = try RNF.decode(bytes, path: "w4096.rnf") } catch { message = "\(error)" } }
        #expect(message.contains("floats, the architecture needs"), "\(message)")
        #expect((used ?? 0) < 64 * Int64(bytes.count) + (1 << 20), "\(used ?? 0) bytes allocated for a \(bytes.count)-byte file")
        // The shape's float counts are the network's, for every kind and stem.
        for kind in Architecture.Kind.allCases {
            for stem in Architecture.Stem.allCases {
                let a = Architecture(kind: kind, width: 3, stem: stem, inputHeight: 16, inputWidth: 16, inputChannels: 3, classes: 5)
                let net = ResNet(a, seed: 0)
                #expect(a.floatCounts.parameters == net.parameterCount && a.floatCounts.statistics == net.batchNorms.reduce(0) { $0 + 2 * $1.channels })
            }
        }
    }

    /// IDX: dims whose product overflowed (a trap), and a 32 KB gzip that inflates to 32 MB
    /// behind a header declaring one 1x1 image (inflated whole before the size check).
    @Test func idxDimsAndGzipBomb() throws {
        let overflow: [UInt8] = [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12)
        #expect(throws: DataError.self) { try parseIDX(overflow, path: "o.idx", expectedType: 8, rank: 3) }
        let bomb = try Repo.bytes(Self.root.appendingPathComponent("idx-gzip-bomb.idx.gz"))
        var message = ""
        let used = allocatedBytes { do { _ = try parseIDX(bomb, path: "bomb.idx.gz", expectedType: 8, rank: 3) } catch { message = "\(error)" } }
        #expect(message.contains("inflates beyond 17 bytes"), "\(message)")
        #expect((used ?? 0) < 64 * Int64(bomb.count) + (1 << 20), "\(used ?? 0) bytes allocated for a \(bomb.count)-byte file")
        #expect(used.map { $0 > 0 } ?? true, "the counter sees this thread's allocations")
        // The header alone, however it is split into blocks.
        let header: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 1, 7]
        #expect(try gunzipPrefix(try Repo.bytes(Self.root.appendingPathComponent("idx-gzip-bomb.idx.gz")), count: 4) == [0, 0, 8, 3])
        #expect(try parseIDX(header, path: "l.idx", expectedType: 8, rank: 1).dims == [1])
    }

    /// Shorter side to 65,535 then a 4x4 crop of an 8x8 image: only the crop is computed (the
    /// whole resize was 65,535 x 65,535 floats).
    @Test func hugeResizeCostsTheCrop() throws {
        let image = Image(width: 8, height: 8, layout: .gray, samples: (0..<64).map(UInt8.init))
        var pixels: [UInt8] = []
        let used = allocatedBytes { pixels = (try? PixelPipeline(width: 4, height: 4, channels: 1, resize: .shorterSideThenCrop(shorter: 65_535)).pixels(from: image)) ?? [] }
        #expect(pixels.count == 16)
        #expect((used ?? 0) < 64 << 20, "\(used ?? 0) bytes")
    }

    /// A JPEG cut short with a frame claiming 8000 x 8000 pixels: too short for its blocks, so
    /// refused before the coefficients are allocated. Baseline: 2 bits per block, checked at the
    /// frame (128 MB were allocated); progressive: a bit per block, checked at each component's
    /// first (DC) scan, which allocates its coefficients (200 MB were allocated).
    @Test(arguments: [("jpeg-gray.jpg", UInt8(0xC0), 400, "1000000 blocks need at least 250000 bytes"),
                      ("jpeg-420-progressive.jpg", UInt8(0xC2), 2000, "1500000 blocks need at least 187500 bytes")])
    func shortJPEGClaimingManyPixels(_ file: String, _ frame: UInt8, _ keep: Int, _ error: String) throws {
        var bytes = Array(try Repo.bytes(Repo.root.appendingPathComponent("Tests/RNImageTests/Fixtures/\(file)")).prefix(keep))
        let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == frame })
        bytes[sof + 5] = 0x1F; bytes[sof + 6] = 0x40; bytes[sof + 7] = 0x1F; bytes[sof + 8] = 0x40   // 8000 x 8000
        var message = ""
        let used = allocatedBytes { do { _ = try decodeJPEG(bytes) } catch { message = "\(error)" } }
        #expect(message.contains(error), "\(message)")
        #expect((used ?? 0) < 1 << 20, "\(used ?? 0) bytes")
    }

    /// Corrupt entropy data that libjpeg (and so Pillow) recovers from: rn-infer classifies the
    /// image with one warning line on stderr and exit 0; a file cut short stays an error.
    @Test func corruptJPEGRecoversWithAWarning() throws {
        let model = Repo.golden("tiny-resnet", "model.rnb").path
        for (file, warning) in [("jpeg-corrupt-bad-code.jpg", "bad Huffman code"), ("jpeg-corrupt-early-marker.jpg", "premature end of data segment")] {
            let path = Repo.root.appendingPathComponent("Tests/RNImageTests/Fixtures/\(file)").path
            let (status, stdout, stderr) = try runTool("rn-infer", [model, path])
            #expect(status == 0 && stdout.contains("1. ") && stderr == "warning: \(path): corrupt JPEG data: \(warning)\n", "\(file): \(stderr)")
        }
        let whole = try Repo.bytes(Repo.root.appendingPathComponent("Tests/RNImageTests/Fixtures/jpeg-420.jpg"))
        #expect(throws: ImageError.self) { try decodeJPEG(Array(whole.prefix(whole.count * 3 / 4))) }
    }

    /// The loader bounds the preprocessing record's sizes: stretch to the input's own size,
    /// shorter side then crop to a square of 1...65535.
    @Test func preprocessingSizesAreValidated() throws {
        let good = try Repo.bytes(Repo.golden("tiny-resnet", "model.rnb"))
        let buffer = try ModelBuffer(good)
        let record = try #require(buffer.model.file.metadata(RNBMetadata.preprocessingKey))
        let at = record.baseAddress! - UnsafeRawPointer(buffer.storage.bytes.baseAddress!)
        for (mode, height, width) in [(0, 70_000, 70_000), (1, 70_000, 70_000), (1, 300, 200), (1, 0, 0), (0, 9, 9)] {
            var b = good
            b[at + RNBPreprocessing.resizeModeOffset] = UInt8(mode)
            for k in 0..<4 {
                b[at + RNBPreprocessing.resizeHeightOffset + k] = UInt8(truncatingIfNeeded: height >> (8 * k))
                b[at + RNBPreprocessing.resizeWidthOffset + k] = UInt8(truncatingIfNeeded: width >> (8 * k))
            }
            #expect(throws: RNError.self, "mode \(mode) \(height)x\(width)") { _ = try ModelBuffer(FuzzTarget.mendingCRC(b)) }
        }
    }

    /// A model whose input has 4 channels exports (without an image record) and takes raw
    /// input; rn-infer's image path is one error line, not a trap. A declared 2 GiB arena is
    /// refused before it is allocated.
    @Test func toolsOnModelsTheyCannotFeed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-hostile-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("c4.rnb").path, image = dir.appendingPathComponent("x.ppm").path
        let export = try runTool("rn-export", ["--random", "--arch", "resnet18", "--width", "1", "--input", "8x8x4", "--classes", "2", "-o", model])
        #expect(export.0 == 0, "\(export.2)")
        try Data(Array("P6\n2 2\n255\n".utf8) + [UInt8](repeating: 90, count: 12)).write(to: URL(fileURLWithPath: image))
        let infer = try runTool("rn-infer", [model, image])
        #expect(infer.0 == 1 && infer.2.hasSuffix("the model's input has 4 channels; images give 1 (gray) or 3 (RGB): pass raw input\n"), "\(infer.2)")
        #expect(infer.2.split(separator: "\n").count == 1)
        var big = try Repo.bytes(Repo.golden("tiny-resnet", "model.rnb"))
        for (k, v) in [0xF0, 0xFF, 0xFF, 0x7F].enumerated() { big[RNBHeader.arenaBytesOffset + k] = UInt8(v) }
        let huge = dir.appendingPathComponent("huge.rnb").path
        try Data(FuzzTarget.mendingCRC(big)).write(to: URL(fileURLWithPath: huge))
        let refused = try runTool("rn-infer", [huge, image])
        #expect(refused.0 == 1 && refused.2.contains("declares a 2147483632-byte arena, over the tools' 1024 MiB limit"), "\(refused.2)")
    }

    /// Every minimized finding kept under Tests/Data/fuzz/TARGET/ replays through its target
    /// without a trap, allocating at most 64 times its size plus 16 MiB.
    @Test func findingsReplay() throws {
        for target in FuzzTarget.allCases {
            let folder = Self.root.appendingPathComponent(target.rawValue)
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
            for file in files.sorted() {
                let bytes = try Repo.bytes(folder.appendingPathComponent(file))
                let used = allocatedBytes { target.run(bytes) }
                #expect((used ?? 0) < 64 * Int64(bytes.count) + (16 << 20), "\(target.rawValue)/\(file): \(used ?? 0) bytes")
            }
        }
    }
}
