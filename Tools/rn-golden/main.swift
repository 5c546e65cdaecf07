// rn-golden: regenerates the end-to-end golden cases in Tests/Golden from seeded synthetic
// models, through the host runtime. Run it only when the format or the arithmetic changes on
// purpose; never hand-edit the output. Each case folder holds:
//   model.rnb      the model
//   model-o16hwi4.rnb  the same graph with convolution weights in layout 1 (exported cases; same outputs)
//   inputs.bin     N inputs, int8, back to back (made from seeded uint8 pixels via the input tables)
//   expected.bin   N outputs, int8, back to back
//   STAMP          what made it
//
// usage: swift run rn-golden [OUTPUT_DIR]      (default Tests/Golden)
import Foundation
import RNKernels
import RNQuantize
import RNRuntime
import RNTrain

struct GoldenCase {
    var name: String
    var graph: ModelGraph
    var inputs: Int
    var seed: UInt64
    /// What built the graph, for the STAMP.
    var builder: String
}

/// A random ResNet-18 exported by the real exporter: folded, calibrated, fused conv2d_add ops.
func exportedRandom(_ stem: Architecture.Stem, size: Int, seed: UInt64) -> ModelGraph {
    let arch = Architecture(kind: .resnet18, width: 4, stem: stem, inputHeight: size, inputWidth: size, inputChannels: 3, classes: 10)
    let (net, info, data) = Exporter.randomNetwork(arch, seed: seed, calibrationImages: 32)
    return try! Exporter.export(net, info: info, calibration: data, options: ExportOptions(calibrationCount: 32),
                                provenance: [("generator", "rn-golden (Exporter.randomNetwork, seed \(seed))")]).graph
}

let cases = [
    GoldenCase(name: "tiny-resnet", graph: SyntheticModelBuilder.tinyResNet(seed: 1), inputs: 4, seed: 11,
               builder: "SyntheticModelBuilder.tinyResNet (seed 1)"),
    GoldenCase(name: "tiny-resnet-gray", graph: SyntheticModelBuilder.tinyResNet(height: 9, width: 7, channels: 1,
                                                                                  stemWidth: 4, classes: 3, seed: 2),
               inputs: 3, seed: 12, builder: "SyntheticModelBuilder.tinyResNet (9x7x1, seed 2)"),
    GoldenCase(name: "exported-resnet18-fused", graph: exportedRandom(.cifar, size: 16, seed: 3), inputs: 3, seed: 13,
               builder: "Exporter.export of Exporter.randomNetwork (ResNet-18 width 4, CIFAR stem, 16x16x3, seed 3)"),
    GoldenCase(name: "exported-resnet18-imagenet-stem", graph: exportedRandom(.imagenet, size: 40, seed: 4), inputs: 3, seed: 14,
               builder: "Exporter.export of Exporter.randomNetwork (ResNet-18 width 4, ImageNet stem, 40x40x3, seed 4)"),
]

// The expected outputs come from the spec: every convolution on the reference kernels.
RNAcceleratedKernels.install(tiled: referenceKernelSet.tiled, blocked: referenceKernelSet.blocked)

let root = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "Tests/Golden")
do {
    for c in cases {
        let dir = root.appendingPathComponent(c.name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bytes = try RNBWriter.write(c.graph)
        let buffer = try ModelBuffer(bytes)
        let model = buffer.model
        var rng = SeededRandom(seed: c.seed)
        var inputs = [Int8](), outputs = [Int8]()
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: model.arenaBytes, alignment: 16)
        defer { arena.deallocate() }
        for _ in 0..<c.inputs {
            let pixels = (0..<model.input.byteCount).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var input = [Int8](repeating: 0, count: model.input.byteCount)
            model.quantizeImage(pixels: pixels, into: &input)
            var output = [Int8](repeating: 0, count: model.output.byteCount)
            try model.invoke(arena: arena, input: input, output: &output)
            inputs += input
            outputs += output
        }
        try Data(bytes).write(to: dir.appendingPathComponent("model.rnb"))
        if c.name.hasPrefix("exported") {
            try Data(try RNBWriter.write(c.graph, weightLayout: .o16hwi4)).write(to: dir.appendingPathComponent("model-o16hwi4.rnb"))
        }
        try Data(inputs.map { UInt8(bitPattern: $0) }).write(to: dir.appendingPathComponent("inputs.bin"))
        try Data(outputs.map { UInt8(bitPattern: $0) }).write(to: dir.appendingPathComponent("expected.bin"))
        let stamp = """
            generator: swift run rn-golden (Tools/rn-golden/main.swift)
            model: \(c.builder), \(c.graph.ops.count) ops, \(bytes.count) bytes, arena \(model.arenaBytes) bytes
            inputs: \(c.inputs), seed \(c.seed), uint8 pixels through the model's input tables
            outputs: host RNRuntime, convolutions on the reference kernels (as RN_HOST_KERNELS=reference); fully
              connected and add on their vectorized twins, pools on the reference

            """
        try stamp.write(to: dir.appendingPathComponent("STAMP"), atomically: true, encoding: .utf8)
        print("\(dir.path): \(bytes.count) bytes, arena \(model.arenaBytes) (lower bound \(model.arenaLowerBound))")
    }
} catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
