import RNFormat
import RNKernels

/// What a per-layer observer sees: once before an op runs (`.begin`) and once after (`.end`),
/// when `output` holds the op's result (valid only during the call: the arena is reused).
public struct RNLayerEvent {
    public enum Phase: Int32, Sendable { case begin = 0, end = 1 }
    public var phase: Phase
    public var opIndex: Int
    public var kind: RNOpKind
    /// Multiply-accumulates of this op, padded taps counted.
    public var macs: Int
    /// Index of the tensor the op writes (opIndex + 1).
    public var outputTensor: Int
    /// The op's output in the arena; `byteCount` int8 values, NHWC.
    public var output: UnsafePointer<Int8>
    public var byteCount: Int
}

extension RNModel {
    /// Runs the model: copies `input` into the arena, executes every op, copies the result to
    /// `output`.
    /// - arena:  at least `arenaBytes` bytes, 16-byte aligned; contents on entry do not matter.
    /// - input:  `input.byteCount` int8 values in the input tensor's layout (NHWC).
    /// - output: room for `output.byteCount` int8 values.
    /// Throws only `arenaTooSmall` (found = bytes given, limit = bytes needed), `arenaMisaligned`
    /// or `nullArgument`: the model itself was validated at construction.
    @inlinable
    public func invoke(arena: UnsafeMutableRawBufferPointer, input: UnsafePointer<Int8>,
                       output: UnsafeMutablePointer<Int8>) throws(RNError) {
        try invoke(arena: arena, input: input, output: output, observer: { _ in })
    }

    /// `invoke` with a per-layer observer, for profilers and drift tools.
    public func invoke(arena: UnsafeMutableRawBufferPointer, input: UnsafePointer<Int8>,
                       output: UnsafeMutablePointer<Int8>, observer: (RNLayerEvent) -> Void) throws(RNError) {
        guard let base = arena.baseAddress else { throw RNError(.nullArgument) }
        guard Int(bitPattern: base) & 15 == 0 else { throw RNError(.arenaMisaligned) }
        guard arena.count >= file.arenaBytes else {
            throw RNError(.arenaTooSmall, found: arena.count, limit: file.arenaBytes)
        }
        let inputTensor = self.input
        (base + inputTensor.arenaOffset).copyMemory(from: input, byteCount: inputTensor.byteCount)
        let kernelScratch = base + (file.arenaBytes - file.scratchBytes)
        for i in 0..<file.opCount {
            let op = file.op(i)
            let out = file.tensor(op.output)
            let arenaView = RNArenaView(base: base, kernelScratch: kernelScratch,
                                        output: (base + out.arenaOffset).assumingMemoryBound(to: Int8.self))
            var event = RNLayerEvent(phase: .begin, opIndex: i, kind: op.kind, macs: macs(op: i),
                                     outputTensor: op.output, output: UnsafePointer(arenaView.output),
                                     byteCount: out.byteCount)
            observer(event)
            try visit(op: i, Run(arena: arenaView))
            event.phase = .end
            observer(event)
        }
        let outputTensor = self.output
        UnsafeMutableRawPointer(output).copyMemory(from: base + outputTensor.arenaOffset,
                                                   byteCount: outputTensor.byteCount)
    }

    /// Maps uint8 pixels (H, W, C of the input tensor) to the int8 input through the model's
    /// per-channel tables. `input` needs `self.input.byteCount` bytes.
    public func quantizeImage(pixels: UnsafePointer<UInt8>, into input: UnsafeMutablePointer<Int8>) {
        let t = self.input
        quantizeInputU8Reference(pixels: pixels, count: t.byteCount, channels: t.innermost,
                                 table: file.inputTable, output: input)
    }
}

/// Runs one validated op.
struct Run: RNOpVisitor {
    let arena: RNArenaView
    func visit<Op: RNOpImplementation>(_ op: Op) { op.run(arena) }
}
