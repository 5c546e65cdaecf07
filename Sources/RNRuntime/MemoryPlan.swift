import RNFormat

// The memory-plan rules (FORMAT.md section 7), stated once: the loader checks a file's plan
// with them (Validation.swift) and the exporter's planner places tensors by them and computes
// the arena's lower bound with them (RNQuantize/ArenaPlanner.swift).

/// What the plan rules read of a graph: the loaded file (`RNModel`) or the exporter's graph.
/// Tensors are numbered in computation order: 0 is the input, op i writes tensor i + 1.
public protocol RNPlanGraph {
    var planTensorCount: Int { get }
    var planOpCount: Int { get }
    var planOutputTensor: Int { get }
    func planKind(op i: Int) -> RNOpKind
    /// Input `k` (0 or 1) of op `i`, or -1.
    func planInput(op i: Int, _ k: Int) -> Int
    func planTensorBytes(_ t: Int) -> Int
    /// Bytes (a multiple of 16) of the ring op `i` uses during its run, or 0.
    func planRingBytes(op i: Int) -> Int
}

/// The rules, on any graph that states the facts above. (Methods of the protocol, not a generic
/// rules struct: an instance of a generic type would build its metadata at run time, an
/// allocation on first use, where the loader must not allocate.)
extension RNPlanGraph {
    /// Index of the last op that reads tensor `t`, or -1.
    public func lastUse(of t: Int) -> Int {
        var i = planOpCount - 1
        while i >= 0 {
            if planInput(op: i, 0) == t || planInput(op: i, 1) == t { return i }
            i -= 1
        }
        return -1
    }

    /// Steps during which tensor `t` holds data, inclusive: from its producer, op t - 1 (the
    /// input, t = 0, is copied in at step -1), to its last reader (`opCount` for the output,
    /// which is copied out after the last op).
    public func lifetime(of t: Int) -> (first: Int, last: Int) {
        (t - 1, t == planOutputTensor ? planOpCount : lastUse(of: t))
    }

    /// Whether op `i` may write its output exactly over tensor `t`: op `i` is `t`'s last use and
    /// reads `t` only through inputs the kind may overwrite (`RNOpKind.mayRunInPlace`): a
    /// conv2d_add whose convolution input is also its residual may not (the convolution reads
    /// neighbours that the add would already have overwritten).
    public func mayWriteInPlace(op i: Int, over t: Int) -> Bool {
        guard t >= 0, t != planOutputTensor else { return false }
        let kind = planKind(op: i)
        var reads = false
        for k in 0..<kind.inputCount where planInput(op: i, k) == t {
            guard kind.mayRunInPlace(overInput: k) else { return false }
            reads = true
        }
        return reads && lastUse(of: t) == i
    }

    /// The input that tensor `t`'s producer (op t - 1) may write `t` over, or nil.
    public func inPlacePartner(of t: Int) -> Int? {
        guard t >= 1 else { return nil }
        let op = t - 1
        for k in 0..<planKind(op: op).inputCount where mayWriteInPlace(op: op, over: planInput(op: op, k)) {
            return planInput(op: op, k)
        }
        return nil
    }

    /// Calls `body` with each tensor live at op `step` (duplicates possible): the op's output,
    /// the model's output once produced, and every tensor some op at or after `step` reads.
    /// O(ops), so that checking every ring stays quadratic.
    public func forEachTensor<E: Error>(liveAt step: Int, _ body: (Int) throws(E) -> Void) throws(E) {
        try body(step + 1)
        if planOutputTensor <= step + 1 { try body(planOutputTensor) }
        for j in step..<planOpCount {
            for k in 0..<2 {
                let t = planInput(op: j, k)
                if t >= 0 && t <= step { try body(t) }
            }
        }
    }

    /// The least arena any valid plan needs: 16 x the largest number of 16-byte blocks live at
    /// one step (each tensor rounded up to whole blocks, the step's ring included; an op's
    /// output not counted when it may overwrite an input that dies there), plus `scratchBytes`.
    public func lowerBound(scratchBytes: Int) -> Int {
        var peak = 0
        for step in -1...planOpCount {
            var live = 0
            for t in 0..<planTensorCount {
                let l = lifetime(of: t)
                if l.first <= step && step <= l.last { live += (planTensorBytes(t) + 15) / 16 }
            }
            if step >= 0 && step < planOpCount {
                live += planRingBytes(op: step) / 16
                if inPlacePartner(of: step + 1) != nil { live -= (planTensorBytes(step + 1) + 15) / 16 }
            }
            peak = max(peak, live)
        }
        return peak * 16 + scratchBytes
    }
}
