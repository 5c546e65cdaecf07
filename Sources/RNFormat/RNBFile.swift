// The zero-copy validating reader of `.rnb` files.
//
// `RNBFile(validating:)` checks everything the layout promises (header, checksum, section
// bounds and alignment, every tensor and op record field, metadata records) and keeps only a
// pointer into the caller's bytes: nothing is copied and nothing is allocated. Whether the graph
// is executable (shapes agree, operands produced before use, the memory plan) is the runtime's
// check, in RNRuntime/Validation.swift.

// MARK: - Decoded records

/// A tensor table entry. Shapes are NHWC with batch 1; rank-2 tensors are [1, K].
public struct RNTensor: Sendable {
    public var rank: Int
    public var dims: (Int, Int, Int, Int)
    public var scale: Float
    public var zeroPoint: Int32
    /// Byte offset in the arena, 16-byte aligned.
    public var arenaOffset: Int
    /// Element count = byte count (int8).
    public var byteCount: Int

    @inlinable
    public init(rank: Int, dims: (Int, Int, Int, Int), scale: Float, zeroPoint: Int32, arenaOffset: Int, byteCount: Int) {
        self.rank = rank
        self.dims = dims
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.arenaOffset = arenaOffset
        self.byteCount = byteCount
    }

    @inlinable public var height: Int { dims.1 }
    @inlinable public var width: Int { dims.2 }
    @inlinable public var channels: Int { dims.3 }
    /// The innermost dimension: channels for NHWC, K for [1, K].
    @inlinable public var innermost: Int {
        switch rank {
        case 1: return dims.0
        case 2: return dims.1
        case 3: return dims.2
        default: return dims.3
        }
    }
}

/// The 8 window bytes of an op record.
public struct RNWindow: Sendable, Equatable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                padTop: Int, padLeft: Int, padBottom: Int, padRight: Int) {
        self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft
        self.padBottom = padBottom; self.padRight = padRight
    }

    /// A kernel x kernel window with the same stride and padding in both directions.
    public static func square(_ kernel: Int, stride: Int, padding: Int) -> RNWindow {
        RNWindow(kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride,
                 padTop: padding, padLeft: padding, padBottom: padding, padRight: padding)
    }

    public static let zero = RNWindow(kernelH: 0, kernelW: 0, strideH: 0, strideW: 0,
                                      padTop: 0, padLeft: 0, padBottom: 0, padRight: 0)
    public var isZero: Bool { self == .zero }
}

/// An op table entry, read in place.
public struct RNOp: @unchecked Sendable {
    @usableFromInline let record: UnsafeRawPointer

    @inlinable init(record: UnsafeRawPointer) { self.record = record }

    /// Valid once the file was validated.
    public var kind: RNOpKind { RNOpKind(rawValue: record.u8(RNBOpRecord.kindOffset)) ?? .conv2D }
    public var kindRaw: UInt8 { record.u8(RNBOpRecord.kindOffset) }
    public var weightLayoutRaw: UInt8 { record.u8(RNBOpRecord.weightLayoutOffset) }
    /// Valid once the file was validated.
    public var weightLayout: RNWeightLayout { RNWeightLayout(rawValue: weightLayoutRaw) ?? .ohwi }
    public var activationMin: Int32 {
        Int32(Int8(bitPattern: record.u8(RNBOpRecord.actMinOffset)))
    }
    public var activationMax: Int32 {
        Int32(Int8(bitPattern: record.u8(RNBOpRecord.actMaxOffset)))
    }
    public var input0: Int { Int(record.u16(RNBOpRecord.input0Offset)) }
    /// -1 when the op has one input.
    public var input1: Int {
        let raw = record.u16(RNBOpRecord.input1Offset)
        return raw == RNBOpRecord.noTensor ? -1 : Int(raw)
    }
    public var output: Int { Int(record.u16(RNBOpRecord.outputOffset)) }
    public var window: RNWindow {
        let w = RNBOpRecord.windowOffset
        return RNWindow(kernelH: Int(record.u8(w)), kernelW: Int(record.u8(w + 1)),
                        strideH: Int(record.u8(w + 2)), strideW: Int(record.u8(w + 3)),
                        padTop: Int(record.u8(w + 4)), padLeft: Int(record.u8(w + 5)),
                        padBottom: Int(record.u8(w + 6)), padRight: Int(record.u8(w + 7)))
    }
    /// The 11 parameter slots as raw words; read them through the kind's `RNOpParameters`.
    @inlinable public var slots: RNParamSlots {
        var s = RNParamSlots()
        for i in 0..<RNParamSlots.count { s[i] = record.u32(RNBOpRecord.paramsOffset + 4 * i) }
        return s
    }
    /// The parameters as kind `P` reads them (valid once the file was validated and the kind matches).
    @inlinable public func params<P: RNOpParameters>(_ type: P.Type) -> P { P(slots: slots) }
}

// MARK: - The file

/// A validated view of an `.rnb` file. Holds a pointer into the caller's bytes, which must
/// outlive it and stay unchanged.
public struct RNBFile: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let fileSize: Int
    public let arenaBytes: Int
    public let scratchBytes: Int
    public let arenaLowerBound: Int
    public let tensorCount: Int
    public let opCount: Int
    public let inputTensor: Int
    public let outputTensor: Int
    @usableFromInline let tensorTable: Int
    @usableFromInline let opTable: Int
    public let constantsOffset: Int
    public let constantsSize: Int
    let metadataOffset: Int
    let metadataSize: Int
    /// Offset of the 256 x C input table relative to the constants section.
    public let inputTableOffset: Int

    /// Bytes available for activations: the arena minus the scratch at its end.
    public var activationBytes: Int { arenaBytes - scratchBytes }

    /// Validates `bytes` as an `.rnb` file; throws the first problem found.
    public init(validating bytes: UnsafeRawBufferPointer) throws(RNError) {
        guard let base = bytes.baseAddress else { throw RNError(.nullArgument) }
        let count = bytes.count
        guard count >= RNBHeader.size else {
            throw RNError(.truncatedHeader, found: count, limit: RNBHeader.size)
        }
        guard Int(bitPattern: base) & 15 == 0 else { throw RNError(.blobMisaligned) }
        let m = RNBHeader.magic, at = RNBHeader.magicOffset
        guard base.u8(at) == m.0, base.u8(at + 1) == m.1, base.u8(at + 2) == m.2, base.u8(at + 3) == m.3 else {
            throw RNError(.badMagic)
        }
        let version = base.u16(RNBHeader.versionOffset)
        guard version == RNBHeader.version else {
            throw RNError(.unsupportedVersion, found: Int(version), limit: Int(RNBHeader.version))
        }
        let headerSize = Int(base.u16(RNBHeader.headerSizeOffset))
        guard headerSize == RNBHeader.size else {
            throw RNError(.badHeaderSize, found: headerSize, limit: RNBHeader.size)
        }
        let fileSize = try Self.field(base, RNBHeader.fileSizeOffset, .fileSizeMismatch)
        guard fileSize <= count else { throw RNError(.truncatedFile, found: count, limit: fileSize) }
        guard fileSize == count, fileSize >= RNBHeader.size else {
            throw RNError(.fileSizeMismatch, found: count, limit: fileSize)
        }
        let stored = base.u32(RNBHeader.crcOffset)
        let computed = crc32(UnsafeRawBufferPointer(start: base + RNBHeader.crcStart,
                                                    count: fileSize - RNBHeader.crcStart))
        guard computed == stored else {
            throw RNError(.checksumMismatch, found: Int(truncatingIfNeeded: computed),
                          limit: Int(truncatingIfNeeded: stored))
        }
        guard base.u32(RNBHeader.flagsOffset) == 0 else { throw RNError(.badFlags) }
        for i in RNBHeader.reservedOffset..<RNBHeader.size where base.u8(i) != 0 {
            throw RNError(.reservedNotZero, found: i)
        }
        self.base = base
        self.fileSize = fileSize

        // Sections, in file order: header, tensor table, op table, constants, metadata.
        tensorCount = try Self.field(base, RNBHeader.tensorCountOffset, .badTensorCount)
        opCount = try Self.field(base, RNBHeader.opCountOffset, .badOpCount)
        guard opCount >= 1, opCount <= RNBOpRecord.maxOps else {
            throw RNError(.badOpCount, found: opCount, limit: RNBOpRecord.maxOps)
        }
        // Op i writes tensor i + 1; tensor 0 is the input.
        guard tensorCount == opCount + 1 else {
            throw RNError(.badTensorCount, found: tensorCount, limit: opCount + 1)
        }
        tensorTable = try Self.field(base, RNBHeader.tensorTableOffset, .sectionOutOfBounds)
        opTable = try Self.field(base, RNBHeader.opTableOffset, .sectionOutOfBounds)
        constantsOffset = try Self.field(base, RNBHeader.constantsOffset, .sectionOutOfBounds)
        constantsSize = try Self.field(base, RNBHeader.constantsSizeOffset, .sectionOutOfBounds)
        metadataOffset = try Self.field(base, RNBHeader.metadataOffset, .sectionOutOfBounds)
        metadataSize = try Self.field(base, RNBHeader.metadataSizeOffset, .sectionOutOfBounds)
        try Self.section(tensorTable, tensorCount * RNBTensorRecord.size, after: RNBHeader.size,
                         alignment: 16, fileSize: fileSize, index: 0)
        try Self.section(opTable, opCount * RNBOpRecord.size,
                         after: tensorTable + tensorCount * RNBTensorRecord.size,
                         alignment: 16, fileSize: fileSize, index: 1)
        try Self.section(constantsOffset, constantsSize, after: opTable + opCount * RNBOpRecord.size,
                         alignment: 16, fileSize: fileSize, index: 2)
        try Self.section(metadataOffset, metadataSize, after: constantsOffset + constantsSize,
                         alignment: 4, fileSize: fileSize, index: 3)

        inputTensor = Int(base.u16(RNBHeader.inputTensorOffset))
        outputTensor = Int(base.u16(RNBHeader.outputTensorOffset))
        guard inputTensor == 0 else { throw RNError(.badInputTensor, found: inputTensor, limit: 0) }
        // The output is the last tensor: every other tensor must be read by a later op.
        guard outputTensor == tensorCount - 1 else {
            throw RNError(.badOutputTensor, found: outputTensor, limit: tensorCount - 1)
        }

        arenaBytes = try Self.field(base, RNBHeader.arenaBytesOffset, .badArenaSize)
        guard arenaBytes > 0, arenaBytes & 15 == 0 else { throw RNError(.badArenaSize, found: arenaBytes) }
        scratchBytes = try Self.field(base, RNBHeader.scratchBytesOffset, .badScratchSize)
        guard scratchBytes & 15 == 0, scratchBytes < arenaBytes else {
            throw RNError(.badScratchSize, found: scratchBytes, limit: arenaBytes)
        }
        arenaLowerBound = try Self.field(base, RNBHeader.lowerBoundOffset, .badLowerBound)
        guard arenaLowerBound <= arenaBytes else {
            throw RNError(.badLowerBound, found: arenaLowerBound, limit: arenaBytes)
        }
        inputTableOffset = try Self.field(base, RNBHeader.inputTableOffset, .inputTableOutOfBounds)

        for t in 0..<tensorCount { try validateTensor(t) }
        let tableBytes = 256 * tensor(inputTensor).innermost
        guard inputTableOffset <= constantsSize, tableBytes <= constantsSize - inputTableOffset else {
            throw RNError(.inputTableOutOfBounds, found: inputTableOffset, limit: constantsSize)
        }
        for i in 0..<opCount { try validateOpRecord(i) }
        try validateMetadata()
    }

    /// A u32 header field as Int; values at or above 2^31 are rejected with `status`, so that
    /// offset arithmetic cannot overflow on 32-bit targets.
    static func field(_ base: UnsafeRawPointer, _ offset: Int, _ status: RNStatus) throws(RNError) -> Int {
        let raw = base.u32(offset)
        guard raw < 0x8000_0000 else { throw RNError(status, found: -1) }
        return Int(bitPattern: UInt(raw))
    }

    static func section(_ offset: Int, _ size: Int, after previousEnd: Int, alignment: Int,
                        fileSize: Int, index: Int) throws(RNError) {
        guard offset & (alignment - 1) == 0 else {
            throw RNError(.sectionMisaligned, index: index, found: offset, limit: alignment)
        }
        guard offset >= previousEnd else {
            throw RNError(.sectionsOverlap, index: index, found: offset, limit: previousEnd)
        }
        guard offset <= fileSize, size <= fileSize - offset else {
            throw RNError(.sectionOutOfBounds, index: index, found: offset + size, limit: fileSize)
        }
    }

    // MARK: - Tensors

    /// The tensor table entry `index` (precondition: `index < tensorCount`).
    @inlinable
    public func tensor(_ index: Int) -> RNTensor {
        let r = base + tensorTable + index * RNBTensorRecord.size
        let d = RNBTensorRecord.dimsOffset
        let dims = (Int(r.i32(d)), Int(r.i32(d + 4)), Int(r.i32(d + 8)), Int(r.i32(d + 12)))
        return RNTensor(rank: Int(r.u8(RNBTensorRecord.rankOffset)), dims: dims,
                        scale: r.f32(RNBTensorRecord.scaleOffset),
                        zeroPoint: r.i32(RNBTensorRecord.zeroPointOffset),
                        arenaOffset: Int(bitPattern: UInt(r.u32(RNBTensorRecord.arenaOffsetOffset))),
                        byteCount: dims.0 * dims.1 * dims.2 * dims.3)
    }

    func validateTensor(_ t: Int) throws(RNError) {
        let r = base + tensorTable + t * RNBTensorRecord.size
        guard r.u8(RNBTensorRecord.dtypeOffset) == RNBTensorRecord.dtypeInt8 else {
            throw RNError(.badTensorType, index: t, found: Int(r.u8(RNBTensorRecord.dtypeOffset)))
        }
        let rank = Int(r.u8(RNBTensorRecord.rankOffset))
        guard rank >= 1, rank <= 4 else { throw RNError(.badTensorRank, index: t, found: rank) }
        guard r.u16(RNBTensorRecord.reservedOffset) == 0 else { throw RNError(.reservedNotZero, index: t) }
        var bytes = 1
        for k in 0..<4 {
            let dim = Int(r.i32(RNBTensorRecord.dimsOffset + 4 * k))
            let valid = k == 0 ? dim == 1 : (k < rank ? dim >= 1 && dim <= 0xFFFF : dim == 1)
            guard valid else { throw RNError(.badTensorDims, index: t, found: dim, limit: k) }
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dim)
            guard !overflow, product < 0x7FFF_FFFF else { throw RNError(.tensorTooLarge, index: t) }
            bytes = product
        }
        let scale = r.f32(RNBTensorRecord.scaleOffset)
        guard scale.isFinite, scale > 0 else { throw RNError(.badTensorScale, index: t) }
        let zeroPoint = r.i32(RNBTensorRecord.zeroPointOffset)
        guard zeroPoint >= -128, zeroPoint <= 127 else {
            throw RNError(.badTensorZeroPoint, index: t, found: Int(zeroPoint))
        }
        let rawOffset = r.u32(RNBTensorRecord.arenaOffsetOffset)
        guard rawOffset & 15 == 0 else { throw RNError(.tensorMisaligned, index: t) }
        guard rawOffset < 0x8000_0000, Int(bitPattern: UInt(rawOffset)) <= activationBytes - bytes else {
            throw RNError(.tensorOutsideArena, index: t, found: Int(truncatingIfNeeded: rawOffset) &+ bytes,
                          limit: activationBytes)
        }
    }

    // MARK: - Ops

    /// The op table entry `index` (precondition: `index < opCount`).
    @inlinable
    public func op(_ index: Int) -> RNOp { RNOp(record: base + opTable + index * RNBOpRecord.size) }

    func validateOpRecord(_ i: Int) throws(RNError) {
        let op = op(i)
        guard let kind = RNOpKind(rawValue: op.kindRaw) else {
            throw RNError(.badOpKind, index: i, found: Int(op.kindRaw))
        }
        guard op.record.u16(RNBOpRecord.reservedOffset) == 0 else { throw RNError(.opFieldNotZero, index: i) }
        guard op.input0 < tensorCount, op.output < tensorCount else {
            throw RNError(.badOperand, index: i, found: max(op.input0, op.output), limit: tensorCount)
        }
        if kind.inputCount == 2 {
            guard op.input1 >= 0, op.input1 < tensorCount else {
                throw RNError(.badOperand, index: i, found: op.input1, limit: tensorCount)
            }
        } else {
            guard op.input1 == -1 else { throw RNError(.badOperand, index: i, found: op.input1) }
        }
        guard op.activationMin <= op.activationMax else {
            throw RNError(.badActivationRange, index: i, found: Int(op.activationMin), limit: Int(op.activationMax))
        }
        if kind.hasWeights {
            guard let layout = RNWeightLayout(rawValue: op.weightLayoutRaw), layout == .ohwi || kind.acceptsBlockedLayout else {
                throw RNError(.badWeightLayout, index: i, found: Int(op.weightLayoutRaw))
            }
        } else {
            guard op.weightLayoutRaw == 0 else { throw RNError(.opFieldNotZero, index: i) }
        }
        guard kind.usesWindow || op.window.isZero else { throw RNError(.opFieldNotZero, index: i) }
        let slots = op.slots
        for p in kind.paramSlotCount..<RNParamSlots.count where slots[p] != 0 {
            throw RNError(.opFieldNotZero, index: i, found: p)
        }
    }

    // MARK: - Constants and metadata

    /// Start of the constants section.
    @inlinable public var constants: UnsafeRawPointer { base + constantsOffset }

    /// The 256 x C input table: `table[c * 256 + pixel]` is the int8 input for that pixel value.
    public var inputTable: UnsafePointer<Int8> {
        (constants + inputTableOffset).assumingMemoryBound(to: Int8.self)
    }

    /// The bytes of the first metadata record with `key`, or nil.
    public func metadata(_ key: UInt16) -> UnsafeRawBufferPointer? {
        var offset = metadataOffset
        let end = metadataOffset + metadataSize
        while offset < end {
            let length = Int(bitPattern: UInt(base.u32(offset + 4)))
            if base.u16(offset) == key {
                return UnsafeRawBufferPointer(start: base + offset + RNBMetadata.recordHeaderSize, count: length)
            }
            offset += RNBMetadata.recordHeaderSize + ((length + 3) & ~3)
        }
        return nil
    }

    func validateMetadata() throws(RNError) {
        var offset = metadataOffset
        let end = metadataOffset + metadataSize
        var record = 0
        while offset < end {
            guard end - offset >= RNBMetadata.recordHeaderSize, base.u16(offset + 2) == 0 else {
                throw RNError(.badMetadata, index: record, found: offset)
            }
            let raw = base.u32(offset + 4)
            guard raw < 0x8000_0000 else { throw RNError(.badMetadata, index: record, found: offset) }
            let length = Int(bitPattern: UInt(raw))
            let padded = (length + 3) & ~3
            guard padded >= length, padded <= end - offset - RNBMetadata.recordHeaderSize else {
                throw RNError(.badMetadata, index: record, found: offset + length, limit: end)
            }
            offset += RNBMetadata.recordHeaderSize + padded
            record += 1
        }
        if let labels = metadata(RNBMetadata.labelsKey) {
            let classes = tensor(outputTensor).byteCount
            guard Self.lineCount(labels) == classes else {
                throw RNError(.badLabels, found: Self.lineCount(labels), limit: classes)
            }
        }
        if let names = metadata(RNBMetadata.opNamesKey) {
            guard Self.lineCount(names) == opCount else {
                throw RNError(.badOpNames, found: Self.lineCount(names), limit: opCount)
            }
        }
        if let record = metadata(RNBMetadata.preprocessingKey) {
            try RNBPreprocessing.validate(record, input: tensor(inputTensor))
        }
    }

    /// Lines of a '\n'-separated record (one more than its newlines).
    static func lineCount(_ text: UnsafeRawBufferPointer) -> Int {
        var lines = 1
        for byte in text where byte == 0x0A { lines += 1 }
        return lines
    }

#if !hasFeature(Embedded)
    /// The preprocessing record (validated at load), or nil when the file has none.
    public var preprocessing: RNPreprocessing? { metadata(RNBMetadata.preprocessingKey).map(RNPreprocessing.init(validated:)) }
#endif

    /// Line `index` of a '\n'-separated record as UTF-8 bytes (no terminator), or nil.
    func line(_ index: Int, of key: UInt16) -> UnsafeRawBufferPointer? {
        guard let text = metadata(key), let p = text.baseAddress else { return nil }
        var line = 0, start = 0
        for i in 0...text.count {
            if i == text.count || text[i] == 0x0A {
                if line == index { return UnsafeRawBufferPointer(start: p + start, count: i - start) }
                line += 1
                start = i + 1
            }
        }
        return nil
    }

    /// Class label `index` as UTF-8 bytes (no terminator), or nil when the model has no labels.
    public func label(_ index: Int) -> UnsafeRawBufferPointer? { line(index, of: RNBMetadata.labelsKey) }

    /// The name of op `index` (metadata key 4) as UTF-8 bytes, or nil when the file has none.
    public func opName(_ index: Int) -> UnsafeRawBufferPointer? { line(index, of: RNBMetadata.opNamesKey) }
}
