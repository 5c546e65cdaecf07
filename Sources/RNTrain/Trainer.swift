import Foundation

/// SGD with momentum and weight decay, PyTorch semantics:
///   v = momentum * v + (g + decay * w);  w = w - lr * v     (decay only where `decays`).
public struct SGD {
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public init(momentum: Float = 0.9, weightDecay: Float = 5e-4) {
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public func step(_ parameters: [Parameter], learningRate lr: Float) {
        for p in parameters {
            let decay = p.decays ? weightDecay : 0
            let mu = momentum
            p.value.withUnsafeMutableBufferPointer { w in
                p.grad.withUnsafeMutableBufferPointer { g in
                    p.momentum.withUnsafeMutableBufferPointer { v in
                        for i in 0..<w.count {
                            v[i] = mu * v[i] + g[i] + decay * w[i]
                            w[i] -= lr * v[i]
                            g[i] = 0
                        }
                    }
                }
            }
        }
    }
}

/// Learning rate per step: linear warm-up, then cosine decay to 0 or steps of 0.1 at 50% and
/// 75% of training.
public struct LearningRateSchedule {
    public enum Kind: String, CaseIterable { case cosine, step }
    public var kind: Kind
    public var base: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(kind: Kind, base: Float, warmupSteps: Int, totalSteps: Int) {
        self.kind = kind; self.base = base; self.warmupSteps = warmupSteps; self.totalSteps = max(1, totalSteps)
    }

    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return base * Float(step + 1) / Float(warmupSteps) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        switch kind {
        case .cosine: return base * Float(0.5 * (1 + cos(Double.pi * min(1, progress))))
        case .step: return base * (progress < 0.5 ? 1 : progress < 0.75 ? 0.1 : 0.01)
        }
    }
}

/// One epoch's numbers, as printed and written to --log-json.
public struct EpochLog: Codable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainError: Double
    public var testLoss: Double
    public var testError: Double
    public var learningRate: Double
    public var seconds: Double
    public var imagesPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case epoch, trainLoss = "train_loss", trainError = "train_error", testLoss = "test_loss"
        case testError = "test_error", learningRate = "learning_rate", seconds, imagesPerSecond = "images_per_second"
    }
}

/// Evaluates the network (eval mode) on a whole dataset: (mean loss, error rate).
public func evaluate(_ net: ResNet, _ data: ImageDataset, batcher: BatchMaker, batchSize: Int = 500) -> (loss: Double, error: Double) {
    var rng = SeededRandom(seed: 0)
    var loss = 0.0, correct = 0
    var start = 0
    while start < data.count {
        let indices = Array(start..<min(data.count, start + batchSize))
        let (x, labels) = batcher.batch(data, indices[...], rng: &rng, augment: false)
        let result = softmaxCrossEntropy(net.forward(x, training: false), labels: labels)
        loss += Double(result.loss) * Double(indices.count)
        correct += result.correct
        start += batchSize
    }
    return (loss / Double(max(1, data.count)), 1 - Double(correct) / Double(max(1, data.count)))
}

/// Progress within an epoch, for a progress bar.
public struct StepProgress {
    public var epoch: Int, epochs: Int
    public var step: Int, stepsPerEpoch: Int
    public var loss: Double, accuracy: Double
    public var imagesPerSecond: Double
    public var secondsLeftInEpoch: Double
}

/// Runs training epochs over `train`, evaluating on `test` after each.
public struct Trainer {
    public var net: ResNet
    public var optimizer = SGD()
    public var schedule: LearningRateSchedule
    public var batchSize: Int
    public var batcher: BatchMaker
    public var seed: UInt64
    /// Steps done so far (for resume: the schedule continues from here).
    public var globalStep = 0

    public init(net: ResNet, schedule: LearningRateSchedule, batchSize: Int, batcher: BatchMaker, seed: UInt64) {
        self.net = net; self.schedule = schedule; self.batchSize = batchSize; self.batcher = batcher; self.seed = seed
    }

    /// Trains one epoch (index `epoch`, 0-based; the shuffle depends only on seed and epoch),
    /// drops the last partial batch, then evaluates.
    public mutating func runEpoch(_ epoch: Int, epochs: Int, train: ImageDataset, test: ImageDataset,
                                  progress: (StepProgress) -> Void) -> EpochLog {
        var rng = SeededRandom(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var order = Array(0..<train.count)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(i + 1)) }
        let steps = max(1, train.count / batchSize)
        let start = Date()
        var lossSum = 0.0, correct = 0, seen = 0
        var lr: Float = 0
        for s in 0..<steps {
            let indices = order[(s * batchSize)..<min(order.count, (s + 1) * batchSize)]
            let (x, labels) = batcher.batch(train, indices, rng: &rng, augment: true)
            let result = softmaxCrossEntropy(net.forward(x, training: true), labels: labels)
            net.backward(result.gradient)
            lr = schedule.rate(at: globalStep)
            optimizer.step(net.parameters, learningRate: lr)
            globalStep += 1
            lossSum += Double(result.loss) * Double(labels.count)
            correct += result.correct
            seen += labels.count
            let elapsed = Date().timeIntervalSince(start)
            progress(StepProgress(epoch: epoch, epochs: epochs, step: s + 1, stepsPerEpoch: steps,
                                  loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                                  imagesPerSecond: Double(seen) / elapsed,
                                  secondsLeftInEpoch: elapsed / Double(s + 1) * Double(steps - s - 1)))
        }
        let trainSeconds = Date().timeIntervalSince(start)
        let (testLoss, testError) = evaluate(net, test, batcher: batcher)
        return EpochLog(epoch: epoch + 1, trainLoss: lossSum / Double(seen), trainError: 1 - Double(correct) / Double(seen),
                        testLoss: testLoss, testError: testError, learningRate: Double(lr), seconds: trainSeconds,
                        imagesPerSecond: Double(seen) / trainSeconds)
    }
}
