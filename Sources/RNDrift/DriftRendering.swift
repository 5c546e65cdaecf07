import Foundation

// rn-drift's three views of a DriftReport: a terminal table, JSON (keys per DESIGN.md section 5)
// and a self-contained HTML page with inline SVG charts.

extension DriftReport {
    func f(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }

    /// The terminal table.
    public var text: String {
        var lines = [String]()
        lines.append("images: \(images)   float top-1 \(f(floatTop1 * 100))%   int8 top-1 \(f(int8Top1 * 100))%   drop \(f(top1Drop)) points   agreement \(f(agreement * 100))%   mean KL \(String(format: "%.2e", meanKL))")
        lines.append("")
        let header = ["#", "layer", "kind", "SQNR dB", "alone dB", "cosine", "max LSB", "RMSE LSB", "clipped"]
        var rows = [header]
        for (i, l) in layers.enumerated() {
            rows.append([String(i), l.name, l.kind, f(l.sqnrDB, 1), f(l.sqnrAloneDB, 1), f(l.cosine, 5), f(l.maxAbsLSB, 1),
                         f(l.rmseLSB, 3), f(l.clippingRate * 100, 3) + "%"])
        }
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max()! }
        for row in rows {
            lines.append(row.enumerated().map { c, cell in
                c <= 2 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  "))
        }
        if !sensitivity.isEmpty {
            lines.append("")
            lines.append("sensitivity (one layer kept in float):")
            for s in sensitivity {
                lines.append("  \(s.layer.padding(toLength: 28, withPad: " ", startingAt: 0)) int8 top-1 \(f(s.int8Top1 * 100))%  recovers \(f(s.recoveredPoints)) points")
            }
        }
        lines.append("")
        lines.append("per class (float / int8 top-1):")
        for c in labels.indices {
            let total = floatConfusion[c].reduce(0, +)
            guard total > 0 else { continue }
            lines.append("  \(labels[c].padding(toLength: 14, withPad: " ", startingAt: 0)) \(f(Double(floatConfusion[c][c]) / Double(total) * 100))%  \(f(Double(int8Confusion[c][c]) / Double(total) * 100))%")
        }
        if !disagreements.isEmpty {
            lines.append("")
            lines.append("disagreements, worst first: " + disagreements.prefix(10).map {
                "#\($0.image) (\(labels[$0.label]): float \(labels[$0.floatClass]), int8 \(labels[$0.int8Class]))"
            }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The JSON document: float_top1, int8_top1, agreement, top1_drop, images, layers (name,
    /// sqnr_db, cosine, max_abs_lsb, ...), and more.
    public var json: Any {
        [
            "images": images, "float_top1": floatTop1, "int8_top1": int8Top1, "agreement": agreement,
            "top1_drop": top1Drop, "mean_kl": meanKL, "labels": labels,
            "layers": layers.map {
                ["name": $0.name, "kind": $0.kind, "shape": $0.shape, "sqnr_db": $0.sqnrDB, "sqnr_alone_db": $0.sqnrAloneDB,
                 "cosine": $0.cosine, "max_abs_lsb": $0.maxAbsLSB, "rmse_lsb": $0.rmseLSB, "clipping_rate": $0.clippingRate] as [String: Any]
            },
            "per_class": labels.indices.map { c -> [String: Any] in
                let total = max(1, floatConfusion[c].reduce(0, +))
                return ["class": c, "label": labels[c], "float_top1": Double(floatConfusion[c][c]) / Double(total),
                        "int8_top1": Double(int8Confusion[c][c]) / Double(total)]
            },
            "float_confusion": floatConfusion, "int8_confusion": int8Confusion,
            "disagreements": disagreements.prefix(100).map {
                ["image": $0.image, "label": $0.label, "float_class": $0.floatClass, "int8_class": $0.int8Class, "kl": $0.kl] as [String: Any]
            },
            "sensitivity": sensitivity.map {
                ["layer": $0.layer, "int8_top1": $0.int8Top1, "recovered_points": $0.recoveredPoints] as [String: Any]
            },
            "error_histogram": ["layer": histogramLayer, "lsb_from": -8, "counts": errorHistogram] as [String: Any],
        ] as [String: Any]
    }

    /// A single HTML file with inline SVG: per-layer SQNR bars, float and int8 confusion
    /// matrices, and the error histogram of the worst layer. No scripts, no external files.
    public func html(title: String) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        // SQNR bars: accumulated (dark) and alone (light) per layer.
        let barH = 16.0, left = 230.0, width = 520.0
        let maxDB = max(10, layers.map { max($0.sqnrDB, $0.sqnrAloneDB) }.filter { $0 < 199 }.max() ?? 40)
        var bars = "<svg class=\"chart sqnr\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(left + width + 60))\" height=\"\(Int(Double(layers.count) * barH * 2 + 40))\" font-family=\"sans-serif\" font-size=\"11\">"
        for (i, l) in layers.enumerated() {
            let y = 20 + Double(i) * barH * 2
            let w1 = max(0, min(l.sqnrDB, maxDB)) / maxDB * width, w2 = max(0, min(l.sqnrAloneDB, maxDB)) / maxDB * width
            bars += "<text x=\"\(Int(left - 6))\" y=\"\(f(y + barH - 3, 1))\" text-anchor=\"end\">\(esc(l.name))</text>"
            bars += "<rect class=\"bar\" x=\"\(Int(left))\" y=\"\(f(y, 1))\" width=\"\(f(w1, 1))\" height=\"\(f(barH - 2, 1))\" fill=\"#1f77b4\"><title>\(esc(l.name)): \(f(l.sqnrDB, 1)) dB accumulated</title></rect>"
            bars += "<rect class=\"bar\" x=\"\(Int(left))\" y=\"\(f(y + barH - 2, 1))\" width=\"\(f(w2, 1))\" height=\"\(f(barH - 4, 1))\" fill=\"#aec7e8\"><title>\(esc(l.name)): \(f(l.sqnrAloneDB, 1)) dB alone</title></rect>"
            bars += "<text x=\"\(f(Double(left) + w1 + 4, 1))\" y=\"\(f(y + barH - 4, 1))\">\(f(l.sqnrDB, 1))</text>\n"
        }
        bars += "</svg>"
        func confusion(_ m: [[Int]], _ name: String) -> String {
            let cell = 26.0, k = m.count, margin = 110.0
            let peak = Double(max(1, m.flatMap { $0 }.max() ?? 1))
            var svg = "<svg class=\"chart confusion\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(margin + cell * Double(k) + 50))\" height=\"\(Int(margin + cell * Double(k) + 10))\" font-family=\"sans-serif\" font-size=\"10\">"
            svg += "<text x=\"\(Int(margin))\" y=\"14\" font-size=\"13\">\(name): rows true, columns predicted</text>"
            for c in 0..<k {
                let x = margin + cell * (Double(c) + 0.6), y = margin - 4
                svg += "<text x=\"\(f(x, 1))\" y=\"\(f(y, 1))\" transform=\"rotate(-60 \(f(x, 1)) \(f(y, 1)))\">\(esc(labels[c]))</text>"
            }
            for r in 0..<k {
                svg += "<text x=\"\(Int(margin - 4))\" y=\"\(f(margin + cell * Double(r) + cell * 0.65, 1))\" text-anchor=\"end\">\(esc(labels[r]))</text>"
                for c in 0..<k {
                    let shade = Int(255 - 215 * Double(m[r][c]) / peak)
                    svg += "<rect class=\"cell\" x=\"\(f(margin + cell * Double(c), 1))\" y=\"\(f(margin + cell * Double(r), 1))\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(shade),\(shade),255)\" stroke=\"#ccc\"><title>\(esc(labels[r])) as \(esc(labels[c])): \(m[r][c])</title></rect>"
                    if m[r][c] > 0 {
                        svg += "<text x=\"\(f(margin + cell * (Double(c) + 0.5), 1))\" y=\"\(f(margin + cell * (Double(r) + 0.65), 1))\" text-anchor=\"middle\" font-size=\"8\">\(m[r][c])</text>"
                    }
                }
            }
            return svg + "</svg>"
        }
        let histPeak = Double(max(1, errorHistogram.max() ?? 1))
        var histogram = "<svg class=\"chart histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"220\" font-family=\"sans-serif\" font-size=\"11\">"
        for (k, count) in errorHistogram.enumerated() {
            let h = 160 * Double(count) / histPeak
            histogram += "<rect class=\"bar\" x=\"\(20 + k * 30)\" y=\"\(f(180 - h, 1))\" width=\"26\" height=\"\(f(max(h, 0.5), 1))\" fill=\"#ff7f0e\"><title>\(k - 8) LSB: \(count)</title></rect>"
            histogram += "<text x=\"\(33 + k * 30)\" y=\"198\" text-anchor=\"middle\">\(k - 8)</text>"
        }
        histogram += "<text x=\"20\" y=\"215\">int8 minus float, in output LSB (outer bars: 8 or more)</text></svg>"
        let rows = layers.enumerated().map { i, l in
            "<tr><td>\(i)</td><td>\(esc(l.name))</td><td>\(l.kind)</td><td>\(f(l.sqnrDB, 1))</td><td>\(f(l.sqnrAloneDB, 1))</td><td>\(f(l.cosine, 5))</td><td>\(f(l.maxAbsLSB, 1))</td><td>\(f(l.rmseLSB, 3))</td><td>\(f(l.clippingRate * 100, 3))%</td></tr>"
        }.joined(separator: "\n")
        let sensitivityRows = sensitivity.map {
            "<tr><td>\(esc($0.layer))</td><td>\(f($0.int8Top1 * 100))%</td><td>\(f($0.recoveredPoints))</td></tr>"
        }.joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(esc(title))</title>
            <style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}.charts{display:flex;flex-wrap:wrap;gap:24px}</style>
            </head><body>
            <h1>\(esc(title))</h1>
            <p>\(images) images: float top-1 <b>\(f(floatTop1 * 100))%</b>, int8 top-1 <b>\(f(int8Top1 * 100))%</b> (drop \(f(top1Drop)) points), agreement <b>\(f(agreement * 100))%</b>, mean KL divergence \(String(format: "%.2e", meanKL)).</p>
            <h2>Per-layer SQNR (dark: accumulated, light: layer alone)</h2>
            \(bars)
            <h2>Confusion matrices</h2>
            <div class="charts">\(confusion(floatConfusion, "float"))\(confusion(int8Confusion, "int8"))</div>
            <h2>Error histogram of \(esc(histogramLayer))</h2>
            \(histogram)
            <h2>Layers</h2>
            <table><tr><th>#</th><th>layer</th><th>kind</th><th>SQNR dB</th><th>alone dB</th><th>cosine</th><th>max LSB</th><th>RMSE LSB</th><th>clipped</th></tr>
            \(rows)
            </table>
            <h2>Sensitivity: one layer kept in float</h2>
            <table><tr><th>layer</th><th>int8 top-1</th><th>points recovered</th></tr>
            \(sensitivityRows)
            </table>
            </body></html>

            """
    }
}
