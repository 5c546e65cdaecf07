import RNFormat
import RNRuntime

/// What `rn-inspect` reports about a model: layers, shapes, MACs, weights and the memory plan.
public struct ModelSummary {
    public struct Layer {
        public var index: Int
        public var name: String
        public var kind: RNOpKind
        public var inputs: [Int]
        public var output: Int
        public var shape: [Int]
        public var window: RNWindow
        public var macs: Int
        public var weightBytes: Int
        /// "ohwi" or "o16hwi4" for ops with weights, else nil.
        public var weightLayout: String?
        public var arenaOffset: Int
        public var bytes: Int
        public var liveUntil: Int
        /// The record's parameter slots by FORMAT.md's names (`RNOpKind.paramSlot`).
        public var params: [(String, JSON)]
    }

    public var fileBytes: Int
    public var layers: [Layer]
    public var macs: Int
    public var weightBytes: Int
    public var arenaBytes: Int
    public var scratchBytes: Int
    public var lowerBound: Int
    /// Sum of every tensor's bytes: the arena without any reuse.
    public var unplannedBytes: Int
    public var input: RNTensor
    public var output: RNTensor
    public var labels: [String]
    public var provenance: String
    var inputLiveUntil: Int

    public init(_ model: RNModel) {
        let file = model.file
        layers = (0..<model.opCount).map { i in
            let op = file.op(i), out = file.tensor(op.output)
            return Layer(index: i, name: model.name(op: i), kind: op.kind,
                         inputs: [op.input0] + (op.input1 >= 0 ? [op.input1] : []), output: op.output,
                         shape: shape(out), window: op.window, macs: model.macs(op: i),
                         weightBytes: model.weightBytes(op: i),
                         weightLayout: op.kind.hasWeights ? (op.weightLayout == .o16hwi4 ? "o16hwi4" : "ohwi") : nil,
                         arenaOffset: out.arenaOffset, bytes: out.byteCount,
                         liveUntil: model.lifetime(of: op.output).last, params: Self.params(op))
        }
        fileBytes = file.fileSize
        macs = layers.reduce(0) { $0 + $1.macs }
        weightBytes = layers.reduce(0) { $0 + $1.weightBytes }
        arenaBytes = model.arenaBytes
        scratchBytes = file.scratchBytes
        lowerBound = model.arenaLowerBound
        unplannedBytes = (0..<file.tensorCount).reduce(0) { $0 + file.tensor($1).byteCount }
        input = model.input
        inputLiveUntil = model.lifetime(of: 0).last
        output = model.output
        labels = (0..<output.byteCount).compactMap { file.label($0).map { String(decoding: $0, as: UTF8.self) } }
        provenance = file.metadata(RNBMetadata.provenanceKey).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Slot values by name: u32 and i32 as numbers, packed bytes as a list of four.
    static func params(_ op: RNOp) -> [(String, JSON)] {
        let slots = op.slots
        return (0..<op.kind.paramSlotCount).map { i in
            let slot = op.kind.paramSlot(i), raw = slots[i]
            let value: JSON
            switch slot.encoding {
            case .u32: value = .int(Int(raw))
            case .i32: value = .int(Int(Int32(bitPattern: raw)))
            case .packedBytes: value = .array((0..<4).map { .int(Int((raw >> (8 * UInt32($0))) & 0xFF)) })
            }
            return (String(decoding: slot.name, as: UTF8.self), value)
        }
    }

    func tensorJSON(_ t: RNTensor) -> JSON {
        .object([("shape", .array(shape(t).map { .int($0) })), ("scale", .double(Double("\(t.scale)") ?? Double(t.scale))),
                 ("zero_point", .int(Int(t.zeroPoint)))])
    }

    /// The `--json` document (keys per DESIGN.md section 5, plus more).
    public var json: JSON { .object(jsonMembers) }

    /// The members of `json`, for tools that add their own.
    public var jsonMembers: [(String, JSON)] {
        [
            ("file_bytes", .int(fileBytes)),
            ("macs", .int(macs)),
            ("weight_bytes", .int(weightBytes)),
            ("arena_bytes", .int(arenaBytes)),
            ("arena_lower_bound_bytes", .int(lowerBound)),
            ("scratch_bytes", .int(scratchBytes)),
            ("unplanned_activation_bytes", .int(unplannedBytes)),
            ("input", tensorJSON(input)),
            ("output", tensorJSON(output)),
            ("labels", .array(labels.map { .string($0) })),
            ("provenance", .string(provenance)),
            ("layers", .array(layers.map { l in
                .object([("index", .int(l.index)), ("name", .string(l.name)), ("kind", .string("\(l.kind.name)")),
                         ("inputs", .array(l.inputs.map { .int($0) })), ("output", .int(l.output)),
                         ("shape", .array(l.shape.map { .int($0) })), ("macs", .int(l.macs)),
                         ("weight_bytes", .int(l.weightBytes)), ("arena_offset", .int(l.arenaOffset)),
                         ("bytes", .int(l.bytes)), ("live_until_op", .int(l.liveUntil)), ("params", .object(l.params))]
                        + (l.weightLayout.map { [("weight_layout", JSON.string($0))] } ?? []))
            })),
        ]
    }

    /// The human-readable table.
    public var text: String { text(ranges: nil) }

    /// The table, with a column of activation ranges per tensor (index 0 the input) when given.
    public func text(ranges: [String]?) -> String {
        func group(_ n: Int) -> String {
            let digits = Array(String(n))
            return String(digits.enumerated().flatMap { i, d in (i > 0 && (digits.count - i) % 3 == 0) ? [",", d] : [d] })
        }
        func describe(_ w: RNWindow, _ kind: RNOpKind) -> String {
            guard kind == .conv2D || kind == .conv2DAdd || kind == .conv2DMaxPool || kind == .maxPool else { return "" }
            let pad = [w.padTop, w.padLeft, w.padBottom, w.padRight]
            let padText = Set(pad).count == 1 ? "\(pad[0])" : pad.map(String.init).joined(separator: ",")
            return "\(w.kernelH)x\(w.kernelW)/\(w.strideH) p\(padText)"
        }
        func quant(_ t: RNTensor) -> String { "scale \(t.scale), zero point \(t.zeroPoint)" }
        var rows = [["#", "layer", "in", "output shape", "window", "MACs", "weights", "arena", "bytes", "live", "range"],
                    ["-", "input", "", "[" + shape(input).map(String.init).joined(separator: ", ") + "]", "", "", "",
                     String(input.arenaOffset), group(input.byteCount), inputLiveUntil >= layers.count ? "end" : "op \(inputLiveUntil)",
                     ranges?[0] ?? ""]]
        for l in layers {
            rows.append([String(l.index), l.name, l.inputs.map { "t\($0)" }.joined(separator: ","),
                         "[" + l.shape.map(String.init).joined(separator: ", ") + "]", describe(l.window, l.kind),
                         group(l.macs), group(l.weightBytes), String(l.arenaOffset), group(l.bytes),
                         l.liveUntil >= layers.count ? "end" : "op \(l.liveUntil)", ranges?[l.output] ?? ""])
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max()! }
        let numeric: Set<Int> = [0, 5, 6, 7, 8]
        var lines = [String]()
        lines.append("input:  [" + shape(input).map(String.init).joined(separator: ", ") + "]  " + quant(input))
        lines.append("output: [" + shape(output).map(String.init).joined(separator: ", ") + "]  " + quant(output))
        lines.append("")
        for row in rows {
            lines.append(row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return numeric.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces())
        }
        lines.append("")
        let layouts = Set(layers.compactMap(\.weightLayout)).sorted().joined(separator: " and ")
        lines.append("total: \(group(macs)) MACs, \(group(weightBytes)) weight bytes (layout \(layouts)), file \(group(fileBytes)) bytes")
        let percent = lowerBound > 0 ? Double(arenaBytes) / Double(lowerBound) * 100 : 100
        lines.append("arena: \(group(arenaBytes)) bytes (scratch \(group(scratchBytes))); lower bound "
                     + "\(group(lowerBound)) bytes; plan is \(String(format1(percent)))% of the bound; "
                     + "without reuse \(group(unplannedBytes)) bytes")
        if !labels.isEmpty {
            lines.append("labels: " + labels.prefix(10).joined(separator: ", ") + (labels.count > 10 ? ", ..." : ""))
        }
        if !provenance.isEmpty {
            lines.append("provenance: " + provenance.split(separator: "\n").joined(separator: "; "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Shape of a tensor as its rank's dims.
func shape(_ t: RNTensor) -> [Int] { Array([t.dims.0, t.dims.1, t.dims.2, t.dims.3].prefix(t.rank)) }

/// One decimal, without Foundation's String(format:).
func format1(_ x: Double) -> String {
    let tenths = Int((x * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10))"
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
