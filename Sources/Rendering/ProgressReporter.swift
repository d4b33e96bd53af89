import Portable

/// What the progress line shows: a pure description, rendered by `ProgressBar.line`.
public struct ProgressState {
    public var count: Int
    public var total: Int
    /// Seconds since the loop started.
    public var elapsed: Double
    /// The name after `show`, when known.
    public var shownName: String?
    /// The last value of the shown name, and a bounded, evenly thinned history of it.
    public var lastValue: Double?
    public var values: [Double] = []
    /// The loop was stopped before its last iteration (Ctrl-C, an error): no time left is shown.
    public var stopped = false

    public init(count: Int, total: Int, elapsed: Double, shownName: String? = nil, lastValue: Double? = nil, values: [Double] = []) {
        self.count = count
        self.total = total
        self.elapsed = elapsed
        self.shownName = shownName
        self.lastValue = lastValue
        self.values = values
    }
}

/// The one-line progress bar for `repeat` on a terminal:
/// `  1200/5000 [██████▎           ] 24%  3.1k it/s  1.2s left  loss 0.0123 ▇▅▃▂▁`.
public enum ProgressBar {
    /// The line for `state`, at most `width` characters (display columns), without `\r`.
    /// Parts are dropped from the right (sparkline, value, time left) when the width is short.
    public static func line(_ state: ProgressState, width: Int, unicode: Bool, precision: Int = 4) -> String {
        let total = max(state.total, 1)
        let fraction = min(1, max(0, Double(state.count) / Double(total)))
        let counter = "\(String(repeating: " ", count: max(0, String(state.total).count - String(state.count).count)))\(state.count)/\(state.total)"
        let percent = String(cFormat: "%3d%%", Int(fraction * 100))
        let rate = state.elapsed > 0 ? Double(state.count) / state.elapsed : 0
        var tail: [String] = ["\(formatRate(rate)) it/s"]
        if rate > 0, state.count < state.total, !state.stopped {
            tail.append(formatSeconds(Double(state.total - state.count) / rate) + " left")
        }
        if let value = state.lastValue {
            tail.append((state.shownName.map { $0 + " " } ?? "") + formatNumber(value, precision: precision))
            if unicode, state.values.count > 1 { tail.append(sparkline(state.values, width: 12)) }
        }
        // The bar takes what is left, between 10 and 30 cells; the tail shrinks first.
        func assemble(_ tail: [String], barWidth: Int) -> String {
            ([counter, "[" + bar(fraction, width: barWidth, unicode: unicode) + "]", percent] + tail).joined(separator: "  ")
        }
        var parts = tail
        while true {
            let fixed = assemble(parts, barWidth: 0).count
            let room = width - 1 - fixed
            if room >= 10 || parts.count <= 1 { return String(assemble(parts, barWidth: min(30, max(room, 10))).prefix(max(0, width - 1))) }
            parts.removeLast()
        }
    }

    /// `width` cells, filled by `fraction`, in eighths with Unicode.
    static func bar(_ fraction: Double, width: Int, unicode: Bool) -> String {
        guard width > 0 else { return "" }
        if !unicode {
            let filled = Int((fraction * Double(width)).rounded(.down))
            return String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        }
        let eighths = Int((fraction * Double(width * 8)).rounded(.down))
        let full = eighths / 8, partial = eighths % 8
        let partials: [Character] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var s = String(repeating: "█", count: full)
        if full < width { s.append(partials[partial]); s += String(repeating: " ", count: width - full - 1) }
        return s
    }

    static func formatRate(_ r: Double) -> String {
        if r >= 1e6 { return String(cFormat: "%.1fM", r / 1e6) }
        if r >= 1e4 { return String(cFormat: "%.0fk", r / 1e3) }
        if r >= 1e3 { return String(cFormat: "%.1fk", r / 1e3) }
        if r >= 10 { return String(cFormat: "%.0f", r) }
        return String(cFormat: "%.1f", r)
    }

    static func formatSeconds(_ s: Double) -> String {
        if s < 60 { return String(cFormat: "%.1fs", s) }
        let whole = Int(s.rounded())
        if whole < 3600 { return String(cFormat: "%d:%02d", whole / 60, whole % 60) }
        return String(cFormat: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
    }
}

/// Receives `Session.progress` callbacks and draws the bar on standard error, in place, when the loop has
/// run longer than `delay` seconds; at most one redraw every `interval` seconds. Nested loops: the
/// outermost loop that is still running is the one shown. A front end that is not a terminal (the
/// Jupyter kernel) sets `draw`, `finish` and `erase` instead.
public final class ProgressReporter {
    private struct Loop {
        var total: Int
        var count: Int
        var start: Double
        var lastValue: Double?
        var values: [Double] = []
        var stride = 1
    }

    /// A loop shorter than this draws nothing. `TAPEBOOK_PROGRESS_DELAY` (seconds, read once at start)
    /// replaces it: the tests set 0 so that a bar shows as soon as a loop runs, however fast the machine.
    public var delay = 0.5
    public var interval = 0.1
    /// Seconds on a monotonic clock; tests replace it to decide what time it is.
    public var now: () -> Double = { Double(monotonicNanoseconds()) / 1e9 }
    public var unicode = true
    public var precision = 4
    public var width: () -> Int = { 80 }
    public var shownName: String?
    /// Where the text goes; standard error by default.
    public var write: (String) -> Void = { text in StandardStreams.writeError(text) }
    /// Draws the bar, in place of the terminal line `write` receives.
    public var draw: ((ProgressState) -> Void)?
    /// The shown loop ended (finished, or stopped when the statement ended): its last state, drawn for good;
    /// without it the bar is erased, as on a terminal.
    public var finish: ((ProgressState) -> Void)?
    /// Erases the bar, in place of the terminal text.
    public var erase: (() -> Void)?

    public init() {}

    private var loops: [Loop] = []
    private var lastEvent = 0.0
    /// When the stack of loops last became empty: where an outermost loop starts.
    private var idleSince = 0.0
    private var lastDraw = 0.0
    private var drawn = false
    private static let maximumValues = 256

    /// Before a statement runs.
    public func begin(shownName: String?) {
        clear()
        loops = []
        self.shownName = shownName
        lastEvent = now()
        idleSince = lastEvent
    }

    /// `Session.progress`: iteration `count` of `total` has finished.
    public func report(count: Int, total: Int, last: Double?) {
        let now = self.now()
        defer { lastEvent = now }
        if let k = loops.lastIndex(where: { $0.total == total && $0.count == count - 1 }) {
            loops[k].count = count
            if let last { record(last, in: &loops[k]) }
        } else {
            var loop = Loop(total: total, count: count, start: loops.isEmpty ? idleSince : lastEvent)
            if let last { record(last, in: &loop) }
            loops.append(loop)
        }
        // A finished loop leaves the stack, with any inner loop it left behind.
        if let k = loops.lastIndex(where: { $0.count >= $0.total }) {
            let wasShown = k == 0
            let last = state(of: loops[0], at: now)
            loops.removeSubrange(k...)
            if wasShown { end(last); idleSince = now }
        }
        guard let shown = loops.first, now - shown.start >= delay, now - lastDraw >= interval else { return }
        lastDraw = now
        let state = state(of: shown, at: now)
        if let draw { draw(state) } else {
            write("\r" + ProgressBar.line(state, width: width(), unicode: unicode, precision: precision) + "\u{1B}[K")
        }
        drawn = true
    }

    private func state(of loop: Loop, at now: Double) -> ProgressState {
        ProgressState(count: loop.count, total: loop.total, elapsed: now - loop.start,
                      shownName: shownName, lastValue: loop.lastValue, values: loop.values)
    }

    /// The shown loop is over: `finish` draws its last state where it is set; else the bar is erased.
    private func end(_ last: ProgressState) {
        guard drawn else { return }
        if let finish { finish(last); drawn = false } else { clear() }
    }

    /// After a statement: a loop still shown was stopped (Ctrl-C, an error); it ends where it stopped.
    public func endStatement() {
        if let shown = loops.first {
            var last = state(of: shown, at: now())
            last.stopped = true
            end(last)
        }
        loops = []
        clear()
    }

    private func record(_ value: Double, in loop: inout Loop) {
        loop.lastValue = value
        guard loop.count % loop.stride == 0 else { return }
        loop.values.append(value)
        // Bounded: when full, keep every other value and sample half as often.
        if loop.values.count >= Self.maximumValues {
            loop.values = loop.values.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
            loop.stride *= 2
        }
    }

    /// Erases the bar, if one is drawn (before any output, and when the statement ends).
    public func clear() {
        guard drawn else { return }
        if let erase { erase() } else { write("\r\u{1B}[K") }
        drawn = false
    }

    /// The name after `show` in a statement, when there is exactly one.
    public static func shownName(in text: String) -> String? {
        let words = text.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).map(String.init)
        var names: [String] = []
        for (i, w) in words.enumerated() where w == "show" && i + 1 < words.count { names.append(words[i + 1]) }
        return Set(names).count == 1 ? names[0] : nil
    }
}

