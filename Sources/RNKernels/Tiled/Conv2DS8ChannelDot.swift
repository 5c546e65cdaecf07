import RNFormat

// A faster twin of conv2DS8Reference for layers with 16 or more input channels: per output
// value, one 16-lane dot product per kernel tap over the input channels (contiguous in both the
// NHWC input and the OHWI weights), int8 widened to int32. Integer sums wrap identically in any
// order, so the result is bit-exact with the reference (tests check it over many shapes).
// Portable Swift SIMD: SSE2 or AVX2 on x86-64, NEON on arm64, scalar code on Cortex-M.

/// 16 int8 values at `p` as int16 lanes, each minus `offset` (which keeps them in int16).
@inline(__always)
func load16(_ p: UnsafePointer<Int8>, minus offset: Int16) -> SIMD16<Int16> {
    SIMD16<Int16>(Int16(p[0]), Int16(p[1]), Int16(p[2]), Int16(p[3]), Int16(p[4]), Int16(p[5]), Int16(p[6]), Int16(p[7]),
                  Int16(p[8]), Int16(p[9]), Int16(p[10]), Int16(p[11]), Int16(p[12]), Int16(p[13]), Int16(p[14]),
                  Int16(p[15])) &- SIMD16<Int16>(repeating: offset)
}

/// Pairwise multiply-add of int16 lanes into int32: lane i = a[2i] * b[2i] + a[2i+1] * b[2i+1].
/// Exact (|products| <= 255 * 127 * 2 fit easily); LLVM emits pmaddwd / vpmaddwd for it.
@inline(__always)
func multiplyAddPairs(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
    var wa = SIMD16<Int32>(), wb = SIMD16<Int32>()
    for i in 0..<16 { wa[i] = Int32(a[i]); wb[i] = Int32(b[i]) }
    let products = wa &* wb
    return products.evenHalf &+ products.oddHalf
}

/// Same contract as `conv2DS8Reference`; requires `p.input.channels >= 16`.
public func conv2DS8ChannelDot(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                               requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
    for oy in 0..<p.output.height {
        for ox in 0..<p.output.width {
            let out = output + (oy * p.output.width + ox) * p.output.channels
            for c in 0..<p.output.channels {
                let acc = channelDotAccumulator(p, input: input, weights: weights, y: oy, x: ox, channel: c) &+ q.bias[c]
                let scaled = multiplyByQuantizedMultiplier(acc, q.multiplier[c], q.shift[c]) &+ p.outputZeroPoint
                out[c] = Int8(truncatingIfNeeded: p.activation.clamp(scaled))
            }
        }
    }
}

/// Same contract as `conv2DAddS8Reference`; requires `conv.input.channels >= 16`.
public func conv2DAddS8ChannelDot(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>,
                                  weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                                  residual: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    for oy in 0..<conv.output.height {
        for ox in 0..<conv.output.width {
            let at = (oy * conv.output.width + ox) * conv.output.channels
            for c in 0..<conv.output.channels {
                let acc = channelDotAccumulator(conv, input: input, weights: weights, y: oy, x: ox, channel: c) &+ q.bias[c]
                let scaled = multiplyByQuantizedMultiplier(acc, q.multiplier[c], q.shift[c]) &+ conv.outputZeroPoint
                let t = Int8(truncatingIfNeeded: conv.activation.clamp(scaled))
                output[at + c] = addS8ReferenceOutput(add, t, residual[at + c])
            }
        }
    }
}

/// sum over the window's valid taps of w[c][ky][kx][ci] * (x[iy][ix][ci] - input_zero_point),
/// wrapping in int32, 16 input channels per step.
@inline(__always)
func channelDotAccumulator(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                           y oy: Int, x ox: Int, channel c: Int) -> Int32 {
    let ic = p.input.channels, kh = p.window.kernelH, kw = p.window.kernelW
    let blocks = ic / 16
    let zeroPoint = Int16(truncatingIfNeeded: p.inputZeroPoint)
    let y0 = oy * p.window.strideH - p.window.padTop, x0 = ox * p.window.strideW - p.window.padLeft
    let kxFirst = max(0, -x0), kxEnd = min(kw, p.input.width - x0)
    var vector = SIMD8<Int32>()
    var scalar: Int32 = 0
    var ky = max(0, -y0)
    let kyEnd = min(kh, p.input.height - y0)
    while ky < kyEnd {
        var kx = kxFirst
        while kx < kxEnd {
            let x = input + ((y0 + ky) * p.input.width + x0 + kx) * ic
            let w = weights + ((c * kh + ky) * kw + kx) * ic
            var b = 0
            while b < blocks {
                vector &+= multiplyAddPairs(load16(w + 16 * b, minus: 0), load16(x + 16 * b, minus: zeroPoint))
                b += 1
            }
            var ci = blocks * 16
            while ci < ic {
                scalar &+= Int32(w[ci]) &* (Int32(x[ci]) &- p.inputZeroPoint)
                ci += 1
            }
            kx += 1
        }
        ky += 1
    }
    return vector.wrappedSum() &+ scalar
}
