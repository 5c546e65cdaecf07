import RNFormat

// Blocked int8 convolution over weights in layout 1 (o16hwi4), the twin of conv2DS8Reference
// (and conv2DAddS8Reference) with `layout: .o16hwi4`, for any window, stride and padding.
//
// Built on two 16-lane operations each instruction set supplies (`BlockedInstructions`): a 4-way
// u8 x s8 dot product per int32 lane, where one vpdpbusd on a 512-bit register does 64
// multiply-adds (4 input channels x 16 output channels), and the requantization multiply.
// The instruction wants unsigned inputs, so the input rows the window needs are copied into
// scratch as u8 = x + 128 (x ^ 0x80), with the padding written as the input zero point (so padded
// taps cancel like the reference's skipped ones). Then, exactly:
//
//   sum_taps w * (x - zp) = sum_taps w * (x + 128) - (zp + 128) * sum_taps w
//
// so each output channel's bias becomes bias - (zp + 128) * (sum of its weights), computed once
// per call into scratch. In a padded NHWC row a kernel row's taps for one pixel are one
// contiguous run of KW x C_in bytes, and layout 1 groups the same run of weights by 4 (zero past
// its end), so the inner loop walks 4-byte groups of one run per kernel row, whatever C_in is.
//
// Register blocking: 2 blocks of 16 output channels x up to 8 pixels, 16 accumulators of 16
// int32 lanes (or 1 block when C_out has an odd number of blocks). Pixels are taken from a band
// of output rows (one row when it has 8 or more pixels, else enough rows for 8), so narrow deep
// layers still fill the tiles. Products are at most 255 x 127 and windows small, so the int32
// sums do not overflow (the reference's sums wrap identically anyway: integer sums in any order).

/// The operations the blocked kernels are built from, supplied per instruction set.
public protocol BlockedInstructions {
    /// 64 bytes of layout-1 weights (16 lanes of 4 signed bytes) in the form `dot4` takes.
    associatedtype Weights
    static func weights(_ p: UnsafeRawPointer) -> Weights
    /// acc + a 4-way u8 x s8 dot product in each of 16 int32 lanes: lane i adds
    /// sum over j < 4 of u8(byte j of `input`) * s8(weight byte 4i+j).
    static func dot4(_ acc: SIMD16<Int32>, _ input: Int32, _ w: Weights) -> SIMD16<Int32>
    /// `multiplyByQuantizedMultiplier` in each lane (multipliers never Int32.min).
    static func requantize(_ x: SIMD16<Int32>, _ multiplier: SIMD16<Int32>, _ shift: SIMD16<Int32>) -> SIMD16<Int32>
}

/// `BlockedInstructions` in portable Swift SIMD, the twin of the instructions: the weights
/// widened to int16 once (pmovsxbw), then per 16 weight bytes one pairwise 16-bit multiply-add
/// against the 4 input bytes repeated (pmaddwd: 255 x 127 x 2 fits) and adjacent pair sums added.
public enum PortableBlockedInstructions: BlockedInstructions {
    public typealias Weights = (SIMD16<Int16>, SIMD16<Int16>, SIMD16<Int16>, SIMD16<Int16>)

    @inlinable @inline(__always)
    public static func weights(_ p: UnsafeRawPointer) -> Weights {
        let w = p.assumingMemoryBound(to: Int8.self)
        return (widen16(w), widen16(w + 16), widen16(w + 32), widen16(w + 48))
    }

    @inlinable @inline(__always)
    public static func dot4(_ acc: SIMD16<Int32>, _ input: Int32, _ w: Weights) -> SIMD16<Int32> {
        let x = UInt32(bitPattern: input)
        let b0 = Int16(x & 0xFF), b1 = Int16((x &>> 8) & 0xFF), b2 = Int16((x &>> 16) & 0xFF), b3 = Int16(x &>> 24)
        let u = SIMD16<Int16>(b0, b1, b2, b3, b0, b1, b2, b3, b0, b1, b2, b3, b0, b1, b2, b3)
        @inline(__always) func four(_ w: SIMD16<Int16>) -> SIMD4<Int32> {
            let pairs = madd(u, w)
            return pairs.evenHalf &+ pairs.oddHalf
        }
        return acc &+ SIMD16(lowHalf: SIMD8(lowHalf: four(w.0), highHalf: four(w.1)),
                             highHalf: SIMD8(lowHalf: four(w.2), highHalf: four(w.3)))
    }

    @inlinable @inline(__always)
    public static func requantize(_ x: SIMD16<Int32>, _ multiplier: SIMD16<Int32>, _ shift: SIMD16<Int32>) -> SIMD16<Int32> {
        multiplyByQuantizedMultiplierLanes(x, multiplier, shift)
    }
}

/// Output rows per band of the blocked kernels: 1 when a row has 8 or more pixels, else enough
/// rows for 8 (at most the output height).
@inlinable
func blockedBandRows(_ p: Conv2DS8Params) -> Int {
    p.output.width >= 8 ? 1 : max(1, min(p.output.height, (8 + p.output.width - 1) / p.output.width))
}

/// Scratch bytes of the blocked kernels for convolution `p`: per block of 16 output channels the
/// effective bias, multiplier and shift (3 x 64 bytes), then the padded u8 input rows under one
/// band of output rows ((band - 1) x stride_h + kernel_h rows of (pad_left + W + pad_right) x
/// C_in bytes) and 4 bytes that a run's last group may read past them; a multiple of 64.
@inlinable
public func conv2DS8BlockedScratchByteCount(_ p: Conv2DS8Params) -> Int {
    let rows = (blockedBandRows(p) - 1) * p.window.strideH + p.window.kernelH
    let row = (p.window.padLeft + p.input.width + p.window.padRight) * p.input.channels
    return (p.output.channels + 15) / 16 * 192 + (rows * row + 4 + 63) / 64 * 64
}

@inlinable @inline(__always)
func loadLanes(_ p: UnsafeRawPointer) -> SIMD16<Int32> { p.loadUnaligned(as: SIMD16<Int32>.self) }

/// The accumulators of `OB` blocks of 16 channels x `P` pixels: the sums (without bias) of one
/// run of `runGroups` 4-byte input groups per kernel row. Pixel p's run in padded row ky starts
/// at `input + offsets[p] + ky * rowBytes`; `weights` is block 0's first group, `blockBytes` the
/// bytes between blocks.
@usableFromInline
struct BlockedTile<let P: Int, let OB: Int> {
    @usableFromInline typealias Sums = InlineArray<OB, InlineArray<P, SIMD16<Int32>>>

    @inlinable @inline(__always)
    static func sums<D: BlockedInstructions>(_ dot: D.Type, input: UnsafeRawPointer, offsets: InlineArray<P, Int>,
                                             rowBytes: Int, kernelH: Int, runGroups: Int, weights: UnsafeRawPointer,
                                             blockBytes: Int) -> Sums {
        var acc = Sums(repeating: InlineArray(repeating: SIMD16<Int32>()))
        var ky = 0
        while ky < kernelH {
            let x = input + ky &* rowBytes
            let w = weights + ky &* runGroups &* 64
            var j = 0
            while j < runGroups {
                let wv = InlineArray<OB, D.Weights> { o in D.weights(w + (o &* blockBytes &+ j &* 64)) }
                for p in 0..<P {
                    let a = (x + (offsets[p] &+ 4 &* j)).loadUnaligned(as: Int32.self)
                    for o in 0..<OB { acc[o][p] = D.dot4(acc[o][p], a, wv[o]) }
                }
                j &+= 1
            }
            ky &+= 1
        }
        return acc
    }
}

/// What the blocked loops do with requantized, clamped convolution outputs: `values` are
/// channels c..<c+n (n <= 16) of output pixel `pixel`.
@usableFromInline
protocol BlockEpilogue {
    func store<D: BlockedInstructions>(_ instructions: D.Type, _ pixel: Int, _ c: Int, _ values: SIMD16<Int32>, _ n: Int)
}

@usableFromInline
struct BlockedConvEpilogue: BlockEpilogue {
    @usableFromInline let channels: Int
    @usableFromInline let output: UnsafeMutablePointer<Int8>
    @inlinable init(channels: Int, output: UnsafeMutablePointer<Int8>) { self.channels = channels; self.output = output }
    @inlinable @inline(__always)
    func store<D: BlockedInstructions>(_ instructions: D.Type, _ pixel: Int, _ c: Int, _ values: SIMD16<Int32>, _ n: Int) {
        storeBytes(values, n, to: output + (pixel &* channels &+ c))
    }
}

@usableFromInline
struct BlockedConvAddEpilogue: BlockEpilogue {
    @usableFromInline let channels: Int
    @usableFromInline let add: AddS8Params
    @usableFromInline let residual: UnsafePointer<Int8>
    @usableFromInline let output: UnsafeMutablePointer<Int8>
    @inlinable init(channels: Int, add: AddS8Params, residual: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
        self.channels = channels; self.add = add; self.residual = residual; self.output = output
    }
    @inlinable @inline(__always)
    func store<D: BlockedInstructions>(_ instructions: D.Type, _ pixel: Int, _ c: Int, _ values: SIMD16<Int32>, _ n: Int) {
        let at = pixel &* channels &+ c
        var r = SIMD16<Int32>()
        if n == 16 {
            for i in 0..<16 { r[i] = Int32(residual[at &+ i]) }
        } else {
            for i in 0..<n { r[i] = Int32(residual[at &+ i]) }
        }
        // addS8ReferenceOutput in 16 lanes.
        let shift = SIMD16<Int32>(repeating: add.leftShift)
        let a = (values &- SIMD16(repeating: add.input0ZeroPoint)) &<< shift
        let b = (r &- SIMD16(repeating: add.input1ZeroPoint)) &<< shift
        func scaled(_ x: SIMD16<Int32>, _ m: QuantizedMultiplier) -> SIMD16<Int32> {
            D.requantize(x, SIMD16(repeating: m.multiplier.raw), SIMD16(repeating: m.shift.raw))
        }
        let sum = scaled(a, add.input0) &+ scaled(b, add.input1)
        storeBytes(clampLanes(scaled(sum, add.output) &+ SIMD16(repeating: add.outputZeroPoint), add.activation), n,
                   to: output + at)
    }
}

/// Lanes 0..<n of `v` as int8 at `out`.
@inlinable @inline(__always)
func storeBytes(_ v: SIMD16<Int32>, _ n: Int, to out: UnsafeMutablePointer<Int8>) {
    if n == 16 {
        for i in 0..<16 { out[i] = Int8(truncatingIfNeeded: v[i]) }
    } else {
        for i in 0..<n { out[i] = Int8(truncatingIfNeeded: v[i]) }
    }
}

/// The loop nest: bands of output rows (their padded rows filled once per band, or once per band
/// and pair of blocks when the weights are large, see below), pairs of channel blocks (a single
/// block last when their count is odd), then the band's pixels, 8 at a time and the rest in one tile.
@inlinable @inline(__always)
func conv2DS8BlockedLoops<D: BlockedInstructions, E: BlockEpilogue>(_ dot: D.Type, _ p: Conv2DS8Params,
                                                                    input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                                                                    requantization q: PerChannelRequantization,
                                                                    scratch: UnsafeMutableRawPointer, epilogue: E) {
    let cin = p.input.channels, cout = p.output.channels, width = p.output.width
    let kh = p.window.kernelH, sh = p.window.strideH
    let runGroups = (p.window.kernelW &* cin &+ 3) / 4
    let blocks = (cout + 15) / 16
    let blockBytes = kh &* runGroups &* 64
    let rowBytes = (p.window.padLeft + p.input.width + p.window.padRight) &* cin
    let pixelStep = p.window.strideW &* cin
    let band = blockedBandRows(p)
    let fill = UInt8(truncatingIfNeeded: p.inputZeroPoint) ^ 0x80

    // Effective bias, multiplier and shift of each block (lanes past C_out: 0, never stored).
    let constants = scratch
    let rows = scratch + blocks &* 192
    let ones: Int32 = 0x0101_0101
    for b in 0..<blocks {
        // Four independent sums: one chain of dependent dot products would wait on each one's latency.
        var sums = InlineArray<4, SIMD16<Int32>>(repeating: SIMD16<Int32>())
        let w = UnsafeRawPointer(weights) + b &* blockBytes
        let groups = kh &* runGroups
        var j = 0
        while j &+ 4 <= groups {
            for k in 0..<4 { sums[k] = D.dot4(sums[k], ones, D.weights(w + (j &+ k) &* 64)) }
            j &+= 4
        }
        while j < groups {
            sums[0] = D.dot4(sums[0], ones, D.weights(w + j &* 64))
            j &+= 1
        }
        let weightSums = (sums[0] &+ sums[1]) &+ (sums[2] &+ sums[3])
        var bias = SIMD16<Int32>(), multiplier = SIMD16<Int32>(), shift = SIMD16<Int32>()
        for lane in 0..<min(16, cout &- 16 &* b) {
            let c = 16 &* b &+ lane
            bias[lane] = q.bias[c] &- (p.inputZeroPoint &+ 128) &* weightSums[lane]
            multiplier[lane] = q.multiplier[c]
            shift[lane] = q.shift[c]
        }
        (constants + b &* 192).storeBytes(of: bias, as: SIMD16<Int32>.self)
        (constants + (b &* 192 &+ 64)).storeBytes(of: multiplier, as: SIMD16<Int32>.self)
        (constants + (b &* 192 &+ 128)).storeBytes(of: shift, as: SIMD16<Int32>.self)
    }

    /// The padded u8 rows under output rows oy..<oy+count, and the 4 bytes after them.
    @inline(__always) func fillRows(_ oy: Int, _ count: Int) {
        let n = (count &- 1) &* sh &+ kh
        for r in 0..<n {
            let iy = oy &* sh &- p.window.padTop &+ r
            let dst = (rows + r &* rowBytes).assumingMemoryBound(to: UInt8.self)
            guard iy >= 0 && iy < p.input.height else {
                dst.update(repeating: fill, count: rowBytes)
                continue
            }
            let left = p.window.padLeft &* cin, body = p.input.width &* cin
            dst.update(repeating: fill, count: left)
            let src = UnsafeRawPointer(input + iy &* body).assumingMemoryBound(to: UInt8.self)
            for i in 0..<body { dst[left &+ i] = src[i] ^ 0x80 }
            (dst + (left &+ body)).update(repeating: fill, count: p.window.padRight &* cin)
        }
        (rows + n &* rowBytes).assumingMemoryBound(to: UInt8.self).update(repeating: fill, count: 4)
    }
    /// Requantizes and stores blocks b..<b+OB of the P output pixels from `pixel` (row-major).
    @inline(__always) func finish<let P: Int, let OB: Int>(_ s: BlockedTile<P, OB>.Sums, _ pixel: Int, _ b: Int) {
        for o in 0..<OB {
            let k = constants + (b &+ o) &* 192
            let c = 16 &* (b &+ o), n = min(16, cout &- c)
            let bias = loadLanes(k), multiplier = loadLanes(k + 64), shift = loadLanes(k + 128)
            for px in 0..<P {
                let scaled = D.requantize(s[o][px] &+ bias, multiplier, shift) &+ SIMD16(repeating: p.outputZeroPoint)
                epilogue.store(D.self, pixel &+ px, c, clampLanes(scaled, p.activation), n)
            }
        }
    }
    /// Pixels q..<q+P of the band from output row oy (q counts row-major within the band).
    @inline(__always) func tile<let P: Int, let OB: Int>(_ shape: BlockedTile<P, OB>.Type, _ oy: Int, _ q: Int, _ b: Int) {
        var offsets = InlineArray<P, Int>(repeating: 0)
        for i in 0..<P {
            let r = (q &+ i) / width
            offsets[i] = r &* sh &* rowBytes &+ (q &+ i &- r &* width) &* pixelStep
        }
        let s = BlockedTile<P, OB>.sums(D.self, input: UnsafeRawPointer(rows), offsets: offsets, rowBytes: rowBytes,
                                        kernelH: kh, runGroups: runGroups,
                                        weights: UnsafeRawPointer(weights) + b &* blockBytes, blockBytes: blockBytes)
        finish(s, oy &* width &+ q, b)
    }
    /// The band's `count` pixels from output row oy, blocks b..<b+OB: 8 at a time, then the rest.
    @inline(__always) func tiles<let OB: Int>(_ oy: Int, _ count: Int, _ b: Int, _ shape: BlockedTile<1, OB>.Type) {
        var q = 0
        while q &+ 8 <= count {
            tile(BlockedTile<8, OB>.self, oy, q, b)
            q &+= 8
        }
        switch count &- q {
        case 7: tile(BlockedTile<7, OB>.self, oy, q, b)
        case 6: tile(BlockedTile<6, OB>.self, oy, q, b)
        case 5: tile(BlockedTile<5, OB>.self, oy, q, b)
        case 4: tile(BlockedTile<4, OB>.self, oy, q, b)
        case 3: tile(BlockedTile<3, OB>.self, oy, q, b)
        case 2: tile(BlockedTile<2, OB>.self, oy, q, b)
        case 1: tile(BlockedTile<1, OB>.self, oy, q, b)
        default: break
        }
    }
    /// Blocks first..<end of the band from output row oy: pairs, then a single block when one is left.
    @inline(__always) func blockBand(_ oy: Int, _ rowCount: Int, _ first: Int, _ end: Int) {
        var b = first
        while b &+ 2 <= end {
            tiles(oy, rowCount &* width, b, BlockedTile<1, 2>.self)
            b &+= 2
        }
        if b < end { tiles(oy, rowCount &* width, b, BlockedTile<1, 1>.self) }
    }

    // Loop order. When all the weights fit in L2 (up to 256 KiB), bands outermost: the padded rows
    // are filled once per band and every block reuses them. Larger weights (deep layers: 2.4 MB at
    // 512 channels, few pixels) would be streamed from memory once per band, so there pairs of
    // blocks go outermost and each pair's weights stay in cache over all bands, at the price of
    // refilling the (small) padded rows per pair.
    let byBands = blocks &* blockBytes <= 256 * 1024
    var b = 0
    while b < blocks {
        let end = byBands ? blocks : min(blocks, b &+ 2)
        var oy = 0
        while oy < p.output.height {
            let count = min(band, p.output.height &- oy)
            fillRows(oy, count)
            blockBand(oy, count, b, end)
            oy &+= count
        }
        b = end
    }
}

/// Same contract as `conv2DS8Reference(layout: .o16hwi4)`; `scratch` holds
/// `conv2DS8BlockedScratchByteCount(p)` bytes, contents irrelevant.
@inlinable @inline(__always)
public func conv2DS8Blocked<D: BlockedInstructions>(_ dot: D.Type, _ p: Conv2DS8Params, input: UnsafePointer<Int8>,
                                               weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                                               scratch: UnsafeMutableRawPointer, output: UnsafeMutablePointer<Int8>) {
    conv2DS8BlockedLoops(dot, p, input: input, weights: weights, requantization: q, scratch: scratch,
                         epilogue: BlockedConvEpilogue(channels: p.output.channels, output: output))
}

/// Same contract as `conv2DAddS8Reference(layout: .o16hwi4)`, with scratch as `conv2DS8Blocked`.
@inlinable @inline(__always)
public func conv2DAddS8Blocked<D: BlockedInstructions>(_ dot: D.Type, _ conv: Conv2DS8Params, _ add: AddS8Params,
                                                  input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                                                  requantization q: PerChannelRequantization, residual: UnsafePointer<Int8>,
                                                  scratch: UnsafeMutableRawPointer, output: UnsafeMutablePointer<Int8>) {
    conv2DS8BlockedLoops(dot, conv, input: input, weights: weights, requantization: q, scratch: scratch,
                         epilogue: BlockedConvAddEpilogue(channels: conv.output.channels, add: add, residual: residual,
                                                          output: output))
}
