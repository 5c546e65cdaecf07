// From a decoded image to a model's uint8 input pixels: channel conversion, resize, center crop,
// channel order. The int8 tables that follow live in the model and the runtime
// (`RNModel.quantizeImage`).

extension Image {
    /// 8-bit samples with `channels` (1 or 3) per pixel, alpha dropped without compositing.
    /// RGB -> gray uses ITU-R 601 luma in 16-bit fixed point, as Pillow's "L" conversion:
    /// (19595 R + 38470 G + 7471 B + 32768) >> 16.
    public func pixels8(channels: Int) -> [UInt8] {
        precondition(channels == 1 || channels == 3, "channels must be 1 or 3, got \(channels)")
        if channels == 3 { return rgb8() }
        let step = depth / 8, c = self.channels
        var out = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let base = i * c * step
            if c <= 2 {
                out[i] = samples[base]
            } else {
                let r = UInt32(samples[base]), g = UInt32(samples[base + step]), b = UInt32(samples[base + 2 * step])
                out[i] = UInt8((19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
            }
        }
        return out
    }
}

/// Resizes 8-bit interleaved pixels (height, width, channels) to (newHeight, newWidth, channels).
/// Each axis separately: area averaging when shrinking (every source pixel weighted by how much of
/// the destination pixel it covers), bilinear with pixel centers aligned when enlarging, a copy
/// when equal. Results round half up. E.g. a row 0 100 200 250 shrunk to 2 -> 50 225; a row
/// 0 100 enlarged to 4 -> 0 25 75 100. With `window` (x, y, width, height in the resized image)
/// only that window is computed and returned, so a huge resize cropped to a small input costs
/// the window, not the resized image.
public func resizePixels(_ pixels: [UInt8], width: Int, height: Int, channels: Int,
                         to newWidth: Int, _ newHeight: Int, window: (x: Int, y: Int, width: Int, height: Int)? = nil) -> [UInt8] {
    precondition(pixels.count == width * height * channels, "pixel count does not match \(width)x\(height)x\(channels)")
    precondition(newWidth > 0 && newHeight > 0, "target size must be positive")
    let w = window ?? (0, 0, newWidth, newHeight)
    precondition(w.x >= 0 && w.y >= 0 && w.width > 0 && w.height > 0 && w.x + w.width <= newWidth && w.y + w.height <= newHeight,
                 "window \(w) outside \(newWidth)x\(newHeight)")
    if width == newWidth && height == newHeight && (w.width, w.height) == (width, height) { return pixels }
    // The first pass reads the bytes as floats on the fly: no float copy of a large source image.
    var values = resample(pixels.lazy.map(Float.init), outer: height, count: width, inner: channels, to: newWidth,
                          keep: w.x..<(w.x + w.width))                                                                       // (height, w.width, c)
    values = resample(values, outer: 1, count: height, inner: w.width * channels, to: newHeight, keep: w.y..<(w.y + w.height))  // (w.height, w.width, c)
    return values.map { UInt8(min(255, max(0, ($0 + 0.5).rounded(.down)))) }
}

/// Taps of one axis: for each destination index in `keep` (all m by default), (source index,
/// weight) pairs summing to 1.
func resampleTaps(from n: Int, to m: Int, keep: Range<Int>? = nil) -> [[(Int, Float)]] {
    let keep = keep ?? 0..<m
    var taps = [[(Int, Float)]](repeating: [], count: keep.count)
    let scale = Double(n) / Double(m)
    for (k, j) in keep.enumerated() {
        if m < n {
            // Area: destination pixel j covers source [j * scale, (j + 1) * scale).
            let lo = Double(j) * scale, hi = Double(j + 1) * scale
            var i = Int(lo)
            while Double(i) < hi && i < n {
                let cover = min(hi, Double(i + 1)) - max(lo, Double(i))
                if cover > 0 { taps[k].append((i, Float(cover / scale))) }
                i += 1
            }
        } else {
            // Bilinear: the source position of the destination pixel's center, clamped at the edges.
            let x = min(max((Double(j) + 0.5) * scale - 0.5, 0), Double(n - 1))
            let i0 = Int(x), i1 = min(i0 + 1, n - 1)
            let f = Float(x - Double(i0))
            taps[k] = f == 0 ? [(i0, Float(1))] : [(i0, 1 - f), (i1, f)]
        }
    }
    return taps
}

/// Resamples the middle axis of (outer, n, inner) values to m, keeping destination indices
/// `keep`: (outer, keep.count, inner).
private func resample<Values: RandomAccessCollection>(_ values: Values, outer: Int, count n: Int, inner: Int, to m: Int,
                                                     keep: Range<Int>) -> [Float] where Values.Element == Float, Values.Index == Int {
    if n == m && keep == 0..<m { return Array(values) }
    let taps = resampleTaps(from: n, to: m, keep: keep)
    let kept = keep.count
    var out = [Float](repeating: 0, count: outer * kept * inner)
    for o in 0..<outer {
        for j in 0..<kept {
            let dst = (o * kept + j) * inner
            for (i, w) in taps[j] {
                let src = (o * n + i) * inner
                for k in 0..<inner { out[dst + k] += w * values[src + k] }
            }
        }
    }
    return out
}

/// The middle (newHeight, newWidth) window of (height, width, channels) pixels.
public func centerCrop(_ pixels: [UInt8], width: Int, height: Int, channels: Int, to newWidth: Int, _ newHeight: Int) -> [UInt8] {
    precondition(newWidth <= width && newHeight <= height, "crop \(newWidth)x\(newHeight) larger than \(width)x\(height)")
    let x0 = (width - newWidth) / 2, y0 = (height - newHeight) / 2
    var out = [UInt8]()
    out.reserveCapacity(newWidth * newHeight * channels)
    for y in y0..<(y0 + newHeight) {
        let start = (y * width + x0) * channels
        out.append(contentsOf: pixels[start..<(start + newWidth * channels)])
    }
    return out
}

/// How a model wants its pixels (the model file's preprocessing record plus its input shape).
public struct PixelPipeline: Equatable {
    public enum Resize: Equatable {
        /// Straight to the input size, aspect ratio not kept.
        case stretch
        /// The shorter side to `shorter` pixels keeping the aspect ratio, then the center window.
        case shorterSideThenCrop(shorter: Int)
    }
    public var width: Int, height: Int, channels: Int
    public var resize: Resize
    public var bgr: Bool

    public init(width: Int, height: Int, channels: Int, resize: Resize = .stretch, bgr: Bool = false) {
        self.width = width
        self.height = height
        self.channels = channels
        self.resize = resize
        self.bgr = bgr
    }

    /// The (height, width, channels) uint8 pixels the model's input table expects; a model whose
    /// input is neither gray nor RGB cannot take images (`unsupported`).
    public func pixels(from image: Image) throws(ImageError) -> [UInt8] {
        guard channels == 1 || channels == 3 else {
            throw .unsupported("the model's input has \(channels) channels; images give 1 (gray) or 3 (RGB): pass raw input")
        }
        var p = image.pixels8(channels: channels)
        switch resize {
        case .stretch:
            p = resizePixels(p, width: image.width, height: image.height, channels: channels, to: width, height)
        case .shorterSideThenCrop(let shorter):
            let (w, h) = (image.width, image.height), s = max(shorter, width, height)
            let (nw, nh) = w <= h ? (s, max(s, (h * s + w / 2) / w)) : (max(s, (w * s + h / 2) / h), s)
            p = resizePixels(p, width: w, height: h, channels: channels, to: nw, nh, window: ((nw - width) / 2, (nh - height) / 2, width, height))
        }
        if bgr && channels == 3 {
            for i in stride(from: 0, to: p.count, by: 3) { p.swapAt(i, i + 2) }
        }
        return p
    }
}
