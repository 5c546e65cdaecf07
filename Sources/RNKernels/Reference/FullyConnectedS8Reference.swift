import RNFormat

/// Fully connected layer: a 1x1 convolution over one pixel with `inputCount` channels.
///
///   out[k] = clamp(MultiplyByQuantizedMultiplier(bias[k] + sum_i w[k][i] * (x[i] - input_zp),
///                  multiplier[k], shift[k]) + output_zp)
/// - input:   (N), int8 (a feature map flattened in HWC order).
/// - weights: (K, N), int8, symmetric, per output channel.
/// - output:  (K), int8 logits.
public func fullyConnectedS8Reference(_ p: FullyConnectedS8Params, input: UnsafePointer<Int8>,
                                      weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                                      output: UnsafeMutablePointer<Int8>) {
    for k in 0..<p.outputCount {
        var acc = q.bias[k]
        let w = weights + k * p.inputCount
        for i in 0..<p.inputCount {
            acc &+= Int32(w[i]) &* (Int32(input[i]) &- p.inputZeroPoint)
        }
        let scaled = multiplyByQuantizedMultiplier(acc, q.multiplier[k], q.shift[k]) &+ p.outputZeroPoint
        output[k] = Int8(truncatingIfNeeded: p.activation.clamp(scaled))
    }
}
