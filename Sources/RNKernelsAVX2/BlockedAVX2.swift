import RNKernels

// The blocked kernels (weights in layout 1) with the portable dot product, for AVX2 CPUs without
// AVX512-VNNI: 256-bit vpmaddwd.

public func conv2DS8BlockedAVX2(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                                requantization q: PerChannelRequantization, scratch: UnsafeMutableRawPointer,
                                output: UnsafeMutablePointer<Int8>) {
    conv2DS8Blocked(PortableBlockedInstructions.self, p, input: input, weights: weights, requantization: q,
                    scratch: scratch, output: output)
}

public func conv2DAddS8BlockedAVX2(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>,
                                   weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                                   residual: UnsafePointer<Int8>, scratch: UnsafeMutableRawPointer,
                                   output: UnsafeMutablePointer<Int8>) {
    conv2DAddS8Blocked(PortableBlockedInstructions.self, conv, add, input: input, weights: weights, requantization: q,
                       residual: residual, scratch: scratch, output: output)
}
