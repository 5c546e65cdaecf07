import Foundation
import Testing

@Suite struct BenchCommandTests {
    let model = Repo.golden("exported-resnet18-fused", "model.rnb").path

    @Test func jsonHasTheContractKeys() throws {
        let (status, stdout, stderr) = try runTool("rn-bench", [model, "--runs", "5", "--warmup", "1", "--json"])
        #expect(status == 0, "\(stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        for key in ["median_ms", "p10_ms", "p90_ms", "macs", "gmacs", "arena_bytes", "layers"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        let p10 = try #require(json["p10_ms"] as? Double), median = try #require(json["median_ms"] as? Double)
        let p90 = try #require(json["p90_ms"] as? Double)
        #expect(0 < p10 && p10 <= median && median <= p90)
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(layers.count > 10)
        #expect(layers.reduce(0) { $0 + ($1["macs"] as? Int ?? 0) } == json["macs"] as? Int)
        for layer in layers { #expect(layer["name"] is String && layer["ms"] is Double) }
    }

    @Test func textAndErrors() throws {
        let text = try runTool("rn-bench", [model, "--runs", "3"])
        #expect(text.0 == 0 && text.1.contains("median") && text.1.contains("GMAC/s") && text.1.contains("block0.conv2+block0.add"))
        #expect(try runTool("rn-bench", [model, "--runs", "0"]).0 == 64)
        #expect(try runTool("rn-bench", []).0 == 64)
        let missing = try runTool("rn-bench", ["/no/model.rnb"])
        #expect(missing.0 == 1 && missing.2 == "error: /no/model.rnb: no such file\n")
    }
}
