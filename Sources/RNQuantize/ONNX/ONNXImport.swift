import Foundation
import RNFormat
import RNTrain

/// Float ONNX graphs (PyTorch's exporters, torchvision-style or CIFAR-style ResNets) to the
/// folded float model the exporter already calibrates and quantizes: one pipeline after the
/// reader. Batch norm folds into the convolution before it, ReLU into the conv or add before it,
/// a bias Add into the MatMul before it; NCHW weights become OHWI (the trainer's and the
/// runtime's layout) and a Gemm after a flattened feature map gets its columns reordered from
/// NCHW to NHWC. Constant-foldable shape chains (`x.view(x.size(0), -1)`) are evaluated.
public enum ONNXImporter {
    /// Ops the importer reads (default domain). Softmax only as the graph's output (dropped:
    /// argmax is unchanged).
    public static let supportedOps: Set<String> = [
        "Conv", "BatchNormalization", "Relu", "Clip", "Add", "MaxPool", "GlobalAveragePool", "AveragePool", "ReduceMean",
        "Flatten", "Reshape", "Gemm", "MatMul", "Identity", "Dropout", "Softmax", "Constant", "Shape", "Gather",
        "Unsqueeze", "Concat", "Squeeze",
    ]

    /// What a graph value is during import.
    enum Value {
        /// A feature map: folded tensor `t`, NCHW shape (batch 1).
        case feature(t: Int, c: Int, h: Int, w: Int)
        /// A 2-D [1, N] view of tensor `t`; `nchw` is the feature map it flattens, if any.
        case flat(t: Int, count: Int, nchw: (c: Int, h: Int, w: Int)?)
        /// A constant (initializer, Constant node, or a folded shape computation).
        case constant(ONNXTensor)

        var tensor: Int? {
            switch self {
            case .feature(let t, _, _, _), .flat(let t, _, _): return t
            case .constant: return nil
            }
        }
    }

    /// Imports `model`. `input` (height, width, channels) is required when the graph's input
    /// has symbolic spatial dims; `info` carries labels, mean and std (ONNX has none).
    public static func fold(_ model: ONNXModel, input override: (height: Int, width: Int, channels: Int)? = nil,
                            info: CheckpointInfo) throws -> FoldedModel {
        guard let opset = model.opset else { throw ExportError("ONNX: no default-domain opset import") }
        guard (9...21).contains(opset) else { throw ExportError("ONNX: opset \(opset) (rn reads opsets 9 to 21)") }
        let graph = model.graph
        let unsupported = graph.nodes.filter { !$0.domain.isEmpty && $0.domain != "ai.onnx" || !supportedOps.contains($0.opType) }
        guard unsupported.isEmpty else {
            throw ExportError("ONNX: unsupported ops: " + unsupported.map { "\($0.label)" + ($0.domain.isEmpty ? "" : " (domain \($0.domain))") }
                .joined(separator: ", "))
        }
        var ordered = graph
        ordered.nodes = shortcutsFirst(graph.nodes)
        var importer = Importer(graph: ordered, opset: opset)
        try importer.run(input: override)
        return try FoldedModel(ops: importer.ops, names: importer.names, input: importer.inputShape, info: info)
    }

    /// torchvision computes a block's projection shortcut after its two convolutions, which
    /// keeps the block's input alive across them and puts the shortcut, not the second
    /// convolution, right before the add. rn's own order (RNQuantize/FoldedModel) runs the
    /// shortcut first: its input can then die early and the second convolution fuses with the add
    /// (conv2d_add). So each projection (a Conv, with the BatchNormalization after it, that
    /// only an Add reads) moves to just after the node that produces its input.
    static func shortcutsFirst(_ nodes: [ONNXNode]) -> [ONNXNode] {
        var nodes = nodes
        var readers: [String: Int] = [:]
        for n in nodes { for i in n.inputs { readers[i, default: 0] += 1 } }
        func producer(_ name: String) -> Int? { nodes.firstIndex { $0.outputs.contains(name) } }
        for add in nodes.indices where nodes[add].opType == "Add" {
            for input in nodes[add].inputs {
                // The chain: [Conv] or [Conv, BatchNormalization], each output read once.
                guard var last = producer(input), readers[input] == 1 else { continue }
                var chain = [last]
                if nodes[last].opType == "BatchNormalization", let conv = producer(nodes[last].inputs[0]),
                   readers[nodes[last].inputs[0]] == 1 {
                    chain.insert(conv, at: 0)
                    last = conv
                }
                guard nodes[last].opType == "Conv" else { continue }
                let x = nodes[last].inputs[0]
                let after = (producer(x) ?? -1) + 1   // right after x is produced (or first, for the graph input)
                guard chain[0] > after, chain.allSatisfy({ $0 < add }) else { continue }
                // Only when the rest of the block is in between (the other branch also reads x).
                guard nodes[after..<chain[0]].contains(where: { $0.inputs.contains(x) }) else { continue }
                let moved = chain.map { nodes[$0] }
                for k in chain.reversed() { nodes.remove(at: k) }
                nodes.insert(contentsOf: moved, at: after)
            }
        }
        return nodes
    }

    struct Importer {
        let graph: ONNXGraph
        let opset: Int64
        var values: [String: Value] = [:]
        var ops: [FoldedModel.Op] = []
        var names: [String] = []
        var inputShape = (height: 0, width: 0, channels: 0)
        /// How many nodes (and graph outputs) read each value.
        var readers: [String: Int] = [:]

        init(graph: ONNXGraph, opset: Int64) {
            self.graph = graph
            self.opset = opset
            for node in graph.nodes { for name in node.inputs where !name.isEmpty { readers[name, default: 0] += 1 } }
            for output in graph.outputs { readers[output.name, default: 0] += 1 }
        }

        func fail(_ node: ONNXNode, _ text: String) -> ExportError { ExportError("ONNX \(node.label): \(text)") }

        mutating func emit(_ op: FoldedModel.Op, _ node: ONNXNode) -> Int {
            ops.append(op)
            let name = node.name.isEmpty ? (node.outputs.first ?? "op\(ops.count)") : node.name
            names.append(String(name.map { $0 == "+" || $0 == "\n" ? "_" : $0 }))
            return ops.count
        }

        func value(_ name: String, _ node: ONNXNode) throws -> Value {
            guard let v = values[name] else {
                throw fail(node, "input '\(name)' is not produced by an earlier node (dangling input, or the graph has a cycle)")
            }
            return v
        }

        func constant(_ name: String, _ node: ONNXNode) throws -> ONNXTensor {
            guard case .constant(let t) = try value(name, node) else { throw fail(node, "'\(name)' must be a constant") }
            return t
        }

        func feature(_ name: String, _ node: ONNXNode) throws -> (t: Int, c: Int, h: Int, w: Int) {
            guard case let .feature(t, c, h, w) = try value(name, node) else { throw fail(node, "'\(name)' must be a 4-D feature map") }
            return (t, c, h, w)
        }

        func ints(_ node: ONNXNode, _ name: String) -> [Int]? { node.attribute(name).map { $0.ints.map { Int($0) } } }
        func int(_ node: ONNXNode, _ name: String, _ fallback: Int) -> Int { node.attribute(name)?.int.map { Int($0) } ?? fallback }

        /// The producer op of tensor `t` if only one reader reads `name` (so it may be fused).
        func fusable(_ name: String, _ t: Int) -> Int? { readers[name] == 1 && t >= 1 ? t - 1 : nil }

        mutating func run(input override: (height: Int, width: Int, channels: Int)?) throws {
            for t in graph.initializers { values[t.name] = .constant(t) }
            let inputs = graph.inputs.filter { values[$0.name] == nil }
            guard inputs.count == 1, let input = inputs.first else {
                throw ExportError("ONNX: the graph has \(inputs.count) inputs besides its weights; rn runs one image input")
            }
            guard input.elementType == 1 else { throw ExportError("ONNX input '\(input.name)': element type \(input.elementType), rn imports float models") }
            guard input.shape.count == 4 else {
                throw ExportError("ONNX input '\(input.name)': rank \(input.shape.count), rn runs NCHW images (rank 4)")
            }
            func dim(_ k: Int) -> Int? { if case .value(let v) = input.shape[k], v > 0 { return v } else { return nil } }
            if let batch = dim(0), batch != 1 { throw ExportError("ONNX input '\(input.name)': batch \(batch); export with batch 1 or a symbolic batch") }
            let c = dim(1) ?? override?.channels, h = dim(2) ?? override?.height, w = dim(3) ?? override?.width
            guard let c, let h, let w else {
                throw ExportError("ONNX input '\(input.name)': symbolic size \(input.shape); give --input HxWxC")
            }
            if let o = override, (o.channels, o.height, o.width) != (c, h, w) {
                throw ExportError("ONNX input '\(input.name)' is \(h)x\(w)x\(c), --input says \(o.height)x\(o.width)x\(o.channels)")
            }
            guard c == 1 || c == 3 else { throw ExportError("ONNX input '\(input.name)': \(c) channels; rn reads gray or RGB images") }
            inputShape = (h, w, c)
            values[input.name] = .feature(t: 0, c: c, h: h, w: w)
            for node in graph.nodes { try visit(node) }
            guard graph.outputs.count == 1, let output = graph.outputs.first else {
                throw ExportError("ONNX: the graph has \(graph.outputs.count) outputs; rn runs one")
            }
            guard case .flat(let t, _, _)? = values[output.name], t == ops.count, case .fullyConnected? = ops.last else {
                throw ExportError("ONNX output '\(output.name)': the graph must end in logits from Gemm or MatMul (then optionally Softmax)")
            }
            // Every op's result must be read (the file format needs it): a dead branch is an error.
            var read = Set<Int>([ops.count])
            for op in ops { read.formUnion(op.inputs) }
            if let dead = (1...ops.count).first(where: { !read.contains($0) }) {
                throw ExportError("ONNX: the result of \(names[dead - 1]) is never used")
            }
        }

        // MARK: - Nodes

        mutating func visit(_ node: ONNXNode) throws {
            let out = node.outputs.first ?? ""
            switch node.opType {
            case "Constant":
                guard let t = node.attribute("value")?.tensor else {
                    if let v = node.attribute("value_ints") { values[out] = .constant(ONNXTensor(name: out, dims: [v.ints.count], dataType: 7, ints: v.ints)); return }
                    if let v = node.attribute("value_int") { values[out] = .constant(ONNXTensor(name: out, dims: [], dataType: 7, ints: [v.int!])); return }
                    if let v = node.attribute("value_float") { values[out] = .constant(ONNXTensor(name: out, dims: [], dataType: 1, floats: [v.float!])); return }
                    throw fail(node, "only tensor, int and float constants are read")
                }
                values[out] = .constant(t)
            case "Identity", "Dropout":
                values[out] = try value(node.inputs[0], node)
            case "Softmax":
                guard graph.outputs.contains(where: { $0.name == out }) else { throw fail(node, "Softmax is read only as the graph's output") }
                values[out] = try value(node.inputs[0], node)   // dropped: the int8 output is the logits, argmax unchanged
            case "Conv": try conv(node)
            case "BatchNormalization": try batchNorm(node)
            case "Relu": try relu(node)
            case "Clip":
                let low = opset >= 11 ? (node.inputs.count > 1 && !node.inputs[1].isEmpty ? try constant(node.inputs[1], node).floats.first : nil)
                    : node.attribute("min")?.float
                let high = opset >= 11 ? (node.inputs.count > 2 && !node.inputs[2].isEmpty ? try constant(node.inputs[2], node).floats.first : nil)
                    : node.attribute("max")?.float
                switch (low, high) {
                case (0?, nil), (0?, .some(3.0e38...)): try relu(node, .relu)
                case (0?, 6?): try relu(node, .relu6)
                default:
                    throw fail(node, "Clip to [\(low.map { "\($0)" } ?? "-inf"), \(high.map { "\($0)" } ?? "inf")]: only Clip(0, inf) (ReLU) and Clip(0, 6) (ReLU6) are supported")
                }
            case "Add": try add(node)
            case "MaxPool": try maxPool(node)
            case "GlobalAveragePool":
                let x = try feature(node.inputs[0], node)
                values[out] = .feature(t: emit(.globalAveragePool(input: x.t), node), c: x.c, h: 1, w: 1)
            case "AveragePool":
                let x = try feature(node.inputs[0], node)
                guard ints(node, "kernel_shape") == [x.h, x.w], (ints(node, "pads") ?? [0, 0, 0, 0]).allSatisfy({ $0 == 0 }),
                      int(node, "ceil_mode", 0) == 0 else {
                    throw fail(node, "only an AveragePool over the whole \(x.h)x\(x.w) input is supported")
                }
                values[out] = .feature(t: emit(.globalAveragePool(input: x.t), node), c: x.c, h: 1, w: 1)
            case "ReduceMean":
                let x = try feature(node.inputs[0], node)
                var axes = ints(node, "axes")
                if axes == nil, node.inputs.count > 1, !node.inputs[1].isEmpty { axes = try constant(node.inputs[1], node).ints.map { Int($0) } }
                guard let axes, Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else {
                    throw fail(node, "only a mean over height and width (axes 2 and 3) is supported")
                }
                let t = emit(.globalAveragePool(input: x.t), node)
                values[out] = int(node, "keepdims", 1) == 1 ? .feature(t: t, c: x.c, h: 1, w: 1) : .flat(t: t, count: x.c, nchw: (x.c, 1, 1))
            case "Flatten":
                let x = try feature(node.inputs[0], node)
                guard int(node, "axis", 1) == 1 else { throw fail(node, "only axis 1 is supported") }
                values[out] = .flat(t: x.t, count: x.c * x.h * x.w, nchw: (x.c, x.h, x.w))
            case "Reshape": try reshape(node)
            case "Squeeze":
                let x = try feature(node.inputs[0], node)
                guard x.h == 1, x.w == 1 else { throw fail(node, "only squeezing a 1x1 feature map is supported") }
                values[out] = .flat(t: x.t, count: x.c, nchw: (x.c, 1, 1))
            case "Gemm": try gemm(node)
            case "MatMul": try matMul(node)
            case "Shape", "Gather", "Unsqueeze", "Concat": try foldShape(node)
            default:
                throw fail(node, "not supported")
            }
        }

        /// Kernel, stride and symmetric padding of a square window (`kernel_shape`, `strides`, `pads`, `auto_pad`).
        func window(_ node: ONNXNode, kernel: (Int, Int), input: (h: Int, w: Int)) throws -> (kernel: Int, stride: Int, padding: Int) {
            guard kernel.0 == kernel.1 else { throw fail(node, "kernel \(kernel.0)x\(kernel.1): only square kernels are supported") }
            let strides = ints(node, "strides") ?? [1, 1]
            guard strides.count == 2, strides[0] == strides[1], strides[0] >= 1 else { throw fail(node, "strides \(strides): only equal strides are supported") }
            // The format's window fields (and the padding arithmetic below, which would overflow past them).
            guard (1...255).contains(kernel.0), strides[0] <= 255 else { throw fail(node, "kernel \(kernel.0) and stride \(strides[0]) must be 1 to 255") }
            guard (ints(node, "dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail(node, "dilation is not supported") }
            var pads = ints(node, "pads") ?? [0, 0, 0, 0]
            switch node.attribute("auto_pad")?.string ?? "NOTSET" {
            case "NOTSET": break
            case "VALID": pads = [0, 0, 0, 0]
            case "SAME_UPPER", "SAME_LOWER":
                // Output ceil(in / stride); the total padding split evenly (rn needs it even).
                let total = max(0, ((input.h + strides[0] - 1) / strides[0] - 1) * strides[0] + kernel.0 - input.h)
                guard total % 2 == 0 else { throw fail(node, "auto_pad \(node.attribute("auto_pad")!.string!) needs uneven padding") }
                pads = [total / 2, total / 2, total / 2, total / 2]
            case let other: throw fail(node, "auto_pad \(other) is not supported")
            }
            guard pads.count == 4, Set(pads).count == 1, pads[0] < kernel.0 else {
                throw fail(node, "pads \(pads): only equal padding on every side, smaller than the kernel, is supported")
            }
            return (kernel.0, strides[0], pads[0])
        }

        mutating func conv(_ node: ONNXNode) throws {
            let x = try feature(node.inputs[0], node), w = try constant(node.inputs[1], node)
            guard int(node, "group", 1) == 1 else { throw fail(node, "grouped or depthwise convolution is not supported") }
            guard w.dataType == 1, w.dims.count == 4, w.dims[1] == x.c else {
                throw fail(node, "weights \(w.dims) do not fit a \(x.c)-channel input")
            }
            let (cout, kh, kw) = (w.dims[0], w.dims[2], w.dims[3])
            let (kernel, stride, padding) = try window(node, kernel: (kh, kw), input: (x.h, x.w))
            var bias = [Float](repeating: 0, count: cout)
            if node.inputs.count > 2, !node.inputs[2].isEmpty {
                let b = try constant(node.inputs[2], node)
                guard b.floats.count == cout else { throw fail(node, "bias of \(b.floats.count) values for \(cout) channels") }
                bias = b.floats
            }
            // OIHW -> OHWI.
            var ohwi = [Float](repeating: 0, count: w.floats.count)
            for o in 0..<cout {
                for i in 0..<x.c {
                    for ky in 0..<kh {
                        for kx in 0..<kw { ohwi[((o * kh + ky) * kw + kx) * x.c + i] = w.floats[((o * x.c + i) * kh + ky) * kw + kx] }
                    }
                }
            }
            let oh = (x.h + 2 * padding - kernel) / stride + 1, ow = (x.w + 2 * padding - kernel) / stride + 1
            guard oh >= 1, ow >= 1 else { throw fail(node, "the window does not fit the \(x.h)x\(x.w) input") }
            let t = emit(.conv(input: x.t, weights: ohwi, bias: bias, outChannels: cout, kernel: kernel, stride: stride,
                               padding: padding, relu: .none), node)
            values[node.outputs[0]] = .feature(t: t, c: cout, h: oh, w: ow)
        }

        /// Folds into the convolution before it: w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta.
        mutating func batchNorm(_ node: ONNXNode) throws {
            let x = try feature(node.inputs[0], node)
            guard int(node, "training_mode", 0) == 0, node.outputs.filter({ !$0.isEmpty }).count == 1 else {
                throw fail(node, "only inference-mode batch normalization is supported")
            }
            guard let i = fusable(node.inputs[0], x.t), case let .conv(input, weights, bias, c, k, s, p, .none) = ops[i] else {
                throw fail(node, "batch normalization is folded into the convolution before it, which it must alone read")
            }
            let (gamma, beta, mean, variance) = (try constant(node.inputs[1], node).floats, try constant(node.inputs[2], node).floats,
                                                 try constant(node.inputs[3], node).floats, try constant(node.inputs[4], node).floats)
            guard [gamma.count, beta.count, mean.count, variance.count].allSatisfy({ $0 == c }) else {
                throw fail(node, "parameters do not have \(c) channels")
            }
            let epsilon = node.attribute("epsilon")?.float ?? 1e-5
            let taps = weights.count / c
            var w = weights, b = bias
            for ch in 0..<c {
                let scale = gamma[ch] / (variance[ch] + epsilon).squareRoot()
                for k in 0..<taps { w[ch * taps + k] *= scale }
                b[ch] = (bias[ch] - mean[ch]) * scale + beta[ch]
            }
            guard w.allSatisfy(\.isFinite), b.allSatisfy(\.isFinite) else { throw fail(node, "folded weights are not finite") }
            ops[i] = .conv(input: input, weights: w, bias: b, outChannels: c, kernel: k, stride: s, padding: p, relu: .none)
            values[node.outputs[0]] = .feature(t: x.t, c: x.c, h: x.h, w: x.w)
        }

        /// A ReLU (or ReLU6) fuses into the conv or add before it.
        mutating func relu(_ node: ONNXNode, _ activation: FoldedModel.Activation = .relu) throws {
            let x = try feature(node.inputs[0], node)
            guard let i = fusable(node.inputs[0], x.t) else {
                throw fail(node, "a ReLU fuses into the convolution or add before it, which it must alone read")
            }
            switch ops[i] {
            case let .conv(input, w, b, c, k, s, p, .none):
                ops[i] = .conv(input: input, weights: w, bias: b, outChannels: c, kernel: k, stride: s, padding: p, relu: activation)
            case let .add(a, b, .none): ops[i] = .add(a, b, relu: activation)
            default: throw fail(node, "a ReLU fuses only into a convolution or an add")
            }
            values[node.outputs[0]] = .feature(t: x.t, c: x.c, h: x.h, w: x.w)
        }

        mutating func add(_ node: ONNXNode) throws {
            let a = try value(node.inputs[0], node), b = try value(node.inputs[1], node)
            switch (a, b) {
            case let (.feature(ta, ca, ha, wa), .feature(tb, cb, hb, wb)):
                guard (ca, ha, wa) == (cb, hb, wb) else { throw fail(node, "shapes \(ca)x\(ha)x\(wa) and \(cb)x\(hb)x\(wb) differ (no broadcasting)") }
                values[node.outputs[0]] = .feature(t: emit(.add(ta, tb, relu: .none), node), c: ca, h: ha, w: wa)
            case let (.flat(t, count, nchw), .constant(bias)), let (.constant(bias), .flat(t, count, nchw)):
                // The bias of a MatMul: folded into the fully connected op before it.
                let name: String
                if case .flat = a { name = node.inputs[0] } else { name = node.inputs[1] }
                guard let i = fusable(name, t), case let .fullyConnected(input, w, old, k) = ops[i], bias.floats.count == k else {
                    throw fail(node, "a constant Add is read only as the bias of the MatMul before it")
                }
                ops[i] = .fullyConnected(input: input, weights: w, bias: zip(old, bias.floats).map(+), outputs: k)
                values[node.outputs[0]] = .flat(t: t, count: count, nchw: nchw)
            default:
                throw fail(node, "only feature maps of one shape, or a MatMul and its bias, can be added")
            }
        }

        mutating func maxPool(_ node: ONNXNode) throws {
            let x = try feature(node.inputs[0], node)
            guard int(node, "ceil_mode", 0) == 0, int(node, "storage_order", 0) == 0, node.outputs.filter({ !$0.isEmpty }).count == 1 else {
                throw fail(node, "ceil_mode, storage_order and indices are not supported")
            }
            guard let k = ints(node, "kernel_shape"), k.count == 2 else { throw fail(node, "needs a 2-D kernel_shape") }
            let (kernel, stride, padding) = try window(node, kernel: (k[0], k[1]), input: (x.h, x.w))
            let oh = (x.h + 2 * padding - kernel) / stride + 1, ow = (x.w + 2 * padding - kernel) / stride + 1
            values[node.outputs[0]] = .feature(t: emit(.maxPool(input: x.t, kernel: kernel, stride: stride, padding: padding), node),
                                               c: x.c, h: oh, w: ow)
        }

        mutating func reshape(_ node: ONNXNode) throws {
            let x = try value(node.inputs[0], node)
            let shape = try constant(node.inputs[1], node).ints.map { Int($0) }
            let (t, count, nchw): (Int, Int, (c: Int, h: Int, w: Int)?)
            switch x {
            case let .feature(ft, c, h, w): (t, count, nchw) = (ft, c * h * w, (c, h, w))
            case let .flat(ft, n, f): (t, count, nchw) = (ft, n, f)
            case .constant: throw fail(node, "reshaping constants is not supported")
            }
            let allowZero = int(node, "allowzero", 0) == 1
            let current = [1, count]
            let resolved = shape.enumerated().map { k, d in d == 0 && !allowZero && k < current.count ? current[k] : d }
            guard resolved.count == 2, resolved[0] == 1 || resolved[0] == -1, resolved[1] == count || resolved[1] == -1,
                  resolved.filter({ $0 == -1 }).count <= 1 else {
                throw fail(node, "shape \(shape): only a reshape to [1, \(count)] is supported")
            }
            values[node.outputs[0]] = .flat(t: t, count: count, nchw: nchw)
        }

        /// Fully connected weights (K, N) from a [N, K] (transB 0) or [K, N] (transB 1) matrix,
        /// columns reordered from NCHW to NHWC when the input flattens a feature map larger than 1x1.
        func fullyConnectedWeights(_ b: ONNXTensor, transposed: Bool, input nchw: (c: Int, h: Int, w: Int)?, n: Int,
                                   _ node: ONNXNode) throws -> (weights: [Float], k: Int) {
            guard b.dataType == 1, b.dims.count == 2 else { throw fail(node, "weights must be a 2-D float constant") }
            let k = transposed ? b.dims[0] : b.dims[1]
            guard (transposed ? b.dims[1] : b.dims[0]) == n else { throw fail(node, "weights \(b.dims) do not fit \(n) inputs") }
            var w = [Float](repeating: 0, count: k * n)
            for row in 0..<k {
                for col in 0..<n {
                    var ours = col
                    if let f = nchw, f.h * f.w > 1 {   // NCHW index col = (c * H + y) * W + x -> NHWC (y * W + x) * C + c
                        let c = col / (f.h * f.w), y = col / f.w % f.h, x = col % f.w
                        ours = (y * f.w + x) * f.c + c
                    }
                    w[row * n + ours] = transposed ? b.floats[row * n + col] : b.floats[col * k + row]
                }
            }
            return (w, k)
        }

        func flatInput(_ name: String, _ node: ONNXNode) throws -> (t: Int, count: Int, nchw: (c: Int, h: Int, w: Int)?) {
            switch try value(name, node) {
            case let .flat(t, n, f): return (t, n, f)
            case let .feature(t, c, 1, 1): return (t, c, (c, 1, 1))
            default: throw fail(node, "'\(name)' must be a flattened feature map")
            }
        }

        mutating func gemm(_ node: ONNXNode) throws {
            let a = try flatInput(node.inputs[0], node)
            guard int(node, "transA", 0) == 0, (node.attribute("alpha")?.float ?? 1) == 1, (node.attribute("beta")?.float ?? 1) == 1 else {
                throw fail(node, "only transA 0, alpha 1 and beta 1 are supported")
            }
            let (w, k) = try fullyConnectedWeights(try constant(node.inputs[1], node), transposed: int(node, "transB", 0) == 1,
                                                   input: a.nchw, n: a.count, node)
            var bias = [Float](repeating: 0, count: k)
            if node.inputs.count > 2, !node.inputs[2].isEmpty {
                let c = try constant(node.inputs[2], node)
                guard c.floats.count == k else { throw fail(node, "bias of \(c.floats.count) values for \(k) outputs") }
                bias = c.floats
            }
            let t = emit(.fullyConnected(input: a.t, weights: w, bias: bias, outputs: k), node)
            values[node.outputs[0]] = .flat(t: t, count: k, nchw: nil)
        }

        mutating func matMul(_ node: ONNXNode) throws {
            let a = try flatInput(node.inputs[0], node)
            let (w, k) = try fullyConnectedWeights(try constant(node.inputs[1], node), transposed: false, input: a.nchw, n: a.count, node)
            let t = emit(.fullyConnected(input: a.t, weights: w, bias: [Float](repeating: 0, count: k), outputs: k), node)
            values[node.outputs[0]] = .flat(t: t, count: k, nchw: nil)
        }

        /// Shape, Gather, Unsqueeze and Concat over constants and known shapes, as older exporters
        /// write `x.view(x.size(0), -1)`: evaluated here, int64.
        mutating func foldShape(_ node: ONNXNode) throws {
            func ints(_ v: [Int64], _ dims: [Int]) -> Value { .constant(ONNXTensor(name: node.outputs[0], dims: dims, dataType: 7, ints: v)) }
            switch node.opType {
            case "Shape":
                switch try value(node.inputs[0], node) {
                case let .feature(_, c, h, w): values[node.outputs[0]] = ints([1, Int64(c), Int64(h), Int64(w)], [4])
                case let .flat(_, n, _): values[node.outputs[0]] = ints([1, Int64(n)], [2])
                case let .constant(t): values[node.outputs[0]] = ints(t.dims.map { Int64($0) }, [t.dims.count])
                }
            case "Gather":
                let data = try constant(node.inputs[0], node), indices = try constant(node.inputs[1], node)
                guard int(node, "axis", 0) == 0, data.dims.count == 1, data.dataType != 1 else { throw fail(node, "only gathering from a 1-D integer constant is supported") }
                let picked = try indices.ints.map { i -> Int64 in
                    let k = Int(i < 0 ? i + Int64(data.ints.count) : i)
                    guard k >= 0, k < data.ints.count else { throw fail(node, "index \(i) out of range") }
                    return data.ints[k]
                }
                values[node.outputs[0]] = ints(picked, indices.dims)
            case "Unsqueeze":
                let data = try constant(node.inputs[0], node)
                guard data.dataType != 1, data.dims.count <= 1 else { throw fail(node, "only unsqueezing integer scalars and vectors is supported") }
                values[node.outputs[0]] = ints(data.ints, [data.ints.count])
            default:   // Concat
                guard int(node, "axis", 0) == 0 else { throw fail(node, "only axis 0 is supported") }
                var all: [Int64] = []
                for name in node.inputs {
                    let t = try constant(name, node)
                    guard t.dataType != 1 else { throw fail(node, "only integer constants are concatenated") }
                    all += t.ints
                }
                values[node.outputs[0]] = ints(all, [all.count])
            }
        }
    }
}
