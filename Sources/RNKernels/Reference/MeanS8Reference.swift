import RNFormat

/// TensorFlow Lite's int8 MEAN over height and width (`reference_ops::QuantizedMeanOrSum` with
/// `compute_sum = false`), the reference and only kernel. Plain loops; this is the spec.
///
/// For each channel c, with n = H * W and int32 wrapping arithmetic:
///   sum = sum over the n positions of input[y][x][c]
///   out = clamp(MBQM(sum - input_zp * n, multiplier, shift) + output_zp, act_min, act_max)
/// where (multiplier, shift) is TFLite's quantization of input_scale / output_scale with the
/// division by n folded in (`QuantizedMultiplier(meanOf:)` on the host):
///   k = min(floor(log2 n), 32, 31 + shift0);  multiplier = (multiplier0 << k) / n;  shift = shift0 - k
/// so the mantissa lies in (multiplier0 / 2, multiplier0]: below 2^30 whenever n is not a power
/// of two. Worked: input_scale = output_scale, zero points 0, n = 3 values (3, 4, 6) of one channel:
/// (multiplier0, shift0) = (2^30, 1), k = 1, multiplier = 2^31 / 3 = 715827882, shift = 0;
/// sum 13, MBQM(13, 715827882, 0) = round(13 * 0.33333) = 4 (13/3 = 4.33).
/// - input:  (H, W, C), int8, zero point `inputZeroPoint`.
/// - output: (C), int8, zero point `outputZeroPoint`.
public func meanS8Reference(input: UnsafePointer<Int8>, shape: FeatureShape, inputZeroPoint: Int32, multiplier: QuantizedMultiplier,
                            outputZeroPoint: Int32, activation: ActivationRange, output: UnsafeMutablePointer<Int8>) {
    let n = shape.height * shape.width, c = shape.channels
    let offset = inputZeroPoint &* Int32(truncatingIfNeeded: n)
    for ch in 0..<c {
        var sum: Int32 = 0
        for i in 0..<n { sum &+= Int32(input[i * c + ch]) }
        let scaled = requantize(sum &- offset, by: multiplier) &+ outputZeroPoint
        output[ch] = Int8(truncatingIfNeeded: activation.clamp(scaled))
    }
}
