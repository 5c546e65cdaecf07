import RNFormat
import RNKernels
import RNRuntime

/// Writes `.rnb` files: plans the arena (`ArenaPlanner`, which also gives the lower bound), lays
/// out the sections exactly as RNFormat/Layout.swift (and FORMAT.md) define them, checksums, then
/// loads the result once with the device runtime to prove it valid.
public enum RNBWriter {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The file's bytes, convolution weights in `weightLayout` (fully connected weights always in
    /// layout 0). Throws if the runtime rejects what was written (a bug in the graph).
    public static func write(_ graph: ModelGraph, weightLayout: RNWeightLayout = .ohwi) throws -> [UInt8] {
        // Kernel scratch at the arena's end: what the blocked kernels need for the largest layer
        // (layout 1); the layout-0 kernels need none (conv2d_max_pool rings are planned per op).
        var scratchBytes = 0
        if weightLayout == .o16hwi4 {
            for op in graph.ops {
                guard let (input, window, weights) = op.convolution else { continue }
                let shape = graph.tensors[input]
                let (height, width) = window.outputSize(height: shape.height, width: shape.width)
                let conv = Conv2DS8Params(input: FeatureShape(height: shape.height, width: shape.width, channels: shape.channels),
                                          output: FeatureShape(height: height, width: width, channels: weights.bias.count),
                                          window: window, inputZeroPoint: 0, outputZeroPoint: 0, activation: .none)   // shapes only
                scratchBytes = max(scratchBytes, conv2DS8BlockedScratchByteCount(conv))
            }
        }
        let plan = ArenaPlanner.plan(graph, scratchBytes: scratchBytes)
        var w = ByteWriter()

        // MARK: header (filled in at the end)
        w.zeros(RNBHeader.size)

        // MARK: constants, laid out first so that ops can point into them
        var constants = ByteWriter()
        var opSlots = [RNParamSlots]()
        for (i, op) in graph.ops.enumerated() {
            var conv: RNConvParams? = nil
            if let weights = op.weights {
                constants.align(16)
                let valuesAt = constants.count
                var values = weights.values
                if weightLayout == .o16hwi4, let (input, window, _) = op.convolution {
                    values = arrangeWeights(values, outputs: weights.bias.count, kernelH: window.kernelH,
                                            kernelW: window.kernelW, inputs: graph.tensors[input].channels, as: weightLayout)
                }
                for v in values { constants.append(UInt8(bitPattern: v)) }
                constants.align(16)
                let biasAt = constants.count
                for b in weights.bias { constants.appendI32(b) }
                constants.align(16)
                let multiplierAt = constants.count
                for m in weights.multipliers { constants.appendI32(m.multiplier.raw) }
                constants.align(16)
                let shiftAt = constants.count
                for m in weights.multipliers { constants.appendI32(m.shift.raw) }
                conv = RNConvParams(weightsOffset: UInt32(valuesAt), weightsSize: UInt32(values.count), biasOffset: UInt32(biasAt),
                                    multiplierOffset: UInt32(multiplierAt), shiftOffset: UInt32(shiftAt))
            }
            opSlots.append(op.parameterSlots(conv: conv, ringOffset: plan.ringOffsets[i]))
        }
        constants.align(16)
        let inputTableAt = constants.count
        for v in graph.inputTable { constants.append(UInt8(bitPattern: v)) }
        constants.align(16)

        // MARK: tensor table
        let tensorTableAt = w.count
        for (t, tensor) in graph.tensors.enumerated() {
            let start = w.count
            w.append(RNBTensorRecord.dtypeInt8)
            w.append(UInt8(tensor.shape.count))
            w.appendU16(0)
            for k in 0..<4 { w.appendI32(Int32(k < tensor.shape.count ? tensor.shape[k] : 1)) }
            w.appendF32(tensor.scale)
            w.appendI32(tensor.zeroPoint)
            w.appendU32(UInt32(plan.offsets[t]))
            precondition(w.count - start == RNBTensorRecord.size && start + RNBTensorRecord.arenaOffsetOffset == w.count - 4)
        }

        // MARK: op table
        let opTableAt = w.count
        for (i, op) in graph.ops.enumerated() {
            let start = w.count
            let kind = op.kind, window = op.window, act = op.activation
            precondition(op.inputs.count == kind.inputCount && (kind.usesWindow || window.isZero))
            w.append(kind.rawValue)
            w.append(kind.acceptsBlockedLayout ? weightLayout.rawValue : RNWeightLayout.ohwi.rawValue)
            w.append(UInt8(bitPattern: Int8(act.min)))
            w.append(UInt8(bitPattern: Int8(act.max)))
            w.appendU16(UInt16(op.inputs[0]))
            w.appendU16(kind.inputCount == 2 ? UInt16(op.inputs[1]) : RNBOpRecord.noTensor)
            w.appendU16(UInt16(i + 1))
            w.appendU16(0)
            precondition(w.count - start == RNBOpRecord.windowOffset)
            for v in [window.kernelH, window.kernelW, window.strideH, window.strideW,
                      window.padTop, window.padLeft, window.padBottom, window.padRight] { w.append(UInt8(v)) }
            for p in 0..<RNParamSlots.count { w.appendU32(opSlots[i][p]) }
            precondition(w.count - start == RNBOpRecord.size)
        }

        // MARK: constants and metadata
        w.align(16)
        let constantsAt = w.count
        w.bytes += constants.bytes
        w.align(4)
        let metadataAt = w.count
        if let labels = graph.labels {
            w.appendRecord(RNBMetadata.labelsKey, Array(labels.joined(separator: "\n").utf8))
        }
        // The record describes images (gray or RGB); a model with other inputs takes raw input only.
        if let p = graph.preprocessing, p.channels == 1 || p.channels == 3 {
            w.appendRecord(RNBMetadata.preprocessingKey, p.record.bytes)
        }
        if !graph.provenance.isEmpty {
            let text = graph.provenance.map { "\($0.0)=\($0.1)" }.joined(separator: "\n")
            w.appendRecord(RNBMetadata.provenanceKey, Array(text.utf8))
        }
        if graph.names.count == graph.ops.count {
            w.appendRecord(RNBMetadata.opNamesKey, Array(graph.names.joined(separator: "\n").utf8))
        }
        let metadataSize = w.count - metadataAt

        // MARK: the header
        let m = RNBHeader.magic
        for (k, byte) in [m.0, m.1, m.2, m.3].enumerated() { w.bytes[RNBHeader.magicOffset + k] = byte }
        w.patchU16(RNBHeader.versionOffset, RNBHeader.version)
        w.patchU16(RNBHeader.headerSizeOffset, UInt16(RNBHeader.size))
        w.patchU32(RNBHeader.fileSizeOffset, UInt32(w.count))
        w.patchU32(RNBHeader.arenaBytesOffset, UInt32(plan.activationBytes + scratchBytes))
        w.patchU32(RNBHeader.scratchBytesOffset, UInt32(scratchBytes))
        w.patchU32(RNBHeader.lowerBoundOffset, UInt32(plan.lowerBound))
        w.patchU32(RNBHeader.tensorCountOffset, UInt32(graph.tensors.count))
        w.patchU32(RNBHeader.tensorTableOffset, UInt32(tensorTableAt))
        w.patchU32(RNBHeader.opCountOffset, UInt32(graph.ops.count))
        w.patchU32(RNBHeader.opTableOffset, UInt32(opTableAt))
        w.patchU32(RNBHeader.constantsOffset, UInt32(constantsAt))
        w.patchU32(RNBHeader.constantsSizeOffset, UInt32(constants.count))
        w.patchU32(RNBHeader.metadataOffset, UInt32(metadataAt))
        w.patchU32(RNBHeader.metadataSizeOffset, UInt32(metadataSize))
        w.patchU16(RNBHeader.inputTensorOffset, 0)
        w.patchU16(RNBHeader.outputTensorOffset, UInt16(graph.outputTensor))
        w.patchU32(RNBHeader.inputTableOffset, UInt32(inputTableAt))
        w.updateChecksum()

        // The device loader checks what the writer wrote.
        do { _ = try ModelBuffer(w.bytes) } catch {
            throw Failure(description: "runtime rejected the model: \(describe(error))")
        }
        return w.bytes
    }

    /// OHWI weights (C_out, KH, KW, C_in) rearranged into `layout`, padding zero.
    public static func arrangeWeights(_ ohwi: [Int8], outputs: Int, kernelH: Int, kernelW: Int, inputs: Int,
                                      as layout: RNWeightLayout) -> [Int8] {
        var out = [Int8](repeating: 0, count: layout.byteCount(outputs: outputs, kernelH: kernelH, kernelW: kernelW, inputs: inputs))
        var k = 0
        for c in 0..<outputs {
            for ky in 0..<kernelH {
                for kx in 0..<kernelW {
                    for ci in 0..<inputs {
                        out[layout.index(c, ky, kx, ci, kernelH: kernelH, kernelW: kernelW, inputs: inputs)] = ohwi[k]
                        k += 1
                    }
                }
            }
        }
        return out
    }
}

/// Little-endian byte appender.
struct ByteWriter {
    var bytes: [UInt8] = []
    var count: Int { bytes.count }
    mutating func append(_ v: UInt8) { bytes.append(v) }
    mutating func appendU16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func appendU32(_ v: UInt32) { for k in 0..<4 { bytes.append(UInt8((v >> (8 * k)) & 0xFF)) } }
    mutating func appendI32(_ v: Int32) { appendU32(UInt32(bitPattern: v)) }
    mutating func appendF32(_ v: Float) { appendU32(v.bitPattern) }
    mutating func zeros(_ n: Int) { bytes += [UInt8](repeating: 0, count: n) }
    mutating func align(_ a: Int) { zeros((a - count % a) % a) }
    mutating func patchU16(_ at: Int, _ v: UInt16) { bytes[at] = UInt8(v & 0xFF); bytes[at + 1] = UInt8(v >> 8) }
    mutating func patchU32(_ at: Int, _ v: UInt32) { for k in 0..<4 { bytes[at + k] = UInt8((v >> (8 * k)) & 0xFF) } }
    mutating func appendRecord(_ key: UInt16, _ payload: [UInt8]) {
        appendU16(key); appendU16(0); appendU32(UInt32(payload.count))
        bytes += payload
        align(4)
    }
    mutating func updateChecksum() {
        let crc = bytes.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[RNBHeader.crcStart...])) }
        patchU32(RNBHeader.crcOffset, crc)
    }
}
