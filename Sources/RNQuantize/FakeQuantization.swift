import Foundation
import RNFormat
import RNKernels

/// The float simulation of an int8 graph's arithmetic ("fake quantisation"): each op takes its
/// int8 inputs, computes in double precision with the real scales (no Q31 multipliers, no
/// integer tricks), and quantises its result: q = clamp(round(real / scale) + zero_point).
/// The fixed-point runtime agrees within 1 LSB on every output of every unfused op (tested);
/// a fused conv2d_add rounds its unstored convolution result first, so it can differ by more.
public enum FakeQuantization {
    /// Op `i` of `graph` on the given int8 tensors (indexed like the graph; only the op's
    /// inputs are read). Returns the op's int8 output.
    public static func run(_ graph: ModelGraph, op i: Int, tensors: [[Int8]]) -> [Int8] {
        let out = graph.tensors[i + 1]
        func quantize(_ real: Double, _ act: RNKernels.ActivationRange) -> Int8 {
            let q = (real / Double(out.scale)).rounded() + Double(out.zeroPoint)
            return Int8(max(Double(act.min), min(Double(act.max), q)))
        }
        func real(_ t: Int, _ k: Int) -> Double {
            Double(Int32(tensors[t][k]) - graph.tensors[t].zeroPoint) * Double(graph.tensors[t].scale)
        }
        switch graph.ops[i] {
        case let .conv2DAdd(input, residual, w, weights, convScale, convZeroPoint, _, _, act):
            // The convolution quantised to its own (unstored) scale and zero point, then the add.
            // A 1-LSB difference in that intermediate is scaled by conv_scale / output_scale, so
            // fused ops can differ by more than 1 LSB; compare unfused models per layer.
            var conv = graph
            conv.tensors[i + 1] = .init(shape: out.shape, scale: convScale, zeroPoint: convZeroPoint)
            conv.ops[i] = .conv2D(input: input, window: w, weights: weights, activation: .none)
            let t = run(conv, op: i, tensors: tensors)
            return (0..<out.byteCount).map { k in
                quantize(Double(Int32(t[k]) - convZeroPoint) * Double(convScale) + real(residual, k), act)
            }
        case let .conv2DMaxPool(input, w, poolWindow, weights, act):
            // The convolution quantised like the output (max pool keeps scale and zero point), then the pool.
            var staged = graph
            let x = graph.tensors[input]
            let (ch, cw) = w.outputSize(height: x.height, width: x.width)
            staged.tensors[i + 1] = .init(shape: [1, ch, cw, out.channels], scale: out.scale, zeroPoint: out.zeroPoint)
            staged.ops[i] = .conv2D(input: input, window: w, weights: weights, activation: act)
            var convTensors = tensors
            convTensors[i + 1] = run(staged, op: i, tensors: tensors)
            staged.tensors.append(out)
            staged.ops.append(.maxPool(input: i + 1, window: poolWindow, activation: .none))
            convTensors.append([])
            return run(staged, op: staged.ops.count - 1, tensors: convTensors)
        case let .conv2D(input, w, weights, act):
            let x = graph.tensors[input]
            let cin = x.channels, cout = out.channels, kh = w.kernelH, kw = w.kernelW
            var result = [Int8](repeating: 0, count: out.byteCount)
            for oy in 0..<out.height {
                for ox in 0..<out.width {
                    for c in 0..<cout {
                        var sum = Double(weights.bias[c]) * Double(x.scale) * weights.scales[c]
                        for ky in 0..<kh {
                            let iy = oy * w.strideH - w.padTop + ky
                            if iy < 0 || iy >= x.height { continue }
                            for kx in 0..<kw {
                                let ix = ox * w.strideW - w.padLeft + kx
                                if ix < 0 || ix >= x.width { continue }
                                for ci in 0..<cin {
                                    let weight = Double(weights.values[((c * kh + ky) * kw + kx) * cin + ci]) * weights.scales[c]
                                    sum += weight * real(input, (iy * x.width + ix) * cin + ci)
                                }
                            }
                        }
                        result[(oy * out.width + ox) * cout + c] = quantize(sum, act)
                    }
                }
            }
            return result
        case let .fullyConnected(input, weights, act):
            let x = graph.tensors[input], n = x.byteCount
            return (0..<out.byteCount).map { k in
                var sum = Double(weights.bias[k]) * Double(x.scale) * weights.scales[k]
                for j in 0..<n { sum += Double(weights.values[k * n + j]) * weights.scales[k] * real(input, j) }
                return quantize(sum, act)
            }
        case let .add(a, b, _, _, act):
            return (0..<out.byteCount).map { quantize(real(a, $0) + real(b, $0), act) }
        case let .maxPool(input, w, act):
            let x = graph.tensors[input], c = x.channels
            var result = [Int8](repeating: 0, count: out.byteCount)
            for oy in 0..<out.height {
                for ox in 0..<out.width {
                    for ch in 0..<c {
                        var best = -Double.infinity
                        for ky in 0..<w.kernelH {
                            let iy = oy * w.strideH - w.padTop + ky
                            if iy < 0 || iy >= x.height { continue }
                            for kx in 0..<w.kernelW {
                                let ix = ox * w.strideW - w.padLeft + kx
                                if ix < 0 || ix >= x.width { continue }
                                best = max(best, real(input, (iy * x.width + ix) * c + ch))
                            }
                        }
                        result[(oy * out.width + ox) * c + ch] = quantize(best, act)
                    }
                }
            }
            return result
        case let .mean(input, _, act):
            let x = graph.tensors[input], c = x.channels, n = x.height * x.width
            return (0..<c).map { ch in quantize((0..<n).reduce(0.0) { $0 + real(input, $1 * c + ch) } / Double(n), act) }
        case let .globalAveragePool(input, act):
            let x = graph.tensors[input], c = x.channels, n = x.height * x.width
            return (0..<c).map { ch in quantize((0..<n).reduce(0.0) { $0 + real(input, $1 * c + ch) } / Double(n), act) }
        }
    }
}
