// The JPEG output stage: dequantize and inverse DCT the blocks into each component's plane (for
// progressive files here, for sequential ones during the scans), then row by row upsample each
// component to the image width and convert to RGB (or gray), and apply the EXIF orientation.
//
// The arithmetic follows libjpeg's defaults so that decodes agree with Pillow: the accurate
// integer IDCT (Loeffler-Ligtenberg-Moschytz, 13-bit constants, 2 extra bits between passes),
// triangular "fancy" upsampling for 2x1, 1x2 and 2x2 chroma, pixel replication otherwise, and
// 16-bit fixed-point YCbCr -> RGB. All integer arithmetic wraps, so hostile coefficients cannot trap.

extension JPEGDecoder {
    func output() throws(ImageError) -> Image {
        // Progressive: every scan is in, so transform each component's coefficients into its
        // plane now, and free them. Sequential planes were filled row by row during the scans.
        for i in components.indices where components[i].plane.baseAddress == nil {
            let comp = components[i]
            guard let quant = quantTables[comp.quantTable] else {
                throw .corrupt("JPEG quantization table \(comp.quantTable) is not defined")
            }
            let plane = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: comp.paddedX * comp.paddedY * 64)
            plane.initialize(repeating: 128)   // a component no scan touched: all-zero coefficients
            if let coefficients = comp.coefficients.baseAddress {
                quant.map(Int32.init).withUnsafeBufferPointer { q in
                    transformBlocks(coefficients, columns: comp.paddedX, rows: comp.paddedY, quant: q.baseAddress!,
                                    into: plane.baseAddress!, stride: comp.paddedX * 8)
                }
                components[i].coefficients.deallocate()
                components[i].coefficients = UnsafeMutableBufferPointer(start: nil, count: 0)
            }
            components[i].plane = plane
        }
        // Then row by row: each component upsampled to one image row, converted into the image.
        let n = components.count
        let isRGB = n == 3 && (adobeTransform == 0 || (!sawJFIF && adobeTransform == nil && components.map(\.id) == [82, 71, 66]))
        var samples = [UInt8](repeating: 0, count: width * height * (n == 1 ? 1 : 3))
        var rows = [[UInt8]](repeating: [UInt8](repeating: 0, count: width), count: n)
        var filtered = [Int32](repeating: 0, count: width)
        for y in 0..<height {
            for c in 0..<n { upsampleRow(y, component: components[c], into: &rows[c], filtered: &filtered) }
            let o = y * width * (n == 1 ? 1 : 3)
            switch n {
            case 1:
                samples.replaceSubrange(o..<(o + width), with: rows[0])
            case 3 where isRGB:
                for x in 0..<width { samples[o + 3 * x] = rows[0][x]; samples[o + 3 * x + 1] = rows[1][x]; samples[o + 3 * x + 2] = rows[2][x] }
            case 3:
                YCbCr.convert(rows[0], rows[1], rows[2], into: &samples, at: o, inverted: false)
            default:
                // Adobe CMYK is stored inverted (255 = no ink); YCCK carries C, M, Y as inverted YCbCr.
                // RGB = stored C * stored K / 255, as Pillow's CMYK -> RGB does after inverting.
                if adobeTransform == 2 {
                    YCbCr.convert(rows[0], rows[1], rows[2], into: &samples, at: o, inverted: true)
                } else {
                    for x in 0..<width { samples[o + 3 * x] = rows[0][x]; samples[o + 3 * x + 1] = rows[1][x]; samples[o + 3 * x + 2] = rows[2][x] }
                }
                let inverted = adobeTransform != nil
                for x in 0..<width {
                    let k = inverted ? Int(rows[3][x]) : 255 - Int(rows[3][x])
                    for ch in 0..<3 {
                        let c = inverted ? Int(samples[o + 3 * x + ch]) : 255 - Int(samples[o + 3 * x + ch])
                        let t = c * k + 128                         // c * k / 255, rounded
                        samples[o + 3 * x + ch] = UInt8((t + (t >> 8)) >> 8)
                    }
                }
            }
        }
        let image = Image(width: width, height: height, layout: n == 1 ? .gray : .rgb, samples: samples)
        return image.oriented(exif: orientation)
    }

    /// Image row `y` of a component, upsampled to the image width from its plane.
    private func upsampleRow(_ y: Int, component comp: JPEGComponent, into dst: inout [UInt8], filtered row: inout [Int32]) {
        let stride = comp.paddedX * 8
        let sx = maxH / comp.h, sy = maxV / comp.v
        let dw = (width * comp.h + maxH - 1) / maxH, dh = (height * comp.v + maxV - 1) / maxV
        // libjpeg filters 2x horizontal expansions only when the component is wider than 2 samples.
        let fancy = sx == 1 || (sx == 2 && dw > 2)
        let p = UnsafePointer(comp.plane.baseAddress!)
        let iy = y / sy
        let src = p + iy * stride
        let width = self.width
        dst.withUnsafeMutableBufferPointer { o in
            let dst = o.baseAddress!
            if fancy && sy == 2 && (sx == 1 || sx == 2) {
                // Triangle filter vertically: 3/4 this row, 1/4 the nearer neighbour row.
                let upper = y % 2 == 0
                let near = p + (upper ? max(iy - 1, 0) : min(iy + 1, dh - 1)) * stride
                for x in 0..<dw { row[x] = 3 * Int32(src[x]) + Int32(near[x]) }
                if sx == 1 {
                    let bias: Int32 = upper ? 1 : 2
                    for x in 0..<width { dst[x] = UInt8(truncatingIfNeeded: (row[x] * 4 + 4 * bias) >> 4) }
                } else {
                    fancyHorizontal(row, dw: dw, width: width, into: dst, scale: 4)
                }
            } else if fancy && sy == 1 && sx == 2 {
                for x in 0..<dw { row[x] = Int32(src[x]) }
                fancyHorizontal(row, dw: dw, width: width, into: dst, scale: 1)
            } else if sx == 1 {
                dst.update(from: src, count: width)
            } else {
                for x in 0..<width { dst[x] = src[x / sx] }
            }
        }
    }
}

/// Dequantizes and inverse-transforms `rows` x `columns` blocks of coefficients into samples
/// (8 rows of `stride` bytes per block row). A block without AC coefficients is one value
/// throughout: the IDCT's own output for its DC, computed once per DC value and then copied, so
/// flat areas (and components no scan touched) cost a fill, not a transform.
func transformBlocks(_ coefs: UnsafePointer<Int16>, columns: Int, rows: Int, quant q: UnsafePointer<Int32>,
                     into out: UnsafeMutablePointer<UInt8>, stride: Int) {
    var workspace = [Int32](repeating: 0, count: 64)
    var flat = [UInt8](repeating: 0, count: 64)
    var flatDC: Int16? = nil
    workspace.withUnsafeMutableBufferPointer { ws in
        for by in 0..<rows {
            for bx in 0..<columns {
                let block = coefs + (by * columns + bx) * 64
                let dst = out + by * 8 * stride + bx * 8
                var ac: Int16 = 0
                for k in 1..<64 { ac |= block[k] }
                guard ac == 0 else {
                    idct8x8(block, q, ws.baseAddress!, dst, stride)
                    continue
                }
                if flatDC != block[0] {
                    flat.withUnsafeMutableBufferPointer { idct8x8(block, q, ws.baseAddress!, $0.baseAddress!, 8) }
                    flatDC = block[0]
                }
                for y in 0..<8 { for x in 0..<8 { dst[y * stride + x] = flat[y * 8 + x] } }
            }
        }
    }
}

/// Horizontal 2x triangle filter over `dw` column values each `scale` (1 or 4) times a sample:
/// outputs 3/4 nearest + 1/4 next nearest with libjpeg's alternating rounding biases.
@inline(__always)
private func fancyHorizontal(_ row: [Int32], dw: Int, width: Int, into dst: UnsafeMutablePointer<UInt8>, scale: Int32) {
    // With scale 1 (h2v1): (3a + b + 1) >> 2 and (3a + b + 2) >> 2; edges copy.
    // With scale 4 (h2v2, values already 3a + b vertically): (3a + b + 8) >> 4 and (3a + b + 7) >> 4.
    let shift: Int32 = scale == 1 ? 2 : 4
    let evenBias: Int32 = scale == 1 ? 1 : 8, oddBias: Int32 = scale == 1 ? 2 : 7
    for x in 0..<dw {
        let this = row[x] * 3
        let left = x > 0 ? row[x - 1] : row[x]
        let right = x + 1 < dw ? row[x + 1] : row[x]
        let even = (this + left + evenBias) >> shift, odd = (this + right + oddBias) >> shift
        if 2 * x < width { dst[2 * x] = UInt8(truncatingIfNeeded: even) }
        if 2 * x + 1 < width { dst[2 * x + 1] = UInt8(truncatingIfNeeded: odd) }
    }
}

// MARK: - Inverse DCT

private let constBits: Int32 = 13, pass1Bits: Int32 = 2
private let fix0_298631336: Int32 = 2446, fix0_390180644: Int32 = 3196, fix0_541196100: Int32 = 4433
private let fix0_765366865: Int32 = 6270, fix0_899976223: Int32 = 7373, fix1_175875602: Int32 = 9633
private let fix1_501321110: Int32 = 12299, fix1_847759065: Int32 = 15137, fix1_961570560: Int32 = 16069
private let fix2_053119869: Int32 = 16819, fix2_562915447: Int32 = 20995, fix3_072711026: Int32 = 25172

@inline(__always) private func descale(_ x: Int32, _ n: Int32) -> Int32 { (x &+ (1 << (n - 1))) >> n }

/// One 8x8 block: coefficients (natural order) times `q`, inverse DCT, +128, clamped to bytes.
@inline(__always)
func idct8x8(_ coef: UnsafePointer<Int16>, _ q: UnsafePointer<Int32>, _ ws: UnsafeMutablePointer<Int32>,
                     _ out: UnsafeMutablePointer<UInt8>, _ stride: Int) {
    // Pass 1: columns, into the workspace scaled by 2^pass1Bits.
    for c in 0..<8 {
        @inline(__always) func x(_ r: Int) -> Int32 { Int32(coef[8 * r + c]) &* q[8 * r + c] }
        if coef[8 + c] == 0 && coef[16 + c] == 0 && coef[24 + c] == 0 && coef[32 + c] == 0
            && coef[40 + c] == 0 && coef[48 + c] == 0 && coef[56 + c] == 0 {
            let dc = x(0) &<< pass1Bits
            for r in 0..<8 { ws[8 * r + c] = dc }
            continue
        }
        let v = butterfly(x(0), x(1), x(2), x(3), x(4), x(5), x(6), x(7))
        let n = constBits - pass1Bits
        for r in 0..<8 { ws[8 * r + c] = descale(v[r], n) }
    }
    // Pass 2: rows, removing the pass-1 scale and the DCT's factor 8.
    for r in 0..<8 {
        let w = ws + 8 * r
        let o = out + r * stride
        let v = butterfly(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
        let n = constBits + pass1Bits + 3
        for i in 0..<8 { o[i] = UInt8(clamping: descale(v[i], n) &+ 128) }
    }
}

/// The 1-D LL&M IDCT on eight inputs, outputs scaled by 2^constBits.
@inline(__always)
private func butterfly(_ x0: Int32, _ x1: Int32, _ x2: Int32, _ x3: Int32, _ x4: Int32, _ x5: Int32, _ x6: Int32,
                       _ x7: Int32) -> SIMD8<Int32> {
    // Even part.
    let z1 = (x2 &+ x6) &* fix0_541196100
    let t2 = z1 &+ x6 &* -fix1_847759065
    let t3 = z1 &+ x2 &* fix0_765366865
    let t0 = (x0 &+ x4) &<< constBits
    let t1 = (x0 &- x4) &<< constBits
    let t10 = t0 &+ t3, t13 = t0 &- t3, t11 = t1 &+ t2, t12 = t1 &- t2
    // Odd part.
    let z5 = (x7 &+ x3 &+ x5 &+ x1) &* fix1_175875602
    let o0 = x7 &* fix0_298631336, o1 = x5 &* fix2_053119869, o2 = x3 &* fix3_072711026, o3 = x1 &* fix1_501321110
    let y1 = (x7 &+ x1) &* -fix0_899976223, y2 = (x5 &+ x3) &* -fix2_562915447
    let y3 = (x7 &+ x3) &* -fix1_961570560 &+ z5, y4 = (x5 &+ x1) &* -fix0_390180644 &+ z5
    let a0 = o0 &+ y1 &+ y3, a1 = o1 &+ y2 &+ y4, a2 = o2 &+ y2 &+ y3, a3 = o3 &+ y1 &+ y4
    return SIMD8(t10 &+ a3, t11 &+ a2, t12 &+ a1, t13 &+ a0, t13 &- a0, t12 &- a1, t11 &- a2, t10 &- a3)
}

// MARK: - Color

/// JFIF YCbCr -> RGB in libjpeg's 16-bit fixed point:
/// R = Y + 1.402 Cr', G = Y - 0.34414 Cb' - 0.71414 Cr', B = Y + 1.772 Cb' (Cb' = Cb - 128).
enum YCbCr {
    static let crR: [Int32] = (0..<256).map { (91881 * Int32($0 - 128) + 32768) >> 16 }
    static let cbB: [Int32] = (0..<256).map { (116130 * Int32($0 - 128) + 32768) >> 16 }
    static let crG: [Int32] = (0..<256).map { -46802 * Int32($0 - 128) }
    static let cbG: [Int32] = (0..<256).map { -22554 * Int32($0 - 128) + 32768 }

    /// Interleaves RGB from three rows into `out` from `at`; `inverted` stores 255 - value (YCCK's CMY).
    static func convert(_ y: [UInt8], _ cb: [UInt8], _ cr: [UInt8], into out: inout [UInt8], at: Int, inverted: Bool) {
        let flip: UInt8 = inverted ? 255 : 0
        crR.withUnsafeBufferPointer { crR in cbB.withUnsafeBufferPointer { cbB in
        crG.withUnsafeBufferPointer { crG in cbG.withUnsafeBufferPointer { cbG in
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<y.count {
                let l = Int32(y[i]), b = Int(cb[i]), r = Int(cr[i])
                o[at + 3 * i] = UInt8(clamping: l + crR[r]) ^ flip
                o[at + 3 * i + 1] = UInt8(clamping: l + ((cbG[b] + crG[r]) >> 16)) ^ flip
                o[at + 3 * i + 2] = UInt8(clamping: l + cbB[b]) ^ flip
            }
        }}}}}
    }
}

// MARK: - Orientation

extension Image {
    /// The image as it should be displayed for EXIF orientation 1-8 (2 mirror, 3 rotate 180,
    /// 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise).
    public func oriented(exif orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let swap = orientation >= 5
        let ow = swap ? height : width, oh = swap ? width : height
        let bytesPerPixel = channels * depth / 8
        var out = [UInt8](repeating: 0, count: samples.count)
        samples.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (width - 1 - ox, oy)
                        case 3: (sx, sy) = (width - 1 - ox, height - 1 - oy)
                        case 4: (sx, sy) = (ox, height - 1 - oy)
                        case 5: (sx, sy) = (oy, ox)
                        case 6: (sx, sy) = (oy, height - 1 - ox)
                        case 7: (sx, sy) = (width - 1 - oy, height - 1 - ox)
                        default: (sx, sy) = (width - 1 - oy, ox)
                        }
                        let from = (sy * width + sx) * bytesPerPixel, to = (oy * ow + ox) * bytesPerPixel
                        for b in 0..<bytesPerPixel { o[to + b] = s[from + b] }
                    }
                }
            }
        }
        return Image(width: ow, height: oh, layout: layout, depth: depth, samples: out)
    }
}
