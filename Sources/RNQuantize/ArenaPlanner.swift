import RNRuntime

/// Static memory plan: an arena offset for every tensor, computed once at export.
///
/// Lifetimes and the in-place rule are the runtime's (`RNPlanGraph`'s rules, RNRuntime/MemoryPlan.swift):
/// tensor t lives from step t - 1 (its producer; the input from step -1) to its last reader (the
/// output until the end). Placement is greedy (in four orders: largest, most byte-steps, longest-lived, earliest first;
/// the smallest arena wins), each tensor at the lowest 16-byte aligned offset free of every
/// placed tensor whose lifetime meets its own; an output goes exactly over the input its op may
/// overwrite (an add's, a conv2d_add's residual) when that place is free. Rings of kernel rows
/// (conv2d_max_pool) are placed the same way, live during their op only. The runtime re-checks.
public enum ArenaPlanner {
    public struct Plan: Equatable {
        /// Arena offset of each tensor, 16-byte aligned.
        public var offsets: [Int]
        /// Arena offset of each conv2d_max_pool op's row ring, by op index.
        public var ringOffsets: [Int: Int]
        /// Bytes for activations: the end of the highest item, rounded up to 16.
        public var activationBytes: Int
        /// The least arena any plan of this graph needs, `scratchBytes` included (FORMAT.md section 7).
        public var lowerBound: Int
    }

    /// Plans `graph`, whose kernels need `scratchBytes` of scratch at the arena's end.
    public static func plan(_ graph: ModelGraph, scratchBytes: Int = 0) -> Plan {
        let count = graph.tensors.count, opCount = graph.ops.count
        let rules = graph   // RNPlanGraph: the runtime's rules
        let lastUse = (0..<count).map { rules.lifetime(of: $0).last }
        let partner = (0..<count).map { rules.inPlacePartner(of: $0) }
        // Items to place: every tensor, then every ring (live during its op only).
        let rings = (0..<opCount).filter { graph.ringBytes(op: $0) > 0 }
        let sizes = graph.tensors.map { ($0.byteCount + 15) & ~15 } + rings.map { graph.ringBytes(op: $0) }
        let first = (0..<count).map { $0 - 1 } + rings
        let last = lastUse + rings
        let items = sizes.count
        func meets(_ a: Int, _ b: Int) -> Bool { first[a] <= last[b] && first[b] <= last[a] }

        /// The input that tensor `t`'s producer may overwrite because it dies there, if any (rings: none).
        func inPlacePartner(_ t: Int) -> Int? { t < count ? partner[t] : nil }

        // Greedy placement in several orders; the smallest arena wins.
        func duration(_ k: Int) -> Int { last[k] - first[k] }
        let orders: [(Int, Int) -> Bool] = [
            { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 },                                  // largest first
            { sizes[$0] * (duration($0) + 1) != sizes[$1] * (duration($1) + 1)
                ? sizes[$0] * (duration($0) + 1) > sizes[$1] * (duration($1) + 1) : $0 < $1 },            // most byte-steps first
            { duration($0) != duration($1) ? duration($0) > duration($1) : sizes[$0] > sizes[$1] },      // longest-lived first
            { first[$0] != first[$1] ? first[$0] < first[$1] : sizes[$0] > sizes[$1] },                  // in computation order
        ]
        var best: [Int] = []
        var bestEnd = Int.max
        for order in orders {
            let offsets = placeGreedily((0..<items).sorted(by: order))
            let end = (0..<items).map { offsets[$0] + sizes[$0] }.max() ?? 0
            if end < bestEnd { bestEnd = end; best = offsets }
        }
        var ringOffsets = [Int: Int]()
        for (k, op) in rings.enumerated() { ringOffsets[op] = best[count + k] }
        return Plan(offsets: Array(best[0..<count]), ringOffsets: ringOffsets, activationBytes: max(16, bestEnd),
                    lowerBound: rules.lowerBound(scratchBytes: scratchBytes))

        /// Each item in `order` at the lowest offset free of the placed items it meets in time.
        func placeGreedily(_ order: [Int]) -> [Int] {
        var offsets = [Int](repeating: -1, count: items)
        for t in order {
            let sharers = (0..<items).filter { inPlacePartner($0) == t || inPlacePartner(t) == $0 }
            let placed = { (others: [Int]) in others.filter { offsets[$0] >= 0 && $0 != t && meets($0, t) } }
            let others = placed(Array(0..<items)).filter { !sharers.contains($0) }
            func fits(_ at: Int) -> Bool {
                others.allSatisfy { offsets[$0] + sizes[$0] <= at || at + sizes[t] <= offsets[$0] }
            }
            // In place over an already placed sharer when that spot is otherwise free.
            if let at = placed(sharers).map({ offsets[$0] }).first(where: fits) {
                offsets[t] = at
                continue
            }
            // First fit below every placed neighbour in time (sharers included, not in place).
            var at = 0
            for o in placed(Array(0..<items)).sorted(by: { offsets[$0] < offsets[$1] })
            where at + sizes[t] > offsets[o] && at < offsets[o] + sizes[o] {
                at = offsets[o] + sizes[o]
            }
            offsets[t] = at
        }
        return offsets
        }
    }
}
