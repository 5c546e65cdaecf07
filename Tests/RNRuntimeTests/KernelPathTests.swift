import Foundation
import Testing
import CRNCPU
import RNHostKernels
import RNKernels
import RNQuantize
import RNRuntime

/// Whole ResNet-18s through every host kernel path, each chosen the way users choose it
/// (`RN_HOST_KERNELS`) in its own rn-infer process, so that no test swaps the kernel slots
/// that other suites read: the reference, the baseline builds and each instruction set this CPU
/// has give the goldens' bytes, with weights in layout 0 (tiled kernels) and in layout 1
/// (model-o16hwi4.rnb, blocked kernels).
@Suite struct KernelPathTests {
    /// Every `RN_HOST_KERNELS` value this CPU can run.
    static var values: [String] {
        [referenceKernelSet.name, "baseline"] + HostKernels.ladder.filter(\.supported).map(\.set.name)
    }

    @Test(arguments: ["exported-resnet18-fused", "exported-resnet18-imagenet-stem"], ["model.rnb", "model-o16hwi4.rnb"])
    func everyKernelSetGivesTheGoldenBytes(_ name: String, _ file: String) throws {
        let buffer = try ModelBuffer(try Repo.bytes(Repo.golden(name, file)))
        let model = buffer.model
        let inputs = try Repo.bytes(Repo.golden(name, "inputs.bin"))
        let expected = try Repo.bytes(Repo.golden(name, "expected.bin")).map { Int8(bitPattern: $0) }
        let size = model.input.byteCount
        let files = try (0..<(inputs.count / size)).map { k -> String in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-kernel-paths-\(getpid())")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let path = dir.appendingPathComponent("\(name)-\(file)-input\(k).bin").path
            try Data(inputs[(k * size)..<((k + 1) * size)]).write(to: URL(fileURLWithPath: path))
            return path
        }
        for value in Self.values {
            let (status, stdout, stderr) = try runTool("rn-infer", [Repo.golden(name, file).path, "--raw", "--json"] + files,
                                                       environment: ["RN_HOST_KERNELS": value])
            #expect(status == 0, "\(value): \(stderr)")
            let results = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]])
            let outputs = results.flatMap { ($0["logits"] as? [Int] ?? []).map { Int8($0) } }
            #expect(diff(outputs, expected) == "OK", "\(name)/\(file) with RN_HOST_KERNELS=\(value)")
        }
    }

    /// What each value installs on this CPU: the ladder from that set down, first set with each family.
    @Test func eachValueInstallsItsLadderStep() throws {
        let avx512 = rn_cpu_has_avx512_vnni() != 0, vnni = rn_cpu_has_avx_vnni() != 0, avx2 = rn_cpu_has_avx2_fma() != 0
        func names(_ cap: String?) throws -> [String?] {
            let c = try HostKernels.choice(cap: cap)
            return [c.tiled?.name, c.blocked?.name]
        }
        let fallback2: String? = avx2 ? "avx2" : nil
        let vnni2: String? = vnni ? "avx-vnni" : fallback2
        #expect(try names(nil) == [vnni2, avx512 ? "avx512-vnni" : vnni2])
        #expect(try names("avx512-vnni") == names(nil))
        #expect(try names("avx-vnni") == [vnni2, vnni2])
        #expect(try names("avx2") == [fallback2, fallback2])
        #expect(try names("baseline") == [nil, nil])
        #expect(try names("reference") == ["reference", "reference"])
        #expect(throws: HostKernels.UnknownSet.self) { try HostKernels.choice(cap: "sse9") }
        // rn-bench reports the choice; an unknown value is one line naming the accepted ones.
        let model = Repo.golden("tiny-resnet", "model.rnb").path
        for value in Self.values {
            let (status, stdout, _) = try runTool("rn-bench", [model, "--runs", "1", "--warmup", "0", "--json"],
                                                  environment: ["RN_HOST_KERNELS": value])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
            let want = HostKernels.describe(try HostKernels.choice(cap: value), cap: value)
            #expect(status == 0 && json["kernels"] as? String == want)
        }
        let (status, _, stderr) = try runTool("rn-bench", [model], environment: ["RN_HOST_KERNELS": "sse9"])
        #expect(status == 1 && stderr == "error: RN_HOST_KERNELS=sse9 is not a kernel set (accepted: avx512-vnni, avx-vnni, avx2, baseline, reference)\n")
    }
}
