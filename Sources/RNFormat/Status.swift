// Status codes and the error every device-side function throws.
//
// One closed enum, fixed integer codes: the same numbers are the C API's `rn_status`
// (Sources/CRNRuntime/include/rn_runtime.h). Codes are never renumbered; new ones are appended.
// Each rejection names the field it found wrong, so `rn-inspect` can say what and where.

/// A status code; `ok` is 0. Mirrors `rn_status` in rn_runtime.h.
public enum RNStatus: Int32, Sendable {
    case ok = 0

    // MARK: - caller errors (1...9)
    case nullArgument = 1
    case blobMisaligned = 2
    case arenaTooSmall = 3
    case arenaMisaligned = 4
    /// The caller's output buffer (`rn_invoke_sized`): RN_OUTPUT_BUFFER_TOO_SMALL, also spelled
    /// RN_MODEL_BUFFER_TOO_SMALL in C (its first name, kept for old callers).
    case outputBufferTooSmall = 5
    case indexOutOfRange = 6
    case modelNotInitialized = 7
    case inputSizeMismatch = 8

    // MARK: - header (10...29)
    case truncatedHeader = 10
    case badMagic = 11
    case unsupportedVersion = 12
    case badHeaderSize = 13
    case truncatedFile = 14
    case fileSizeMismatch = 15
    case checksumMismatch = 16
    case reservedNotZero = 17
    case badFlags = 18
    case sectionOutOfBounds = 19
    case sectionMisaligned = 20
    case sectionsOverlap = 21
    case badTensorCount = 22
    case badOpCount = 23
    case badInputTensor = 24
    case badOutputTensor = 25
    case badArenaSize = 26
    case badScratchSize = 27
    case badLowerBound = 28

    // MARK: - tensor table (30...49)
    case badTensorType = 30
    case badTensorRank = 31
    case badTensorDims = 32
    case badTensorScale = 33
    case badTensorZeroPoint = 34
    case tensorOutsideArena = 35
    case tensorMisaligned = 36
    case tensorTooLarge = 37

    // MARK: - op table (50...89)
    case badOpKind = 50
    case badOperand = 51
    case operandNotReady = 52
    case outputOutOfOrder = 53
    case tensorUnused = 54
        case badActivationRange = 56
    case badWindow = 57
    case badStride = 58
    case badPadding = 59
    case badOutputShape = 60
    case channelMismatch = 61
    case quantizationMismatch = 62
    case badWeightLayout = 63
    case weightsOutOfBounds = 64
    case weightsMisaligned = 65
    case badWeightsSize = 66
    case badWeightValue = 67
    case biasOutOfBounds = 68
    case multiplierOutOfBounds = 69
    case shiftOutOfBounds = 70
    case badMultiplier = 71
    case badShift = 72
    case badAddParameters = 73
    case opFieldNotZero = 74
    case shapeMismatch = 75

    // MARK: - memory plan (90...99)
    case planOverlap = 90
    case inPlaceNotAllowed = 91

    // MARK: - metadata and input tables (100...119)
    case badMetadata = 100
    case inputTableOutOfBounds = 101
    case badLabels = 102
    case badPreprocessing = 103
    case badOpNames = 104

    /// A short description naming the field at fault; static, so C can hold it.
    public var message: StaticString {
        switch self {
        case .ok: return "ok"
        case .nullArgument: return "null argument"
        case .blobMisaligned: return "model bytes are not 16-byte aligned"
        case .arenaTooSmall: return "arena too small"
        case .arenaMisaligned: return "arena is not 16-byte aligned"
        case .outputBufferTooSmall: return "output buffer too small"
        case .indexOutOfRange: return "index out of range"
        case .modelNotInitialized: return "rn_model not initialized by rn_model_init"
        case .inputSizeMismatch: return "input size does not match the model's input tensor"
        case .truncatedHeader: return "file shorter than the fixed header"
        case .badMagic: return "bad magic (not an .rnb model)"
        case .unsupportedVersion: return "unsupported format version"
        case .badHeaderSize: return "bad header_size"
        case .truncatedFile: return "truncated: file shorter than header.file_size"
        case .fileSizeMismatch: return "file longer than header.file_size"
        case .checksumMismatch: return "checksum mismatch (header.crc32)"
        case .reservedNotZero: return "reserved bytes not zero (header, or the tensor record named by index)"
        case .badFlags: return "unknown header.flags"
        case .sectionOutOfBounds: return "section outside the file"
        case .sectionMisaligned: return "section offset not aligned"
        case .sectionsOverlap: return "sections out of order or overlapping"
        case .badTensorCount: return "bad header.tensor_count"
        case .badOpCount: return "bad header.op_count"
        case .badInputTensor: return "bad header.input_tensor"
        case .badOutputTensor: return "bad header.output_tensor"
        case .badArenaSize: return "bad header.arena_bytes"
        case .badScratchSize: return "bad header.scratch_bytes"
        case .badLowerBound: return "header.arena_lower_bound larger than header.arena_bytes"
        case .badTensorType: return "tensor.dtype is not int8"
        case .badTensorRank: return "tensor.rank not in 1...4"
        case .badTensorDims: return "tensor.dims invalid (batch must be 1, unused dims 1)"
        case .badTensorScale: return "tensor.scale not finite and positive"
        case .badTensorZeroPoint: return "tensor.zero_point outside int8"
        case .tensorOutsideArena: return "tensor.arena_offset + size beyond the activation arena"
        case .tensorMisaligned: return "tensor.arena_offset not 16-byte aligned"
        case .tensorTooLarge: return "tensor larger than 2^31 bytes"
        case .badOpKind: return "unknown op.kind"
        case .badOperand: return "op operand is not a tensor index"
        case .operandNotReady: return "op reads a tensor before it is produced"
        case .outputOutOfOrder: return "op.output is not op index + 1 (tensors are numbered in computation order)"
        case .tensorUnused: return "tensor neither read nor produced"
        case .badActivationRange: return "op.act_min > op.act_max"
        case .badWindow: return "op kernel window invalid"
        case .badStride: return "op stride invalid"
        case .badPadding: return "op padding not smaller than the kernel window"
        case .badOutputShape: return "op output shape does not follow from input, window, stride, padding"
        case .channelMismatch: return "op channel counts disagree"
        case .quantizationMismatch: return "op requires equal scale and zero point"
        case .badWeightLayout: return "unknown op.weight_layout"
        case .weightsOutOfBounds: return "op weights outside the constants section"
        case .weightsMisaligned: return "op weights not 16-byte aligned"
        case .badWeightsSize: return "op.weights_size does not match the shapes"
        case .badWeightValue: return "weight -128 (weights are symmetric, -127...127)"
        case .biasOutOfBounds: return "op bias outside the constants section or misaligned"
        case .multiplierOutOfBounds: return "op multipliers outside the constants section or misaligned"
        case .shiftOutOfBounds: return "op shifts outside the constants section or misaligned"
        case .badMultiplier: return "requantization multiplier not 0 or in [2^30, 2^31)"
        case .badShift: return "requantization shift not in -31...30"
        case .badAddParameters: return "add left_shift not in 0...23 or input shift positive"
        case .opFieldNotZero: return "op field unused by this kind is not zero"
        case .shapeMismatch: return "op operand shapes disagree"
        case .planOverlap: return "memory plan: live tensors overlap in the arena"
        case .inPlaceNotAllowed: return "memory plan: in-place output only over an input the op may overwrite (add, conv2d_add's residual) at its last use"
        case .badMetadata: return "metadata record out of bounds"
        case .inputTableOutOfBounds: return "header.input_table_offset outside the constants section"
        case .badLabels: return "labels record invalid"
        case .badPreprocessing: return "preprocessing record invalid"
        case .badOpNames: return "op names record does not have one line per op"
        }
    }
}

/// The error thrown by device code: a status plus where it happened and the numbers involved.
///
/// `index` is the tensor or op index (or -1), `found`/`limit` the offending value and the bound it
/// broke (or 0). Example: arena too small gives `found` = bytes passed, `limit` = bytes needed.
public struct RNError: Error, Equatable, Sendable {
    public var status: RNStatus
    public var index: Int
    public var found: Int
    public var limit: Int

    @inlinable
    public init(_ status: RNStatus, index: Int = -1, found: Int = 0, limit: Int = 0) {
        self.status = status
        self.index = index
        self.found = found
        self.limit = limit
    }
}
