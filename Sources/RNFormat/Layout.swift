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
    public static let maxTensors = RNBOpRecord.maxOps + 1
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
    public static let paramsOffset = 20             // 11 x u32/i32, meaning depends on kind
    public static let paramCount = 11
    public static let noTensor: UInt16 = 0xFFFF
    public static let maxOps = 1024
}

/// Op kinds. Values are part of the format.
public enum RNOpKind: UInt8, Sendable {
    /// params: weights_offset, weights_size, bias_offset, multiplier_offset, shift_offset.
    case conv2D = 1
    /// Input flattened (H*W*C) to a [1, K] output. params as conv2D; window bytes zero.
    case fullyConnected = 2
    /// params: left_shift, in0_multiplier, in0_shift, in1_multiplier, in1_shift, out_multiplier, out_shift.
    case add = 3
    /// Window, stride, padding from the window bytes; no params.
    case maxPool = 4
    /// [1,H,W,C] -> [1,1,1,C]; window bytes and params zero.
    case globalAveragePool = 5
    /// A convolution whose int8 result (zero point in slot 5, clamp [-128, 127]) is added to a
    /// residual tensor (input1) with TFLite add arithmetic, as conv2d followed by add would,
    /// without the convolution's output ever being stored: the output may overwrite the residual.
    /// params: conv slots 0...4, then conv_zero_point, left_shift, conv multiplier, residual
    /// multiplier, output multiplier, and the three add shifts packed as i8 bytes (conv,
    /// residual, output; top byte 0).
    case conv2DAdd = 6
    /// A convolution streamed row by row into the max pool after it: conv2d (window bytes, slots
    /// 0...4, the op's clamp, the output's scale and zero point) then max_pool (window packed in
    /// slots 5 and 6), with only `pool kernel_h` convolution rows held at a time, in scratch.
    case conv2DMaxPool = 7

    /// Whether the op carries weights, bias and per-channel requantization (slots 0...4).
    @inlinable public var hasWeights: Bool {
        self == .conv2D || self == .fullyConnected || self == .conv2DAdd || self == .conv2DMaxPool
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
        }
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
    /// RNPreprocessing, 40 bytes.
    public static let preprocessingKey: UInt16 = 2
    /// Provenance: UTF-8 text, `key=value` lines (generator, source model, date...).
    public static let provenanceKey: UInt16 = 3
}

/// Preprocessing record (40 bytes): how a host turns an image into the model's uint8 pixels
/// before the input tables apply.
///   0 u8  channels (1 gray or 3 RGB), 1 u8 channel order (0 RGB, 1 BGR),
///   2 u8  resize mode (0 stretch to input size, 1 shorter side to resize size then center crop),
///   3 u8  reserved 0, 4 u32 resize height, 8 u32 resize width,
///  12 f32 mean[3], 24 f32 std[3] (per channel, on pixel/255; unused channels 0 and 1).
///  36 u32 reserved 0.
public enum RNBPreprocessing {
    public static let size = 40
}

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
