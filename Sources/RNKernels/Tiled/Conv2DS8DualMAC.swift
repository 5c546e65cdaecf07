import CRNDSP
import RNFormat

// A twin of conv2DS8Reference (and conv2DAddS8Reference) for Cortex-M cores with the DSP
// extension: dual 16-bit multiply-accumulates (SMLAD) over 4 input channels per step, blocked
// over 2 output pixels x 2 output channels, so each unpacked weight word feeds both pixels and
// each unpacked input word both channels. Per 4 input channels: 2 input loads unpacked with the
// zero point folded in (SXTAB16, 4 instructions), 2 weight loads unpacked (SXTB16, 4), 8 SMLADs
// for 16 MACs. No scratch: padded taps are skipped, as in the reference.
//
// Requires input channels % 4 == 0 (weights OHWI, so a tap's input channels are contiguous in
// both tensors). Sums wrap in int32 in any order, so results are bit-exact with the reference; on
// the host the intrinsics are portable C (rn_dsp.h) and the randomized tests compare the two.

/// `bytes[0..<4]` as a little-endian word (Cortex-M4 loads unaligned words in one instruction).
@inline(__always)
func word(_ p: UnsafePointer<Int8>) -> UInt32 { UnsafeRawPointer(p).loadUnaligned(as: UInt32.self) }

/// Accumulates `w[i] * (x[i] - zero point)` over `count` (a multiple of 4) channels for two
/// pixels (`x0`, `x1`) and two weight rows (`w0`, `w1`): acc[pixel][channel]. Pointers advance
/// and the second pixel and row are fixed offsets, so the loop fits the core's registers.
@inline(__always)
func dualMAC2x2(_ x0: UnsafePointer<Int8>, _ x1: UnsafePointer<Int8>, _ w0: UnsafePointer<Int8>, _ w1: UnsafePointer<Int8>,
                count: Int, offset: UInt32, _ a00: inout Int32, _ a01: inout Int32, _ a10: inout Int32, _ a11: inout Int32) {
    let dx = x1 - x0, dw = w1 - w0
    var x = x0, w = w0
    let end = x0 + count
    while x < end {
        let p = word(x)
        let p02 = rn_sxtab16(offset, p), p13 = rn_sxtab16_ror8(offset, p)
        let u = word(w)
        let u02 = rn_sxtb16(u), u13 = rn_sxtb16_ror8(u)
        a00 = rn_smlad(u13, p13, rn_smlad(u02, p02, a00))
        let v = word(w + dw)
        let v02 = rn_sxtb16(v), v13 = rn_sxtb16_ror8(v)
        a01 = rn_smlad(v13, p13, rn_smlad(v02, p02, a01))
        let q = word(x + dx)
        let q02 = rn_sxtab16(offset, q), q13 = rn_sxtab16_ror8(offset, q)
        a10 = rn_smlad(u13, q13, rn_smlad(u02, q02, a10))
        a11 = rn_smlad(v13, q13, rn_smlad(v02, q02, a11))
        x += 4
        w += 4
    }
}

/// One pixel, two weight rows.
@inline(__always)
func dualMAC1x2(_ x0: UnsafePointer<Int8>, _ w0: UnsafePointer<Int8>, _ w1: UnsafePointer<Int8>,
                count: Int, offset: UInt32, _ a00: inout Int32, _ a01: inout Int32) {
    let dw = w1 - w0
    var x = x0, w = w0
    let end = x0 + count
    while x < end {
        let p = word(x)
        let p02 = rn_sxtab16(offset, p), p13 = rn_sxtab16_ror8(offset, p)
        let u = word(w), v = word(w + dw)
        a00 = rn_smlad(rn_sxtb16_ror8(u), p13, rn_smlad(rn_sxtb16(u), p02, a00))
        a01 = rn_smlad(rn_sxtb16_ror8(v), p13, rn_smlad(rn_sxtb16(v), p02, a01))
        x += 4
        w += 4
    }
}

/// Same contract as `conv2DS8Reference`; requires `p.input.channels % 4 == 0`.
public func conv2DS8DualMAC(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                            requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
    dualMACConvolution(p, input: input, weights: weights) { pixel, c, acc in
        let scaled = multiplyByQuantizedMultiplier(acc &+ q.bias[c], q.multiplier[c], q.shift[c]) &+ p.outputZeroPoint
        output[pixel * p.output.channels + c] = Int8(truncatingIfNeeded: p.activation.clamp(scaled))
    }
}

/// Same contract as `conv2DAddS8Reference`; requires `conv.input.channels % 4 == 0`.
public func conv2DAddS8DualMAC(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>,
                               weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                               residual: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    dualMACConvolution(conv, input: input, weights: weights) { pixel, c, acc in
        let scaled = multiplyByQuantizedMultiplier(acc &+ q.bias[c], q.multiplier[c], q.shift[c]) &+ conv.outputZeroPoint
        let at = pixel * conv.output.channels + c
        output[at] = addS8ReferenceOutput(add, Int8(truncatingIfNeeded: conv.activation.clamp(scaled)), residual[at])
    }
}

/// The blocked loop nest: pairs of output pixels along a row, pairs of output channels, every
/// valid tap; `epilogue(pixel index, channel, accumulator without bias)` stores each result.
@inline(__always)
func dualMACConvolution(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                        epilogue: (Int, Int, Int32) -> Void) {
    let cin = p.input.channels, cout = p.output.channels
    let kh = p.window.kernelH, kw = p.window.kernelW, taps = kh * kw * cin
    let sh = p.window.strideH, sw = p.window.strideW
    // -zero point in both int16 lanes: SXTAB16 adds it while unpacking.
    let negated = UInt32(UInt16(truncatingIfNeeded: 0 &- p.inputZeroPoint))
    let offset = negated | negated << 16
    for oy in 0..<p.output.height {
        let y0 = oy * sh - p.window.padTop
        let kyFirst = max(0, -y0), kyEnd = min(kh, p.input.height - y0)
        var ox = 0
        while ox < p.output.width {
            let pair = ox + 1 < p.output.width
            let x0 = ox * sw - p.window.padLeft, x1 = x0 + sw
            var c = 0
            while c < cout {
                let second = c + 1 < cout
                let w0 = weights + c &* taps, w1 = second ? w0 + taps : w0
                var a00: Int32 = 0, a01: Int32 = 0, a10: Int32 = 0, a11: Int32 = 0
                // A kernel row's valid taps are contiguous in both tensors (NHWC input, OHWI
                // weights): one run per pixel, the two pixels' common part blocked 2x2.
                let f0 = max(0, -x0), e0 = min(kw, p.input.width - x0)
                let f1 = pair ? max(0, -x1) : kw, e1 = pair ? min(kw, p.input.width - x1) : kw
                let f = max(f0, f1), e = max(f, min(e0, e1))
                var ky = kyFirst
                while ky < kyEnd {
                    let row = input + (y0 &+ ky) &* p.input.width &* cin
                    let wRow = ky &* kw &* cin
                    if f < e {
                        dualMAC2x2(row + (x0 &+ f) &* cin, row + (x1 &+ f) &* cin, w0 + (wRow &+ f &* cin),
                                   w1 + (wRow &+ f &* cin), count: (e &- f) &* cin, offset: offset, &a00, &a01, &a10, &a11)
                    }
                    // Each pixel's taps outside the common part: before it and after it.
                    @inline(__always) func single(_ x: Int, _ first: Int, _ end: Int, _ s0: inout Int32, _ s1: inout Int32) {
                        guard first < end else { return }
                        dualMAC1x2(row + (x &+ first) &* cin, w0 + (wRow &+ first &* cin), w1 + (wRow &+ first &* cin),
                                   count: (end &- first) &* cin, offset: offset, &s0, &s1)
                    }
                    single(x0, f0, min(e0, f), &a00, &a01)
                    single(x0, max(f0, e), e0, &a00, &a01)
                    if pair {
                        single(x1, f1, min(e1, f), &a10, &a11)
                        single(x1, max(f1, e), e1, &a10, &a11)
                    }
                    ky += 1
                }
                let pixel = oy * p.output.width + ox
                epilogue(pixel, c, a00)
                if second { epilogue(pixel, c + 1, a01) }
                if pair {
                    epilogue(pixel + 1, c, a10)
                    if second { epilogue(pixel + 1, c + 1, a11) }
                }
                c += 2
            }
            ox += 2
        }
    }
}
