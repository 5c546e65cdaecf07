import Foundation

/// A one-line progress bar on stderr, redrawn at most ten times a second, shown only when
/// stderr is a terminal (logs and CI get the per-epoch lines only).
public final class ProgressBar {
    let enabled: Bool
    var lastDraw = Date.distantPast
    var drawn = false

    public init(enabled: Bool = isatty(2) != 0) { self.enabled = enabled }

    /// Draws `[#####.....] done/total` followed by `detail`.
    public func update(done: Int, total: Int, prefix: String, detail: String) {
        guard enabled, done == total || Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = Date()
        let width = 24, filled = total > 0 ? width * done / total : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\u{1B}[K\(prefix) [\(bar)] \(done)/\(total) \(detail)".utf8))
        drawn = true
    }

    /// Clears the bar so that a normal line can follow.
    public func clear() {
        guard enabled, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }
}

/// "1:05:09" or "4:07" for a number of seconds.
public func formatDuration(_ seconds: Double) -> String {
    let s = Int(max(0, seconds).rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}
