import RNFormat

/// Maps uint8 pixels to the model's int8 input through per-channel tables, so devices need no
/// float: `output[i] = table[(i % channels) * 256 + pixels[i]]`.
/// - pixels: (H, W, C), uint8, already resized to the model's input.
/// - table:  (C, 256), int8, from the model's constants (see FORMAT.md, input table).
/// - output: (H, W, C), int8.
public func quantizeInputU8Reference(pixels: UnsafePointer<UInt8>, count: Int, channels: Int,
                                     table: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    for i in 0..<count {
        output[i] = table[(i % channels) * 256 + Int(pixels[i])]
    }
}
