import Testing
@testable import RNTrain

/// Finite-difference checks of every layer's backward pass. The loss is L = sum(y * r) for a
/// fixed random r, so dL/dy = r; analytic gradients must match (L(v + e) - L(v - e)) / 2e.
struct GradientCheck {
    var rng = SeededRandom(seed: 77)
    /// Small steps cross few kinks; much smaller ones drown in float rounding of the loss.
    let epsilon: Float = 1e-3
    let directionalEpsilon: Float = 1e-3
    var worst: Float = 0

    static func loss(_ y: Tensor, _ r: [Float]) -> Double {
        (0..<y.count).reduce(0.0) { $0 + Double(y.data[$1]) * Double(r[$1]) }
    }

    func mismatch(_ analytic: Float, _ numeric: Float) -> Float {
        abs(analytic - numeric) / max(1, abs(analytic) + abs(numeric))
    }

    /// Checks dL/dx and the gradient of every parameter for `forward`/`backward`.
    mutating func check(input x: Tensor, parameters: [Parameter], samples: Int = 24,
                        forward: (Tensor) -> Tensor, backward: (Tensor) -> Tensor) -> Float {
        let y0 = forward(x)
        let r = (0..<y0.count).map { _ in rng.normal() }
        for p in parameters { for i in p.grad.indices { p.grad[i] = 0 } }
        let dx = backward(Tensor(n: y0.n, h: y0.h, w: y0.w, c: y0.c, values: r))
        var worst: Float = 0
        for _ in 0..<samples {
            let i = rng.int(x.count)
            let saved = x.data[i]
            x.data[i] = saved + epsilon; let plus = Self.loss(forward(x), r)
            x.data[i] = saved - epsilon; let minus = Self.loss(forward(x), r)
            x.data[i] = saved
            worst = max(worst, mismatch(dx.data[i], Float((plus - minus) / Double(2 * epsilon))))
        }
        for p in parameters {
            for _ in 0..<samples {
                let i = rng.int(p.value.count)
                let saved = p.value[i]
                p.value[i] = saved + epsilon; let plus = Self.loss(forward(x), r)
                p.value[i] = saved - epsilon; let minus = Self.loss(forward(x), r)
                p.value[i] = saved
                worst = max(worst, mismatch(p.grad[i], Float((plus - minus) / Double(2 * epsilon))))
            }
        }
        self.worst = max(self.worst, worst)
        return worst
    }

    /// The same check along random directions d: (L(v + e d) - L(v - e d)) / 2e against
    /// grad . d, for whole blocks and networks. Moving every element at once crosses ReLU and
    /// max-pool kinks, so their on/off decisions are frozen at the point being checked (the
    /// layers' own backward passes are checked unfrozen, element by element, above).
    mutating func checkDirectional(input x: Tensor, parameters: [Parameter], directions: Int = 3,
                                   freeze: (Bool) -> Void, forward: (Tensor) -> Tensor,
                                   backward: (Tensor) -> Tensor) -> Float {
        let y0 = forward(x)
        let r = (0..<y0.count).map { _ in rng.normal() }
        for p in parameters { for i in p.grad.indices { p.grad[i] = 0 } }
        let dx = backward(Tensor(n: y0.n, h: y0.h, w: y0.w, c: y0.c, values: r))
        // Keep the ReLU and max-pool decisions of this point while stepping around it.
        _ = forward(x)
        freeze(true)
        defer { freeze(false) }
        var worst: Float = 0
        func compare(_ analytic: Double, _ plus: Double, _ minus: Double) {
            let numeric = (plus - minus) / Double(2 * directionalEpsilon)
            worst = max(worst, Float(abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-2)))
        }
        for _ in 0..<directions {
            let d = (0..<x.count).map { _ in rng.normal() }
            let analytic = (0..<x.count).reduce(0.0) { $0 + Double(dx.data[$1]) * Double(d[$1]) }
            let saved = x.array
            for i in 0..<x.count { x.data[i] = saved[i] + directionalEpsilon * d[i] }
            let plus = Self.loss(forward(x), r)
            for i in 0..<x.count { x.data[i] = saved[i] - directionalEpsilon * d[i] }
            let minus = Self.loss(forward(x), r)
            for i in 0..<x.count { x.data[i] = saved[i] }
            compare(analytic, plus, minus)
        }
        for p in parameters {
            let d = (0..<p.value.count).map { _ in rng.normal() }
            let analytic = (0..<d.count).reduce(0.0) { $0 + Double(p.grad[$1]) * Double(d[$1]) }
            let saved = p.value
            p.value = zip(saved, d).map { $0 + directionalEpsilon * $1 }
            let plus = Self.loss(forward(x), r)
            p.value = zip(saved, d).map { $0 - directionalEpsilon * $1 }
            let minus = Self.loss(forward(x), r)
            p.value = saved
            compare(analytic, plus, minus)
        }
        self.worst = max(self.worst, worst)
        return worst
    }

    mutating func randomTensor(_ n: Int, _ h: Int, _ w: Int, _ c: Int) -> Tensor {
        Tensor(n: n, h: h, w: w, c: c, values: (0..<(n * h * w * c)).map { _ in rng.normal() })
    }
}

@Suite struct GradientCheckTests {
    static let tolerance: Float = 2e-2

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (1, 2, 0), (7, 2, 3), (5, 3, 1)])
    func conv2D(_ shape: (Int, Int, Int)) {
        let (k, s, p) = shape
        var g = GradientCheck()
        let conv = Conv2D(3, 4, kernel: k, stride: s, padding: p, rng: &g.rng)
        let x = g.randomTensor(2, 7, 6, 3)
        let e = g.check(input: x, parameters: conv.parameters, forward: { conv.forward($0, training: true) },
                        backward: { conv.backward($0) })
        #expect(e < Self.tolerance, "conv \(k)x\(k)/\(s) pad \(p): \(e)")
    }

    @Test func batchNormTraining() {
        var g = GradientCheck()
        let bn = BatchNorm(5)
        bn.gamma.value = (0..<5).map { _ in 0.5 + g.rng.unit() }
        bn.beta.value = (0..<5).map { _ in g.rng.normal() }
        let x = g.randomTensor(3, 4, 4, 5)
        let e = g.check(input: x, parameters: bn.parameters, forward: { bn.forward($0, training: true) },
                        backward: { bn.backward($0) })
        #expect(e < Self.tolerance, "batch norm: \(e)")
    }

    @Test func reluPoolsAndLinear() {
        var g = GradientCheck()
        let relu = ReLU()
        #expect(g.check(input: g.randomTensor(2, 3, 3, 4), parameters: [], forward: { relu.forward($0, training: true) },
                        backward: { relu.backward($0) }) < Self.tolerance)
        let pool = MaxPool(kernel: 3, stride: 2, padding: 1)
        #expect(g.check(input: g.randomTensor(2, 7, 6, 3), parameters: [], forward: { pool.forward($0, training: true) },
                        backward: { pool.backward($0) }) < Self.tolerance)
        let gap = GlobalAveragePool()
        #expect(g.check(input: g.randomTensor(3, 4, 5, 6), parameters: [], forward: { gap.forward($0, training: true) },
                        backward: { gap.backward($0) }) < Self.tolerance)
        let linear = Linear(6, 5, rng: &g.rng)
        #expect(g.check(input: g.randomTensor(4, 1, 1, 6), parameters: linear.parameters,
                        forward: { linear.forward($0, training: true) }, backward: { linear.backward($0) }) < Self.tolerance)
    }

    @Test(arguments: [(4, 6, 2, true), (5, 5, 1, true), (4, 6, 2, false)])
    func basicBlock(_ shape: (Int, Int, Int, Bool)) {
        let (cin, cout, stride, residual) = shape
        var g = GradientCheck()
        let block = BasicBlock(cin, cout, stride: stride, residual: residual, zeroInit: false, rng: &g.rng)
        #expect((block.projection != nil) == (residual && (stride != 1 || cin != cout)))
        let x = g.randomTensor(3, 6, 5, cin)
        let e = g.checkDirectional(input: x, parameters: block.parameters, freeze: block.setFrozen,
                                   forward: { block.forward($0, training: true) }, backward: { block.backward($0) })
        #expect(e < Self.tolerance, "block \(cin)->\(cout)/\(stride) residual \(residual): \(e)")
    }

    @Test func wholeNetworkAndLoss() {
        var g = GradientCheck()
        let arch = Architecture(kind: .resnet18, width: 2, stem: .imagenet, inputHeight: 48, inputWidth: 40,
                                inputChannels: 2, classes: 3)
        let net = ResNet(arch, seed: 5)
        let labels = [0, 2, 1, 2]
        let x = g.randomTensor(4, 48, 40, 2)
        // The loss itself: d(cross-entropy)/dlogits against finite differences.
        let logits = g.randomTensor(4, 1, 1, 3)
        let analytic = softmaxCrossEntropy(logits, labels: labels).gradient
        for i in 0..<logits.count {
            let saved = logits.data[i]
            logits.data[i] = saved + 1e-2; let plus = softmaxCrossEntropy(logits, labels: labels).loss
            logits.data[i] = saved - 1e-2; let minus = softmaxCrossEntropy(logits, labels: labels).loss
            logits.data[i] = saved
            #expect(abs(analytic.data[i] - (plus - minus) / 2e-2) < 1e-3)
        }
        let e = g.checkDirectional(input: x, parameters: net.parameters, freeze: net.setFrozen,
                                   forward: { net.forward($0, training: true) }, backward: { net.backward($0) })
        // Twenty layers of batch norm over few values per channel are strongly curved, and the
        // loss is summed in float: the whole network gets a looser bound than one block.
        #expect(e < 5e-2, "whole network: \(e)")
    }
}
