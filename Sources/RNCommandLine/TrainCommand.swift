import Foundation
import RNTrain
import RNTrainKernels

/// rn-train: trains a ResNet (or plain net) on real data and writes an .rnf checkpoint.
public enum TrainCommand {
    public static let spec = CommandSpec(
        name: "rn-train",
        overview: "Train a ResNet or plain network in float and write an .rnf checkpoint.",
        arguments: [], minimumPositionals: 0, maximumPositionals: 0,
        options: [
            OptionSpec(["--data"], value: "path|fashion-mnist", help: "Fashion-MNIST (system package), an IDX or CIFAR-10 folder, or a CIFAR-10 .bin."),
            OptionSpec(["--arch"], value: "name", help: "resnet18 (default), resnet34, plain18 or plain34."),
            OptionSpec(["--width"], value: "n", help: "Channels of the first stage (64 = the paper's widths). Default 16."),
            OptionSpec(["--stem"], value: "cifar|imagenet", help: "3x3 stem, or 7x7/2 + max pool. Default: cifar up to 64x64 input."),
            OptionSpec(["--epochs"], value: "n", help: "Epochs to train in total (default 4)."),
            OptionSpec(["--batch"], value: "n", help: "Batch size (default 128)."),
            OptionSpec(["--lr"], value: "rate", help: "Base learning rate (default 0.1)."),
            OptionSpec(["--schedule"], value: "cosine|step", help: "Learning-rate schedule (default cosine)."),
            OptionSpec(["--warmup"], value: "epochs", help: "Linear warm-up length in epochs, may be fractional (default 0)."),
            OptionSpec(["--momentum"], value: "m", help: "SGD momentum (default 0.9)."),
            OptionSpec(["--weight-decay"], value: "d", help: "Weight decay on conv and linear weights (default 5e-4)."),
            OptionSpec(["--zero-init-residual"], help: "Zero-initialise the last batch norm of each residual block."),
            OptionSpec(["--crop-padding"], value: "px", help: "Random crop after padding by px pixels (default 4; 0 = off)."),
            OptionSpec(["--no-flip"], help: "No random horizontal flips."),
            OptionSpec(["--seed"], value: "s", help: "Seed for weights, shuffling and augmentation (default 1)."),
            OptionSpec(["--limit"], value: "n", help: "Train on the first n training images only."),
            OptionSpec(["--test-limit"], value: "n", help: "Evaluate on the first n test images only."),
            OptionSpec(["--threads"], value: "n", help: "Threads (default: all cores)."),
            OptionSpec(["--resume"], value: "model.rnf", help: "Continue training from a checkpoint."),
            OptionSpec(["-o", "--output"], value: "model.rnf", help: "Checkpoint to write after every epoch."),
            OptionSpec(["--log-json"], value: "file", help: "Write per-epoch train/test loss and error as JSON."),
            OptionSpec(["--curve"], value: "file.svg", help: "Draw train and test error per epoch as SVG."),
            OptionSpec(["--plot-log"], value: "log.json", help: "With --curve and no --data: plot these logs, one line each.", repeatable: true),
            OptionSpec(["--evaluate"], value: "model.rnf", help: "Only evaluate a checkpoint on the --data test set (per-class accuracy)."),
            OptionSpec(["--json"], help: "With --evaluate: print the result as JSON."),
        ])

    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        let args = spec.parse(arguments)
        let name = spec.name
        if let curve = args.value("--curve"), args.value("--data") == nil {
            let logs = args.values("--plot-log")
            guard !logs.isEmpty else { usageError("--curve without --data needs at least one --plot-log", command: name) }
            do {
                let runs = try logs.map { path -> (String, [EpochLog]) in
                    guard let data = FileManager.default.contents(atPath: path) else { throw ToolError("\(path): cannot read") }
                    do { return (URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
                                 try JSONDecoder().decode([EpochLog].self, from: data)) } catch {
                        throw ToolError("\(path): not an rn-train --log-json file")
                    }
                }
                try trainingCurveSVG(runs: runs).write(toFile: curve, atomically: true, encoding: .utf8)
                print("wrote \(curve)")
                return
            } catch { fail("\(error)") }
        }
        guard let dataSpec = args.value("--data") else { usageError("missing --data", command: name) }
        if let checkpoint = args.value("--evaluate") {
            evaluateCheckpoint(checkpoint, data: dataSpec, limit: args.int("--test-limit", default: Int.max, in: 1...Int.max, command: name),
                               json: args.flag("--json"))
            return
        }
        guard let output = args.value("--output") else { usageError("missing -o model.rnf", command: name) }
        let archName = args.value("--arch") ?? "resnet18"
        guard let kind = Architecture.Kind(rawValue: archName) else {
            usageError("unknown --arch '\(archName)' (resnet18, resnet34, plain18, plain34)", command: name)
        }
        let width = args.int("--width", default: 16, in: 1...1024, command: name)
        let epochs = args.int("--epochs", default: 4, in: 1...10_000, command: name)
        let batch = args.int("--batch", default: 128, in: 1...65_536, command: name)
        let seed = args.int("--seed", default: 1, in: 0...Int(Int32.max), command: name)
        let cropPadding = args.int("--crop-padding", default: 4, in: 0...64, command: name)
        let limit = args.int("--limit", default: Int.max, in: 1...Int.max, command: name)
        let testLimit = args.int("--test-limit", default: Int.max, in: 1...Int.max, command: name)
        if args.value("--threads") != nil { TrainThreads.count = args.int("--threads", default: 1, in: 1...256, command: name) }
        func real(_ option: String, _ fallback: Double, _ range: ClosedRange<Double>) -> Double {
            guard let text = args.value(option) else { return fallback }
            guard let v = Double(text), range.contains(v) else {
                usageError("\(option) expects a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'", command: name)
            }
            return v
        }
        let lr = real("--lr", 0.1, 1e-8...10), momentum = real("--momentum", 0.9, 0...0.999)
        let weightDecay = real("--weight-decay", 5e-4, 0...1), warmup = real("--warmup", 0, 0...1000)
        let scheduleName = args.value("--schedule") ?? "cosine"
        guard let scheduleKind = LearningRateSchedule.Kind(rawValue: scheduleName) else {
            usageError("unknown --schedule '\(scheduleName)' (cosine, step)", command: name)
        }
        if let stem = args.value("--stem"), Architecture.Stem(rawValue: stem) == nil {
            usageError("unknown --stem '\(stem)' (cifar, imagenet)", command: name)
        }

        do {
            var (train, test) = try loadTrainingData(dataSpec)
            train = train.prefix(limit)
            test = test.prefix(testLimit)
            var net: ResNet
            var info: CheckpointInfo
            if let resume = args.value("--resume") {
                (net, info) = try RNF.read(resume)
                let a = net.architecture
                guard a.inputHeight == train.height, a.inputWidth == train.width, a.inputChannels == train.channels,
                      a.classes == train.classNames.count else {
                    throw ToolError("\(resume): checkpoint is for \(a.inputHeight)x\(a.inputWidth)x\(a.inputChannels) input and \(a.classes) classes, the data is \(train.height)x\(train.width)x\(train.channels) with \(train.classNames.count)")
                }
            } else {
                let stem = args.value("--stem").flatMap(Architecture.Stem.init(rawValue:))
                    ?? (max(train.height, train.width) <= 64 ? .cifar : .imagenet)
                let a = Architecture(kind: kind, width: width, stem: stem, inputHeight: train.height, inputWidth: train.width,
                                     inputChannels: train.channels, classes: train.classNames.count,
                                     zeroInitResidual: args.flag("--zero-init-residual"))
                net = ResNet(a, seed: UInt64(seed))
                let (mean, std) = train.channelStatistics()
                info = CheckpointInfo(labels: train.classNames, mean: mean, std: std)
            }
            let a = net.architecture
            let stepsPerEpoch = max(1, train.count / batch)
            let schedule = LearningRateSchedule(kind: scheduleKind, base: Float(lr), warmupSteps: Int(warmup * Double(stepsPerEpoch)),
                                                totalSteps: epochs * stepsPerEpoch)
            let batcher = BatchMaker(mean: info.mean, std: info.std, cropPadding: cropPadding, flip: !args.flag("--no-flip"))
            var trainer = Trainer(net: net, schedule: schedule, batchSize: batch, batcher: batcher, seed: UInt64(seed))
            trainer.optimizer = SGD(momentum: Float(momentum), weightDecay: Float(weightDecay))
            trainer.globalStep = info.globalStep
            info.training = ["arch": a.kind.rawValue, "width": "\(a.width)", "stem": a.stem.rawValue, "epochs": "\(epochs)",
                             "batch": "\(batch)", "lr": "\(lr)", "schedule": scheduleKind.rawValue, "warmup": "\(warmup)",
                             "momentum": "\(momentum)", "weight_decay": "\(weightDecay)", "seed": "\(seed)",
                             "crop_padding": "\(cropPadding)", "flip": "\(!args.flag("--no-flip"))"]
            print("\(a.kind.rawValue) width \(a.width), \(a.stem.rawValue) stem, \(a.inputHeight)x\(a.inputWidth)x\(a.inputChannels) input, \(a.classes) classes, \(net.parameterCount) parameters")
            print("data: \(train.count) training images (\(train.source)), \(test.count) test images; GEMM \(GEMMKernel.selected.rawValue), \(TrainThreads.count) threads")
            if info.epochsDone >= epochs { print("checkpoint already has \(info.epochsDone) epochs; nothing to do") }
            let bar = ProgressBar()
            for epoch in info.epochsDone..<max(info.epochsDone, epochs) {
                let log = trainer.runEpoch(epoch, epochs: epochs, train: train, test: test) { p in
                    bar.update(done: p.step, total: p.stepsPerEpoch, prefix: "epoch \(p.epoch + 1)/\(p.epochs)",
                               detail: String(format: "loss %.3f acc %.1f%% %.0f img/s ETA %@", p.loss, p.accuracy * 100,
                                              p.imagesPerSecond, formatDuration(p.secondsLeftInEpoch)))
                }
                bar.clear()
                info.history.append(log)
                info.epochsDone = epoch + 1
                info.globalStep = trainer.globalStep
                info.provenance = ["data": train.source, "seed": "\(seed)", "epochs": "\(epoch + 1)",
                                   "test_accuracy": String(format: "%.4f", 1 - log.testError),
                                   "generator": "rn-train", "date": ISO8601DateFormatter().string(from: Date())]
                try RNF.write(try RNF.encode(net, info: info), to: output)
                print(String(format: "epoch %d/%d  train loss %.4f error %.2f%%  test loss %.4f error %.2f%%  lr %.4f  %.0f img/s  %@",
                             log.epoch, epochs, log.trainLoss, log.trainError * 100, log.testLoss, log.testError * 100,
                             log.learningRate, log.imagesPerSecond, formatDuration(log.seconds)))
                if let logPath = args.value("--log-json") {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    try encoder.encode(info.history).write(to: URL(fileURLWithPath: logPath))
                }
                if let curve = args.value("--curve") {
                    try trainingCurveSVG(runs: [("\(a.kind.rawValue) w\(a.width)", info.history)])
                        .write(toFile: curve, atomically: true, encoding: .utf8)
                }
            }
            if let last = info.history.last {
                print(String(format: "final test accuracy %.2f%% (%d images); wrote %@", (1 - last.testError) * 100, test.count, output))
            }
        } catch {
            fail("\(error)")
        }
    }

    /// --evaluate: float accuracy of a checkpoint on a test set, overall and per class.
    static func evaluateCheckpoint(_ path: String, data: String, limit: Int, json: Bool) {
        do {
            let (net, info) = try RNF.read(path)
            let test = try loadTrainingData(data).test.prefix(limit)
            let a = net.architecture
            guard a.inputHeight == test.height, a.inputWidth == test.width, a.inputChannels == test.channels,
                  a.classes == test.classNames.count else {
                throw ToolError("\(path): model expects \(a.inputHeight)x\(a.inputWidth)x\(a.inputChannels) images and \(a.classes) classes, \(data) has \(test.height)x\(test.width)x\(test.channels) and \(test.classNames.count)")
            }
            let batcher = BatchMaker(mean: info.mean, std: info.std)
            var correct = [Int](repeating: 0, count: a.classes), total = correct
            var rng = SeededRandom(seed: 0)
            var start = 0
            while start < test.count {
                let indices = Array(start..<min(test.count, start + 500))
                let (x, labels) = batcher.batch(test, indices[...], rng: &rng, augment: false)
                let logits = net.forward(x, training: false)
                for (b, label) in labels.enumerated() {
                    let row = Array(logits.data[(b * a.classes)..<((b + 1) * a.classes)])
                    total[label] += 1
                    if row.indices.max(by: { row[$0] < row[$1] }) == label { correct[label] += 1 }
                }
                start += 500
            }
            let accuracy = Double(correct.reduce(0, +)) / Double(max(1, test.count))
            if json {
                print(JSON.object([
                    ("model", .string(path)), ("data", .string(test.source)), ("images", .int(test.count)),
                    ("top1", .double(accuracy)),
                    ("per_class", .array((0..<a.classes).map { c in
                        .object([("class", .int(c)), ("label", .string(info.labels[c])), ("images", .int(total[c])),
                                 ("top1", .double(total[c] > 0 ? Double(correct[c]) / Double(total[c]) : 0))])
                    })),
                ]).text())
            } else {
                print(String(format: "%@: float top-1 %.2f%% on %d images (%@)", path, accuracy * 100, test.count, test.source))
                for c in 0..<a.classes where total[c] > 0 {
                    let label = info.labels[c].padding(toLength: 12, withPad: " ", startingAt: 0)
                    print("  \(label) " + String(format: "%6.2f%%  (%d images)", Double(correct[c]) / Double(total[c]) * 100, total[c]))
                }
            }
        } catch {
            fail("\(error)")
        }
    }
}
