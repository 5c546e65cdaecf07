import RNFormat

/// Max pool over a window; padded positions are skipped, not treated as values. Scale and zero
/// point pass through unchanged, then the activation range clamps.
/// - input:  (H, W, C), int8.
/// - output: (OH, OW, C), int8; must not alias `input`.
public func maxPoolS8Reference(_ p: PoolS8Params, input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    let c = p.input.channels
    for oy in 0..<p.output.height {
        for ox in 0..<p.output.width {
            for ch in 0..<c {
                var best: Int32 = -128
                for ky in 0..<p.window.kernelH {
                    let iy = oy * p.window.strideH - p.window.padTop + ky
                    if iy < 0 || iy >= p.input.height { continue }
                    for kx in 0..<p.window.kernelW {
                        let ix = ox * p.window.strideW - p.window.padLeft + kx
                        if ix < 0 || ix >= p.input.width { continue }
                        best = max(best, Int32(input[(iy * p.input.width + ix) * c + ch]))
                    }
                }
                output[(oy * p.output.width + ox) * c + ch] = Int8(truncatingIfNeeded: p.activation.clamp(best))
            }
        }
    }
}
