import RNFormat

/// Global average pool: the mean of each channel over all H x W positions, in the input's own
/// scale and zero point, rounded half away from zero like TFLite's int8 average pool:
///   sum > 0: (sum + n/2) / n    else: (sum - n/2) / n     (integer division truncates)
/// e.g. n = 4: sum 6 -> 1.5 -> 2, sum -6 -> -2, sum 5 -> 1.25 -> 1.
/// - input:  (H, W, C), int8.
/// - output: (C), int8.
public func globalAveragePoolS8Reference(input: UnsafePointer<Int8>, shape: FeatureShape,
                                         activation: ActivationRange, output: UnsafeMutablePointer<Int8>) {
    let n = shape.height * shape.width
    let half = n / 2
    for ch in 0..<shape.channels {
        var sum = 0
        for i in 0..<n { sum += Int(input[i * shape.channels + ch]) }
        let average = sum > 0 ? (sum + half) / n : (sum - half) / n
        output[ch] = Int8(truncatingIfNeeded: activation.clamp(Int32(truncatingIfNeeded: average)))
    }
}
