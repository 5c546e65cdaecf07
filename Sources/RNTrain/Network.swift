/// Which network to build. The paper's ResNets (He et al. 2015, Table 1) and their plain twins.
public struct Architecture: Equatable {
    public enum Kind: String, CaseIterable {
        case resnet18, resnet34, plain18, plain34
        /// Basic blocks per stage.
        public var blocks: [Int] { self == .resnet18 || self == .plain18 ? [2, 2, 2, 2] : [3, 4, 6, 3] }
        public var residual: Bool { self == .resnet18 || self == .resnet34 }
    }
    public enum Stem: String, CaseIterable {
        /// 3x3 stride 1 convolution, no max pool (small images).
        case cifar
        /// 7x7 stride 2 convolution, then 3x3 stride 2 max pool (ImageNet).
        case imagenet
    }

    public var kind: Kind
    /// Channels of the first stage; stages have width, 2, 4 and 8 times width (64 = the paper's).
    public var width: Int
    public var stem: Stem
    public var inputHeight: Int, inputWidth: Int, inputChannels: Int
    public var classes: Int
    /// Zero-initialise the last batch norm of each residual block (each block starts as identity).
    public var zeroInitResidual: Bool

    public init(kind: Kind, width: Int, stem: Stem, inputHeight: Int, inputWidth: Int, inputChannels: Int,
                classes: Int, zeroInitResidual: Bool = false) {
        self.kind = kind; self.width = width; self.stem = stem
        self.inputHeight = inputHeight; self.inputWidth = inputWidth; self.inputChannels = inputChannels
        self.classes = classes; self.zeroInitResidual = zeroInitResidual
    }

    /// The floats a checkpoint of this network holds, from its shape alone (no network built):
    /// parameters (convolution weights, batch-norm gamma and beta, classifier weights and bias,
    /// in `ResNet.parameters`' order) and running statistics (mean and variance per batch-norm
    /// channel). `ResNet(self, seed:)` has exactly these counts (a test checks every kind).
    public var floatCounts: (parameters: Int, statistics: Int) {
        var parameters = 0, channels = 0
        func convBN(_ cin: Int, _ cout: Int, _ kernel: Int) { parameters += kernel * kernel * cin * cout + 2 * cout; channels += cout }
        convBN(inputChannels, width, stem == .imagenet ? 7 : 3)
        var cin = width
        for (stage, count) in kind.blocks.enumerated() {
            let cout = width << stage
            for b in 0..<count {
                convBN(cin, cout, 3)
                convBN(cout, cout, 3)
                if kind.residual && ((stage > 0 && b == 0) || cin != cout) { convBN(cin, cout, 1) }
                cin = cout
            }
        }
        parameters += cin * classes + classes
        return (parameters, 2 * channels)
    }
}

/// conv, batch norm and optionally ReLU, applied in that order.
public final class ConvBN {
    public let conv: Conv2D
    public let bn: BatchNorm
    public let relu: ReLU?

    init(_ cin: Int, _ cout: Int, kernel: Int, stride: Int, relu: Bool, zeroGamma: Bool = false, rng: inout SeededRandom) {
        conv = Conv2D(cin, cout, kernel: kernel, stride: stride, padding: kernel / 2, rng: &rng)
        bn = BatchNorm(cout, zeroGamma: zeroGamma)
        self.relu = relu ? ReLU() : nil
    }

    func forward(_ x: Tensor, training: Bool) -> Tensor {
        let y = bn.forward(conv.forward(x, training: training), training: training)
        return relu?.forward(y, training: training) ?? y
    }

    func backward(_ dy: Tensor) -> Tensor {
        conv.backward(bn.backward(relu?.backward(dy) ?? dy))
    }

    var parameters: [Parameter] { conv.parameters + bn.parameters }

    func setFrozen(_ frozen: Bool) { relu?.frozen = frozen }
}

/// The basic block: conv3x3(stride) - BN - ReLU - conv3x3 - BN, plus the shortcut (identity, or
/// 1x1 conv + BN where width or stride changes: y = F(x) + W_s x), then ReLU. Plain blocks
/// have no shortcut.
public final class BasicBlock {
    public let first: ConvBN
    public let second: ConvBN
    public let projection: ConvBN?
    public let residual: Bool
    let outputReLU = ReLU()

    init(_ cin: Int, _ cout: Int, stride: Int, residual: Bool, zeroInit: Bool, rng: inout SeededRandom) {
        first = ConvBN(cin, cout, kernel: 3, stride: stride, relu: true, rng: &rng)
        second = ConvBN(cout, cout, kernel: 3, stride: 1, relu: false, zeroGamma: zeroInit && residual, rng: &rng)
        projection = residual && (stride != 1 || cin != cout)
            ? ConvBN(cin, cout, kernel: 1, stride: stride, relu: false, rng: &rng) : nil
        self.residual = residual
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var y = second.forward(first.forward(x, training: training), training: training)
        if residual { y = add(y, projection?.forward(x, training: training) ?? x) }
        return outputReLU.forward(y, training: training)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let dsum = outputReLU.backward(dy)
        let dx = first.backward(second.backward(dsum))
        guard residual else { return dx }
        return add(dx, projection?.backward(dsum) ?? dsum)
    }

    public var parameters: [Parameter] { first.parameters + second.parameters + (projection?.parameters ?? []) }

    /// Freezes (or thaws) the ReLU patterns, for gradient checks.
    public func setFrozen(_ frozen: Bool) {
        first.setFrozen(frozen)
        outputReLU.frozen = frozen
    }
}

/// A ResNet (or plain net) for image classification, NHWC float.
public final class ResNet {
    public let architecture: Architecture
    public let stem: ConvBN
    public let stemPool: MaxPool?
    public let blocks: [BasicBlock]
    public let pool = GlobalAveragePool()
    public let classifier: Linear

    public init(_ a: Architecture, seed: UInt64) {
        precondition(a.width >= 1 && a.classes >= 2, "ResNet: width >= 1 and classes >= 2")
        var rng = SeededRandom(seed: seed)
        architecture = a
        let imagenet = a.stem == .imagenet
        stem = ConvBN(a.inputChannels, a.width, kernel: imagenet ? 7 : 3, stride: imagenet ? 2 : 1, relu: true, rng: &rng)
        stemPool = imagenet ? MaxPool(kernel: 3, stride: 2, padding: 1) : nil
        var blocks = [BasicBlock]()
        var channels = a.width
        for (stage, count) in a.kind.blocks.enumerated() {
            let out = a.width << stage
            for b in 0..<count {
                let stride = stage > 0 && b == 0 ? 2 : 1
                blocks.append(BasicBlock(channels, out, stride: stride, residual: a.kind.residual,
                                         zeroInit: a.zeroInitResidual, rng: &rng))
                channels = out
            }
        }
        self.blocks = blocks
        classifier = Linear(channels, a.classes, rng: &rng)
    }

    /// Logits (N, 1, 1, classes) for a batch (N, H, W, C).
    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var y = stem.forward(x, training: training)
        if let stemPool { y = stemPool.forward(y, training: training) }
        for block in blocks { y = block.forward(y, training: training) }
        return classifier.forward(pool.forward(y, training: training), training: training)
    }

    /// Backpropagates dL/dlogits through the whole network, accumulating parameter gradients.
    @discardableResult
    public func backward(_ dlogits: Tensor) -> Tensor {
        var d = pool.backward(classifier.backward(dlogits))
        for block in blocks.reversed() { d = block.backward(d) }
        if let stemPool { d = stemPool.backward(d) }
        return stem.backward(d)
    }

    /// Every parameter, in a fixed order (the checkpoint's order).
    public var parameters: [Parameter] {
        stem.parameters + blocks.flatMap(\.parameters) + classifier.parameters
    }

    /// Every batch norm, in the same order as `parameters` visits them.
    public var batchNorms: [BatchNorm] {
        [stem.bn] + blocks.flatMap { [$0.first.bn, $0.second.bn] + ($0.projection.map { [$0.bn] } ?? []) }
    }

    /// Freezes (or thaws) every ReLU pattern and max-pool choice, for gradient checks.
    public func setFrozen(_ frozen: Bool) {
        stem.setFrozen(frozen)
        stemPool?.frozen = frozen
        for block in blocks { block.setFrozen(frozen) }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
