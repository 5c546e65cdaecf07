import Foundation
import RNTrainKernels

// Float layers with forward and backward passes, NHWC. Each layer caches what its backward
// needs from the last training forward; `backward` must follow the matching `forward`.

public protocol Layer: AnyObject {
    func forward(_ x: Tensor, training: Bool) -> Tensor
    /// Takes dL/dy, accumulates parameter gradients, returns dL/dx.
    func backward(_ dy: Tensor) -> Tensor
    var parameters: [Parameter] { get }
}

// MARK: - Conv2D

/// 2-D convolution without bias (a batch norm follows). Weights (C_out, KH, KW, C_in), the
/// layout the int8 runtime uses. Forward is im2col + GEMM: col (rows_out, KH*KW*C_in) times
/// weights^T gives (rows_out, C_out).
public final class Conv2D: Layer {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let weight: Parameter
    var input: Tensor?
    var col: UnsafeMutableBufferPointer<Float>?
    var colCount = 0

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, padding: Int, rng: inout SeededRandom) {
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = kernel; self.stride = stride; self.padding = padding
        // He (Kaiming) normal initialisation, fan-in mode: std = sqrt(2 / (KH * KW * C_in)).
        let fanIn = kernel * kernel * inChannels
        let std = (2 / Float(fanIn)).squareRoot()
        weight = Parameter((0..<(outChannels * fanIn)).map { _ in rng.normal() * std }, decays: true)
    }

    deinit { col?.deallocate() }

    public var parameters: [Parameter] { [weight] }
    var taps: Int { kernel * kernel * inChannels }
    var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }

    public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }

    func ensureCol(_ count: Int) -> UnsafeMutablePointer<Float> {
        if colCount != count {
            col?.deallocate()
            col = .allocate(capacity: count)
            colCount = count
        }
        return col!.baseAddress!
    }

    /// col[(b, oy, ox)][(ky, kx, ci)] = x[b][oy*s - p + ky][ox*s - p + kx][ci], 0 in the padding.
    func im2col(_ x: Tensor, _ col: UnsafeMutablePointer<Float>, oh: Int, ow: Int) {
        let cin = inChannels, k = kernel, s = stride, p = padding, taps = self.taps
        parallelFor(x.n) { b in
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var dst = col + ((b * oh + oy) * ow + ox) * taps
                    for ky in 0..<k {
                        let iy = oy * s - p + ky
                        for kx in 0..<k {
                            let ix = ox * s - p + kx
                            if iy >= 0 && iy < x.h && ix >= 0 && ix < x.w {
                                dst.update(from: x.pointer + ((b * x.h + iy) * x.w + ix) * cin, count: cin)
                            } else {
                                dst.update(repeating: 0, count: cin)
                            }
                            dst += cin
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of im2col: dx[...] += dcol[...], summed over overlapping windows.
    func col2im(_ dcol: UnsafePointer<Float>, _ dx: Tensor, oh: Int, ow: Int) {
        let cin = inChannels, k = kernel, s = stride, p = padding, taps = self.taps
        dx.zero()
        parallelFor(dx.n) { b in
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var src = dcol + ((b * oh + oy) * ow + ox) * taps
                    for ky in 0..<k {
                        let iy = oy * s - p + ky
                        for kx in 0..<k {
                            let ix = ox * s - p + kx
                            if iy >= 0 && iy < dx.h && ix >= 0 && ix < dx.w {
                                let dst = dx.pointer + ((b * dx.h + iy) * dx.w + ix) * cin
                                for ci in 0..<cin { dst[ci] += src[ci] }
                            }
                            src += cin
                        }
                    }
                }
            }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.c == inChannels, "Conv2D: input has \(x.c) channels, expected \(inChannels)")
        let oh = outputSize(x.h), ow = outputSize(x.w)
        let y = Tensor(n: x.n, h: oh, w: ow, c: outChannels, zeroed: false)
        let rows = x.n * oh * ow
        let a: UnsafePointer<Float>
        if isPointwise {
            a = UnsafePointer(x.pointer)
        } else {
            let col = ensureCol(rows * taps)
            im2col(x, col, oh: oh, ow: ow)
            a = UnsafePointer(col)
        }
        weight.value.withUnsafeBufferPointer { w in
            sgemm(transA: false, transB: true, m: rows, n: outChannels, k: taps, a: a, lda: taps,
                  b: w.baseAddress!, ldb: taps, c: y.pointer, ldc: outChannels, accumulate: false)
        }
        input = training ? x : nil
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Conv2D.backward without a training forward") }
        let rows = dy.rows
        let a: UnsafePointer<Float> = isPointwise ? UnsafePointer(x.pointer) : UnsafePointer(col!.baseAddress!)
        // dW (C_out, taps) += dy^T (C_out, rows) * col (rows, taps)
        weight.grad.withUnsafeMutableBufferPointer { g in
            sgemm(transA: true, transB: false, m: outChannels, n: taps, k: rows, a: dy.pointer, lda: outChannels,
                  b: a, ldb: taps, c: g.baseAddress!, ldc: taps, accumulate: true)
        }
        let dx = Tensor.like(x, zeroed: false)
        weight.value.withUnsafeBufferPointer { w in
            if isPointwise {
                // dx (rows, C_in) = dy (rows, C_out) * W (C_out, C_in)
                sgemm(transA: false, transB: false, m: rows, n: taps, k: outChannels, a: dy.pointer, lda: outChannels,
                      b: w.baseAddress!, ldb: taps, c: dx.pointer, ldc: taps, accumulate: false)
            } else {
                let dcol = Tensor(n: rows, h: 1, w: 1, c: taps, zeroed: false)
                sgemm(transA: false, transB: false, m: rows, n: taps, k: outChannels, a: dy.pointer, lda: outChannels,
                      b: w.baseAddress!, ldb: taps, c: dcol.pointer, ldc: taps, accumulate: false)
                col2im(dcol.pointer, dx, oh: dy.h, ow: dy.w)
            }
        }
        input = nil
        return dx
    }
}

// MARK: - BatchNorm

/// Batch normalisation over N, H, W per channel. Training uses the batch statistics and updates
/// running statistics (momentum 0.1, unbiased variance, as PyTorch); eval uses the running ones.
public final class BatchNorm: Layer {
    public let channels: Int
    public let gamma: Parameter, beta: Parameter
    public var runningMean: [Float], runningVar: [Float]
    public let epsilon: Float = 1e-5
    public var momentum: Float = 0.1
    var xhat: Tensor?
    var inverseStd: [Float] = []

    public init(_ channels: Int, zeroGamma: Bool = false) {
        self.channels = channels
        gamma = Parameter([Float](repeating: zeroGamma ? 0 : 1, count: channels), decays: false)
        beta = Parameter([Float](repeating: 0, count: channels), decays: false)
        runningMean = [Float](repeating: 0, count: channels)
        runningVar = [Float](repeating: 1, count: channels)
    }

    public var parameters: [Parameter] { [gamma, beta] }

    /// Per-channel sums over all rows, in parallel: `body(row, a, b)` adds a row's terms into
    /// the partial sums a and b; returns the totals.
    func channelSums(_ rows: Int, _ body: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void)
        -> ([Float], [Float]) {
        // A fixed number of partial sums, whatever the thread count, so that results (and
        // training runs) are the same on every machine for a given seed.
        let c = channels
        let threads = max(1, min(8, rows / 64))
        var partA = [Float](repeating: 0, count: threads * c), partB = partA
        let step = (rows + threads - 1) / threads
        partA.withUnsafeMutableBufferPointer { pa in
            partB.withUnsafeMutableBufferPointer { pb in
                let pa = pa.baseAddress!, pb = pb.baseAddress!
                parallelFor(threads) { t in
                    for r in (t * step)..<min(rows, (t + 1) * step) { body(r, pa + t * c, pb + t * c) }
                }
            }
        }
        var a = [Float](repeating: 0, count: c), b = a
        for t in 0..<threads { for ch in 0..<c { a[ch] += partA[t * c + ch]; b[ch] += partB[t * c + ch] } }
        return (a, b)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let c = channels, rows = x.rows
        let y = Tensor.like(x, zeroed: false)
        var mean = runningMean, variance = runningVar
        if training {
            let (sum, _) = channelSums(rows) { r, s, _ in
                let row = x.pointer + r * c
                for ch in 0..<c { s[ch] += row[ch] }
            }
            mean = sum.map { $0 / Float(rows) }
            let (squares, _) = mean.withUnsafeBufferPointer { m in
                channelSums(rows) { r, s, _ in
                    let row = x.pointer + r * c
                    for ch in 0..<c { let d = row[ch] - m[ch]; s[ch] += d * d }
                }
            }
            variance = squares.map { $0 / Float(rows) }
            let unbiased = Float(rows) / Float(max(1, rows - 1))
            for ch in 0..<c {
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean[ch]
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * variance[ch] * unbiased
            }
        }
        inverseStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
        let xh = training ? Tensor.like(x, zeroed: false) : nil
        let scale = zip(gamma.value, inverseStd).map { $0 * $1 }
        let shift = (0..<c).map { beta.value[$0] - mean[$0] * scale[$0] }
        scale.withUnsafeBufferPointer { sc in shift.withUnsafeBufferPointer { sh in
            inverseStd.withUnsafeBufferPointer { inv in mean.withUnsafeBufferPointer { m in
                parallelChunks(rows, minimumChunk: 64) { range in
                    for r in range {
                        let src = x.pointer + r * c, dst = y.pointer + r * c
                        for ch in 0..<c { dst[ch] = src[ch] * sc[ch] + sh[ch] }
                        if let xh {
                            let h = xh.pointer + r * c
                            for ch in 0..<c { h[ch] = (src[ch] - m[ch]) * inv[ch] }
                        }
                    }
                }
            }}
        }}
        xhat = xh
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let xh = xhat else { preconditionFailure("BatchNorm.backward without a training forward") }
        let c = channels, rows = dy.rows
        let (sumDy, sumDyXhat) = channelSums(rows) { r, a, b in
            let g = dy.pointer + r * c, h = xh.pointer + r * c
            for ch in 0..<c { a[ch] += g[ch]; b[ch] += g[ch] * h[ch] }
        }
        for ch in 0..<c {
            beta.grad[ch] += sumDy[ch]
            gamma.grad[ch] += sumDyXhat[ch]
        }
        // dx = gamma * invstd / N * (N * dy - sum(dy) - xhat * sum(dy * xhat))
        let dx = Tensor.like(dy, zeroed: false)
        let n = Float(rows)
        let k = (0..<c).map { gamma.value[$0] * inverseStd[$0] / n }
        k.withUnsafeBufferPointer { k in sumDy.withUnsafeBufferPointer { sd in sumDyXhat.withUnsafeBufferPointer { sx in
            parallelChunks(rows, minimumChunk: 64) { range in
                for r in range {
                    let g = dy.pointer + r * c, h = xh.pointer + r * c, out = dx.pointer + r * c
                    for ch in 0..<c { out[ch] = k[ch] * (n * g[ch] - sd[ch] - h[ch] * sx[ch]) }
                }
            }
        }}}
        xhat = nil
        return dx
    }
}

// MARK: - ReLU, Add

public final class ReLU: Layer {
    var mask: Tensor?
    /// Gradient checking: keep the last training forward's on/off pattern instead of
    /// recomputing it, so finite differences see a smooth (linear) function at the kinks.
    public var frozen = false
    public init() {}
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = Tensor.like(x, zeroed: false)
        let src = x.pointer, dst = y.pointer
        if frozen, let mask {
            let on = mask.pointer
            for i in 0..<x.count { dst[i] = on[i] > 0 ? src[i] : 0 }
            return y
        }
        parallelChunks(x.count, minimumChunk: 4096) { range in
            for i in range { dst[i] = max(0, src[i]) }
        }
        mask = training ? y : nil
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let y = mask else { preconditionFailure("ReLU.backward without a training forward") }
        let dx = Tensor.like(dy, zeroed: false)
        let out = y.pointer, g = dy.pointer, d = dx.pointer
        parallelChunks(dy.count, minimumChunk: 4096) { range in
            for i in range { d[i] = out[i] > 0 ? g[i] : 0 }
        }
        mask = nil
        return dx
    }
}

/// Elementwise sum of two tensors of the same shape.
func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.sameShape(b), "add: shapes differ")
    let y = Tensor.like(a, zeroed: false)
    let pa = a.pointer, pb = b.pointer, py = y.pointer
    parallelChunks(a.count, minimumChunk: 4096) { range in
        for i in range { py[i] = pa[i] + pb[i] }
    }
    return y
}

// MARK: - Pooling

/// Max pool with a square window; padding positions never win.
public final class MaxPool: Layer {
    public let kernel: Int, stride: Int, padding: Int
    var argmax: [Int32] = []
    var inputShape: (Int, Int, Int, Int) = (0, 0, 0, 0)
    /// Gradient checking: reuse the last training forward's choices (see ReLU.frozen).
    public var frozen = false

    public init(kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    public var parameters: [Parameter] { [] }
    public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let oh = outputSize(x.h), ow = outputSize(x.w), c = x.c
        let y = Tensor(n: x.n, h: oh, w: ow, c: c)
        if frozen && argmax.count == y.count {
            for i in 0..<y.count { y.data[i] = x.data[Int(argmax[i])] }
            return y
        }
        var arg = [Int32](repeating: 0, count: y.count)
        arg.withUnsafeMutableBufferPointer { arg in
            let arg = arg.baseAddress!
            parallelFor(x.n) { b in
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let out = ((b * oh + oy) * ow + ox) * c
                        for ch in 0..<c {
                            var best = -Float.infinity, at = -1
                            for ky in 0..<kernel {
                                let iy = oy * stride - padding + ky
                                if iy < 0 || iy >= x.h { continue }
                                for kx in 0..<kernel {
                                    let ix = ox * stride - padding + kx
                                    if ix < 0 || ix >= x.w { continue }
                                    let i = ((b * x.h + iy) * x.w + ix) * c + ch
                                    if x.data[i] > best { best = x.data[i]; at = i }
                                }
                            }
                            y.data[out + ch] = best
                            arg[out + ch] = Int32(at)
                        }
                    }
                }
            }
        }
        argmax = training ? arg : []
        inputShape = (x.n, x.h, x.w, x.c)
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let dx = Tensor(n: inputShape.0, h: inputShape.1, w: inputShape.2, c: inputShape.3)
        for i in 0..<dy.count { dx.data[Int(argmax[i])] += dy.data[i] }
        return dx
    }
}

/// Mean over H and W: (N, H, W, C) -> (N, 1, 1, C).
public final class GlobalAveragePool: Layer {
    var inputShape: (Int, Int, Int, Int) = (0, 0, 0, 0)
    public init() {}
    public var parameters: [Parameter] { [] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = Tensor(n: x.n, h: 1, w: 1, c: x.c)
        let hw = x.h * x.w, c = x.c
        for b in 0..<x.n {
            let out = y.pointer + b * c
            for p in 0..<hw {
                let row = x.pointer + (b * hw + p) * c
                for ch in 0..<c { out[ch] += row[ch] }
            }
            for ch in 0..<c { out[ch] /= Float(hw) }
        }
        inputShape = (x.n, x.h, x.w, x.c)
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let dx = Tensor(n: inputShape.0, h: inputShape.1, w: inputShape.2, c: inputShape.3)
        let hw = dx.h * dx.w, c = dx.c
        for b in 0..<dx.n {
            for p in 0..<hw {
                let row = dx.pointer + (b * hw + p) * c
                for ch in 0..<c { row[ch] = dy.data[b * c + ch] / Float(hw) }
            }
        }
        return dx
    }
}

// MARK: - Linear

/// Fully connected: (N, 1, 1, C) -> (N, 1, 1, K), weights (K, C), bias (K).
public final class Linear: Layer {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter, bias: Parameter
    var input: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, rng: inout SeededRandom) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        // PyTorch's default for Linear: uniform(-1/sqrt(C), 1/sqrt(C)) for weights and bias.
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Parameter((0..<(inFeatures * outFeatures)).map { _ in rng.uniform(-bound, bound) }, decays: true)
        bias = Parameter((0..<outFeatures).map { _ in rng.uniform(-bound, bound) }, decays: false)
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.h * x.w * x.c == inFeatures, "Linear: \(x.h * x.w * x.c) inputs, expected \(inFeatures)")
        let y = Tensor(n: x.n, h: 1, w: 1, c: outFeatures)
        for b in 0..<x.n { for k in 0..<outFeatures { y.data[b * outFeatures + k] = bias.value[k] } }
        weight.value.withUnsafeBufferPointer { w in
            sgemm(transA: false, transB: true, m: x.n, n: outFeatures, k: inFeatures, a: x.pointer, lda: inFeatures,
                  b: w.baseAddress!, ldb: inFeatures, c: y.pointer, ldc: outFeatures, accumulate: true)
        }
        input = training ? x : nil
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard let x = input else { preconditionFailure("Linear.backward without a training forward") }
        weight.grad.withUnsafeMutableBufferPointer { g in
            sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: x.n, a: dy.pointer, lda: outFeatures,
                  b: x.pointer, ldb: inFeatures, c: g.baseAddress!, ldc: inFeatures, accumulate: true)
        }
        for b in 0..<dy.n { for k in 0..<outFeatures { bias.grad[k] += dy.data[b * outFeatures + k] } }
        let dx = Tensor.like(x)
        weight.value.withUnsafeBufferPointer { w in
            sgemm(transA: false, transB: false, m: x.n, n: inFeatures, k: outFeatures, a: dy.pointer, lda: outFeatures,
                  b: w.baseAddress!, ldb: inFeatures, c: dx.pointer, ldc: inFeatures, accumulate: false)
        }
        input = nil
        return dx
    }
}

// MARK: - Loss

/// Mean softmax cross-entropy over a batch of logits (N, 1, 1, K). Returns the loss, the
/// number of correct top-1 predictions and dL/dlogits.
public func softmaxCrossEntropy(_ logits: Tensor, labels: [Int]) -> (loss: Float, correct: Int, gradient: Tensor) {
    let k = logits.c, n = logits.n
    let grad = Tensor.like(logits)
    var loss: Double = 0
    var correct = 0
    for b in 0..<n {
        let row = logits.pointer + b * k, g = grad.pointer + b * k
        var top = 0
        for j in 1..<k where row[j] > row[top] { top = j }
        if top == labels[b] { correct += 1 }
        let peak = row[top]
        var sum: Float = 0
        for j in 0..<k { g[j] = expf(row[j] - peak); sum += g[j] }
        loss += Double(logf(sum) - (row[labels[b]] - peak))
        for j in 0..<k { g[j] = (g[j] / sum - (j == labels[b] ? 1 : 0)) / Float(n) }
    }
    return (Float(loss / Double(n)), correct, grad)
}
