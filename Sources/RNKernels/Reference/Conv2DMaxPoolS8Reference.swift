import RNFormat

/// A convolution streamed into the max pool after it: exactly `conv2DS8Reference(conv, ...)`
/// into a (CH, CW, C_out) temporary followed by `maxPoolS8Reference(pool, ...)`, but holding only
/// `pool.window.kernelH` convolution rows at once, in `scratch` (a ring of rows: row r lives in
/// slot r % kernelH). `conv.output` is the unstored convolution shape; `pool.input` equals it.
/// - scratch: `conv2DMaxPoolS8ScratchByteCount(conv, pool)` bytes, contents irrelevant (the
///   runtime places it in the arena where the plan says, slot 7 of the op).
/// - output:  (OH, OW, C_out), int8; must not alias `input` or `scratch`.
public func conv2DMaxPoolS8Reference(_ conv: Conv2DS8Params, _ pool: PoolS8Params, input: UnsafePointer<Int8>,
                                     weights: UnsafePointer<Int8>, layout: RNWeightLayout = .ohwi,
                                     requantization q: PerChannelRequantization,
                                     scratch: UnsafeMutablePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    maxPoolStreamedRows(conv, pool, scratch: scratch, output: output) { r, row in
        for ox in 0..<conv.output.width {
            for c in 0..<conv.output.channels {
                row[ox * conv.output.channels + c] =
                    conv2DS8ReferenceOutput(conv, input: input, weights: weights, layout: layout, requantization: q,
                                            y: r, x: ox, channel: c)
            }
        }
    }
}

/// The streaming shared by every conv2d_max_pool kernel: before each pool output row, computes
/// the convolution rows it needs that are not yet in the ring (`computeRow(r, slot)` writes
/// convolution row r, (CW, C_out), into its slot), then max-pools from the ring.
@inlinable @inline(__always)
public func maxPoolStreamedRows(_ conv: Conv2DS8Params, _ pool: PoolS8Params, scratch: UnsafeMutablePointer<Int8>,
                                output: UnsafeMutablePointer<Int8>, computeRow: (Int, UnsafeMutablePointer<Int8>) -> Void) {
    let rowBytes = conv.output.width * conv.output.channels
    let slots = pool.window.kernelH
    var nextRow = 0   // the next convolution row to compute
    for py in 0..<pool.output.height {
        let last = min(conv.output.height - 1, py * pool.window.strideH - pool.window.padTop + slots - 1)
        while nextRow <= last {
            computeRow(nextRow, scratch + (nextRow % slots) * rowBytes)
            nextRow += 1
        }
        // Each output pixel: the running maximum of its window's rows, a channel vector at a time
        // (the channel loops vectorize), then the clamp.
        let channels = conv.output.channels
        let y0 = py * pool.window.strideH - pool.window.padTop
        let yFirst = max(0, y0), yEnd = min(conv.output.height, y0 + pool.window.kernelH)
        for px in 0..<pool.output.width {
            let x0 = px * pool.window.strideW - pool.window.padLeft
            let xFirst = max(0, x0), xEnd = min(conv.output.width, x0 + pool.window.kernelW)
            let out = output + (py * pool.output.width + px) * channels
            out.update(repeating: -128, count: channels)
            for cy in yFirst..<max(yFirst, yEnd) {
                let row = scratch + (cy % slots) * rowBytes
                for cx in xFirst..<max(xFirst, xEnd) {
                    let tap = row + cx * channels
                    for c in 0..<channels { out[c] = max(out[c], tap[c]) }
                }
            }
            let low = Int8(truncatingIfNeeded: pool.activation.min), high = Int8(truncatingIfNeeded: pool.activation.max)
            for c in 0..<channels { out[c] = min(max(out[c], low), high) }
        }
    }
}

/// Scratch bytes of `conv2DMaxPoolS8Reference`: pool kernel_h rows of the convolution output.
@inlinable
public func conv2DMaxPoolS8ScratchByteCount(_ conv: Conv2DS8Params, _ pool: PoolS8Params) -> Int {
    pool.window.kernelH * conv.output.width * conv.output.channels
}
