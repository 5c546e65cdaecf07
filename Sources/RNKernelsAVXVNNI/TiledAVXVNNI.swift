import RNKernels

// The tiled kernels of RNKernels/Tiled/Conv2DS8Tiled.swift instantiated with AVX2 and AVX-VNNI
// (-target-cpu haswell -Xcc -mavxvnni): LLVM fuses each vpmaddwd and the vpaddd after it into one
// vpdpwssd. Enter only after RNHostKernels' CPU check.

public func conv2DS8TiledAVXVNNI(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                                 requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
    conv2DS8Tiled(p, input: input, weights: weights, requantization: q, output: output)
}

public func conv2DAddS8TiledAVXVNNI(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>,
                                    weights: UnsafePointer<Int8>, requantization q: PerChannelRequantization,
                                    residual: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
    conv2DAddS8Tiled(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
}
