import Testing
import RNFormat
import RNQuantize
import RNRuntime

/// Edits fields of a valid model, then fixes the checksum, so that each edit reaches the check
/// it targets instead of stopping at the CRC.
struct ModelPatch {
    var bytes: [UInt8]
    let original: ModelBuffer
    var file: RNBFile { original.model.file }

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        original = try! ModelBuffer(bytes)
    }

    mutating func set(_ at: Int, _ value: UInt32, width: Int = 4) {
        for k in 0..<width { bytes[at + k] = UInt8((value >> (8 * k)) & 0xFF) }
    }
    mutating func header(_ offset: Int, _ value: UInt32, width: Int = 4) { set(offset, value, width: width) }
    func tensorAt(_ t: Int) -> Int { Int(file.base.loadUnaligned(fromByteOffset: RNBHeader.tensorTableOffset, as: UInt32.self)) + t * RNBTensorRecord.size }
    func opAt(_ i: Int) -> Int { Int(file.base.loadUnaligned(fromByteOffset: RNBHeader.opTableOffset, as: UInt32.self)) + i * RNBOpRecord.size }
    mutating func tensor(_ t: Int, _ offset: Int, _ value: UInt32, width: Int = 4) { set(tensorAt(t) + offset, value, width: width) }
    mutating func op(_ i: Int, _ offset: Int, _ value: UInt32, width: Int = 4) { set(opAt(i) + offset, value, width: width) }
    mutating func param(_ i: Int, _ slot: Int, _ value: UInt32) { op(i, RNBOpRecord.paramsOffset + 4 * slot, value) }
    func param(_ i: Int, _ slot: Int) -> Int { Int(file.op(i).slots[slot]) }
    var metadataAt: Int { Int(file.base.loadUnaligned(fromByteOffset: RNBHeader.metadataOffset, as: UInt32.self)) }
    mutating func constant(_ offset: Int, _ value: UInt32, width: Int = 4) { set(file.constantsOffset + offset, value, width: width) }

    var status: RNStatus {
        do throws(RNError) {
            _ = try ModelBuffer(withChecksum(bytes))
            return .ok
        } catch {
            return error.status
        }
    }

    /// The loader's verdict on `model` after `edit`.
    static func status(_ model: [UInt8], _ edit: (inout ModelPatch) -> Void) -> RNStatus {
        var p = ModelPatch(model)
        edit(&p)
        return p.status
    }
}

@Suite struct ValidationTests {
    static let model = try! Repo.bytes(Repo.golden("tiny-resnet", "model.rnb"))
    // tiny-resnet: 0 conv, 1 max_pool, 2 conv, 3 conv, 4 add(t4, t2), 5 conv/2, 6 conv, 7 conv 1x1/2
    // (projection of t5), 8 add(t7, t8), 9 global average pool, 10 fully connected.

    typealias Edit = @Sendable (inout ModelPatch) -> Void
    static let cases: [(RNStatus, String, Edit)] = [
        (.unsupportedVersion, "version 2", { $0.header(RNBHeader.versionOffset, 2, width: 2) }),
        (.badHeaderSize, "header_size 64", { $0.header(RNBHeader.headerSizeOffset, 64, width: 2) }),
        (.badFlags, "flags 1", { $0.header(RNBHeader.flagsOffset, 1) }),
        (.reservedNotZero, "reserved byte", { $0.header(RNBHeader.reservedOffset + 5, 1, width: 1) }),
        (.badTensorCount, "tensor_count", { $0.header(RNBHeader.tensorCountOffset, 11) }),
        (.badOpCount, "op_count 0", { $0.header(RNBHeader.opCountOffset, 0) }),
        (.badOpCount, "op_count huge", { $0.header(RNBHeader.opCountOffset, 0x7000_0000) }),
        (.sectionMisaligned, "tensor table at 97", { $0.header(RNBHeader.tensorTableOffset, 97) }),
        (.sectionsOverlap, "op table inside tensor table", { $0.header(RNBHeader.opTableOffset, 112) }),
        (.sectionOutOfBounds, "constants past the end", { $0.header(RNBHeader.constantsSizeOffset, 1 << 20) }),
        (.sectionOutOfBounds, "offset above 2^31", { $0.header(RNBHeader.metadataOffset, 0x8000_0000) }),
        (.badInputTensor, "input tensor 1", { $0.header(RNBHeader.inputTensorOffset, 1, width: 2) }),
        (.badOutputTensor, "output tensor 0", { $0.header(RNBHeader.outputTensorOffset, 0, width: 2) }),
        (.badOutputTensor, "output tensor past the table", { $0.header(RNBHeader.outputTensorOffset, 12, width: 2) }),
        (.badOutputTensor, "output tensor not the last", { $0.header(RNBHeader.outputTensorOffset, 10, width: 2) }),
        (.badArenaSize, "arena 8", { $0.header(RNBHeader.arenaBytesOffset, 8) }),
        (.badScratchSize, "scratch = arena", { $0.header(RNBHeader.scratchBytesOffset, 1584) }),
        (.badLowerBound, "lower bound above arena", { $0.header(RNBHeader.lowerBoundOffset, 1600) }),
        (.inputTableOutOfBounds, "input table past constants", { $0.header(RNBHeader.inputTableOffset, 1 << 20) }),
        (.badTensorType, "dtype 2", { $0.tensor(1, RNBTensorRecord.dtypeOffset, 2, width: 1) }),
        (.badTensorRank, "rank 5", { $0.tensor(1, RNBTensorRecord.rankOffset, 5, width: 1) }),
        (.badTensorRank, "rank 0", { $0.tensor(1, RNBTensorRecord.rankOffset, 0, width: 1) }),
        (.badTensorDims, "batch 2", { $0.tensor(1, RNBTensorRecord.dimsOffset, 2) }),
        (.badTensorDims, "zero height", { $0.tensor(1, RNBTensorRecord.dimsOffset + 4, 0) }),
        (.badTensorDims, "negative width", { $0.tensor(1, RNBTensorRecord.dimsOffset + 8, UInt32(bitPattern: -3)) }),
        (.badTensorDims, "unused dim not 1", { $0.tensor(11, RNBTensorRecord.dimsOffset + 12, 4) }),
        (.badTensorScale, "scale NaN", { $0.tensor(1, RNBTensorRecord.scaleOffset, Float.nan.bitPattern) }),
        (.badTensorScale, "scale 0", { $0.tensor(1, RNBTensorRecord.scaleOffset, 0) }),
        (.badTensorScale, "scale negative", { $0.tensor(1, RNBTensorRecord.scaleOffset, Float(-1).bitPattern) }),
        (.badTensorZeroPoint, "zero point 200", { $0.tensor(1, RNBTensorRecord.zeroPointOffset, 200) }),
        (.tensorMisaligned, "arena offset 8", { $0.tensor(1, RNBTensorRecord.arenaOffsetOffset, 8) }),
        (.tensorOutsideArena, "arena offset at the end", { $0.tensor(1, RNBTensorRecord.arenaOffsetOffset, 1584) }),
        (.badOpKind, "kind 9", { $0.op(0, RNBOpRecord.kindOffset, 9, width: 1) }),
        (.badOperand, "input past the table", { $0.op(0, RNBOpRecord.input0Offset, 500, width: 2) }),
        (.badOperand, "second input on a conv", { $0.op(0, RNBOpRecord.input1Offset, 0, width: 2) }),
        (.badOperand, "add without second input", { $0.op(4, RNBOpRecord.input1Offset, 0xFFFF, width: 2) }),
        (.outputOutOfOrder, "op 0 writes tensor 3", { $0.op(0, RNBOpRecord.outputOffset, 3, width: 2) }),
        (.operandNotReady, "op 2 reads tensor 5", { $0.op(2, RNBOpRecord.input0Offset, 5, width: 2) }),
        (.operandNotReady, "op 2 reads its own output", { $0.op(2, RNBOpRecord.input0Offset, 3, width: 2) }),
        (.badActivationRange, "min > max", { $0.op(0, RNBOpRecord.actMinOffset, 100, width: 1); $0.op(0, RNBOpRecord.actMaxOffset, 0, width: 1) }),
        (.badWeightLayout, "layout 7", { $0.op(0, RNBOpRecord.weightLayoutOffset, 7, width: 1) }),
        (.opFieldNotZero, "layout on a pool", { $0.op(1, RNBOpRecord.weightLayoutOffset, 1, width: 1) }),
        (.opFieldNotZero, "param on a pool", { $0.param(1, 3, 1) }),
        (.opFieldNotZero, "window on an add", { $0.op(4, RNBOpRecord.windowOffset, 1, width: 1) }),
        (.opFieldNotZero, "reserved op bytes", { $0.op(0, RNBOpRecord.reservedOffset, 1, width: 2) }),
        (.badWindow, "kernel 0", { $0.op(0, RNBOpRecord.windowOffset, 0, width: 1) }),
        (.badStride, "stride 0", { $0.op(0, RNBOpRecord.windowOffset + 2, 0, width: 1) }),
        (.badPadding, "pad 3 on a 3x3", { $0.op(0, RNBOpRecord.windowOffset + 4, 3, width: 1) }),
        (.badOutputShape, "stride 2 keeps the size", { $0.op(0, RNBOpRecord.windowOffset + 2, 2, width: 1) }),
        (.badOutputShape, "kernel larger than input", { $0.op(7, RNBOpRecord.windowOffset, 9, width: 1); $0.op(7, RNBOpRecord.windowOffset + 1, 9, width: 1) }),
        (.badWeightsSize, "weights size + 1", { p in p.param(0, RNConvParams.Slot.weightsSize, UInt32(p.param(0, RNConvParams.Slot.weightsSize) + 1)) }),
        (.weightsOutOfBounds, "weights past constants", { p in p.param(0, RNConvParams.Slot.weightsOffset, UInt32(p.file.constantsSize)) }),
        (.weightsMisaligned, "weights at 8", { $0.param(0, RNConvParams.Slot.weightsOffset, 8) }),
        (.biasOutOfBounds, "bias misaligned", { p in p.param(0, RNConvParams.Slot.biasOffset, UInt32(p.param(0, RNConvParams.Slot.biasOffset) + 1)) }),
        (.multiplierOutOfBounds, "multipliers past constants", { p in p.param(10, RNConvParams.Slot.multiplierOffset, UInt32(p.file.constantsSize - 4)) }),
        (.shiftOutOfBounds, "shifts above 2^31", { $0.param(10, RNConvParams.Slot.shiftOffset, 0x9000_0000) }),
        (.badWeightValue, "weight -128", { p in p.constant(p.param(2, RNConvParams.Slot.weightsOffset) + 17, 0x80, width: 1) }),
        (.badMultiplier, "multiplier 5", { p in p.constant(p.param(3, RNConvParams.Slot.multiplierOffset) + 4, 5) }),
        (.badMultiplier, "multiplier 0 with a shift", { p in p.constant(p.param(3, RNConvParams.Slot.multiplierOffset), 0) }),
        (.badShift, "shift 40", { p in p.constant(p.param(3, RNConvParams.Slot.shiftOffset) + 8, 40) }),
        (.badShift, "shift -32", { p in p.constant(p.param(3, RNConvParams.Slot.shiftOffset), UInt32(bitPattern: -32)) }),
        (.badAddParameters, "left shift 30", { $0.param(4, RNAddParams.Slot.leftShift, 30) }),
        (.badAddParameters, "input shift positive", { $0.param(4, RNAddParams.Slot.input0Shift, 2) }),
        (.badMultiplier, "add output multiplier", { $0.param(8, RNAddParams.Slot.outputMultiplier, 77) }),
        (.shapeMismatch, "add of different shapes", { $0.op(8, RNBOpRecord.input1Offset, 2, width: 2) }),
        (.shapeMismatch, "fully connected to a feature map", { $0.tensor(11, RNBTensorRecord.rankOffset, 4, width: 1) }),
        (.quantizationMismatch, "max pool changes the scale", { $0.tensor(2, RNBTensorRecord.scaleOffset, Float(0.5).bitPattern) }),
        (.channelMismatch, "pool output with other channels", { $0.tensor(10, RNBTensorRecord.dimsOffset + 12, 8) }),
        (.planOverlap, "t3 over t2 while t2 lives", { p in p.tensor(3, RNBTensorRecord.arenaOffsetOffset, UInt32(p.file.tensor(2).arenaOffset)) }),
        (.inPlaceNotAllowed, "conv in place", { p in p.tensor(7, RNBTensorRecord.arenaOffsetOffset, UInt32(p.file.tensor(6).arenaOffset)) }),
        (.inPlaceNotAllowed, "add shifted over its input", { p in p.tensor(5, RNBTensorRecord.arenaOffsetOffset, UInt32(p.file.tensor(4).arenaOffset + 16)) }),
        (.tensorUnused, "a tensor nobody reads", { $0.op(8, RNBOpRecord.input1Offset, 7, width: 2) }),
        // Metadata: labels record first ("class 0\n...class 9", 79 bytes padded to 80), then preprocessing.
        (.badMetadata, "record longer than the section", { p in p.set(p.metadataAt + 4, 0x10000) }),
        (.badMetadata, "record reserved bytes", { p in p.set(p.metadataAt + 2, 1, width: 2) }),
        (.badLabels, "eleven labels for ten classes", { p in p.set(p.metadataAt + 8 + 5, 0x0A, width: 1) }),
        (.badPreprocessing, "gray preprocessing for RGB input", { p in p.set(p.metadataAt + 8 + 80 + 8, 1, width: 1) }),
        (.badPreprocessing, "std 0", { p in p.set(p.metadataAt + 8 + 80 + 8 + 24, 0) }),
    ]

    @Test func eachDefectGetsItsOwnError() {
        #expect(ModelPatch(Self.model).status == .ok)
        var seen = Set<RNStatus>()
        for (expected, name, edit) in Self.cases {
            var patch = ModelPatch(Self.model)
            edit(&patch)
            #expect(patch.status == expected, "\(name)")
            seen.insert(expected)
        }
        #expect(seen.count >= 52)
    }

    @Test func writerRejectsInconsistentMetadata() throws {
        var graph = SyntheticModelBuilder.tinyResNet(seed: 1)
        graph.labels = ["only", "three", "labels"]
        #expect(throws: RNBWriter.Failure.self) { try RNBWriter.write(graph) }
        graph.labels = nil
        graph.preprocessing?.channels = 1
        graph.preprocessing?.mean = [0.5]
        graph.preprocessing?.std = [0.5]
        #expect(throws: RNBWriter.Failure.self) { try RNBWriter.write(graph) }
    }
}

@Suite struct FusedOpValidationTests {
    static let model = try! Repo.bytes(Repo.golden("exported-resnet18-fused", "model.rnb"))
    // exported-resnet18-fused: op 0 stem conv, op 1 conv, op 2 conv2d_add(t2, residual t1), ...

    @Test func conv2DAddFieldsAreChecked() {
        let base = ModelPatch(Self.model)
        #expect(base.status == .ok)
        #expect(base.file.op(2).kind == .conv2DAdd && base.file.op(2).input1 == 1)
        func status(_ edit: (inout ModelPatch) -> Void) -> RNStatus { ModelPatch.status(Self.model, edit) }
        #expect(status { $0.param(2, RNConvAddParams.Slot.convZeroPoint, 200) } == .badAddParameters)
        #expect(status { p in p.param(2, RNConvAddParams.Slot.packedShifts, UInt32(p.param(2, RNConvAddParams.Slot.packedShifts)) | 0x0100_0000) } == .badAddParameters)
        #expect(status { $0.param(2, RNConvAddParams.Slot.packedShifts, 0x0000_0005) } == .badAddParameters)   // conv shift > 0
        #expect(status { $0.param(2, RNConvAddParams.Slot.leftShift, 30) } == .badAddParameters)
        #expect(status { $0.param(2, RNConvAddParams.Slot.residualMultiplier, 12) } == .badMultiplier)
        #expect(status { $0.op(2, RNBOpRecord.input1Offset, 0xFFFF, width: 2) } == .badOperand)
        #expect(status { $0.op(2, RNBOpRecord.input1Offset, 0, width: 2) } == .shapeMismatch)       // the 16x16x3 input
        // Written next to the residual instead of exactly over it; or over its conv input.
        #expect(status { p in p.tensor(3, RNBTensorRecord.arenaOffsetOffset, UInt32(p.file.tensor(1).arenaOffset + 16)) } == .inPlaceNotAllowed)
        #expect(status { p in p.tensor(3, RNBTensorRecord.arenaOffsetOffset, UInt32(p.file.tensor(2).arenaOffset)) } == .inPlaceNotAllowed)
    }
}

@Suite struct RingValidationTests {
    static let model = try! Repo.bytes(Repo.golden("exported-resnet18-imagenet-stem", "model.rnb"))

    @Test func conv2DMaxPoolRingIsChecked() {
        let base = ModelPatch(Self.model)
        #expect(base.status == .ok && base.file.op(0).kind == .conv2DMaxPool)
        func status(_ edit: (inout ModelPatch) -> Void) -> RNStatus { ModelPatch.status(Self.model, edit) }
        // Over the op's own input or output, misaligned, past the arena.
        #expect(status { p in p.param(0, RNConvMaxPoolParams.Slot.ringOffset, UInt32(p.file.tensor(0).arenaOffset)) } == .planOverlap)
        #expect(status { p in p.param(0, RNConvMaxPoolParams.Slot.ringOffset, UInt32(p.file.tensor(1).arenaOffset)) } == .planOverlap)
        #expect(status { $0.param(0, RNConvMaxPoolParams.Slot.ringOffset, 8) } == .tensorOutsideArena)
        #expect(status { p in p.param(0, RNConvMaxPoolParams.Slot.ringOffset, UInt32(p.file.activationBytes)) } == .tensorOutsideArena)
        #expect(status { $0.param(0, RNConvMaxPoolParams.Slot.poolKernelAndStride, 0x0202_0000) } == .badWindow)   // pool kernel 0
        #expect(status { $0.param(0, 9, 1) } == .opFieldNotZero)
    }
}

@Suite struct WeightLayoutValidationTests {
    // The imagenet-stem golden graph in layout 1: op 0 is the 7x7 stem (a kernel row's 7 x 3
    // weights padded to 6 groups of 4; 4 output channels padded to 16), the last op the fully
    // connected layer.
    static let model = try! Repo.bytes(Repo.golden("exported-resnet18-imagenet-stem", "model-o16hwi4.rnb"))

    @Test func layoutOneFieldsAreChecked() {
        let base = ModelPatch(Self.model)
        #expect(base.status == .ok && base.file.op(0).weightLayout == .o16hwi4)
        func status(_ edit: (inout ModelPatch) -> Void) -> RNStatus { ModelPatch.status(Self.model, edit) }
        let weights = base.param(0, RNConvParams.Slot.weightsOffset)
        let last = base.file.opCount - 1
        #expect(base.file.op(last).kind == .fullyConnected)
        // Position 21 of kernel row 0 (group 5, byte 1) of output channel 0 is padding, as is output
        // channel 4 (lane 4); position 3 (kx 1, ci 0) is a weight.
        #expect(status { $0.constant(weights + 5 * 64 + 1, 1, width: 1) } == .badWeightValue)
        #expect(status { $0.constant(weights + 3, 1, width: 1) } == .ok)
        #expect(status { $0.constant(weights + 4 * 4, 0xFF, width: 1) } == .badWeightValue)
        #expect(status { $0.constant(weights, 0x80, width: 1) } == .badWeightValue)                // -128
        #expect(status { p in p.param(0, RNConvParams.Slot.weightsSize, UInt32(p.param(0, RNConvParams.Slot.weightsSize) - 64)) } == .badWeightsSize)
        #expect(status { $0.header(RNBHeader.scratchBytesOffset, 16) } == .badScratchSize)
        #expect(status { $0.op(last, RNBOpRecord.weightLayoutOffset, 1, width: 1) } == .badWeightLayout)   // fully connected
        #expect(status { $0.op(0, RNBOpRecord.weightLayoutOffset, 2, width: 1) } == .badWeightLayout)
    }
}
