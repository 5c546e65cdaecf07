import RNFormat

/// A convolution fused with the residual add that follows it: exactly
/// `conv2DS8Reference(conv, ...)` into a temporary t, then `addS8Reference(add, t, residual)`,
/// element by element, so t is never stored. `conv.outputZeroPoint` and `conv.activation`
/// ([-128, 127]) describe t; `add` gives t's and the residual's zero points, the multipliers and
/// the final clamp (`add.count` is unused).
/// - input:    (H, W, C_in), int8; must not alias `output`.
/// - residual: (OH, OW, C_out), int8; `output` may equal it (each element is read, then written).
/// - output:   (OH, OW, C_out), int8.
public func conv2DAddS8Reference(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>,
                                 weights: UnsafePointer<Int8>, layout: RNWeightLayout = .ohwi,
                                 requantization q: PerChannelRequantization,
                                 residual: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    for oy in 0..<conv.output.height {
        for ox in 0..<conv.output.width {
            for c in 0..<conv.output.channels {
                let t = conv2DS8ReferenceOutput(conv, input: input, weights: weights, layout: layout, requantization: q,
                                                y: oy, x: ox, channel: c)
                let i = (oy * conv.output.width + ox) * conv.output.channels + c
                output[i] = addS8ReferenceOutput(add, t, residual[i])
            }
        }
    }
}
