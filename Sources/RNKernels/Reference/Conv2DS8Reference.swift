import RNFormat

// Reference kernels are the specification: plain loops, no tiling, no cleverness. Every fast
// kernel in Tiled/ must produce the same bytes as its twin here, for every legal input.

/// 2-D convolution, int8 in and out, per-output-channel requantization (DESIGN.md section 2).
///
///   acc = bias[c] + sum over the window of w[c][ky][kx][ci] * (x[iy][ix][ci] - input_zero_point),
///         taps that fall in the padding skipped (as if x were the zero point)
///   out = clamp(MultiplyByQuantizedMultiplier(acc, multiplier[c], shift[c]) + output_zero_point)
///
/// Accumulation wraps in int32; the exporter guarantees it cannot overflow in practice.
/// - input:   (H, W, C_in), int8, per-tensor scale and zero point.
/// - weights: w[c][ky][kx][ci], int8, symmetric (-127...127), arranged as `layout` says.
/// - output:  (OH, OW, C_out), int8; must not alias `input`.
public func conv2DS8Reference(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                              layout: RNWeightLayout = .ohwi,
                              requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
    for oy in 0..<p.output.height {
        for ox in 0..<p.output.width {
            for c in 0..<p.output.channels {
                output[(oy * p.output.width + ox) * p.output.channels + c] =
                    conv2DS8ReferenceOutput(p, input: input, weights: weights, layout: layout, requantization: q,
                                            y: oy, x: ox, channel: c)
            }
        }
    }
}

/// One output value of `conv2DS8Reference`: output (y, x, channel), requantized and clamped.
@inline(__always)
func conv2DS8ReferenceOutput(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                             layout: RNWeightLayout, requantization q: PerChannelRequantization, y oy: Int, x ox: Int, channel c: Int) -> Int8 {
    let ic = p.input.channels
    let kh = p.window.kernelH, kw = p.window.kernelW
    var acc = q.bias[c]
    for ky in 0..<kh {
        let iy = oy * p.window.strideH - p.window.padTop + ky
        if iy < 0 || iy >= p.input.height { continue }
        for kx in 0..<kw {
            let ix = ox * p.window.strideW - p.window.padLeft + kx
            if ix < 0 || ix >= p.input.width { continue }
            let x = input + (iy * p.input.width + ix) * ic
            for ci in 0..<ic {
                let w = weights[layout.index(c, ky, kx, ci, kernelH: kh, kernelW: kw, inputs: ic)]
                acc &+= Int32(w) &* (Int32(x[ci]) &- p.inputZeroPoint)
            }
        }
    }
    let scaled = multiplyByQuantizedMultiplier(acc, q.multiplier[c], q.shift[c]) &+ p.outputZeroPoint
    return Int8(truncatingIfNeeded: p.activation.clamp(scaled))
}
