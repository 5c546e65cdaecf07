import RNFormat
import RNQuantize
import RNRuntime
import RNTrain

/// Runs the int8 model on one image through the runtime, keeping every op's int8 output, and
/// optionally each op's float result on the dequantised int8 inputs ("alone") or one op replaced
/// by that float result, requantised ("kept in float").
final class LayerRunner {
    let model: RNModel
    let folded: FoldedModel
    /// Folded ops computed by each int8 op.
    let cover: [[Int]]
    /// One arena for every run of this runner (one runner per thread).
    let arena: UnsafeMutableRawBufferPointer

    init(model: RNModel, folded: FoldedModel, cover: [[Int]]) {
        self.model = model
        self.folded = folded
        self.cover = cover
        arena = .allocate(byteCount: model.arenaBytes, alignment: 16)
    }

    deinit { arena.deallocate() }

    struct Result {
        var outputs: [[Int8]]
        var alone: [[Float]]
    }

    /// The float result of int8 op `i` from its int8 inputs.
    func floatAlone(_ i: Int, inputs: [[Int8]]) -> Tensor {
        let op = model.file.op(i)
        var tensors = [Tensor](repeating: Tensor(n: 1, h: 1, w: 1, c: 1), count: folded.ops.count + 1)
        func dequantized(_ t: Int, _ q: [Int8]) -> Tensor {
            let info = model.file.tensor(t)
            let x = Tensor(n: 1, h: info.rank == 4 ? info.height : 1, w: info.rank == 4 ? info.width : 1, c: info.innermost,
                           zeroed: false)
            for k in 0..<q.count { x.data[k] = Float(Int32(q[k]) - info.zeroPoint) * info.scale }
            return x
        }
        let first = cover[i][0]
        tensors[folded.ops[first].inputs[0]] = dequantized(op.input0, inputs[0])
        if op.input1 >= 0 {
            // add: its second input; conv2d_add: the residual, the fused add's input that is not
            // the convolution's output.
            let addInputs = folded.ops[cover[i].last!].inputs
            let residual = cover[i].count == 2 ? addInputs.first { $0 != first + 1 }! : addInputs[1]
            tensors[residual] = dequantized(op.input1, inputs[1])
        }
        var result = tensors[0]
        for f in cover[i] {
            result = folded.run(op: f, tensors)
            tensors[f + 1] = result
        }
        return result
    }

    func run(pixels: [UInt8], alone: Bool, floatLayer: Int = -1) -> Result {
        var input = [Int8](repeating: 0, count: model.input.byteCount)
        model.quantizeImage(pixels: pixels, into: &input)
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        var result = Result(outputs: [[Int8]](repeating: [], count: model.opCount), alone: [[Float]](repeating: [], count: model.opCount))
        var inputs = [[Int8]]()
        func tensorBytes(_ t: Int) -> [Int8] {
            let info = model.file.tensor(t)
            return Array(UnsafeBufferPointer(start: (arena.baseAddress! + info.arenaOffset).assumingMemoryBound(to: Int8.self),
                                             count: info.byteCount))
        }
        // The arena is valid throughout; the model was validated, so invoke cannot fail here.
        try? model.invoke(arena: arena, input: input, output: &output) { e in
            let i = e.opIndex
            let needsFloat = alone || i == floatLayer
            if e.phase == .begin {
                if needsFloat {
                    let op = model.file.op(i)
                    inputs = [tensorBytes(op.input0)] + (op.input1 >= 0 ? [tensorBytes(op.input1)] : [])
                }
                return
            }
            if needsFloat {
                let y = floatAlone(i, inputs: inputs)
                if alone { result.alone[i] = Array(y.data[0..<y.count]) }
                if i == floatLayer {
                    // Kept in float: requantise the float result into the op's output, for the next layers.
                    let t = model.file.tensor(i + 1), op = model.file.op(i)
                    let out = UnsafeMutablePointer(mutating: e.output)
                    for k in 0..<e.byteCount {
                        let q = (Double(y.data[k]) / Double(t.scale)).rounded() + Double(t.zeroPoint)
                        out[k] = Int8(max(Double(op.activationMin), min(Double(op.activationMax), q)))
                    }
                }
            }
            result.outputs[i] = Array(UnsafeBufferPointer(start: e.output, count: e.byteCount))
        }
        return result
    }
}
