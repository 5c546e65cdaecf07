import Foundation
import RNFormat
import RNHostKernels
import RNKernels
import RNRuntime

/// rn-bench: how fast the runtime runs a model on this machine, whole and per layer.
public enum BenchCommand {
    public static let spec = CommandSpec(
        name: "rn-bench",
        overview: "Time an int8 .rnb model: median, p10, p90, GMAC/s, and each layer's share (one thread, batch 1).",
        arguments: [("model.rnb", "The int8 model.")],
        minimumPositionals: 1, maximumPositionals: 1,
        options: [
            OptionSpec(["--runs"], value: "n", help: "Timed runs after the warm-up (default 50)."),
            OptionSpec(["--warmup"], value: "n", help: "Untimed runs first (default 5)."),
            OptionSpec(["--json"], help: "Print the results as JSON."),
        ])

    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        let args = spec.parse(arguments)
        let runs = args.int("--runs", default: 50, in: 1...1_000_000, command: spec.name)
        let warmup = args.int("--warmup", default: 5, in: 0...1_000_000, command: spec.name)
        let loaded: LoadedModel
        do { loaded = try LoadedModel(path: args.positionals[0]) } catch { fail(error.description) }
        let result = benchmark(loaded.model, runs: runs, warmup: warmup, progress: ProgressBar())
        print(args.flag("--json") ? result.json.text() : result.text(path: loaded.path))
    }

    public struct Result {
        public struct Layer { public var name: String, kind: RNOpKind, macs: Int, ms: Double }
        public var runs: Int, warmup: Int
        public var times: [Double]          // ms per run, sorted
        public var layers: [Layer]          // median ms per layer
        public var macs: Int
        public var arenaBytes: Int
        public var kernels: String

        func percentile(_ p: Double) -> Double { times[min(times.count - 1, Int((Double(times.count - 1) * p).rounded()))] }
        public var median: Double { percentile(0.5) }
        public var gmacs: Double { Double(macs) / (median * 1e6) }

        var json: JSON {
            .object([
                ("median_ms", .double(median)), ("p10_ms", .double(percentile(0.1))), ("p90_ms", .double(percentile(0.9))),
                ("macs", .int(macs)), ("gmacs", .double(gmacs)), ("arena_bytes", .int(arenaBytes)),
                ("runs", .int(runs)), ("warmup", .int(warmup)), ("kernels", .string(kernels)),
                ("layers", .array(layers.map { l in
                    .object([("name", .string(l.name)), ("kind", .string("\(l.kind.name)")), ("ms", .double(l.ms)),
                             ("macs", .int(l.macs)), ("gmacs", .double(l.ms > 0 ? Double(l.macs) / (l.ms * 1e6) : 0))])
                })),
            ])
        }

        func text(path: String) -> String {
            func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
            var lines = [path + String(format: ": median %.3f ms (p10 %.3f, p90 %.3f) over %d runs, %.2f GMAC/s, %d MACs, arena %d bytes",
                                       median, percentile(0.1), percentile(0.9), runs, gmacs, macs, arenaBytes),
                         "kernels: \(kernels)", "",
                         pad("layer", 24) + "         MACs         ms   GMAC/s   share"]
            let total = layers.reduce(0) { $0 + $1.ms }
            for l in layers {
                lines.append(pad(l.name, 24) + String(format: " %12d %10.4f %8.2f %6.1f%%", l.macs, l.ms,
                                                      l.ms > 0 ? Double(l.macs) / (l.ms * 1e6) : 0, total > 0 ? 100 * l.ms / total : 0))
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Runs `model` on a fixed pseudo-random input: `warmup` untimed runs, then `runs` timed runs,
    /// each timing every layer through the invoke observer (two clock reads per layer).
    public static func benchmark(_ model: RNModel, runs: Int, warmup: Int, progress: ProgressBar? = nil) -> Result {
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: max(model.arenaBytes, 1), alignment: 16)
        defer { arena.deallocate() }
        var state: UInt32 = 12345
        let input = (0..<model.input.byteCount).map { _ -> Int8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Int8(truncatingIfNeeded: state >> 24)
        }
        var output = [Int8](repeating: 0, count: model.output.byteCount)
        var layerTimes = [[Double]](repeating: [], count: model.opCount)
        var totals: [Double] = []
        var layerStart: UInt64 = 0
        for run in 0..<(warmup + runs) {
            let timed = run >= warmup
            let start = DispatchTime.now().uptimeNanoseconds
            input.withUnsafeBufferPointer { i in
                output.withUnsafeMutableBufferPointer { o in
                    try! model.invoke(arena: arena, input: i.baseAddress!, output: o.baseAddress!) { event in
                        let now = DispatchTime.now().uptimeNanoseconds
                        if event.phase == .begin { layerStart = now }
                        else if timed { layerTimes[event.opIndex].append(Double(now - layerStart) / 1e6) }
                    }
                }
            }
            if timed { totals.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6) }
            progress?.update(done: run + 1, total: warmup + runs, prefix: "timing", detail: "")
        }
        progress?.clear()
        let layers = (0..<model.opCount).map { i in
            Result.Layer(name: model.name(op: i), kind: model.file.op(i).kind, macs: model.macs(op: i),
                         ms: layerTimes[i].sorted()[layerTimes[i].count / 2])
        }
        return Result(runs: runs, warmup: warmup, times: totals.sorted(), layers: layers,
                      macs: layers.reduce(0) { $0 + $1.macs }, arenaBytes: model.arenaBytes, kernels: (try? installHostKernels()) ?? "")
    }
}

