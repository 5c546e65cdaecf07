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
        for px in 0..<pool.output.width {
            for c in 0..<conv.output.channels {
                var best: Int32 = -128
                for ky in 0..<pool.window.kernelH {
                    let cy = py * pool.window.strideH - pool.window.padTop + ky
                    if cy < 0 || cy >= conv.output.height { continue }
                    let row = scratch + (cy % slots) * rowBytes
                    for kx in 0..<pool.window.kernelW {
                        let cx = px * pool.window.strideW - pool.window.padLeft + kx
                        if cx < 0 || cx >= conv.output.width { continue }
                        best = max(best, Int32(row[cx * conv.output.channels + c]))
                    }
                }
                output[(py * pool.output.width + px) * conv.output.channels + c] =
                    Int8(truncatingIfNeeded: pool.activation.clamp(best))
            }
        }
    }
}

/// Scratch bytes of `conv2DMaxPoolS8Reference`: pool kernel_h rows of the convolution output.
@inlinable
public func conv2DMaxPoolS8ScratchByteCount(_ conv: Conv2DS8Params, _ pool: PoolS8Params) -> Int {
    pool.window.kernelH * conv.output.width * conv.output.channels
}
