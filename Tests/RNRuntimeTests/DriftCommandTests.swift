import Foundation
import Testing

@Suite struct DriftCommandTests {
    let sample = Repo.root.appendingPathComponent("Tests/Data/fashion-mnist-sample").path

    func temporary(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rn-drift-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    /// Train, export, drift: reports written, --max-drop gates, the HTML draws in a browser.
    @Test func driftReportsEndToEnd() throws {
        let rnf = temporary("m.rnf"), rnb = temporary("m.rnb"), json = temporary("d.json"), html = temporary("d.html")
        #expect(try runTool("rn-train", ["--data", sample, "--limit", "256", "--test-limit", "32", "--width", "4", "--batch", "64",
                                         "--epochs", "1", "-o", rnf]).0 == 0)
        #expect(try runTool("rn-export", [rnf, "--calib", sample, "--calib-count", "64", "-o", rnb]).0 == 0)
        let drift = try runTool("rn-drift", [rnf, rnb, "--data", sample, "--count", "60", "--sensitivity-count", "20",
                                             "--json", json, "--html", html])
        #expect(drift.0 == 0, "\(drift.2)")
        #expect(drift.1.contains("SQNR dB") && drift.1.contains("sensitivity"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        #expect(report?["images"] as? Int == 60 && report?["agreement"] != nil)
        // An impossible bound fails the gate with exit 1.
        let gated = try runTool("rn-drift", [rnf, rnb, "--data", sample, "--count", "60", "--sensitivity-count", "0", "--max-drop", "0"])
        let drop = report?["top1_drop"] as? Double ?? 0
        #expect(gated.0 == (drop > 0 ? 1 : 0))
        #expect(try runTool("rn-drift", [rnf, rnb, "--data", sample, "--max-drop", "x"]).0 == 64)
        let mismatch = try runTool("rn-drift", [rnf, Repo.golden("tiny-resnet", "model.rnb").path, "--data", sample])
        #expect(mismatch.0 == 1 && mismatch.2.hasPrefix("error: ") && !FileManager.default.fileExists(atPath: temporary("none.json")))

        // In a real browser: four SVG charts, each with drawn shapes, and a non-empty screenshot.
        guard ["/usr/bin/chromium", "/usr/bin/chromium-browser"].contains(where: FileManager.default.fileExists) else {
            print("chromium not installed: HTML rendering check skipped (CI installs it)")
            return
        }
        let png = temporary("d.png"), dom = temporary("d.dom.html")
        let (status, output) = try runScript("Tools/render-html", [html, png, dom])
        #expect(status == 0, "\(output)")
        let rendered = try String(contentsOfFile: dom, encoding: .utf8)
        let charts = rendered.components(separatedBy: "<svg").dropFirst()
        #expect(charts.count == 4)
        #expect(charts.allSatisfy { $0.contains("<rect") })
        let size = (try FileManager.default.attributesOfItem(atPath: png)[.size] as? Int) ?? 0
        #expect(size > 20_000, "screenshot is \(size) bytes")
    }
}
