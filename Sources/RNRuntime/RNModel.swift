import RNFormat
import RNKernels

/// An executable model over caller-owned `.rnb` bytes.
///
/// Construct once (`RNModel(bytes:)` validates the file, the graph and the memory plan), then
/// `invoke` as often as needed. Nothing is copied and nothing is allocated, ever; the bytes must
/// stay alive and unchanged while the model is used. `invoke` runs blind: every shape, offset and
/// parameter it touches was proven at construction.
///
/// The arena is the caller's: `arenaBytes` bytes, 16-byte aligned, used only during `invoke`
/// (activations in the plan's places, kernel scratch at the end). It holds nothing between
/// calls, so one arena may serve several models in turn, but not two invokes at once.
public struct RNModel: Sendable {
    public let file: RNBFile

    public init(bytes: UnsafeRawBufferPointer) throws(RNError) {
        file = try RNBFile(validating: bytes)
        try validateGraph()
        try validatePlan()
    }

    /// Bytes of arena `invoke` needs.
    @inlinable public var arenaBytes: Int { file.arenaBytes }
    /// The least arena any plan of this graph could use (see FORMAT.md).
    @inlinable public var arenaLowerBound: Int { file.arenaLowerBound }
    @inlinable public var opCount: Int { file.opCount }
    @inlinable public var input: RNTensor { file.tensor(file.inputTensor) }
    @inlinable public var output: RNTensor { file.tensor(file.outputTensor) }

    /// Multiply-accumulates of op `index` (padded taps counted); 0 for add and pooling.
    public func macs(op index: Int) -> Int { (try? visit(op: index, MACs())) ?? 0 }

    /// Bytes of constant weights of op `index`.
    public func weightBytes(op index: Int) -> Int { (try? visit(op: index, WeightBytes())) ?? 0 }

    /// Op `index`'s row ring (conv2d_max_pool) in the activation arena, or nil.
    public func ring(op index: Int) -> RNArenaRange? { (try? visit(op: index, Ring())) ?? nil }

    /// Bytes of op `index`'s ring, rounded up to 16; 0 for ops without one.
    public func ringBytes(op index: Int) -> Int { ring(op: index)?.bytes ?? 0 }
}

struct MACs: RNOpVisitor {
    func visit<Op: RNOpImplementation>(_ op: Op) -> Int { op.macs }
}

struct WeightBytes: RNOpVisitor {
    func visit<Op: RNOpImplementation>(_ op: Op) -> Int { op.weightBytes }
}

struct Ring: RNOpVisitor {
    func visit<Op: RNOpImplementation>(_ op: Op) -> RNArenaRange? { op.ring }
}

#if !hasFeature(Embedded)
extension RNModel {
    /// Op `index`'s name from the file (metadata key 4: the layers it computes, fused ones joined
    /// by '+'), or "<kind>_<index>" for files without names.
    public func name(op index: Int) -> String {
        file.opName(index).map { String(decoding: $0, as: UTF8.self) } ?? "\(file.op(index).kind.name)_\(index)"
    }
}
#endif
