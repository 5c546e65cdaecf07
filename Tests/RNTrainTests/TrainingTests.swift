import Foundation
import Testing
@testable import RNTrain
import RNTrainKernels

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let sampleDirectory = repoRoot.appendingPathComponent("Tests/Data/fashion-mnist-sample").path
let cifarSample = repoRoot.appendingPathComponent("Tests/Data/cifar10-sample/test_batch_first20.bin").path

@Suite struct TrainingTests {
    /// A small network on 512 real Fashion-MNIST images: the loss must fall and accuracy must
    /// clearly beat chance (10%). Seeded, so it cannot flake.
    @Test func lossFallsAndAccuracyBeatsChance() throws {
        let (train, test) = try loadFashionMNIST(directory: sampleDirectory)
        #expect(train.count == 1000 && test.count == 500 && train.height == 28 && train.channels == 1)
        let data = train.prefix(512)
        let arch = Architecture(kind: .resnet18, width: 4, stem: .cifar, inputHeight: 28, inputWidth: 28,
                                inputChannels: 1, classes: 10)
        let net = ResNet(arch, seed: 3)
        let (mean, std) = data.channelStatistics()
        let batcher = BatchMaker(mean: mean, std: std, cropPadding: 2, flip: true)
        let before = evaluate(net, test, batcher: batcher)
        var trainer = Trainer(net: net, schedule: LearningRateSchedule(kind: .cosine, base: 0.1, warmupSteps: 0, totalSteps: 64),
                              batchSize: 32, batcher: batcher, seed: 3)
        var logs = [EpochLog]()
        for epoch in 0..<4 { logs.append(trainer.runEpoch(epoch, epochs: 4, train: data, test: test) { _ in }) }
        print("tiny training: test error \(before.error) -> \(logs.map(\.testError)), train loss \(logs.map(\.trainLoss))")
        #expect(logs[3].trainLoss < logs[0].trainLoss * 0.8)
        #expect(logs[3].testError < 0.55, "test accuracy \(1 - logs[3].testError) should beat chance (0.1) clearly")
        #expect(logs[3].testLoss < before.loss)
    }

    @Test func checkpointRoundTripsAndResumesExactly() throws {
        let arch = Architecture(kind: .plain18, width: 3, stem: .imagenet, inputHeight: 20, inputWidth: 18,
                                inputChannels: 3, classes: 4, zeroInitResidual: true)
        let net = ResNet(arch, seed: 9)
        net.batchNorms[2].runningMean[1] = 0.25
        net.parameters[0].momentum[3] = -1.5
        let info = CheckpointInfo(labels: ["a", "b", "c", "d"], mean: [0.1, 0.2, 0.3], std: [1, 2, 3],
                                  provenance: ["seed": "9"], epochsDone: 2, globalStep: 40)
        let bytes = try RNF.encode(net, info: info)
        let (loaded, loadedInfo) = try RNF.decode(bytes, path: "memory")
        #expect(loaded.architecture == arch && loadedInfo == info)
        #expect(loaded.parameters.map(\.value) == net.parameters.map(\.value))
        #expect(loaded.parameters.map(\.momentum) == net.parameters.map(\.momentum))
        #expect(loaded.batchNorms.map(\.runningMean) == net.batchNorms.map(\.runningMean))
        // Same weights give the same eval outputs.
        var rng = SeededRandom(seed: 1)
        let x = Tensor(n: 2, h: 20, w: 18, c: 3, values: (0..<2160).map { _ in rng.normal() })
        #expect(loaded.forward(x, training: false).array == net.forward(x, training: false).array)
        // Every truncation and a flipped byte are refused with a message naming the file.
        for length in stride(from: 0, to: bytes.count, by: 97) {
            #expect(throws: DataError.self) { try RNF.decode(Array(bytes[0..<length]), path: "m.rnf") }
        }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x10
        #expect(throws: DataError.self) { try RNF.decode(flipped, path: "m.rnf") }
        do { _ = try RNF.decode(Array(bytes[0..<100]), path: "m.rnf") } catch {
            #expect("\(error)".hasPrefix("m.rnf: truncated"))
        }
    }

    @Test func cifar10BinaryRecords() throws {
        let path = cifarSample
        let data = try loadCIFAR10(paths: [path])
        #expect(data.count == 20 && data.height == 32 && data.channels == 3)
        // The first CIFAR-10 test images are a cat, a ship, a ship, an airplane (file names in shared/data).
        #expect(Array(data.labels[0..<4]) == [3, 8, 8, 0])
        var truncated = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        truncated.removeLast(5)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cifar-truncated.bin").path
        try Data(truncated).write(to: URL(fileURLWithPath: tmp))
        #expect(throws: DataError.self) { try loadCIFAR10(paths: [tmp]) }
    }

    @Test func badDataFilesGiveOneLineErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-bad-idx-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let images = try Data(contentsOf: URL(fileURLWithPath: sampleDirectory + "/t10k-images-idx3-ubyte.gz"))
        let labels = try Data(contentsOf: URL(fileURLWithPath: sampleDirectory + "/train-labels-idx1-ubyte.gz"))
        try images.write(to: dir.appendingPathComponent("i.gz"))
        try labels.write(to: dir.appendingPathComponent("l.gz"))
        do {
            _ = try loadIDX(images: dir.appendingPathComponent("i.gz").path, labels: dir.appendingPathComponent("l.gz").path,
                            classNames: fashionMNISTClasses)
            Issue.record("500 images with 1000 labels was accepted")
        } catch {
            #expect("\(error)".contains("1000 labels for 500 images"))
        }
        try images.prefix(images.count / 2).write(to: dir.appendingPathComponent("cut.gz"))
        #expect(throws: DataError.self) {
            try loadIDX(images: dir.appendingPathComponent("cut.gz").path, labels: dir.appendingPathComponent("l.gz").path,
                        classNames: fashionMNISTClasses)
        }
        #expect(throws: DataError.self) { try loadTrainingData("/no/such/place") }
    }

    @Test func scheduleShapes() {
        let cosine = LearningRateSchedule(kind: .cosine, base: 0.1, warmupSteps: 10, totalSteps: 110)
        #expect(cosine.rate(at: 0) == 0.01 && abs(cosine.rate(at: 9) - 0.1) < 1e-7)
        #expect(abs(cosine.rate(at: 60) - 0.05) < 1e-6 && cosine.rate(at: 110) < 1e-7)
        let step = LearningRateSchedule(kind: .step, base: 0.1, warmupSteps: 0, totalSteps: 100)
        #expect(step.rate(at: 10) == 0.1 && abs(step.rate(at: 60) - 0.01) < 1e-7 && abs(step.rate(at: 90) - 0.001) < 1e-8)
    }

    @Test func trainingCurveDrawsEveryRun() {
        let logs = (1...4).map { EpochLog(epoch: $0, trainLoss: 1, trainError: 0.3 / Double($0), testLoss: 1,
                                          testError: 0.35 / Double($0), learningRate: 0.1, seconds: 1, imagesPerSecond: 1) }
        let svg = trainingCurveSVG(runs: [("resnet18", logs), ("plain18 <w>", logs)])
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 4)
        #expect(svg.contains("plain18 &lt;w&gt; test"))
    }
}
