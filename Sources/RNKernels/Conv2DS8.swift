import RNFormat

// Dispatchers: the fastest kernel that takes a layer's shape, else the reference. Every kernel
// named here has a randomized bit-exactness test against its reference twin.
//
// - 32-bit Arm (Cortex-M, DSP extension): the dual 16-bit MAC kernels when input channels are a
//   multiple of 4, else the reference.
// - Elsewhere: the register-blocked tiled kernels, as compiled for this module's baseline (SSE2 on
//   x86-64, NEON on arm64), unless a host program installed a faster instantiation of the same
//   code in `RNAcceleratedKernels` (RNHostKernels installs the AVX2 one after a CPU check).
// - Weights in layout 1 (o16hwi4): the blocked kernels, as a host program installed them
//   (RNHostKernels: vpdpbusd on AVX512-VNNI, else the AVX2 build of the portable dot product) or
//   else the portable build; the reference on 32-bit Arm, whose fast kernels read layout 0.
// - Fully connected and the standalone Add: their vectorized twins, except on 32-bit Arm.
// - Built with `-D RN_REFERENCE_KERNELS` (Tools/build-runtime-lib --reference-kernels): every
//   layer on the reference, to measure or to bisect.

public typealias Conv2DS8Kernel = @Sendable (Conv2DS8Params, UnsafePointer<Int8>, UnsafePointer<Int8>, PerChannelRequantization,
                                   UnsafeMutablePointer<Int8>) -> Void
public typealias Conv2DAddS8Kernel = @Sendable (Conv2DS8Params, AddS8Params, UnsafePointer<Int8>, UnsafePointer<Int8>,
                                      PerChannelRequantization, UnsafePointer<Int8>, UnsafeMutablePointer<Int8>) -> Void
/// The blocked kernels' signatures: as above plus the scratch.
public typealias Conv2DBlockedS8Kernel = @Sendable (Conv2DS8Params, UnsafePointer<Int8>, UnsafePointer<Int8>, PerChannelRequantization,
                                          UnsafeMutableRawPointer, UnsafeMutablePointer<Int8>) -> Void
public typealias Conv2DAddBlockedS8Kernel = @Sendable (Conv2DS8Params, AddS8Params, UnsafePointer<Int8>, UnsafePointer<Int8>,
                                             PerChannelRequantization, UnsafePointer<Int8>, UnsafeMutableRawPointer,
                                             UnsafeMutablePointer<Int8>) -> Void

#if !hasFeature(Embedded)
/// Faster instantiations of the tiled and blocked kernels that a host program may install once,
/// before any model runs. Nil means the baseline build of the same kernels. Not in Embedded
/// builds (devices have one instruction set, and calling a stored closure would need the Swift
/// runtime).
public enum RNAcceleratedKernels {
    nonisolated(unsafe) public static var conv2D: Conv2DS8Kernel? = nil
    nonisolated(unsafe) public static var conv2DAdd: Conv2DAddS8Kernel? = nil
    /// Blocked kernels, for weights in layout 1.
    nonisolated(unsafe) public static var conv2DBlocked: Conv2DBlockedS8Kernel? = nil
    nonisolated(unsafe) public static var conv2DAddBlocked: Conv2DAddBlockedS8Kernel? = nil

    /// Installs one instantiation per family; nil leaves that family on its baseline build.
    public static func install(tiled: RNKernelSet.Tiled?, blocked: RNKernelSet.Blocked?) {
        (conv2D, conv2DAdd) = (tiled?.conv2D, tiled?.conv2DAdd)
        (conv2DBlocked, conv2DAddBlocked) = (blocked?.conv2D, blocked?.conv2DAdd)
    }
}

/// The reference kernels in both families' slots (`RN_HOST_KERNELS=reference`): every
/// convolution on the spec, to measure or to bisect, as `RN_REFERENCE_KERNELS` does on devices.
public let referenceKernelSet: RNKernelSet = {
    func conv(_ layout: RNWeightLayout) -> Conv2DS8Kernel {
        { conv2DS8Reference($0, input: $1, weights: $2, layout: layout, requantization: $3, output: $4) }
    }
    func convAdd(_ layout: RNWeightLayout) -> Conv2DAddS8Kernel {
        { conv2DAddS8Reference($0, $1, input: $2, weights: $3, layout: layout, requantization: $4, residual: $5, output: $6) }
    }
    let (blocked, blockedAdd) = (conv(.o16hwi4), convAdd(.o16hwi4))   // the scratch goes unused
    return RNKernelSet(name: "reference", tiled: .init(conv2D: conv(.ohwi), conv2DAdd: convAdd(.ohwi)), tiledInstructions: "reference",
                       blocked: .init(conv2D: { blocked($0, $1, $2, $3, $5) }, conv2DAdd: { blockedAdd($0, $1, $2, $3, $4, $5, $7) }),
                       blockedInstructions: "reference")
}()

/// One instruction set's instantiations of the kernel families: the tiled kernels (layout-0
/// weights) and the blocked ones (layout 1), either possibly absent. Each accelerated module
/// exports one; RNHostKernels registers them in its ladder.
public struct RNKernelSet: Sendable {
    /// One family's two kernels: the convolution and the convolution fused with its residual add.
    public struct Family<Conv: Sendable, ConvAdd: Sendable>: Sendable {
        public var conv2D: Conv
        public var conv2DAdd: ConvAdd
        public init(conv2D: Conv, conv2DAdd: ConvAdd) {
            self.conv2D = conv2D
            self.conv2DAdd = conv2DAdd
        }
    }
    public typealias Tiled = Family<Conv2DS8Kernel, Conv2DAddS8Kernel>
    public typealias Blocked = Family<Conv2DBlockedS8Kernel, Conv2DAddBlockedS8Kernel>
    /// The `RN_HOST_KERNELS` value that caps the choice at this set, e.g. "avx2".
    public var name: String
    /// What each family computes with, for reports: "AVX2 (vpmaddwd)".
    public var instructions: (tiled: String, blocked: String)
    public var tiled: Tiled?
    public var blocked: Blocked?
    public init(name: String, tiled: Tiled?, tiledInstructions: String = "", blocked: Blocked?, blockedInstructions: String = "") {
        self.name = name
        self.instructions = (tiledInstructions, blockedInstructions)
        self.tiled = tiled
        self.blocked = blocked
    }
}
#endif

/// 2-D convolution; see `conv2DS8Reference` for the contract. Weights in layout 1 need
/// `scratch`: `conv2DS8BlockedScratchByteCount(p)` bytes.
@inlinable
public func conv2DS8(_ p: Conv2DS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                     layout: RNWeightLayout = .ohwi, requantization q: PerChannelRequantization,
                     scratch: UnsafeMutableRawPointer? = nil, output: UnsafeMutablePointer<Int8>) {
    if layout == .o16hwi4 {
#if RN_REFERENCE_KERNELS || arch(arm)
        conv2DS8Reference(p, input: input, weights: weights, layout: layout, requantization: q, output: output)
#elseif hasFeature(Embedded)
        conv2DS8Blocked(PortableBlockedInstructions.self, p, input: input, weights: weights, requantization: q, scratch: scratch!, output: output)
#else
        if let accelerated = RNAcceleratedKernels.conv2DBlocked {
            accelerated(p, input, weights, q, scratch!, output)
        } else {
            conv2DS8Blocked(PortableBlockedInstructions.self, p, input: input, weights: weights, requantization: q, scratch: scratch!,
                            output: output)
        }
#endif
        return
    }
#if RN_REFERENCE_KERNELS
    conv2DS8Reference(p, input: input, weights: weights, requantization: q, output: output)
#elseif arch(arm)
    if p.input.channels % 4 == 0 {
        conv2DS8DualMAC(p, input: input, weights: weights, requantization: q, output: output)
    } else {
        conv2DS8Reference(p, input: input, weights: weights, requantization: q, output: output)
    }
#elseif hasFeature(Embedded)
    conv2DS8Tiled(p, input: input, weights: weights, requantization: q, output: output)
#else
    if let accelerated = RNAcceleratedKernels.conv2D {
        accelerated(p, input, weights, q, output)
    } else {
        conv2DS8Tiled(p, input: input, weights: weights, requantization: q, output: output)
    }
#endif
}

/// Convolution fused with a residual add; see `conv2DAddS8Reference` for the contract.
@inlinable
public func conv2DAddS8(_ conv: Conv2DS8Params, _ add: AddS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                        layout: RNWeightLayout = .ohwi, requantization q: PerChannelRequantization,
                        residual: UnsafePointer<Int8>, scratch: UnsafeMutableRawPointer? = nil,
                        output: UnsafeMutablePointer<Int8>) {
    if layout == .o16hwi4 {
#if RN_REFERENCE_KERNELS || arch(arm)
        conv2DAddS8Reference(conv, add, input: input, weights: weights, layout: layout, requantization: q,
                             residual: residual, output: output)
#elseif hasFeature(Embedded)
        conv2DAddS8Blocked(PortableBlockedInstructions.self, conv, add, input: input, weights: weights, requantization: q,
                           residual: residual, scratch: scratch!, output: output)
#else
        if let accelerated = RNAcceleratedKernels.conv2DAddBlocked {
            accelerated(conv, add, input, weights, q, residual, scratch!, output)
        } else {
            conv2DAddS8Blocked(PortableBlockedInstructions.self, conv, add, input: input, weights: weights, requantization: q,
                               residual: residual, scratch: scratch!, output: output)
        }
#endif
        return
    }
#if RN_REFERENCE_KERNELS
    conv2DAddS8Reference(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
#elseif arch(arm)
    if conv.input.channels % 4 == 0 {
        conv2DAddS8DualMAC(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
    } else {
        conv2DAddS8Reference(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
    }
#elseif hasFeature(Embedded)
    conv2DAddS8Tiled(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
#else
    if let accelerated = RNAcceleratedKernels.conv2DAdd {
        accelerated(conv, add, input, weights, q, residual, output)
    } else {
        conv2DAddS8Tiled(conv, add, input: input, weights: weights, requantization: q, residual: residual, output: output)
    }
#endif
}

/// Convolution streamed into a max pool; see `conv2DMaxPoolS8Reference` for the contract. Each
/// convolution row is an ordinary convolution of output height 1 over the input rows under its
/// window (the rows outside the image become top or bottom padding), run by `conv2DS8`; with
/// weights in layout 1, `kernelScratch` is its scratch (`conv2DS8BlockedScratchByteCount(conv)`).
@inlinable
public func conv2DMaxPoolS8(_ conv: Conv2DS8Params, _ pool: PoolS8Params, input: UnsafePointer<Int8>,
                            weights: UnsafePointer<Int8>, layout: RNWeightLayout = .ohwi,
                            requantization q: PerChannelRequantization, scratch: UnsafeMutablePointer<Int8>,
                            kernelScratch: UnsafeMutableRawPointer? = nil, output: UnsafeMutablePointer<Int8>) {
#if RN_REFERENCE_KERNELS
    conv2DMaxPoolS8Reference(conv, pool, input: input, weights: weights, layout: layout, requantization: q,
                             scratch: scratch, output: output)
#else
    maxPoolStreamedRows(conv, pool, scratch: scratch, output: output) { r, row in
        conv2DS8(convolutionRow(conv, r), input: input + convolutionRowInputStart(conv, r), weights: weights,
                 layout: layout, requantization: q, scratch: kernelScratch, output: row)
    }
#endif
}

/// The parameters of convolution row `r` alone: the input rows its window covers, the rest padding.
@inlinable
public func convolutionRow(_ conv: Conv2DS8Params, _ r: Int) -> Conv2DS8Params {
    let y0 = r * conv.window.strideH - conv.window.padTop
    let top = max(0, y0), bottom = min(conv.input.height, y0 + conv.window.kernelH)
    var row = conv
    row.input.height = bottom - top
    row.output.height = 1
    row.window.padTop = top - y0
    row.window.padBottom = y0 + conv.window.kernelH - bottom
    return row
}

/// Byte offset of the first input row under convolution row `r`'s window.
@inlinable
public func convolutionRowInputStart(_ conv: Conv2DS8Params, _ r: Int) -> Int {
    max(0, r * conv.window.strideH - conv.window.padTop) * conv.input.width * conv.input.channels
}

/// Fully connected; see `fullyConnectedS8Reference` for the contract.
@inlinable
public func fullyConnectedS8(_ p: FullyConnectedS8Params, input: UnsafePointer<Int8>, weights: UnsafePointer<Int8>,
                             requantization q: PerChannelRequantization, output: UnsafeMutablePointer<Int8>) {
#if RN_REFERENCE_KERNELS || arch(arm)
    fullyConnectedS8Reference(p, input: input, weights: weights, requantization: q, output: output)
#else
    fullyConnectedS8Tiled(p, input: input, weights: weights, requantization: q, output: output)
#endif
}

/// Residual add; see `addS8Reference` for the contract.
@inlinable
public func addS8(_ p: AddS8Params, input0: UnsafePointer<Int8>, input1: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
#if RN_REFERENCE_KERNELS || arch(arm)
    addS8Reference(p, input0: input0, input1: input1, output: output)
#else
    addS8Tiled(p, input0: input0, input1: input1, output: output)
#endif
}
