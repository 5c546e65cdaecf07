import Foundation
import Testing
import RNFormat
import RNKernels
import RNQuantize
import RNTrain
import RNRuntime
import RNTestSupportC

@Suite struct RuntimeTests {
    static let goldenCases = ["tiny-resnet", "tiny-resnet-gray", "exported-resnet18-fused", "exported-resnet18-imagenet-stem"]

    @Test(arguments: goldenCases)
    func goldenOutputs(_ name: String) throws {
        let buffer = try ModelBuffer(try Repo.bytes(Repo.golden(name, "model.rnb")))
        let model = buffer.model
        let inputs = try Repo.bytes(Repo.golden(name, "inputs.bin")).map { Int8(bitPattern: $0) }
        let expected = try Repo.bytes(Repo.golden(name, "expected.bin")).map { Int8(bitPattern: $0) }
        let n = inputs.count / model.input.byteCount
        #expect(n >= 3 && n * model.output.byteCount == expected.count)
        for k in 0..<n {
            let input = Array(inputs[(k * model.input.byteCount)..<((k + 1) * model.input.byteCount)])
            let want = Array(expected[(k * model.output.byteCount)..<((k + 1) * model.output.byteCount)])
            let got = try run(model, input)
            #expect(diff(got, want) == "OK", "\(name) input \(k)")
        }
    }

    @Test func writerIsDeterministicAndMatchesGolden() throws {
        let committed = try Repo.bytes(Repo.golden("tiny-resnet", "model.rnb"))
        let written = try RNBWriter.write(SyntheticModelBuilder.tinyResNet(seed: 1))
        #expect(written == committed, "format or writer changed: regenerate with `swift run rn-golden` if intended")
    }

    @Test func syntheticActivationsAreNotDegenerate() throws {
        // Goldens only test arithmetic if values spread over the int8 range at every layer.
        let buffer = try ModelBuffer(try RNBWriter.write(SyntheticModelBuilder.tinyResNet(seed: 1)))
        let model = buffer.model
        var rng = SeededRandom(seed: 5)
        let input = (0..<model.input.byteCount).map { _ in Int8.random(in: -128...127, using: &rng) }
        let arena = Arena(model.arenaBytes)
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        var distinct = [Int]()
        try model.invoke(arena: arena.buffer, input: input, output: &output) { event in
            if event.phase == .end {
                distinct.append(Set(UnsafeBufferPointer(start: event.output, count: event.byteCount)).count)
            }
        }
        #expect(distinct.count == model.opCount)
        #expect(distinct.allSatisfy { $0 >= 5 }, "distinct values per layer: \(distinct)")
    }

    @Test func observerSeesEveryOpWithMacs() throws {
        let graph = SyntheticModelBuilder.tinyResNet(seed: 1)
        let buffer = try ModelBuffer(try RNBWriter.write(graph))
        let model = buffer.model
        let arena = Arena(model.arenaBytes)
        var events = [(RNLayerEvent.Phase, Int, RNOpKind, Int)]()
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        let input = [Int8](repeating: 3, count: model.input.byteCount)
        try model.invoke(arena: arena.buffer, input: input, output: &output) { e in
            events.append((e.phase, e.opIndex, e.kind, e.macs))
        }
        #expect(events.count == 2 * graph.ops.count)
        #expect(events.map { $0.1 } == (0..<graph.ops.count).flatMap { [$0, $0] })
        // Stem: 12x12 output, 8 channels, 3x3x3 taps.
        #expect(events[0].2 == .conv2D && events[0].3 == 12 * 12 * 8 * 27)
        #expect(events.last!.2 == .fullyConnected && events.last!.3 == 16 * 10)
        #expect(output == (try run(model, input)))
    }

    @Test func arenaTooSmallNamesBothNumbers() throws {
        let buffer = try ModelBuffer(try RNBWriter.write(SyntheticModelBuilder.tinyResNet(seed: 1)))
        let model = buffer.model
        let arena = Arena(model.arenaBytes)
        let input = [Int8](repeating: 0, count: model.input.byteCount)
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        let short = UnsafeMutableRawBufferPointer(rebasing: arena.buffer[0..<(model.arenaBytes - 16)])
        #expect(throws: RNError(.arenaTooSmall, found: model.arenaBytes - 16, limit: model.arenaBytes)) {
            try model.invoke(arena: short, input: input, output: &output)
        }
        #expect(describe(RNError(.arenaTooSmall, found: 100, limit: 1584)) == "arena too small: 100 bytes given, 1584 needed")
        let shifted = UnsafeMutableRawBufferPointer(rebasing: arena.buffer[1...])
        #expect(throws: RNError(.arenaMisaligned)) { try model.invoke(arena: shifted, input: input, output: &output) }
    }

    @Test func arenaContentsOnEntryDoNotMatter() throws {
        let buffer = try ModelBuffer(try RNBWriter.write(SyntheticModelBuilder.tinyResNet(seed: 1)))
        let model = buffer.model
        let input = (0..<model.input.byteCount).map { Int8(truncatingIfNeeded: $0 &* 37) }
        let arena = Arena(model.arenaBytes)
        var a = [Int8](repeating: 0, count: model.output.byteCount), b = a
        arena.buffer.initializeMemory(as: UInt8.self, repeating: 0xA5)
        try model.invoke(arena: arena.buffer, input: input, output: &a)
        try model.invoke(arena: arena.buffer, input: input, output: &b)
        #expect(a == b)
    }

    @Test(.enabled(if: rn_test_alloc_counting_available() == 1, "allocation counting is off under AddressSanitizer"))
    func noAllocationAtOpenOrInvoke() throws {
        let aligned = AlignedBytes(try Repo.bytes(Repo.golden("tiny-resnet", "model.rnb")))
        let arena = Arena(64 * 1024)
        let input = UnsafeMutablePointer<Int8>.allocate(capacity: 4096)
        let output = UnsafeMutablePointer<Int8>.allocate(capacity: 4096)
        defer { input.deallocate(); output.deallocate() }
        input.initialize(repeating: 7, count: 4096)

        // The counter works: an array allocation on this thread is seen.
        rn_test_alloc_count_begin()
        let probe = [Int](repeating: 1, count: Int.random(in: 100...200))
        let probeCount = rn_test_alloc_count_end()
        #expect(probe.count >= 100)
        #expect(rn_test_alloc_interposed() == 1 && probeCount >= 1)

        // The Swift host runtime builds some type metadata on first use (once per process, in
        // the runtime library, not in rn): warm it up with one open and invoke first, so that
        // the count below does not depend on which suite ran first. What the count proves is
        // that opening and invoking allocate nothing, every time; the Embedded -no-allocations
        // build proves the device code cannot allocate at all.
        if let warm = try? RNModel(bytes: aligned.bytes) { try? warm.invoke(arena: arena.buffer, input: input, output: output) }

        rn_test_alloc_count_begin()
        var status = RNStatus.ok
        var invokes = 0
        do throws(RNError) {
            let model = try RNModel(bytes: aligned.bytes)
            for _ in 0..<100 {
                try model.invoke(arena: arena.buffer, input: input, output: output)
                invokes += 1
            }
        } catch {
            status = error.status
        }
        let allocations = rn_test_alloc_count_end()
        #expect(status == .ok && invokes == 100)
        #expect(allocations == 0, "allocations around open + 100 invokes: \(allocations)")
    }
}
