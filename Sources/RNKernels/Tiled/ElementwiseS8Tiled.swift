import RNFormat

// The vectorized twins of the small ops: fully connected (a long dot product per output) and the
// standalone residual Add (ResNets fuse every add into conv2d_add, but other graphs may not).

/// Same contract as `fullyConnectedS8Reference`: each output's dot product 16 inputs at a time
/// in pairwise 16-bit multiply-adds (`widen16`, `madd`: exact), the last inputs one at a time.
@inlinable
public func fullyConnectedS8Tiled(_ p: FullyConnectedS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                                  requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
    let n = p.inputCount
    let zp = SIMD16<Int16>(repeating: Int16(truncatingIfNeeded: p.inputZeroPoint))
    for k in 0..<p.outputCount {
        let w = weights + k &* n
        var vector = SIMD8<Int32>()
        var i = 0
        while i &+ 16 <= n {
            vector &+= madd(widen16(w + i), widen16(input + i) &- zp)
            i &+= 16
        }
        var sum = vector.wrappedSum() &+ q.bias[k]
        while i < n {
            sum &+= Int32(w[i]) &* (Int32(input[i]) &- p.inputZeroPoint)
            i &+= 1
        }
        let scaled = multiplyByQuantizedMultiplier(sum, q.multiplier[k], q.shift[k]) &+ p.outputZeroPoint
        output[k] = Int8(truncatingIfNeeded: p.activation.clamp(scaled))
    }
}

/// Same contract as `addS8Reference`, four elements at a time (`addOutput4`), the rest one by one.
@inlinable
public func addS8Tiled(_ p: AddS8Params, input0: UnsafePointer<Int8>, input1: UnsafePointer<Int8>,
                       output: UnsafeMutablePointer<Int8>) {
    var i = 0
    while i &+ 4 <= p.count {
        let a = SIMD4<Int32>(Int32(input0[i]), Int32(input0[i &+ 1]), Int32(input0[i &+ 2]), Int32(input0[i &+ 3]))
        let b = SIMD4<Int32>(Int32(input1[i]), Int32(input1[i &+ 1]), Int32(input1[i &+ 2]), Int32(input1[i &+ 3]))
        let v = addOutput4(p, a, b)
        output[i] = Int8(truncatingIfNeeded: v[0]); output[i &+ 1] = Int8(truncatingIfNeeded: v[1])
        output[i &+ 2] = Int8(truncatingIfNeeded: v[2]); output[i &+ 3] = Int8(truncatingIfNeeded: v[3])
        i &+= 4
    }
    while i < p.count {
        output[i] = addS8ReferenceOutput(p, input0[i], input1[i])
        i &+= 1
    }
}
