import RNFormat
import RNKernels

// The fusions rn applies to every int8 graph, whatever made it (the exporter's quantizer, the
// TFLite importer): exact rewrites that keep tensors out of the arena.

extension ModelGraph {
    /// The graph with
    /// - each convolution followed by the max pool that alone reads it streamed into it
    ///   (conv2d_max_pool; the pool keeps the convolution's scale and zero point, so the
    ///   convolution is quantized like the pool's output), when `stemPools`;
    /// - each convolution without a clamp followed by the add that alone reads it fused with
    ///   it (conv2d_add: the convolution's int8 result, never stored, is the add's input with
    ///   the convolution tensor's scale and zero point), when `residualAdds`.
    /// Fused ops are named after both ("block2.conv2+block2.add"); tensors are renumbered.
    public func fused(residualAdds: Bool = true, stemPools: Bool = true) -> ModelGraph {
        var out = self
        out.tensors = [tensors[0]]
        out.ops = []
        out.names = []
        out.ranges = ranges.isEmpty ? [] : [ranges[0]]
        var map = [0] + [Int](repeating: -1, count: ops.count)
        func readers(_ t: Int) -> Int { ops.reduce(t == outputTensor ? 1 : 0) { $0 + $1.inputs.filter { $0 == t }.count } }
        func emit(_ op: Op, tensor t: Int, name: String) {
            out.ops.append(op)
            out.tensors.append(tensors[t])
            out.names.append(name)
            if !ranges.isEmpty { out.ranges.append(ranges[t]) }
            map[t] = out.tensors.count - 1
        }
        func name(_ i: Int) -> String { i < names.count ? names[i] : "op\(i)" }
        var i = 0
        while i < ops.count {
            let conv = i + 1, next = i + 1 < ops.count ? ops[i + 1] : nil
            if case let .conv2D(input, window, weights, activation) = ops[i], let next, readers(conv) == 1 {
                if stemPools, case let .maxPool(pooled, poolWindow, .none) = next, pooled == conv {
                    emit(.conv2DMaxPool(input: map[input], window: window, poolWindow: poolWindow, weights: weights, activation: activation),
                         tensor: i + 2, name: name(i) + "+" + name(i + 1))
                    i += 2
                    continue
                }
                if residualAdds, activation == .none, case let .add(a, b, leftShift, m, addActivation) = next, (a == conv) != (b == conv) {
                    let residual = a == conv ? b : a, multipliers = a == conv ? m : (m.1, m.0, m.2)
                    emit(.conv2DAdd(input: map[input], residual: map[residual], window: window, weights: weights,
                                    convScale: tensors[conv].scale, convZeroPoint: tensors[conv].zeroPoint, leftShift: leftShift,
                                    multipliers: multipliers, activation: addActivation),
                         tensor: i + 2, name: name(i) + "+" + name(i + 1))
                    i += 2
                    continue
                }
            }
            emit(ops[i].remapped(map), tensor: i + 1, name: name(i))
            i += 1
        }
        out.outputTensor = map[outputTensor]
        if names.isEmpty { out.names = [] }
        return out
    }
}

extension ModelGraph.Op {
    /// The same op reading `map[t]` instead of tensor t.
    func remapped(_ map: [Int]) -> Self {
        switch self {
        case let .conv2D(x, w, weights, a): return .conv2D(input: map[x], window: w, weights: weights, activation: a)
        case let .fullyConnected(x, weights, a): return .fullyConnected(input: map[x], weights: weights, activation: a)
        case let .add(x, y, s, m, a): return .add(input0: map[x], input1: map[y], leftShift: s, multipliers: m, activation: a)
        case let .conv2DAdd(x, r, w, weights, cs, cz, s, m, a):
            return .conv2DAdd(input: map[x], residual: map[r], window: w, weights: weights, convScale: cs, convZeroPoint: cz,
                              leftShift: s, multipliers: m, activation: a)
        case let .maxPool(x, w, a): return .maxPool(input: map[x], window: w, activation: a)
        case let .conv2DMaxPool(x, w, p, weights, a): return .conv2DMaxPool(input: map[x], window: w, poolWindow: p, weights: weights, activation: a)
        case let .globalAveragePool(x, a): return .globalAveragePool(input: map[x], activation: a)
        case let .mean(x, m, a): return .mean(input: map[x], multiplier: m, activation: a)
        }
    }
}
