import Foundation

/// An SVG chart of train (dashed) and test (solid) error per epoch, one colour per run, like
/// Figure 4 of He et al. Self-contained: opens in any browser.
public func trainingCurveSVG(runs: [(name: String, logs: [EpochLog])], title: String = "Fashion-MNIST error") -> String {
    let width = 720.0, height = 440.0, left = 64.0, right = 180.0, top = 40.0, bottom = 48.0
    let plotW = width - left - right, plotH = height - top - bottom
    let maxEpoch = max(1, runs.flatMap { $0.logs.map(\.epoch) }.max() ?? 1)
    let errors = runs.flatMap { $0.logs.flatMap { [$0.trainError, $0.testError] } }
    let maxError = max(0.05, ((errors.max() ?? 0.5) * 100).rounded(.up) / 100 + 0.01)
    func x(_ epoch: Int) -> Double { left + plotW * Double(epoch) / Double(maxEpoch) }
    func y(_ error: Double) -> Double { top + plotH * (1 - error / maxError) }
    func f(_ v: Double) -> String { String(format: "%.1f", v) }
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(left))" y="24" font-size="15">\(escapeXML(title))</text>

        """
    let ticks = 5
    for i in 0...ticks {
        let e = maxError * Double(i) / Double(ticks)
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(e)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y(e)))\" stroke=\"#ddd\"/>"
        svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y(e) + 4))\" text-anchor=\"end\">\(String(format: "%.1f", e * 100))%</text>\n"
    }
    let epochStep = max(1, maxEpoch / 10)
    for e in stride(from: 0, through: maxEpoch, by: epochStep) {
        svg += "<text x=\"\(f(x(e)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(e)</text>\n"
    }
    svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
    svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">epoch</text>\n"
    svg += "<text x=\"16\" y=\"\(f(top + plotH / 2))\" transform=\"rotate(-90 16 \(f(top + plotH / 2)))\" text-anchor=\"middle\">error</text>\n"
    for (i, run) in runs.enumerated() {
        let colour = colours[i % colours.count]
        for (test, dash) in [(false, " stroke-dasharray=\"5 4\""), (true, "")] {
            let points = run.logs.map { "\(f(x($0.epoch))),\(f(y(test ? $0.testError : $0.trainError)))" }.joined(separator: " ")
            svg += "<polyline class=\"\(test ? "test" : "train")\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash) points=\"\(points)\"/>\n"
        }
        let ly = top + 16 + Double(i) * 36
        svg += "<line x1=\"\(f(width - right + 12))\" y1=\"\(f(ly))\" x2=\"\(f(width - right + 36))\" y2=\"\(f(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
        svg += "<text x=\"\(f(width - right + 42))\" y=\"\(f(ly + 4))\">\(escapeXML(run.name)) test</text>\n"
        svg += "<line x1=\"\(f(width - right + 12))\" y1=\"\(f(ly + 16))\" x2=\"\(f(width - right + 36))\" y2=\"\(f(ly + 16))\" stroke=\"\(colour)\" stroke-width=\"2\" stroke-dasharray=\"5 4\"/>"
        svg += "<text x=\"\(f(width - right + 42))\" y=\"\(f(ly + 20))\">\(escapeXML(run.name)) train</text>\n"
    }
    return svg + "</svg>\n"
}

func escapeXML(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
