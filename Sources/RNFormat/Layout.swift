// The byte layout of an `.rnb` model: the single definition that the writer (RNQuantize) and the
// zero-copy reader (RNBFile) share. FORMAT.md in this folder is the same list in prose; keep both
// in step. All integers are little-endian; floats are IEEE-754 binary32.

#if _endian(big)
#error("rn reads .rnb files in place and supports little-endian targets only")
#endif

/// Fixed header: 96 bytes at offset 0.
public enum RNBHeader {
    public static let size = 96
    /// "RNB8"
    public static let magic: (UInt8, UInt8, UInt8, UInt8) = (0x52, 0x4E, 0x42, 0x38)
    public static let version: UInt16 = 1
    /// The CRC-32 covers bytes [crcStart, file_size): everything after the crc field.
    public static let crcStart = 16

    public static let magicOffset = 0               // 4 bytes "RNB8"
    public static let versionOffset = 4             // u16
    public static let headerSizeOffset = 6          // u16, = 96
    public static let fileSizeOffset = 8            // u32
    public static let crcOffset = 12                // u32, CRC-32 (IEEE) of bytes [16, file_size)
    public static let flagsOffset = 16              // u32, = 0
    public static let arenaBytesOffset = 20         // u32, whole arena the caller provides
    public static let scratchBytesOffset = 24       // u32, kernel scratch at the arena's end
    public static let lowerBoundOffset = 28         // u32, least possible arena for this graph
    public static let tensorCountOffset = 32        // u32
    public static let tensorTableOffset = 36        // u32
    public static let opCountOffset = 40            // u32
    public static let opTableOffset = 44            // u32
    public static let constantsOffset = 48          // u32
    public static let constantsSizeOffset = 52      // u32
    public static let metadataOffset = 56           // u32
    public static let metadataSizeOffset = 60       // u32
    public static let inputTensorOffset = 64        // u16
    public static let outputTensorOffset = 66       // u16
    public static let inputTableOffset = 68         // u32, relative to constants: 256 x C int8
    public static let reservedOffset = 72           // 24 bytes, zero
}

/// Tensor table entry: 32 bytes.
public enum RNBTensorRecord {
    public static let size = 32
    public static let dtypeOffset = 0               // u8, 1 = int8
    public static let rankOffset = 1                // u8, 1...4
    public static let reservedOffset = 2            // u16, 0
    public static let dimsOffset = 4                // 4 x i32, NHWC, unused trailing dims 1
    public static let scaleOffset = 20              // f32
    public static let zeroPointOffset = 24          // i32, -128...127
    public static let arenaOffsetOffset = 28        // u32, 16-byte aligned
    public static let dtypeInt8: UInt8 = 1
}

/// Op table entry: 64 bytes.
public enum RNBOpRecord {
    public static let size = 64
    public static let kindOffset = 0                // u8, RNOpKind
    public static let weightLayoutOffset = 1        // u8, RNWeightLayout
    public static let actMinOffset = 2              // i8
    public static let actMaxOffset = 3              // i8
    public static let input0Offset = 4              // u16
    public static let input1Offset = 6              // u16, 0xFFFF = none
    public static let outputOffset = 8              // u16
    public static let reservedOffset = 10           // u16, 0
    public static let windowOffset = 12             // 8 x u8: kh kw sh sw pad_t pad_l pad_b pad_r
    public static let paramsOffset = 20             // RNParamSlots: 11 words, read per kind by its RNOpParameters
    public static let noTensor: UInt16 = 0xFFFF
    public static let maxOps = 1024
}

/// Op kinds. Values are part of the format. Each kind's traits below are what the writer and the
/// loader share; everything else the runtime knows about a kind is in RNRuntime/Ops/<Kind>.swift.
public enum RNOpKind: UInt8, Sendable {
    /// params: `RNConvParams`.
    case conv2D = 1
    /// Input flattened (H*W*C) to a [1, K] output. params: `RNConvParams`; window bytes zero.
    case fullyConnected = 2
    /// TFLite int8 add. params: `RNAddParams`.
    case add = 3
    /// Window, stride, padding from the window bytes; no params.
    case maxPool = 4
    /// [1,H,W,C] -> C channels, same quantization; window bytes and params zero.
    case globalAveragePool = 5
    /// A convolution whose int8 result is added to a residual tensor (input1) with TFLite add
    /// arithmetic, as conv2d followed by add would, without the convolution's output ever being
    /// stored: the output may overwrite the residual. params: `RNConvAddParams`.
    case conv2DAdd = 6
    /// A convolution streamed row by row into the max pool after it, with only `pool kernel_h`
    /// convolution rows held at a time, in a ring in the arena. params: `RNConvMaxPoolParams`.
    case conv2DMaxPool = 7
    /// TFLite's int8 MEAN over height and width: [1,H,W,C] -> C channels, requantized to the
    /// output's own scale and zero point. params: `RNMeanParams`; window bytes zero.
    case mean = 8

    /// Input tensors the op reads: 1, or 2 (input1 is then a tensor, else 0xFFFF).
    @inlinable public var inputCount: Int { self == .add || self == .conv2DAdd ? 2 : 1 }

    /// Whether the op carries weights, bias and per-channel requantization (`RNConvParams`).
    @inlinable public var hasWeights: Bool {
        self == .conv2D || self == .fullyConnected || self == .conv2DAdd || self == .conv2DMaxPool
    }

    /// Whether the op's window bytes are used (else they must be zero).
    @inlinable public var usesWindow: Bool {
        self == .conv2D || self == .maxPool || self == .conv2DAdd || self == .conv2DMaxPool
    }

    /// Whether the weight layout byte may be 1 (o16hwi4): the convolutions.
    @inlinable public var acceptsBlockedLayout: Bool { hasWeights && self != .fullyConnected }

    /// Whether the op may write its output exactly over input `k` (0 or 1) when that input dies
    /// there: it reads each element of that input just before writing the same element. An add
    /// over either input, a conv2d_add over its residual (input 1).
    @inlinable public func mayRunInPlace(overInput k: Int) -> Bool {
        switch self {
        case .add: return k == 0 || k == 1
        case .conv2DAdd: return k == 1
        default: return false
        }
    }

    /// Parameter slots the kind uses; slots from here to 10 must be zero.
    @inlinable public var paramSlotCount: Int {
        switch self {
        case .conv2D, .fullyConnected: return RNConvParams.slotCount
        case .add: return RNAddParams.slotCount
        case .maxPool, .globalAveragePool: return 0
        case .conv2DAdd: return RNConvAddParams.slotCount
        case .conv2DMaxPool: return RNConvMaxPoolParams.slotCount
        case .mean: return RNMeanParams.slotCount
        }
    }

    /// Name and signedness of parameter slot `i` (below `paramSlotCount`), as FORMAT.md lists them.
    public func paramSlot(_ i: Int) -> RNParamSlot {
        switch self {
        case .conv2D, .fullyConnected: return RNConvParams.slot(i)
        case .add: return RNAddParams.slot(i)
        case .maxPool, .globalAveragePool: return RNParamSlot(name: UnsafeRawBufferPointer(start: nil, count: 0), encoding: .u32)
        case .conv2DAdd: return RNConvAddParams.slot(i)
        case .conv2DMaxPool: return RNConvMaxPoolParams.slot(i)
        case .mean: return RNMeanParams.slot(i)
        }
    }

    public var name: StaticString {
        switch self {
        case .conv2D: return "conv2d"
        case .fullyConnected: return "fully_connected"
        case .add: return "add"
        case .maxPool: return "max_pool"
        case .globalAveragePool: return "global_average_pool"
        case .conv2DAdd: return "conv2d_add"
        case .conv2DMaxPool: return "conv2d_max_pool"
        case .mean: return "mean"
        }
    }
}

// MARK: - Parameter slots

/// The 11 parameter slots of an op record (bytes 20..<64), as raw 32-bit words.
public struct RNParamSlots: Sendable, Equatable {
    public static let count = 11
    public var words: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    @inlinable public init() { words = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }

    /// Slot `i`, 0 to 10. (A switch, not a pointer cast: -no-allocations on 32-bit Arm rejects
    /// what `withUnsafeBytes(of:)` over the tuple specializes into.)
    @inlinable public subscript(i: Int) -> UInt32 {
        get {
            switch i {
            case 0: return words.0
            case 1: return words.1
            case 2: return words.2
            case 3: return words.3
            case 4: return words.4
            case 5: return words.5
            case 6: return words.6
            case 7: return words.7
            case 8: return words.8
            case 9: return words.9
            default: return words.10
            }
        }
        set {
            switch i {
            case 0: words.0 = newValue
            case 1: words.1 = newValue
            case 2: words.2 = newValue
            case 3: words.3 = newValue
            case 4: words.4 = newValue
            case 5: words.5 = newValue
            case 6: words.6 = newValue
            case 7: words.7 = newValue
            case 8: words.8 = newValue
            case 9: words.9 = newValue
            default: words.10 = newValue
            }
        }
    }
    @inlinable public func signed(_ i: Int) -> Int32 { Int32(bitPattern: self[i]) }
    @inlinable public mutating func set(_ i: Int, _ v: Int32) { self[i] = UInt32(bitPattern: v) }

    public static func == (a: RNParamSlots, b: RNParamSlots) -> Bool {
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }
}

/// How one parameter slot is read: its name and whether it is an unsigned word, a signed one,
/// or four bytes packed in one word.
public struct RNParamSlot {
    public enum Encoding: UInt8, Sendable { case u32, i32, packedBytes }   // a raw type: no synthesized hash(into:), which would pull in the hasher seed (arc4random_buf)
    /// UTF-8, as FORMAT.md's slot tables name it.
    public var name: UnsafeRawBufferPointer
    public var encoding: Encoding
}

/// The parameters of one op kind, read from and written to the record's slots: the writer and
/// every reader go through these, never through slot numbers. `slotTable` lists the slots in
/// order as `name:type` words (type `u32`, `i32` or `u8x4`), as FORMAT.md's table for the kind does.
public protocol RNOpParameters: Sendable {
    static var slotTable: StaticString { get }
    init(slots: RNParamSlots)
    var slots: RNParamSlots { get }
}

extension RNOpParameters {
    /// Slots the kind uses; the rest must be zero.
    public static var slotCount: Int {
        var count = 0
        for byte in UnsafeRawBufferPointer(start: slotTable.utf8Start, count: slotTable.utf8CodeUnitCount) where byte == 0x20 {
            count += 1
        }
        return slotTable.utf8CodeUnitCount == 0 ? 0 : count + 1
    }

    /// Slot `i` (below `slotCount`) from `slotTable`.
    public static func slot(_ i: Int) -> RNParamSlot {
        let table = UnsafeRawBufferPointer(start: slotTable.utf8Start, count: slotTable.utf8CodeUnitCount)
        var start = 0, index = 0
        for end in 0...table.count where end == table.count || table[end] == 0x20 {
            if index == i {
                var colon = start
                while table[colon] != 0x3A { colon += 1 }   // ':'
                let type = table[colon + 1] == 0x69 ? RNParamSlot.Encoding.i32 : table[colon + 2] == 0x38 ? .packedBytes : .u32
                return RNParamSlot(name: UnsafeRawBufferPointer(rebasing: table[start..<colon]), encoding: type)
            }
            index += 1
            start = end + 1
        }
        return RNParamSlot(name: UnsafeRawBufferPointer(start: nil, count: 0), encoding: .u32)
    }
}

/// conv2d and fully_connected (and the first five slots of the fused convolutions): constant
/// offsets of the weights, bias, multipliers and shifts, and the weights' byte count.
public struct RNConvParams: RNOpParameters, Equatable {
    public var weightsOffset: UInt32, weightsSize: UInt32, biasOffset: UInt32
    public var multiplierOffset: UInt32, shiftOffset: UInt32
    /// Slot numbers.
    public enum Slot {
        public static let weightsOffset = 0, weightsSize = 1, biasOffset = 2, multiplierOffset = 3, shiftOffset = 4
    }
    public static let slotTable: StaticString = "weights_offset:u32 weights_size:u32 bias_offset:u32 multiplier_offset:u32 shift_offset:u32"
    public init(weightsOffset: UInt32, weightsSize: UInt32, biasOffset: UInt32, multiplierOffset: UInt32, shiftOffset: UInt32) {
        self.weightsOffset = weightsOffset; self.weightsSize = weightsSize; self.biasOffset = biasOffset
        self.multiplierOffset = multiplierOffset; self.shiftOffset = shiftOffset
    }
    @inlinable public init(slots s: RNParamSlots) {
        weightsOffset = s[Slot.weightsOffset]; weightsSize = s[Slot.weightsSize]; biasOffset = s[Slot.biasOffset]
        multiplierOffset = s[Slot.multiplierOffset]; shiftOffset = s[Slot.shiftOffset]
    }
    public var slots: RNParamSlots {
        var s = RNParamSlots()
        s[Slot.weightsOffset] = weightsOffset; s[Slot.weightsSize] = weightsSize; s[Slot.biasOffset] = biasOffset
        s[Slot.multiplierOffset] = multiplierOffset; s[Slot.shiftOffset] = shiftOffset
        return s
    }
}

/// add: TFLite's int8 Add. Each input is shifted left by `leftShift`, rescaled by its own
/// multiplier (shift <= 0), summed, and rescaled by the output multiplier.
public struct RNAddParams: RNOpParameters, Equatable {
    public var leftShift: Int32
    public var input0Multiplier: Int32, input0Shift: Int32
    public var input1Multiplier: Int32, input1Shift: Int32
    public var outputMultiplier: Int32, outputShift: Int32
    /// Slot numbers.
    public enum Slot {
        public static let leftShift = 0, input0Multiplier = 1, input0Shift = 2, input1Multiplier = 3, input1Shift = 4
        public static let outputMultiplier = 5, outputShift = 6
    }
    public static let slotTable: StaticString = "left_shift:i32 input0_multiplier:i32 input0_shift:i32 input1_multiplier:i32 input1_shift:i32 output_multiplier:i32 output_shift:i32"
    public init(leftShift: Int32, input0Multiplier: Int32, input0Shift: Int32, input1Multiplier: Int32, input1Shift: Int32,
                outputMultiplier: Int32, outputShift: Int32) {
        self.leftShift = leftShift
        self.input0Multiplier = input0Multiplier; self.input0Shift = input0Shift
        self.input1Multiplier = input1Multiplier; self.input1Shift = input1Shift
        self.outputMultiplier = outputMultiplier; self.outputShift = outputShift
    }
    @inlinable public init(slots s: RNParamSlots) {
        leftShift = s.signed(Slot.leftShift)
        input0Multiplier = s.signed(Slot.input0Multiplier); input0Shift = s.signed(Slot.input0Shift)
        input1Multiplier = s.signed(Slot.input1Multiplier); input1Shift = s.signed(Slot.input1Shift)
        outputMultiplier = s.signed(Slot.outputMultiplier); outputShift = s.signed(Slot.outputShift)
    }
    public var slots: RNParamSlots {
        var s = RNParamSlots()
        s.set(Slot.leftShift, leftShift)
        s.set(Slot.input0Multiplier, input0Multiplier); s.set(Slot.input0Shift, input0Shift)
        s.set(Slot.input1Multiplier, input1Multiplier); s.set(Slot.input1Shift, input1Shift)
        s.set(Slot.outputMultiplier, outputMultiplier); s.set(Slot.outputShift, outputShift)
        return s
    }
}

/// conv2d_add: the convolution's slots, then the add: the unstored convolution result's zero
/// point, the left shift, three multipliers (convolution result, residual, output) and their
/// three shifts packed as i8 bytes 0, 1, 2 of slot 10 (byte 3 zero).
public struct RNConvAddParams: RNOpParameters, Equatable {
    public var conv: RNConvParams
    public var convZeroPoint: Int32, leftShift: Int32
    public var convMultiplier: Int32, residualMultiplier: Int32, outputMultiplier: Int32
    public var convShift: Int8, residualShift: Int8, outputShift: Int8
    /// Byte 3 of slot 10: must be 0.
    public var packedReserved: UInt8
    /// Slot numbers after the convolution's.
    public enum Slot {
        public static let convZeroPoint = 5, leftShift = 6, convMultiplier = 7, residualMultiplier = 8
        public static let outputMultiplier = 9, packedShifts = 10
    }
    public static let slotTable: StaticString = "weights_offset:u32 weights_size:u32 bias_offset:u32 multiplier_offset:u32 shift_offset:u32 conv_zero_point:i32 left_shift:i32 conv_multiplier:i32 residual_multiplier:i32 output_multiplier:i32 shifts:u8x4"
    public init(conv: RNConvParams, convZeroPoint: Int32, leftShift: Int32, convMultiplier: Int32, residualMultiplier: Int32,
                outputMultiplier: Int32, convShift: Int8, residualShift: Int8, outputShift: Int8) {
        self.conv = conv; self.convZeroPoint = convZeroPoint; self.leftShift = leftShift
        self.convMultiplier = convMultiplier; self.residualMultiplier = residualMultiplier
        self.outputMultiplier = outputMultiplier
        self.convShift = convShift; self.residualShift = residualShift; self.outputShift = outputShift
        packedReserved = 0
    }
    @inlinable public init(slots s: RNParamSlots) {
        conv = RNConvParams(slots: s)
        convZeroPoint = s.signed(Slot.convZeroPoint); leftShift = s.signed(Slot.leftShift)
        convMultiplier = s.signed(Slot.convMultiplier); residualMultiplier = s.signed(Slot.residualMultiplier)
        outputMultiplier = s.signed(Slot.outputMultiplier)
        let packed = s[Slot.packedShifts]
        convShift = Int8(truncatingIfNeeded: packed); residualShift = Int8(truncatingIfNeeded: packed >> 8)
        outputShift = Int8(truncatingIfNeeded: packed >> 16); packedReserved = UInt8(truncatingIfNeeded: packed >> 24)
    }
    public var slots: RNParamSlots {
        var s = conv.slots
        s.set(Slot.convZeroPoint, convZeroPoint); s.set(Slot.leftShift, leftShift)
        s.set(Slot.convMultiplier, convMultiplier); s.set(Slot.residualMultiplier, residualMultiplier)
        s.set(Slot.outputMultiplier, outputMultiplier)
        s[Slot.packedShifts] = UInt32(UInt8(bitPattern: convShift)) | UInt32(UInt8(bitPattern: residualShift)) << 8
            | UInt32(UInt8(bitPattern: outputShift)) << 16 | UInt32(packedReserved) << 24
        return s
    }
}

/// conv2d_max_pool: the convolution's slots, then the pool window packed in two words
/// (kernel_h, kernel_w, stride_h, stride_w; pad_top, pad_left, pad_bottom, pad_right as bytes
/// 0...3) and the arena offset of the ring of convolution rows.
public struct RNConvMaxPoolParams: RNOpParameters, Equatable {
    public var conv: RNConvParams
    public var poolWindow: RNWindow
    /// Arena offset (16-byte aligned) of the ring of pool kernel_h convolution rows, planned
    /// like a tensor that lives during this op only.
    public var ringOffset: UInt32
    /// Slot numbers after the convolution's.
    public enum Slot {
        public static let poolKernelAndStride = 5, poolPadding = 6, ringOffset = 7
    }
    public static let slotTable: StaticString = "weights_offset:u32 weights_size:u32 bias_offset:u32 multiplier_offset:u32 shift_offset:u32 pool_kernel_stride:u8x4 pool_padding:u8x4 ring_offset:u32"
    public init(conv: RNConvParams, poolWindow: RNWindow, ringOffset: UInt32) {
        self.conv = conv; self.poolWindow = poolWindow; self.ringOffset = ringOffset
    }
    @inlinable public init(slots s: RNParamSlots) {
        conv = RNConvParams(slots: s)
        let a = s[Slot.poolKernelAndStride], b = s[Slot.poolPadding]
        @inline(__always) func byte(_ v: UInt32, _ k: UInt32) -> Int { Int((v >> (8 * k)) & 0xFF) }
        poolWindow = RNWindow(kernelH: byte(a, 0), kernelW: byte(a, 1), strideH: byte(a, 2), strideW: byte(a, 3),
                              padTop: byte(b, 0), padLeft: byte(b, 1), padBottom: byte(b, 2), padRight: byte(b, 3))
        ringOffset = s[Slot.ringOffset]
    }
    public var slots: RNParamSlots {
        var s = conv.slots
        let w = poolWindow
        func pack(_ a: Int, _ b: Int, _ c: Int, _ d: Int) -> UInt32 {
            UInt32(a & 0xFF) | UInt32(b & 0xFF) << 8 | UInt32(c & 0xFF) << 16 | UInt32(d & 0xFF) << 24
        }
        s[Slot.poolKernelAndStride] = pack(w.kernelH, w.kernelW, w.strideH, w.strideW)
        s[Slot.poolPadding] = pack(w.padTop, w.padLeft, w.padBottom, w.padRight)
        s[Slot.ringOffset] = ringOffset
        return s
    }
}

/// mean: TFLite's requantizing multiplier for the sum of `n = H * W` values, already adapted
/// by the element count (see FORMAT.md): its mantissa may lie anywhere in [0, 2^31).
public struct RNMeanParams: RNOpParameters, Equatable {
    public var multiplier: Int32, shift: Int32
    /// Slot numbers.
    public enum Slot { public static let multiplier = 0, shift = 1 }
    public static let slotTable: StaticString = "multiplier:i32 shift:i32"
    public init(multiplier: Int32, shift: Int32) {
        self.multiplier = multiplier; self.shift = shift
    }
    @inlinable public init(slots s: RNParamSlots) { multiplier = s.signed(Slot.multiplier); shift = s.signed(Slot.shift) }
    public var slots: RNParamSlots {
        var s = RNParamSlots()
        s.set(Slot.multiplier, multiplier); s.set(Slot.shift, shift)
        return s
    }
}

/// How a conv or fully connected op's weights are arranged in the constants section.
public enum RNWeightLayout: UInt8, Sendable {
    /// (C_out, KH, KW, C_in), int8, symmetric. Fully connected: (K, H*W*C).
    case ohwi = 0
    /// Convolutions only: (ceil(C_out / 16), KH, ceil(KW * C_in / 4), 16, 4), int8, symmetric: per
    /// block of 16 output channels and kernel row, the row's KW x C_in weights (kx major, as in
    /// the NHWC input) in groups of 4, each 64-byte group holding one group of 16 output channels,
    /// the operand of one 512-bit u8 x s8 dot-product instruction (vpdpbusd); zero where the
    /// output channel is >= C_out or the position in the row is >= KW * C_in. The blocked kernels
    /// read it.
    case o16hwi4 = 1

    /// Bytes of a conv's weights in this layout.
    @inlinable
    public func byteCount(outputs: Int, kernelH: Int, kernelW: Int, inputs: Int) -> Int {
        switch self {
        case .ohwi: return outputs * kernelH * kernelW * inputs
        case .o16hwi4: return ((outputs + 15) / 16 * 16) * kernelH * ((kernelW * inputs + 3) / 4 * 4)
        }
    }

    /// Byte index of weight (output channel c, ky, kx, input channel ci) in this layout.
    @inlinable @inline(__always)
    public func index(_ c: Int, _ ky: Int, _ kx: Int, _ ci: Int, kernelH: Int, kernelW: Int, inputs: Int) -> Int {
        switch self {
        case .ohwi:
            return ((c * kernelH + ky) * kernelW + kx) * inputs + ci
        case .o16hwi4:
            let groups = (kernelW * inputs + 3) / 4, k = kx * inputs + ci
            return (((c / 16 * kernelH + ky) * groups + k / 4) * 16 + c % 16) * 4 + k % 4
        }
    }
}

/// Metadata: a sequence of records, each `u16 key, u16 reserved(0), u32 length, bytes`, padded
/// with zeros to a multiple of 4. Unknown keys are skipped, so readers stay forward compatible.
public enum RNBMetadata {
    public static let recordHeaderSize = 8
    /// Class labels: UTF-8, one per line, separated by '\n', exactly output-size lines.
    public static let labelsKey: UInt16 = 1
    /// `RNPreprocessing`, 40 bytes.
    public static let preprocessingKey: UInt16 = 2
    /// Provenance: UTF-8 text, `key=value` lines (generator, source model, date...).
    public static let provenanceKey: UInt16 = 3
    /// Op names: UTF-8, one line per op in table order, separated by '\n': the layers each op
    /// computes, fused ones joined by '+' ("block2.conv2+block2.add", "stem+stem.pool").
    public static let opNamesKey: UInt16 = 4
}

/// Preprocessing record (metadata key 2, 40 bytes): how a host turns an image into the model's
/// uint8 pixels before the input tables apply. Devices only validate it (they receive pixels
/// already shaped); hosts read and write it as `RNPreprocessing`.
public enum RNBPreprocessing {
    public static let size = 40
    public static let channelsOffset = 0            // u8, 1 (gray) or 3 (RGB)
    public static let channelOrderOffset = 1        // u8, 0 RGB, 1 BGR
    public static let resizeModeOffset = 2          // u8, 0 stretch, 1 shorter side then center crop
    public static let reservedByteOffset = 3        // u8, 0
    public static let resizeHeightOffset = 4        // u32
    public static let resizeWidthOffset = 8         // u32
    public static let meanOffset = 12               // f32[3], on pixel / 255; unused channels 0
    public static let stdOffset = 24                // f32[3], finite, > 0; unused channels 1
    public static let reservedWordOffset = 36       // u32, 0

    /// Checks a record against the model's input (`badPreprocessing`): the loader's rule. The
    /// input is an image (rank 4) with the record's channels; stretching resizes to the input's
    /// own height and width; shorter side then crop resizes the shorter side to 1...65535 (one
    /// size, held in both fields; hosts use at least the input's larger side).
    public static func validate(_ r: UnsafeRawBufferPointer, input: RNTensor) throws(RNError) {
        guard r.count == size, let p = r.baseAddress else { throw RNError(.badPreprocessing, found: r.count, limit: size) }
        let channels = Int(p.u8(channelsOffset))
        guard input.rank == 4, channels == input.channels, channels == 1 || channels == 3, p.u8(channelOrderOffset) <= 1,
              p.u8(resizeModeOffset) <= 1, p.u8(reservedByteOffset) == 0, p.u32(reservedWordOffset) == 0 else {
            throw RNError(.badPreprocessing, found: channels)
        }
        let height = Int(p.u32(resizeHeightOffset)), width = Int(p.u32(resizeWidthOffset))
        if p.u8(resizeModeOffset) == 0 {
            guard height == input.height, width == input.width else { throw RNError(.badPreprocessing, found: height, limit: input.height) }
        } else {
            guard height == width, (1...65535).contains(height) else {
                throw RNError(.badPreprocessing, found: height, limit: 65535)
            }
        }
        for k in 0..<3 {
            let m = p.f32(meanOffset + 4 * k), s = p.f32(stdOffset + 4 * k)
            guard m.isFinite, s.isFinite, s > 0 else { throw RNError(.badPreprocessing, found: k) }
        }
    }
}

#if !hasFeature(Embedded)
/// The preprocessing record, typed (`RNBPreprocessing` is its byte layout).
public struct RNPreprocessing: Sendable, Equatable {
    public enum ChannelOrder: UInt8, Sendable { case rgb = 0, bgr = 1 }
    public enum ResizeMode: UInt8, Sendable {
        /// Stretch to the input size.
        case stretch = 0
        /// Shorter side to the resize size, then center crop to the input size.
        case shorterSideThenCenterCrop = 1
    }
    public var channels: Int
    public var channelOrder: ChannelOrder
    public var resizeMode: ResizeMode
    public var resizeHeight: Int
    public var resizeWidth: Int
    public var mean: (Float, Float, Float)
    public var std: (Float, Float, Float)

    public init(channels: Int, channelOrder: ChannelOrder, resizeMode: ResizeMode, resizeHeight: Int, resizeWidth: Int,
                mean: (Float, Float, Float), std: (Float, Float, Float)) {
        self.channels = channels; self.channelOrder = channelOrder; self.resizeMode = resizeMode
        self.resizeHeight = resizeHeight; self.resizeWidth = resizeWidth; self.mean = mean; self.std = std
    }

    /// Reads a record that `RNBPreprocessing.validate` accepted.
    public init(validated r: UnsafeRawBufferPointer) {
        typealias L = RNBPreprocessing
        let p = r.baseAddress!
        channels = Int(p.u8(L.channelsOffset))
        channelOrder = ChannelOrder(rawValue: p.u8(L.channelOrderOffset)) ?? .rgb
        resizeMode = ResizeMode(rawValue: p.u8(L.resizeModeOffset)) ?? .stretch
        resizeHeight = Int(p.u32(L.resizeHeightOffset))
        resizeWidth = Int(p.u32(L.resizeWidthOffset))
        mean = (p.f32(L.meanOffset), p.f32(L.meanOffset + 4), p.f32(L.meanOffset + 8))
        std = (p.f32(L.stdOffset), p.f32(L.stdOffset + 4), p.f32(L.stdOffset + 8))
    }

    public static func == (a: RNPreprocessing, b: RNPreprocessing) -> Bool {
        a.channels == b.channels && a.channelOrder == b.channelOrder && a.resizeMode == b.resizeMode
            && a.resizeHeight == b.resizeHeight && a.resizeWidth == b.resizeWidth
            && a.mean == b.mean && a.std == b.std
    }

    /// The record's 40 bytes in `RNBPreprocessing`'s layout.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        func u32(_ v: UInt32) { for k: UInt32 in 0..<4 { out.append(UInt8(truncatingIfNeeded: v &>> (8 * k))) } }
        out += [UInt8(channels), channelOrder.rawValue, resizeMode.rawValue, 0]
        u32(UInt32(resizeHeight)); u32(UInt32(resizeWidth))
        for v in [mean.0, mean.1, mean.2, std.0, std.1, std.2] { u32(v.bitPattern) }
        u32(0)
        precondition(out.count == RNBPreprocessing.size)
        return out
    }
}
#endif

/// Little-endian loads from raw bytes. `load(fromByteOffset:as:)` needs natural alignment, which
/// the format guarantees for every field it reads this way; `loadUnaligned` is used elsewhere.
extension UnsafeRawPointer {
    @inline(__always) @usableFromInline
    func u8(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
    @inline(__always) @usableFromInline
    func u16(_ offset: Int) -> UInt16 { loadUnaligned(fromByteOffset: offset, as: UInt16.self) }
    @inline(__always) @usableFromInline
    func u32(_ offset: Int) -> UInt32 { loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    @inline(__always) @usableFromInline
    func i32(_ offset: Int) -> Int32 { loadUnaligned(fromByteOffset: offset, as: Int32.self) }
    @inline(__always) @usableFromInline
    func f32(_ offset: Int) -> Float { loadUnaligned(fromByteOffset: offset, as: Float.self) }
}
