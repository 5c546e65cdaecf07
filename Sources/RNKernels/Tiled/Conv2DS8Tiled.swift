import RNFormat

// Register-blocked int8 convolution: a twin of conv2DS8Reference (and conv2DAddS8Reference)
// for any window, stride and padding, written once in portable Swift SIMD and compiled per
// instruction set: here (SSE2 on x86-64, NEON on arm64) and again, inlined, by the host-only
// RNKernelsAVX2 module with AVX2 enabled.
//
// Blocking: 4 output channels x 3 output pixels in 12 accumulators of 8 int32 lanes. Per 16
// input channels: each pixel's int8 inputs are widened to int16 minus the zero point once and
// each output channel's int8 weights once, then 12 pairwise 16-bit multiply-adds into int32
// (pmaddwd / vpmaddwd: exact, no saturation). In NHWC input and OHWI weights a kernel row's
// valid taps are one contiguous run of (taps x input channels) bytes in both tensors, so the
// inner loop walks runs, not taps. Pixels whose windows cross the left or right edge run one at
// a time with their own runs; runs shorter than 16 (and run tails) go through a scalar loop.
// Integer sums wrap identically in any order, so the result is bit-exact with the reference.

// Both helpers are written element by element on purpose: LLVM turns exactly these forms into
// one pmovsxbw and one pmaddwd, while the generic SIMD conversions become library calls.

/// 16 int8 values at `p` widened to int16 (pmovsxbw).
@inlinable @inline(__always)
func widen16(_ p: UnsafePointer<Int8>) -> SIMD16<Int16> {
    SIMD16<Int16>(Int16(p[0]), Int16(p[1]), Int16(p[2]), Int16(p[3]), Int16(p[4]), Int16(p[5]), Int16(p[6]), Int16(p[7]),
                  Int16(p[8]), Int16(p[9]), Int16(p[10]), Int16(p[11]), Int16(p[12]), Int16(p[13]), Int16(p[14]),
                  Int16(p[15]))
}

/// lane i = a[2i] * b[2i] + a[2i+1] * b[2i+1], exact in int32 (|products| <= 255 * 127 * 2; pmaddwd).
@inlinable @inline(__always)
func madd(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
    var wa = SIMD16<Int32>(), wb = SIMD16<Int32>()
    for i in 0..<16 { wa[i] = Int32(a[i]); wb[i] = Int32(b[i]) }
    let products = wa &* wb
    return products.evenHalf &+ products.oddHalf
}

/// Lanes 0..<n of 16.
@inlinable @inline(__always)
func lanesBelow(_ n: Int) -> SIMDMask<SIMD16<Int16>.MaskStorage> {
    SIMD16<Int16>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .< SIMD16<Int16>(repeating: Int16(truncatingIfNeeded: n))
}

/// Accumulators of a 4-channel x 3-pixel block: vector partial sums and scalar tails.
@usableFromInline
struct TileAccumulators {
    @usableFromInline var v: (SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>,
                              SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>)
    @usableFromInline var s: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32)
    @inlinable init() {
        let z = SIMD8<Int32>()
        v = (z, z, z, z, z, z, z, z, z, z, z, z)
        s = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }
    /// Totals of the four channels of pixel p (0..<3).
    @_transparent @usableFromInline
    func totals(_ p: Int) -> SIMD4<Int32> { SIMD4(total(0, p), total(1, p), total(2, p), total(3, p)) }

    /// Total for channel c (0..<4) of pixel p (0..<3).
    @inlinable @inline(__always)
    func total(_ c: Int, _ p: Int) -> Int32 {
        switch c * 3 + p {
        case 0: return v.0.wrappedSum() &+ s.0
        case 1: return v.1.wrappedSum() &+ s.1
        case 2: return v.2.wrappedSum() &+ s.2
        case 3: return v.3.wrappedSum() &+ s.3
        case 4: return v.4.wrappedSum() &+ s.4
        case 5: return v.5.wrappedSum() &+ s.5
        case 6: return v.6.wrappedSum() &+ s.6
        case 7: return v.7.wrappedSum() &+ s.7
        case 8: return v.8.wrappedSum() &+ s.8
        case 9: return v.9.wrappedSum() &+ s.9
        case 10: return v.10.wrappedSum() &+ s.10
        default: return v.11.wrappedSum() &+ s.11
        }
    }
}

/// One run of `count` input bytes for three pixels (`x0`, `x1`, `x2`) against four weight rows
/// `w`, `w + k`, `w + 2k`, `w + 3k`.
@inlinable @inline(__always)
func tileRun3(_ x0: UnsafePointer<Int8>, _ x1: UnsafePointer<Int8>, _ x2: UnsafePointer<Int8>,
              _ w: UnsafePointer<Int8>, k: Int, count: Int, zeroPoint: Int32, _ a: inout TileAccumulators,
              ends: (input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>)) {
    let zp = SIMD16<Int16>(repeating: Int16(truncatingIfNeeded: zeroPoint))
    let w1 = w + k, w2 = w1 + k, w3 = w2 + k
    var i = 0
    while i &+ 16 <= count {
        let p0 = widen16(x0 + i) &- zp, p1 = widen16(x1 + i) &- zp, p2 = widen16(x2 + i) &- zp
        let u = widen16(w + i)
        a.v.0 &+= madd(u, p0); a.v.1 &+= madd(u, p1); a.v.2 &+= madd(u, p2)
        let v = widen16(w1 + i)
        a.v.3 &+= madd(v, p0); a.v.4 &+= madd(v, p1); a.v.5 &+= madd(v, p2)
        let t = widen16(w2 + i)
        a.v.6 &+= madd(t, p0); a.v.7 &+= madd(t, p1); a.v.8 &+= madd(t, p2)
        let r = widen16(w3 + i)
        a.v.9 &+= madd(r, p0); a.v.10 &+= madd(r, p1); a.v.11 &+= madd(r, p2)
        i &+= 16
    }
    if i < count && x2 + i + 16 <= ends.input && w3 + i + 16 <= ends.weights {
        // The last partial chunk as a whole one: weights past the run are masked to 0, so the
        // inputs read past it (still inside the tensor) add nothing.
        let keep = lanesBelow(count &- i)
        let p0 = widen16(x0 + i) &- zp, p1 = widen16(x1 + i) &- zp, p2 = widen16(x2 + i) &- zp
        let u = widen16(w + i).replacing(with: 0, where: .!keep)
        a.v.0 &+= madd(u, p0); a.v.1 &+= madd(u, p1); a.v.2 &+= madd(u, p2)
        let v = widen16(w1 + i).replacing(with: 0, where: .!keep)
        a.v.3 &+= madd(v, p0); a.v.4 &+= madd(v, p1); a.v.5 &+= madd(v, p2)
        let t = widen16(w2 + i).replacing(with: 0, where: .!keep)
        a.v.6 &+= madd(t, p0); a.v.7 &+= madd(t, p1); a.v.8 &+= madd(t, p2)
        let r = widen16(w3 + i).replacing(with: 0, where: .!keep)
        a.v.9 &+= madd(r, p0); a.v.10 &+= madd(r, p1); a.v.11 &+= madd(r, p2)
        return
    }
    while i < count {
        let p0 = Int32(x0[i]) &- zeroPoint, p1 = Int32(x1[i]) &- zeroPoint, p2 = Int32(x2[i]) &- zeroPoint
        let u = Int32(w[i]), v = Int32(w1[i]), t = Int32(w2[i]), r = Int32(w3[i])
        a.s.0 &+= u &* p0; a.s.1 &+= u &* p1; a.s.2 &+= u &* p2
        a.s.3 &+= v &* p0; a.s.4 &+= v &* p1; a.s.5 &+= v &* p2
        a.s.6 &+= t &* p0; a.s.7 &+= t &* p1; a.s.8 &+= t &* p2
        a.s.9 &+= r &* p0; a.s.10 &+= r &* p1; a.s.11 &+= r &* p2
        i &+= 1
    }
}

/// One run for a single pixel (accumulators of pixel slot 0).
@inlinable @inline(__always)
func tileRun1(_ x0: UnsafePointer<Int8>, _ w: UnsafePointer<Int8>, k: Int, count: Int, zeroPoint: Int32,
              _ a: inout TileAccumulators, ends: (input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>)) {
    let zp = SIMD16<Int16>(repeating: Int16(truncatingIfNeeded: zeroPoint))
    let w1 = w + k, w2 = w1 + k, w3 = w2 + k
    var i = 0
    while i &+ 16 <= count {
        let p0 = widen16(x0 + i) &- zp
        a.v.0 &+= madd(widen16(w + i), p0)
        a.v.3 &+= madd(widen16(w1 + i), p0)
        a.v.6 &+= madd(widen16(w2 + i), p0)
        a.v.9 &+= madd(widen16(w3 + i), p0)
        i &+= 16
    }
    if i < count && x0 + i + 16 <= ends.input && w3 + i + 16 <= ends.weights {
        let keep = lanesBelow(count &- i)
        let p0 = widen16(x0 + i) &- zp
        a.v.0 &+= madd(widen16(w + i).replacing(with: 0, where: .!keep), p0)
        a.v.3 &+= madd(widen16(w1 + i).replacing(with: 0, where: .!keep), p0)
        a.v.6 &+= madd(widen16(w2 + i).replacing(with: 0, where: .!keep), p0)
        a.v.9 &+= madd(widen16(w3 + i).replacing(with: 0, where: .!keep), p0)
        return
    }
    while i < count {
        let p0 = Int32(x0[i]) &- zeroPoint
        a.s.0 &+= Int32(w[i]) &* p0; a.s.3 &+= Int32(w1[i]) &* p0
        a.s.6 &+= Int32(w2[i]) &* p0; a.s.9 &+= Int32(w3[i]) &* p0
        i &+= 1
    }
}

/// The loop nest: rows, then pixels (interior ones three at a time), then blocks of four output
/// channels and the remaining channels one at a time (with all four weight rows the same);
/// `epilogue.store(pixel index, first channel, accumulators without bias, n)` stores the results
/// of channels first..<first + n (n is 4, or 1 with the sum in lane 0). The epilogue is a generic
/// parameter, not a closure, so that each instantiation (AVX2, AVX-VNNI) compiles it inline.
@inlinable @inline(__always)
func conv2DS8TiledLoops<E: TileEpilogue>(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                                         epilogue: E) {
    let cin = p.input.channels, cout = p.output.channels
    let kh = p.window.kernelH, kw = p.window.kernelW, k = kh &* kw &* cin
    let sh = p.window.strideH, sw = p.window.strideW, iw = p.input.width
    let zp = p.inputZeroPoint
    // Where the input and weights end: a partial chunk may be read whole only before these.
    let ends = (input: input + p.input.height &* iw &* cin, weights: weights + cout &* k)
    // Pixels whose whole window row lies inside the input: x0 >= 0 and x0 + kw <= iw.
    let interiorStart = min(p.output.width, (p.window.padLeft + sw - 1) / sw)
    let interiorEnd = max(interiorStart, min(p.output.width, iw - kw + p.window.padLeft >= 0
                                                ? (iw - kw + p.window.padLeft) / sw + 1 : 0))
    for oy in 0..<p.output.height {
        let y0 = oy &* sh &- p.window.padTop
        let kyFirst = max(0, -y0), kyEnd = min(kh, p.input.height - y0)
        let rowBase = oy &* p.output.width
        var ox = 0
        while ox < p.output.width {
            let three = ox >= interiorStart && ox &+ 3 <= interiorEnd
            let x0 = ox &* sw &- p.window.padLeft
            // One pixel: its own valid taps [f, e) in each kernel row.
            let f = max(0, -x0), e = min(kw, iw - x0)
            // The window sums of output channels c..<c+4 (rows `step` apart; step 0 repeats channel c).
            @inline(__always) func accumulate(_ c: Int, step: Int) -> TileAccumulators {
                let w = weights + c &* k
                var a = TileAccumulators()
                var ky = kyFirst
                while ky < kyEnd {
                    let row = input + (y0 &+ ky) &* iw &* cin
                    let wRow = w + ky &* kw &* cin
                    if three {
                        let px = row + x0 &* cin
                        tileRun3(px, px + sw &* cin, px + 2 &* sw &* cin, wRow, k: step, count: kw &* cin,
                                 zeroPoint: zp, &a, ends: ends)
                    } else if f < e {
                        tileRun1(row + (x0 &+ f) &* cin, wRow + f &* cin, k: step, count: (e &- f) &* cin,
                                 zeroPoint: zp, &a, ends: ends)
                    }
                    ky &+= 1
                }
                return a
            }
            let pixel = rowBase &+ ox     // a constant for the nested functions (a captured var would be boxed)
            var c = 0
            while c &+ 4 <= cout {
                let a = accumulate(c, step: k)
                epilogue.store(pixel, c, a.totals(0), 4)
                if three {
                    epilogue.store(pixel &+ 1, c, a.totals(1), 4)
                    epilogue.store(pixel &+ 2, c, a.totals(2), 4)
                }
                c &+= 4
            }
            // Channel tail (cout % 4): one channel per pass, in slot 0.
            while c < cout {
                let a = accumulate(c, step: 0)
                epilogue.store(pixel, c, SIMD4(a.total(0, 0), 0, 0, 0), 1)
                if three {
                    epilogue.store(pixel &+ 1, c, SIMD4(a.total(0, 1), 0, 0, 0), 1)
                    epilogue.store(pixel &+ 2, c, SIMD4(a.total(0, 2), 0, 0, 0), 1)
                }
                c &+= 1
            }
            ox &+= three ? 3 : 1
        }
    }
}

// MARK: - Epilogues, four channels at a time

/// `multiplyByQuantizedMultiplier` on 4 or 16 lanes, each with its own multiplier and shift: the
/// same arithmetic (SaturatingRoundingDoublingHighMul as floor((a*b + 2^30) / 2^31) in 64-bit
/// lanes, then RoundingDivideByPOT), in plain lane arithmetic: for generic vectors the stdlib's masks and `replacing(with:where:)`
/// become lane-by-lane branches and `clamped` an out-of-line call. Transparent, because an
/// ordinary generic function is specialized but not inlined. Multipliers are never Int32.min
/// (the loader requires [2^30, 2^31) or 0), so SaturatingRoundingDoublingHighMul's one
/// saturating case cannot occur.
@_transparent @usableFromInline
func multiplyByQuantizedMultiplierLanes<V: SIMD>(_ x: V, _ multiplier: V, _ shift: V) -> V where V.Scalar == Int32 {
#if arch(arm)
    var out = V()
    for i in x.indices { out[i] = multiplyByQuantizedMultiplier(x[i], multiplier[i], shift[i]) }
    return out
#else
    let negative = shift &>> 31                           // -1 where shift < 0, else 0
    let left = shift & ~negative, right = (V() &- shift) & negative
    let a = x &<< left
    var high = V()
    for i in 0..<V.scalarCount {
        high[i] = Int32(truncatingIfNeeded: (Int64(a[i]) &* Int64(multiplier[i]) &+ (1 << 30)) &>> 31)
    }
    // RoundingDivideByPOT: add 1 where remainder > threshold, threshold = mask/2 (+1 if high < 0).
    let one = V(repeating: 1)
    let mask = (one &<< right) &- one
    let remainder = high & mask
    let threshold = (mask &>> one) &+ ((high &>> 31) & one)
    return (high &>> right) &- ((threshold &- remainder) &>> 31)
#endif
}

/// Each lane clamped to the activation range.
@_transparent @usableFromInline
func clampLanes<V: SIMD>(_ v: V, _ range: ActivationRange) -> V where V.Scalar == Int32 {
    var out = V()
    for i in 0..<V.scalarCount { out[i] = min(max(v[i], range.min), range.max) }
    return out
}

/// Bias, requantization, output zero point and activation for four channels from `c`.
@_transparent @usableFromInline
func convOutput4(_ p: Conv2DS8Params, _ q: PerChannelRequantization, _ c: Int, _ sums: SIMD4<Int32>) -> SIMD4<Int32> {
    let bias = UnsafeRawPointer(q.bias + c).loadUnaligned(as: SIMD4<Int32>.self)
    let multiplier = UnsafeRawPointer(q.multiplier + c).loadUnaligned(as: SIMD4<Int32>.self)
    let shift = UnsafeRawPointer(q.shift + c).loadUnaligned(as: SIMD4<Int32>.self)
    let scaled = multiplyByQuantizedMultiplierLanes(sums &+ bias, multiplier, shift) &+ SIMD4(repeating: p.outputZeroPoint)
    return scaled.clamped(lowerBound: SIMD4(repeating: p.activation.min), upperBound: SIMD4(repeating: p.activation.max))
}

/// `addS8ReferenceOutput` on four lanes (conv results `t` and residuals `r`, as int32). The
/// blocked kernels' 16-lane twin is in `BlockedConvAddEpilogue`, with their instruction set's
/// requantization (a function parameter here would be an escaping closure in Embedded builds).
@_transparent @usableFromInline
func addOutput4(_ add: AddS8Params, _ t: SIMD4<Int32>, _ r: SIMD4<Int32>) -> SIMD4<Int32> {
    let shift = SIMD4<Int32>(repeating: add.leftShift)
    let a = (t &- SIMD4(repeating: add.input0ZeroPoint)) &<< shift, b = (r &- SIMD4(repeating: add.input1ZeroPoint)) &<< shift
    func scaled(_ x: SIMD4<Int32>, _ m: QuantizedMultiplier) -> SIMD4<Int32> {
        multiplyByQuantizedMultiplierLanes(x, SIMD4(repeating: m.multiplier.raw), SIMD4(repeating: m.shift.raw))
    }
    let sum = scaled(a, add.input0) &+ scaled(b, add.input1)
    return clampLanes(scaled(sum, add.output) &+ SIMD4(repeating: add.outputZeroPoint), add.activation)
}

/// What the tile loops do with finished sums.
@usableFromInline
protocol TileEpilogue {
    func store(_ pixel: Int, _ c: Int, _ sums: SIMD4<Int32>, _ n: Int)
}

/// conv2d: requantize and store.
@usableFromInline
struct ConvEpilogue: TileEpilogue {
    @usableFromInline let p: Conv2DS8Params
    @usableFromInline let q: PerChannelRequantization
    @usableFromInline let output: UnsafeMutablePointer<Int8>
    @inlinable init(p: Conv2DS8Params, q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
        self.p = p; self.q = q; self.output = output
    }
    @inlinable @inline(__always)
    func store(_ pixel: Int, _ c: Int, _ sums: SIMD4<Int32>, _ n: Int) {
        let out = output + (pixel &* p.output.channels &+ c)
        if n == 4 {
            let v = convOutput4(p, q, c, sums)
            out[0] = Int8(truncatingIfNeeded: v[0]); out[1] = Int8(truncatingIfNeeded: v[1])
            out[2] = Int8(truncatingIfNeeded: v[2]); out[3] = Int8(truncatingIfNeeded: v[3])
        } else {
            let scaled = multiplyByQuantizedMultiplier(sums[0] &+ q.bias[c], q.multiplier[c], q.shift[c]) &+ p.outputZeroPoint
            out[0] = Int8(truncatingIfNeeded: p.activation.clamp(scaled))
        }
    }
}

/// conv2d_add: requantize, add the residual (TFLite Add), store over the residual.
@usableFromInline
struct ConvAddEpilogue: TileEpilogue {
    @usableFromInline let conv: Conv2DS8Params
    @usableFromInline let add: AddS8Params
    @usableFromInline let q: PerChannelRequantization
    @usableFromInline let residual: UnsafePointer<Int8>
    @usableFromInline let output: UnsafeMutablePointer<Int8>
    @inlinable init(conv: Conv2DS8Params, add: AddS8Params, q: PerChannelRequantization, residual: UnsafePointer<Int8>,
                    output: UnsafeMutablePointer<Int8>) {
        self.conv = conv; self.add = add; self.q = q; self.residual = residual; self.output = output
    }
    @inlinable @inline(__always)
    func store(_ pixel: Int, _ c: Int, _ sums: SIMD4<Int32>, _ n: Int) {
        let at = pixel &* conv.output.channels &+ c
        if n == 4 {
            let r = SIMD4<Int32>(Int32(residual[at]), Int32(residual[at + 1]), Int32(residual[at + 2]), Int32(residual[at + 3]))
            let v = addOutput4(add, convOutput4(conv, q, c, sums), r)
            output[at] = Int8(truncatingIfNeeded: v[0]); output[at + 1] = Int8(truncatingIfNeeded: v[1])
            output[at + 2] = Int8(truncatingIfNeeded: v[2]); output[at + 3] = Int8(truncatingIfNeeded: v[3])
        } else {
            let scaled = multiplyByQuantizedMultiplier(sums[0] &+ q.bias[c], q.multiplier[c], q.shift[c]) &+ conv.outputZeroPoint
            output[at] = addS8ReferenceOutput(add, Int8(truncatingIfNeeded: conv.activation.clamp(scaled)), residual[at])
        }
    }
}

/// Same contract as `conv2DS8Reference`.
@inlinable @inline(__always)
public func conv2DS8Tiled(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                          requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
    conv2DS8TiledLoops(p, input: input, weights: weights, epilogue: ConvEpilogue(p: p, q: q, output: output))
}

/// Same contract as `conv2DAddS8Reference`.
@inlinable @inline(__always)
public func conv2DAddS8Tiled(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>,
                             weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                             residual: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    conv2DS8TiledLoops(conv, input: input, weights: weights,
                       epilogue: ConvAddEpilogue(conv: conv, add: add, q: q, residual: residual, output: output))
}
