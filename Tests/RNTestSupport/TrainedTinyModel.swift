import Foundation
import RNTrain

/// The repository root, from this file's place.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
/// The bundled Fashion-MNIST sample (1,000 training and 500 test images).
public let fashionSample = repositoryRoot.appendingPathComponent("Tests/Data/fashion-mnist-sample").path
/// The first 20 CIFAR-10 test images as CIFAR binary records.
public let cifarSample = repositoryRoot.appendingPathComponent("Tests/Data/cifar10-sample/test_batch_first20.bin").path

/// A width-4 ResNet-18 trained one epoch on the bundled sample, so that batch-norm statistics,
/// weights and activations are realistic for export and drift tests. Returns the network, its
/// checkpoint info and the sample's train and test splits.
public func trainedTinyModel(seed: UInt64) -> (ResNet, CheckpointInfo, ImageDataset, ImageDataset) {
    let (train, test) = try! loadFashionMNIST(directory: fashionSample)
    let arch = Architecture(kind: .resnet18, width: 4, stem: .cifar, inputHeight: 28, inputWidth: 28, inputChannels: 1, classes: 10)
    let net = ResNet(arch, seed: seed)
    let (mean, std) = train.channelStatistics()
    var trainer = Trainer(net: net, schedule: LearningRateSchedule(kind: .cosine, base: 0.1, warmupSteps: 0, totalSteps: 31),
                          batchSize: 32, batcher: BatchMaker(mean: mean, std: std, cropPadding: 2, flip: true), seed: seed)
    _ = trainer.runEpoch(0, epochs: 1, train: train, test: test.prefix(20)) { _ in }
    return (net, CheckpointInfo(labels: train.classNames, mean: mean, std: std), train, test)
}
