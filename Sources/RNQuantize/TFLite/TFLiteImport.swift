import Foundation
import RNFormat
import RNKernels

/// Fully int8-quantized `.tflite` models to the int8 graph rn writes, their quantization kept as
/// it is: every multiplier and shift derived from the file's float scales as TFLite derives them
/// (`QuantizeMultiplier` of input_scale * filter_scale / output_scale in double), clamps from
/// the fused activations as `CalculateActivationRangeQuantized` computes them. The FlatBuffers
/// schema read is TFLite's `schema.fbs` (Model, SubGraph, Tensor, Buffer, Operator,
/// OperatorCode, QuantizationParameters and the options of the ops below).
public enum TFLiteImporter {
    /// BuiltinOperator codes read.
    enum Builtin: Int {
        case add = 0, averagePool = 1, conv = 3, dequantize = 6, fullyConnected = 9, maxPool = 17, reshape = 22, softmax = 25
        case mean = 40, quantize = 114

        /// The newest version of each operator whose int8 form rn computes (TFLite's op
        /// versioning: later versions add int16, int4, hybrid, sparse or grouped forms).
        var newestVersion: Int {
            switch self {
            case .conv: return 3
            case .fullyConnected: return 6   // 5 keep_num_dims, 6 no bias
            case .add, .averagePool, .maxPool, .mean, .softmax, .dequantize: return 2
            case .reshape, .quantize: return 1
            }
        }
    }

    struct Tensor {
        var name: String
        var shape: [Int]
        var type: Int          // TensorType: 0 float32, 2 int32, 9 int8
        var buffer: Int
        var sparse = false
        var scales: [Float]
        var zeroPoints: [Int64]
        var quantizedDimension: Int
    }

    struct Operator {
        var index: Int
        var code: Int
        var version: Int
        var inputs: [Int]
        var outputs: [Int]
        var options: FBTable?
    }

    /// Reads `bytes` and builds the int8 graph. An int8 or float input gets the preprocessing
    /// `mean`/`std` per channel on pixel / 255, which the file does not carry (nil:
    /// `Preprocessing.defaultNormalization`); a uint8 input is the pixels themselves, mapped to
    /// int8 by the file's own QUANTIZE, so its table is that requantization and `mean`/`std`
    /// must be nil. `labels` name the output classes.
    public static func graph(_ bytes: [UInt8], mean: [Float]?, std: [Float]?, labels: [String]?) throws -> ModelGraph {
        let fb = FlatBuffer(bytes: bytes)
        guard bytes.count >= 8, Array(bytes[4..<8]) == Array("TFL3".utf8) else {
            throw ExportError("TFLite: not a .tflite model (no TFL3 identifier)")
        }
        let model = try fb.root("Model")
        let codes = try model.tables(1, "OperatorCode").map { c throws(FlatBufferError) -> (Int, Int) in
            (max(try c.int(0, size: 1), try c.int(3)), try c.int(2, default: 1))
        }
        let buffers = try model.tables(4, "Buffer")
        let subgraphs = try model.tables(2, "SubGraph")
        guard subgraphs.count == 1, let sub = subgraphs.first else { throw ExportError("TFLite: \(subgraphs.count) subgraphs; rn imports one") }
        let tensors = try sub.tables(0, "Tensor").map { t throws(FlatBufferError) -> Tensor in
            let q = try t.table(4, "QuantizationParameters")
            return Tensor(name: try t.string(3), shape: try t.int32s(0), type: try t.int(1, size: 1), buffer: Int(UInt32(bitPattern: Int32(try t.int(2)))),
                          sparse: try t.field(6, size: 4) != nil,
                          scales: try q?.floats(2) ?? [], zeroPoints: try q?.int64s(3) ?? [], quantizedDimension: try q?.int(6) ?? 0)
        }
        let ops = try sub.tables(3, "Operator").enumerated().map { k, o throws(FlatBufferError) -> Operator in
            let code = try o.int(0)
            guard code >= 0, code < codes.count else { throw FlatBufferError("Operator \(k): opcode_index \(code) of \(codes.count)") }
            return Operator(index: k, code: codes[code].0, version: codes[code].1, inputs: try o.int32s(1), outputs: try o.int32s(2),
                            options: try o.table(4, "Operator \(k) options"))
        }
        for op in ops { for t in op.inputs + op.outputs where t >= tensors.count || t < -1 {
            throw ExportError("TFLite operator \(op.index): tensor index \(t) of \(tensors.count)")
        } }
        let unsupported = ops.compactMap { op -> String? in
            guard let builtin = Builtin(rawValue: op.code) else { return "\(name(of: op.code)) (operator \(op.index))" }
            guard op.version <= builtin.newestVersion else { return "\(name(of: op.code)) version \(op.version) (operator \(op.index))" }
            return nil
        }
        guard unsupported.isEmpty else { throw ExportError("TFLite: unsupported operators: " + unsupported.joined(separator: ", ")) }
        var importer = Importer(tensors: tensors, buffers: buffers, ops: ops)
        return try importer.run(inputs: try sub.int32s(1), outputs: try sub.int32s(2), mean: mean, std: std, labels: labels)
    }

    static func name(of code: Int) -> String {
        let names = [0: "ADD", 1: "AVERAGE_POOL_2D", 3: "CONV_2D", 6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 17: "MAX_POOL_2D", 22: "RESHAPE",
                     25: "SOFTMAX", 40: "MEAN", 114: "QUANTIZE", 4: "DEPTHWISE_CONV_2D", 2: "CONCATENATION", 34: "PAD", 14: "LOGISTIC", 18: "MUL", 19: "RELU", 21: "RELU6",
                     28: "TANH", 41: "SUB", 49: "SPLIT", 83: "PACK", 5: "DEPTH_TO_SPACE", 97: "HARD_SWISH"]
        return names[code] ?? "builtin \(code)"
    }

    struct Importer {
        let tensors: [Tensor]
        let buffers: [FBTable]
        let ops: [Operator]
        /// TFLite tensor -> graph tensor.
        var map: [Int: Int] = [:]
        var graph: ModelGraph! = nil

        func fail(_ op: Operator, _ text: String) -> ExportError {
            ExportError("TFLite operator \(op.index) (\(TFLiteImporter.name(of: op.code)), output '\(op.outputs.first.map { tensors[$0].name } ?? "")'): \(text)")
        }

        func quantization(_ t: Int, _ op: Operator) throws -> (scale: Float, zeroPoint: Int32) {
            let x = tensors[t]
            guard x.type == 9 else { throw fail(op, "tensor '\(x.name)' is not int8 (type \(x.type)); rn imports fully int8-quantized models") }
            guard x.scales.count == 1, x.zeroPoints.count == 1, x.scales[0].isFinite, x.scales[0] > 0, (-128...127).contains(x.zeroPoints[0]) else {
                throw fail(op, "tensor '\(x.name)' needs one positive scale and an int8 zero point")
            }
            return (x.scales[0], Int32(x.zeroPoints[0]))
        }

        func data(_ t: Int, _ op: Operator) throws -> ArraySlice<UInt8> {
            let x = tensors[t]
            guard !x.sparse else { throw fail(op, "constant tensor '\(x.name)' is sparse; rn reads dense tensors") }
            guard x.buffer > 0, x.buffer < buffers.count, let bytes = try buffers[x.buffer].bytes(0) else {
                throw fail(op, "constant tensor '\(x.name)' has no data (buffer \(x.buffer) of \(buffers.count))")
            }
            let elements = try count(x, op)
            let size = [0: 4, 2: 4, 9: 1, 3: 1, 4: 8][x.type] ?? 0
            guard size > 0, bytes.count == elements * size else {
                throw fail(op, "tensor '\(x.name)': \(bytes.count) bytes for shape \(x.shape) of type \(x.type)")
            }
            return bytes
        }

        /// A tensor's element count: every dim in 1...65535 (what `.rnb` files hold), the product below 2^31.
        func count(_ x: Tensor, _ op: Operator) throws -> Int {
            var n = 1
            for d in x.shape {
                guard (1...65535).contains(d) else { throw fail(op, "tensor '\(x.name)' has dimension \(d)") }
                n *= d
                guard n < 1 << 31 else { throw fail(op, "tensor '\(x.name)' has more than 2^31 elements") }
            }
            return n
        }

        /// A real multiplier as TFLite's QuantizeMultiplier stores it; scales that make it 2^30 or
        /// more (no int8 model has them) are an error, not a trap.
        func multiplier(_ real: Double, _ op: Operator) throws -> QuantizedMultiplier {
            guard real.isFinite, real < 0x1p30 else { throw fail(op, "scales give a requantization multiplier of \(real)") }
            return QuantizedMultiplier(real: real)
        }

        /// CalculateActivationRangeQuantized: NONE, RELU (1), RELU6 (3).
        func activation(_ code: Int, _ out: (scale: Float, zeroPoint: Int32), _ op: Operator) throws -> ActivationRange {
            switch code {
            case 0: return .none
            case 1: return ActivationRange(min: max(-128, out.zeroPoint), max: 127)
            case 3: return ActivationRange(min: max(-128, out.zeroPoint),
                                           max: Int32(min(127, Double(out.zeroPoint) + Double((6 / out.scale).rounded()))))
            default: throw fail(op, "fused activation \(code) is not supported (NONE, RELU, RELU6 are)")
            }
        }

        /// SAME or VALID padding as TFLite computes it (the extra pixel at the end).
        func window(kernel: (Int, Int), stride: (Int, Int), padding: Int, input: (Int, Int), _ op: Operator) throws -> RNWindow {
            // Checked before the padding arithmetic divides by the stride (a zero stride trapped: fuzzing).
            guard [kernel.0, kernel.1, stride.0, stride.1].allSatisfy({ (1...255).contains($0) }) else {
                throw fail(op, "kernel \(kernel.0)x\(kernel.1) and stride \(stride.0)x\(stride.1) must be 1 to 255")
            }
            func pads(_ n: Int, _ k: Int, _ s: Int) -> (Int, Int) {
                guard padding == 0 else { return (0, 0) }   // VALID
                let out = (n + s - 1) / s, total = max(0, (out - 1) * s + k - n)
                return (total / 2, total - total / 2)
            }
            let (pt, pb) = pads(input.0, kernel.0, stride.0), (pl, pr) = pads(input.1, kernel.1, stride.1)
            return RNWindow(kernelH: kernel.0, kernelW: kernel.1, strideH: stride.0, strideW: stride.1, padTop: pt, padLeft: pl,
                            padBottom: pb, padRight: pr)
        }

        mutating func tensor(_ t: Int, _ op: Operator) throws -> Int {
            guard t >= 0 else { throw fail(op, "a required input is missing") }
            guard let g = map[t] else { throw fail(op, "reads tensor '\(tensors[t].name)' before any operator writes it") }
            return g
        }

        mutating func append(_ op: ModelGraph.Op, output t: Int, shape: [Int], _ source: Operator) throws {
            let q = try quantization(t, source)
            _ = try count(Tensor(name: tensors[t].name, shape: shape, type: 9, buffer: 0, scales: [], zeroPoints: [], quantizedDimension: 0), source)
            let w = op.window
            guard [w.kernelH, w.kernelW, w.strideH, w.strideW, w.padTop, w.padLeft, w.padBottom, w.padRight].allSatisfy({ (0...255).contains($0) }),
                  w.isZero || (w.kernelH >= 1 && w.kernelW >= 1 && w.strideH >= 1 && w.strideW >= 1) else {
                throw fail(source, "window \(w) does not fit the format (kernel, stride and padding 1 to 255)")
            }
            graph.append(op, output: .init(shape: shape, scale: q.scale, zeroPoint: q.zeroPoint))
            graph.names.append(String(tensors[t].name.map { $0 == "+" || $0 == "\n" ? "_" : $0 }))
            map[t] = graph.tensors.count - 1
        }

        mutating func run(inputs: [Int], outputs: [Int], mean: [Float]?, std: [Float]?, labels: [String]?) throws -> ModelGraph {
            guard inputs.count == 1, outputs.count == 1 else { throw ExportError("TFLite: \(inputs.count) inputs and \(outputs.count) outputs; rn runs one of each") }
            guard (inputs + outputs).allSatisfy({ $0 >= 0 && $0 < tensors.count }), let firstOp = ops.first else {
                throw ExportError("TFLite: the subgraph's input or output is not a tensor, or it has no operators")
            }
            var input = inputs[0]
            var body = ops[...]
            // A float or uint8 input quantized by the first operator: rn's input is that int8 tensor.
            if [0, 3].contains(tensors[input].type), let first = body.first, first.code == Builtin.quantize.rawValue, first.inputs == [input],
               first.outputs.count == 1, first.outputs[0] >= 0 {
                input = first.outputs[0]
                body = body.dropFirst()
            }
            let shape = tensors[input].shape
            guard shape.count == 4, shape[0] == 1, [1, 3].contains(shape[3]), shape.allSatisfy({ (1...65535).contains($0) }) else {
                throw ExportError("TFLite input '\(tensors[input].name)': shape \(shape); rn runs [1, H, W, 1 or 3] images")
            }
            let q = try quantization(input, firstOp)
            let channels = shape[3]
            let pre: Preprocessing, table: [Int8]
            if tensors[inputs[0]].type == 3 {
                // uint8 pixels: real = (p - zp) * scale, that is mean zp / 255 and std 1 / (255 scale) on
                // pixel / 255; the table is the QUANTIZE op's own requantization to rn's int8 input.
                let pixels = tensors[inputs[0]], quantize = ops[0]
                guard mean == nil, std == nil else {
                    throw ExportError("TFLite input '\(pixels.name)' is uint8 pixels, mapped to int8 by the model itself: mean and std do not apply")
                }
                guard pixels.scales.count == 1, pixels.zeroPoints.count == 1, pixels.scales[0].isFinite, pixels.scales[0] > 0,
                      (0...255).contains(pixels.zeroPoints[0]) else {
                    throw fail(quantize, "uint8 input '\(pixels.name)' needs one positive scale and a uint8 zero point")
                }
                let (scale, zero) = (pixels.scales[0], Int32(pixels.zeroPoints[0]))
                let m = try multiplier(Double(scale) / Double(q.scale), quantize)
                let row = (0..<256).map { p in Int8(max(-128, min(127, requantize(Int32(p) - zero, by: m) + q.zeroPoint))) }
                table = (0..<channels).flatMap { _ in row }
                pre = Preprocessing(channels: channels, resizeHeight: shape[1], resizeWidth: shape[2],
                                    mean: [Float](repeating: Float(zero) / 255, count: channels), std: [Float](repeating: 1 / (255 * scale), count: channels))
            } else {
                let defaults = Preprocessing.defaultNormalization(channels: channels)
                let (mean, std) = (mean ?? defaults.mean, std ?? defaults.std)
                guard mean.count == channels, std.count == channels else {
                    throw ExportError("TFLite input '\(tensors[input].name)' has \(channels) channels: mean and std need \(channels) values each")
                }
                pre = Preprocessing(channels: channels, resizeHeight: shape[1], resizeWidth: shape[2], mean: mean, std: std)
                table = pre.inputTable(scale: q.scale, zeroPoint: q.zeroPoint)
            }
            graph = ModelGraph(input: .init(shape: shape, scale: q.scale, zeroPoint: q.zeroPoint), inputTable: table)
            graph.preprocessing = pre
            map[input] = 0
            var output = outputs[0]
            for op in body {
                // DEQUANTIZE, SOFTMAX and QUANTIZE (to uint8) at the end are dropped: the output is the int8 tensor before them.
                if [Builtin.dequantize, .softmax, .quantize].contains(where: { $0.rawValue == op.code }), op.outputs == [output], op.inputs.count == 1, op.inputs[0] >= 0 {
                    output = op.inputs[0]
                    continue
                }
                try visit(op)
            }
            guard let last = map[output], last == graph.tensors.count - 1, case .fullyConnected? = graph.ops.last else {
                throw ExportError("TFLite output '\(tensors[output].name)': the model must end in FULLY_CONNECTED logits (then DEQUANTIZE or SOFTMAX)")
            }
            let classes = graph.tensors[last].byteCount
            graph.labels = labels ?? (0..<classes).map { "class \($0)" }
            guard graph.labels!.count == classes else { throw ExportError("TFLite: \(graph.labels!.count) labels, the model has \(classes) classes") }
            return graph.fused()   // the same exact fusions as rn's own exports
        }

        mutating func visit(_ op: Operator) throws {
            let needs = [Builtin.conv: 2, .fullyConnected: 2, .add: 2, .mean: 2][Builtin(rawValue: op.code)!] ?? 1
            guard op.outputs.count == 1, op.outputs[0] >= 0, op.inputs.count >= needs, op.inputs.prefix(needs).allSatisfy({ $0 >= 0 }) else {
                throw ExportError("TFLite operator \(op.index) (\(TFLiteImporter.name(of: op.code))): \(op.inputs.count) inputs and \(op.outputs.count) outputs")
            }
            let o = op.options
            let out = op.outputs[0]
            let outShape = tensors[out].shape
            switch Builtin(rawValue: op.code)! {
            case .conv:
                guard op.inputs.count >= 2 else { throw fail(op, "needs an input and a filter") }
                let x = try tensor(op.inputs[0], op), xs = graph.tensors[x]
                let filter = tensors[op.inputs[1]]
                guard filter.type == 9, filter.shape.count == 4, filter.shape[3] == xs.channels else {
                    throw fail(op, "filter \(filter.shape) of type \(filter.type) does not fit a \(xs.channels)-channel input")
                }
                guard try (o?.int(4, default: 1) ?? 1) == 1, try (o?.int(5, default: 1) ?? 1) == 1 else { throw fail(op, "dilation is not supported") }
                let cout = filter.shape[0]
                let values = try data(op.inputs[1], op).map { Int8(bitPattern: $0) }
                let window = try self.window(kernel: (filter.shape[1], filter.shape[2]), stride: (try o?.int(2, default: 1) ?? 1, try o?.int(1, default: 1) ?? 1),
                                             padding: try o?.int(0, size: 1) ?? 0, input: (xs.height, xs.width), op)
                let weights = try convWeights(op, values: values, filter: filter, outputs: cout, inputScale: xs.scale, output: out, bias: op.inputs.count > 2 ? op.inputs[2] : -1)
                let act = try activation(try o?.int(3, size: 1) ?? 0, try quantization(out, op), op)
                let (oh, ow) = window.outputSize(height: xs.height, width: xs.width)
                guard outShape == [1, oh, ow, cout] else { throw fail(op, "output shape \(outShape), the window gives [1, \(oh), \(ow), \(cout)]") }
                try append(.conv2D(input: x, window: window, weights: weights, activation: act), output: out, shape: outShape, op)
            case .fullyConnected:
                let x = try tensor(op.inputs[0], op), xs = graph.tensors[x]
                let w = tensors[op.inputs[1]]
                guard w.type == 9, w.shape.count == 2, w.shape[1] == xs.byteCount else {
                    throw fail(op, "weights \(w.shape) do not fit \(xs.byteCount) inputs")
                }
                let values = try data(op.inputs[1], op).map { Int8(bitPattern: $0) }
                let weights = try convWeights(op, values: values, filter: w, outputs: w.shape[0], inputScale: xs.scale, output: out,
                                              bias: op.inputs.count > 2 ? op.inputs[2] : -1)
                let act = try activation(try o?.int(0, size: 1) ?? 0, try quantization(out, op), op)
                try append(.fullyConnected(input: x, weights: weights, activation: act), output: out, shape: [1, w.shape[0]], op)
            case .add:
                let a = try tensor(op.inputs[0], op), b = try tensor(op.inputs[1], op)
                guard graph.tensors[a].shape == graph.tensors[b].shape else { throw fail(op, "broadcasting is not supported") }
                let qo = try quantization(out, op)
                let (sa, sb) = (graph.tensors[a].scale, graph.tensors[b].scale)
                _ = try multiplier(2 * Double(max(sa, sb)) / (Double(1 << 20) * Double(qo.scale)), op)
                let m = QuantizedMultiplier.add(sa, sb, output: qo.scale)
                let act = try activation(try o?.int(0, size: 1) ?? 0, qo, op)
                try append(.add(input0: a, input1: b, leftShift: 20, multipliers: m, activation: act), output: out, shape: graph.tensors[a].shape, op)
            case .maxPool, .averagePool:
                let x = try tensor(op.inputs[0], op), xs = graph.tensors[x]
                let qo = try quantization(out, op)
                guard qo.scale == xs.scale, qo.zeroPoint == xs.zeroPoint else { throw fail(op, "input and output quantization differ") }
                let kernel = (try o?.int(4) ?? 1, try o?.int(3) ?? 1), stride = (try o?.int(2) ?? 1, try o?.int(1) ?? 1)
                let act = try activation(try o?.int(5, size: 1) ?? 0, qo, op)
                if op.code == Builtin.averagePool.rawValue {
                    guard kernel == (xs.height, xs.width), act == .none else { throw fail(op, "only an average pool over the whole input is supported") }
                    try append(.globalAveragePool(input: x, activation: .none), output: out, shape: [1, 1, 1, xs.channels], op)
                    return
                }
                let window = try self.window(kernel: kernel, stride: stride, padding: try o?.int(0, size: 1) ?? 0, input: (xs.height, xs.width), op)
                let (oh, ow) = window.outputSize(height: xs.height, width: xs.width)
                try append(.maxPool(input: x, window: window, activation: act), output: out, shape: [1, oh, ow, xs.channels], op)
            case .mean:
                let x = try tensor(op.inputs[0], op), xs = graph.tensors[x]
                guard tensors[op.inputs[1]].type == 2 else { throw fail(op, "axes must be int32") }
                let axes = try data(op.inputs[1], op)
                let axis = stride(from: axes.startIndex, to: axes.endIndex, by: 4).map { Int(Int32(bitPattern: UInt32(axes[$0]) | UInt32(axes[$0 + 1]) << 8 | UInt32(axes[$0 + 2]) << 16 | UInt32(axes[$0 + 3]) << 24)) }
                guard Set(axis.map { $0 < 0 ? $0 + 4 : $0 }) == [1, 2], xs.shape.count == 4 else { throw fail(op, "only a mean over height and width is supported") }
                let qo = try quantization(out, op)
                _ = try multiplier(Double(xs.scale) / Double(qo.scale), op)
                let m = QuantizedMultiplier(meanOf: xs.height * xs.width, inputScale: xs.scale, outputScale: qo.scale)
                try append(.mean(input: x, multiplier: m, activation: .none), output: out, shape: (try o?.bool(0) ?? false) ? [1, 1, 1, xs.channels] : [1, xs.channels], op)
            case .reshape:
                let x = try tensor(op.inputs[0], op)
                guard try count(tensors[out], op) == graph.tensors[x].byteCount, try quantization(out, op) == (graph.tensors[x].scale, graph.tensors[x].zeroPoint) else {
                    throw fail(op, "a reshape must keep the element count and the quantization")
                }
                map[out] = x   // a no-op: the same bytes
            case .quantize, .dequantize, .softmax:
                throw fail(op, "QUANTIZE only at the input, DEQUANTIZE and SOFTMAX only at the output are supported")
            }
        }

        /// Weights (OHWI, as rn's layout 0; [K, N] for fully connected), int32 bias, and each
        /// channel's multiplier from input_scale * weight_scale[c] / output_scale in double.
        func convWeights(_ op: Operator, values: [Int8], filter: Tensor, outputs: Int, inputScale: Float, output: Int, bias: Int) throws -> ModelGraph.Weights {
            guard filter.scales.count == outputs || filter.scales.count == 1, filter.scales.allSatisfy({ $0.isFinite && $0 > 0 }),
                  filter.zeroPoints.count == filter.scales.count, filter.zeroPoints.allSatisfy({ $0 == 0 }),
                  filter.scales.count == 1 || filter.quantizedDimension == 0 else {
                throw fail(op, "weights '\(filter.name)' need 1 or \(outputs) positive scales along the output channels and zero points 0 "
                               + "(\(filter.scales.count) scales and \(filter.zeroPoints.count) zero points on dimension \(filter.quantizedDimension))")
            }
            guard !values.contains(-128) else { throw fail(op, "weights '\(filter.name)' use -128; rn's weights are symmetric (-127...127)") }
            var biasValues = [Int32](repeating: 0, count: outputs)
            if bias >= 0 {
                let b = tensors[bias]
                guard b.type == 2, b.shape == [outputs] else { throw fail(op, "bias '\(b.name)' must be int32 [\(outputs)]") }
                let bytes = try data(bias, op)
                biasValues = stride(from: bytes.startIndex, to: bytes.endIndex, by: 4).map {
                    Int32(bitPattern: UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24)
                }
            }
            let out = try quantization(output, op)
            let multipliers = try (0..<outputs).map { c in
                try multiplier(Double(inputScale) * Double(filter.scales[filter.scales.count == 1 ? 0 : c]) / Double(out.scale), op)
            }
            let scales = (0..<outputs).map { Double(filter.scales[filter.scales.count == 1 ? 0 : $0]) }
            return ModelGraph.Weights(values: values, bias: biasValues, multipliers: multipliers, scales: scales)
        }
    }
}
