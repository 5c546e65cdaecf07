import RNFormat
import RNKernels

// Graph and memory-plan validation: everything `invoke` relies on, proven once at load.
// RNBFile already checked each record on its own; here records are checked against each other:
// operand order, then each op through its kind's implementation (Ops/), then the arena plan
// under the rules of MemoryPlan.swift.

extension RNModel {
    func validateGraph() throws(RNError) {
        for i in 0..<file.opCount {
            let op = file.op(i)
            // Tensors are numbered in the order they are computed: 0 is the input, op i writes i + 1.
            guard op.output == i + 1 else { throw RNError(.outputOutOfOrder, index: i, found: op.output) }
            guard op.input0 <= i, op.input1 <= i else {
                throw RNError(.operandNotReady, index: i, found: max(op.input0, op.input1))
            }
            try visit(op: i, Validate())
        }
        let rules = self
        for t in 0..<file.tensorCount where t != file.outputTensor && rules.lastUse(of: t) < 0 {
            throw RNError(.tensorUnused, index: t)
        }
    }

    /// Checks that no two tensors live at the same step overlap in the arena, except an output
    /// written exactly over an input where the plan rules allow it, and that no ring overlaps a
    /// tensor live during its op. O(tensors x ops): tensor b can only meet tensor a (a < b) when
    /// b is born during a's life, b - 1 <= last(a).
    func validatePlan() throws(RNError) {
        let rules = self
        for i in 0..<file.opCount {
            guard let ring = ring(op: i) else { continue }
            try rules.forEachTensor(liveAt: i) { t throws(RNError) in
                let tensor = file.tensor(t)
                if ring.offset < tensor.arenaOffset + tensor.byteCount && tensor.arenaOffset < ring.offset + ring.bytes {
                    throw RNError(.planOverlap, index: i, found: t)
                }
            }
        }
        for a in 0..<file.tensorCount {
            let ta = file.tensor(a)
            let lastA = rules.lifetime(of: a).last
            var b = a + 1
            while b < file.tensorCount && b - 1 <= lastA {
                let tb = file.tensor(b)
                if ta.arenaOffset < tb.arenaOffset + tb.byteCount && tb.arenaOffset < ta.arenaOffset + ta.byteCount {
                    let inPlace = ta.arenaOffset == tb.arenaOffset && rules.mayWriteInPlace(op: b - 1, over: a)
                    if !inPlace {
                        throw RNError(b - 1 == lastA ? .inPlaceNotAllowed : .planOverlap, index: a, found: b)
                    }
                }
                b += 1
            }
        }
    }

}

struct Validate: RNOpVisitor {
    func visit<Op: RNOpImplementation>(_ op: Op) throws(RNError) { try op.validate() }
}

extension RNModel: RNPlanGraph {
    public var planTensorCount: Int { file.tensorCount }
    public var planOpCount: Int { file.opCount }
    public var planOutputTensor: Int { file.outputTensor }
    public func planKind(op i: Int) -> RNOpKind { file.op(i).kind }
    public func planInput(op i: Int, _ k: Int) -> Int { k == 0 ? file.op(i).input0 : file.op(i).input1 }
    public func planTensorBytes(_ t: Int) -> Int { file.tensor(t).byteCount }
    public func planRingBytes(op i: Int) -> Int { ringBytes(op: i) }
}

extension RNModel {
    /// The least arena any plan of this graph needs (FORMAT.md section 7); host tools and tests
    /// compare it with the header's `arena_lower_bound`. The loader does not compute it.
    public func computeLowerBound() -> Int { lowerBound(scratchBytes: file.scratchBytes) }
}
