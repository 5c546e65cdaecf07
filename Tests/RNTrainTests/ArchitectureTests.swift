import Testing
@testable import RNTrain

@Suite struct ArchitectureTests {
    /// Parameter counts against torchvision's published models (He et al. layouts).
    @Test func parameterCountsMatchTorchvision() {
        func count(_ kind: Architecture.Kind, _ stem: Architecture.Stem, classes: Int) -> Int {
            ResNet(Architecture(kind: kind, width: 64, stem: stem, inputHeight: 32, inputWidth: 32, inputChannels: 3,
                                classes: classes), seed: 1).parameterCount
        }
        #expect(count(.resnet18, .imagenet, classes: 1000) == 11_689_512)     // torchvision resnet18
        #expect(count(.resnet34, .imagenet, classes: 1000) == 21_797_672)     // torchvision resnet34
        #expect(count(.resnet18, .cifar, classes: 10) == 11_173_962)          // the common CIFAR variant
        // Plain nets are the same minus the three projection shortcuts (1x1 conv + batch norm).
        #expect(count(.plain18, .cifar, classes: 10) == 11_173_962 - (8192 + 256) - (32768 + 512) - (131_072 + 1024))
    }

    @Test func shapesThroughTheStages() {
        let net = ResNet(Architecture(kind: .resnet34, width: 4, stem: .imagenet, inputHeight: 64, inputWidth: 48,
                                      inputChannels: 3, classes: 7), seed: 2)
        #expect(net.blocks.count == 16 && net.blocks.filter { $0.projection != nil }.count == 3)
        let x = Tensor(n: 2, h: 64, w: 48, c: 3)
        let y = net.forward(x, training: false)
        #expect(y.n == 2 && y.h == 1 && y.w == 1 && y.c == 7)
        let plain = ResNet(Architecture(kind: .plain34, width: 4, stem: .cifar, inputHeight: 28, inputWidth: 28,
                                        inputChannels: 1, classes: 10, zeroInitResidual: true), seed: 2)
        #expect(plain.blocks.allSatisfy { !$0.residual && $0.projection == nil })
        // Zero-init applies to residual blocks only: a plain net keeps its last gammas at 1.
        #expect(plain.blocks[0].second.bn.gamma.value.allSatisfy { $0 == 1 })
        let zero = ResNet(Architecture(kind: .resnet18, width: 4, stem: .cifar, inputHeight: 28, inputWidth: 28,
                                       inputChannels: 1, classes: 10, zeroInitResidual: true), seed: 2)
        #expect(zero.blocks.allSatisfy { $0.second.bn.gamma.value.allSatisfy { $0 == 0 } })
    }
}
