// Dispatchers: the fastest kernel that takes a layer's shape, else the reference. Every kernel
// named here has a randomized bit-exactness test against its reference twin.
//
// Cortex-M (32-bit Arm, DSP extension): the dual 16-bit MAC kernels when input channels are a
// multiple of 4. Other targets: the 16-lane channel dot product when there are 16 or more input
// channels. Building with `-D RN_REFERENCE_KERNELS` (Tools/build-runtime-lib --reference-kernels)
// keeps every layer on the reference, to measure or to bisect.

/// 2-D convolution; see `conv2DS8Reference` for the contract.
@inlinable
public func conv2DS8(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                     requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
#if RN_REFERENCE_KERNELS
    conv2DS8Reference(p, input: input, weights: weights, requantization: q, output: output)
#elseif arch(arm)
    if p.input.channels % 4 == 0 {
        conv2DS8DualMAC(p, input: input, weights: weights, requantization: q, output: output)
    } else {
        conv2DS8Reference(p, input: input, weights: weights, requantization: q, output: output)
    }
#else
    if p.input.channels >= 16 {
        conv2DS8ChannelDot(p, input: input, weights: weights, requantization: q, output: output)
    } else {
        conv2DS8Reference(p, input: input, weights: weights, requantization: q, output: output)
    }
#endif
}

/// Convolution fused with a residual add; see `conv2DAddS8Reference` for the contract.
@inlinable
public func conv2DAddS8(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                        requantization q: PerChannelRequantization, residual: UnsafePointer<Int8>,
                        output: UnsafeMutablePointer<Int8>) {
#if RN_REFERENCE_KERNELS
    conv2DAddS8Reference(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
#elseif arch(arm)
    if conv.input.channels % 4 == 0 {
        conv2DAddS8DualMAC(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
    } else {
        conv2DAddS8Reference(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
    }
#else
    if conv.input.channels >= 16 {
        conv2DAddS8ChannelDot(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
    } else {
        conv2DAddS8Reference(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
    }
#endif
}
