import Testing
import RNFormat
import RNQuantize
import RNTrain
import RNRuntime

// Bad model bytes must give a specific error, never a crash, a hang or an out-of-bounds read.
// Each mutant lives in its own exact-size allocation, so `swift test --sanitize=address` (run
// by CI) turns any read past a model's end into a failure.

/// Loads a mutant; if the runtime accepts it, runs it once with an exact-size arena followed by
/// guard bytes, and reports in `stayedInArena` whether the guard survived (without AddressSanitizer
/// a write past the arena would go unseen). Returns the status (ok when accepted and invoked).
func loadAndRun(_ bytes: [UInt8], stayedInArena: inout Bool) -> RNStatus {
    let aligned = AlignedBytes(bytes)
    do throws(RNError) {
        let model = try RNModel(bytes: aligned.bytes)
        guard model.arenaBytes <= 1 << 24 else { return .ok }   // valid, but not worth 16 MiB here
        let guardBytes = 256
        let arena = Arena(model.arenaBytes + guardBytes)
        let guardZone = UnsafeMutableRawBufferPointer(rebasing: arena.buffer[model.arenaBytes...])
        guardZone.initializeMemory(as: UInt8.self, repeating: 0xA5)
        let input = [Int8](repeating: 1, count: model.input.byteCount)
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        try model.invoke(arena: UnsafeMutableRawBufferPointer(rebasing: arena.buffer[..<model.arenaBytes]), input: input,
                         output: &output)
        stayedInArena = guardZone.allSatisfy { $0 == 0xA5 }
        return .ok
    } catch {
        return error.status
    }
}

func loadAndRun(_ bytes: [UInt8]) -> RNStatus {
    var stayedInArena = true
    let status = loadAndRun(bytes, stayedInArena: &stayedInArena)
    return stayedInArena ? status : .tensorOutsideArena
}

func withChecksum(_ bytes: [UInt8]) -> [UInt8] {
    var fixed = bytes
    let crc = fixed.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[RNBHeader.crcStart...])) }
    for k in 0..<4 { fixed[RNBHeader.crcOffset + k] = UInt8((crc >> (8 * k)) & 0xFF) }
    return fixed
}

@Suite struct CorruptionTests {
    static let model = try! Repo.bytes(Repo.golden("tiny-resnet", "model.rnb"))

    @Test func everyTruncationIsRejected() {
        var statuses = Set<RNStatus>()
        for length in 0..<Self.model.count {
            let status = loadAndRun(Array(Self.model[0..<length]))
            #expect(status != .ok, "truncated to \(length) bytes was accepted")
            statuses.insert(status)
        }
        #expect(statuses == [.truncatedHeader, .truncatedFile], "\(statuses)")
        #expect(loadAndRun(Self.model) == .ok)
        #expect(loadAndRun(Self.model + [0]) == .fileSizeMismatch)
    }

    @Test func singleByteFlipsAreRejected() {
        var rng = SeededRandom(seed: 2024)
        var statuses = [RNStatus: Int]()
        for _ in 0..<500 {
            var bytes = Self.model
            let position = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[position] ^= UInt8.random(in: 1...255, using: &rng)
            let status = loadAndRun(bytes)
            #expect(status != .ok, "flip at \(position) accepted")
            statuses[status, default: 0] += 1
        }
        #expect(statuses[.checksumMismatch, default: 0] > 400)
    }

    /// A writer with a bug, or a hand-made file, can carry a correct checksum over wrong
    /// structure: flip every byte before the constants (header, tensor and op tables), fix the
    /// checksum, and demand a clean error or a model that runs.
    @Test func structuralFlipsWithValidChecksumNeverCrash() throws {
        let buffer = try ModelBuffer(Self.model)
        let tablesEnd = buffer.model.file.constantsOffset
        var rejected = 0, accepted = 0, escaped: [Int] = []
        var statuses = Set<RNStatus>()
        for position in RNBHeader.crcStart..<tablesEnd {
            for mask: UInt8 in [0x01, 0x10, 0x80, 0xFF] {
                var bytes = Self.model
                bytes[position] ^= mask
                var stayedInArena = true
                let status = loadAndRun(withChecksum(bytes), stayedInArena: &stayedInArena)
                if status == .ok { accepted += 1 } else { rejected += 1; statuses.insert(status) }
                if !stayedInArena { escaped.append(position) }
            }
        }
        // Every mutant the loader accepted ran inside the arena it declared.
        #expect(escaped.isEmpty, "accepted mutants wrote past their arena: flips at \(escaped.prefix(8))")
        print("structural flips: \(rejected) rejected, \(accepted) accepted and ran; \(statuses.count) distinct errors")
        #expect(rejected > accepted)
        #expect(statuses.count >= 20, "distinct errors seen: \(statuses.map(\.rawValue).sorted())")
    }

    @Test func randomGarbageIsRejected() {
        var rng = SeededRandom(seed: 9)
        for length in [0, 1, 15, 95, 96, 97, 200, 4096] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            #expect(loadAndRun(bytes) != .ok)
        }
        // A header that claims a huge file: truncated, not a huge allocation.
        var huge = Self.model
        huge[RNBHeader.fileSizeOffset + 3] = 0x7F
        #expect(loadAndRun(withChecksum(huge)) == .truncatedFile)
    }
}
