import Testing
import RNFormat
import RNKernels
@testable import RNQuantize
import RNRuntime
import RNTrain

/// The arena planner against exhaustive search on small graphs.
@Suite struct PlannerTests {
    /// Random small graphs: 1x1 convs between [1, 1, 1, 16k] tensors, residual adds where two
    /// live tensors have the same width.
    static func randomGraph(_ rng: inout SeededRandom) -> ModelGraph {
        var b = SyntheticModelBuilder(height: 1, width: 1, channels: 16 * (1 + rng.int(3)), seed: rng.next())
        var current = 0
        for _ in 0..<(2 + rng.int(4)) {
            let previous = current
            current = b.conv(current, outputs: 16 * (1 + rng.int(4)), kernel: 1)
            if rng.int(2) == 0, b.graph.tensors[previous].channels == b.graph.tensors[current].channels {
                current = b.add(current, previous)
            }
        }
        b.graph.labels = nil
        b.graph.preprocessing = nil     // 16 to 48 input channels: not an image
        return b.graph
    }

    /// The smallest arena (in 16-byte blocks) over every placement of the items, by depth-first
    /// search: items in order, each at every block offset up to the best found so far.
    static func optimum(sizes: [Int], conflicts: (Int, Int, Int, Int) -> Bool) -> Int {
        var best = sizes.reduce(0, +)
        var offsets = [Int](repeating: 0, count: sizes.count)
        func place(_ k: Int, _ end: Int) {
            if end >= best { return }
            if k == sizes.count { best = end; return }
            for at in 0...(best - sizes[k]) {
                var ok = true
                for j in 0..<k where conflicts(j, offsets[j], k, at) { ok = false; break }
                if ok { offsets[k] = at; place(k + 1, max(end, at + sizes[k])) }
            }
        }
        place(0, 0)
        return best
    }

    @Test func plannerMatchesExhaustiveSearch() throws {
        var rng = SeededRandom(seed: 2026)
        var optimal = 0, graphs = 0
        for _ in 0..<150 {
            let graph = Self.randomGraph(&rng)
            let buffer = try ModelBuffer(try RNBWriter.write(graph))
            let model = buffer.model
            let sizes = graph.tensors.map { ($0.byteCount + 15) / 16 }
            // Conflict: lifetimes meet and ranges overlap, unless exactly in place where allowed.
            let best = Self.optimum(sizes: sizes) { a, at, b, bt in
                let la = model.lifetime(of: a), lb = model.lifetime(of: b)
                guard la.first <= lb.last && lb.first <= la.last, at < bt + sizes[b], bt < at + sizes[a] else { return false }
                let (early, late, earlyAt, lateAt) = a < b ? (a, b, at, bt) : (b, a, bt, at)
                let sameStep = model.lifetime(of: early).last == late - 1
                if sameStep, earlyAt == lateAt, case .add(let x, let y, _, _, _) = graph.ops[late - 1], x == early || y == early {
                    return false
                }
                return true
            }
            let planned = model.arenaBytes / 16
            #expect(model.arenaLowerBound / 16 <= best, "lower bound above the optimum")
            #expect(planned >= best)
            #expect(planned <= best + best / 2, "planner \(planned) blocks, optimum \(best)")
            optimal += planned == best ? 1 : 0
            graphs += 1
        }
        print("planner optimal on \(optimal) of \(graphs) random graphs")
        // Greedy placement is not always optimal on adversarial small graphs (136 of 150 here);
        // on the ResNets it reaches the lower bound (rn-export reports both).
        #expect(optimal * 100 >= graphs * 85)
    }

    @Test func addsAreComputedInPlace() throws {
        var b = SyntheticModelBuilder(height: 4, width: 4, channels: 8, seed: 1)
        let a = b.conv(0, outputs: 8, kernel: 3)
        let c = b.conv(a, outputs: 8, kernel: 3)
        let sum = b.add(c, a)
        let plan = ArenaPlanner.plan(b.graph)
        #expect(plan.offsets[sum] == plan.offsets[c] || plan.offsets[sum] == plan.offsets[a])
        // Two live 128-byte tensors at the second conv (the input died at the first), and the
        // sum written over one of them.
        #expect(plan.activationBytes == 2 * 128)
    }
}
