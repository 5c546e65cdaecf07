import RNKernels

// The tiled kernels of RNKernels/Tiled/Conv2DS8Tiled.swift instantiated with AVX2 enabled
// (this module is compiled with -target-cpu haswell): the same Swift source, inlined here, turns
// into 256-bit vpmovsxbw / vpmaddwd / vpaddd. Enter only after RNHostKernels' CPU check.

public func conv2DS8TiledAVX2(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                              requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
    conv2DS8Tiled(p, input: input, weights: weights, requantization: q, output: output)
}

public func conv2DAddS8TiledAVX2(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>,
                                 weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                                 residual: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    conv2DAddS8Tiled(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
}
