import Testing
import RNFormat
import RNKernels
import RNQuantize
import RNRuntime

@Suite struct FormatTests {
    @Test func crc32CheckValue() {
        let bytes = Array("123456789".utf8)
        #expect(bytes.withUnsafeBytes { crc32($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { crc32($0) } == 0)
        // Incremental use: crc of the halves chained equals crc of the whole.
        let first = bytes[0..<4].withUnsafeBytes { crc32($0) }
        #expect(bytes[4...].withUnsafeBytes { crc32($0, initial: first) } == 0xCBF4_3926)
    }

    @Test func writerRoundTripsEveryField() throws {
        let graph = SyntheticModelBuilder.tinyResNet(seed: 3)
        let bytes = try RNBWriter.write(graph)
        let aligned = AlignedBytes(bytes)
        let file = try RNBFile(validating: aligned.bytes)
        #expect(file.fileSize == bytes.count)
        #expect(file.tensorCount == graph.tensors.count && file.opCount == graph.ops.count)
        #expect(file.inputTensor == 0 && file.outputTensor == graph.outputTensor)
        for (t, tensor) in graph.tensors.enumerated() {
            let read = file.tensor(t)
            #expect(read.rank == tensor.shape.count)
            #expect([read.dims.0, read.dims.1, read.dims.2, read.dims.3].prefix(tensor.shape.count) == ArraySlice(tensor.shape))
            #expect(read.scale == tensor.scale && read.zeroPoint == tensor.zeroPoint)
            #expect(read.byteCount == tensor.byteCount && read.arenaOffset % 16 == 0)
        }
        for (i, op) in graph.ops.enumerated() {
            let read = file.op(i)
            #expect(read.output == i + 1)
            #expect([read.input0] + (read.input1 >= 0 ? [read.input1] : []) == op.inputs)
            if case .conv2D(_, let window, let weights, let act) = op {
                #expect(read.kind == .conv2D && read.window == window)
                #expect(read.activationMin == act.min && read.activationMax == act.max)
                let w = file.constants + Int(read.params(RNConvParams.self).weightsOffset)
                #expect(Array(UnsafeRawBufferPointer(start: w, count: weights.values.count)).map { Int8(bitPattern: $0) }
                        == weights.values)
                let m = (file.constants + Int(read.params(RNConvParams.self).multiplierOffset)).assumingMemoryBound(to: Int32.self)
                #expect(m[0] == weights.multipliers[0].multiplier.raw)
            }
        }
        let table = Array(UnsafeBufferPointer(start: file.inputTable, count: 256 * 3))
        #expect(table == graph.inputTable)
        #expect(String(decoding: file.label(7)!, as: UTF8.self) == "class 7")
        #expect(file.label(10) == nil)
        let provenance = String(decoding: file.metadata(RNBMetadata.provenanceKey)!, as: UTF8.self)
        #expect(provenance.contains("generator=SyntheticModelBuilder"))
        #expect(file.metadata(RNBMetadata.preprocessingKey)?.count == RNBPreprocessing.size)
        #expect(file.preprocessing != nil && file.preprocessing == graph.preprocessing?.record)   // the typed record round-trips
    }

    @Test func plannerSharesMemoryAndAddsInPlace() throws {
        let graph = SyntheticModelBuilder.tinyResNet(seed: 3)
        let plan = ArenaPlanner.plan(graph)
        let total = graph.tensors.reduce(0) { $0 + (($1.byteCount + 15) & ~15) }
        #expect(plan.activationBytes < total)
        // Each add writes over one of its inputs.
        for (i, op) in graph.ops.enumerated() {
            if case .add(let a, let b, _, _, _) = op {
                #expect(plan.offsets[i + 1] == plan.offsets[a] || plan.offsets[i + 1] == plan.offsets[b])
            }
        }
        let buffer = try ModelBuffer(try RNBWriter.write(graph))
        let model = buffer.model
        #expect(model.arenaLowerBound <= model.arenaBytes)
        // The bound, recomputed here from the graph alone by FORMAT.md section 7 (not through the
        // plan rules the writer used): live 16-byte blocks per step, an add's output not counted
        // when one of its inputs dies there.
        func blocks(_ t: Int) -> Int { (graph.tensors[t].byteCount + 15) / 16 }
        func lastUse(_ t: Int) -> Int {
            t == graph.outputTensor ? graph.ops.count : (graph.ops.indices.last { graph.ops[$0].inputs.contains(t) } ?? -1)
        }
        var peak = 0
        for step in -1...graph.ops.count {
            var live = graph.tensors.indices.filter { $0 - 1 <= step && step <= lastUse($0) }.map(blocks).reduce(0, +)
            if step >= 0 && step < graph.ops.count, case .add(let a, let b, _, _, _) = graph.ops[step],
               lastUse(a) == step || lastUse(b) == step {
                live -= blocks(step + 1)
            }
            peak = max(peak, live)
        }
        #expect(model.arenaLowerBound == 16 * peak && model.computeLowerBound() == 16 * peak)
    }
}
