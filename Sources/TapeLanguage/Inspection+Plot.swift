import Portable
import TensorCore
import Autodiff
import TapeSyntax
import Rendering

extension Settings {
    /// Whether a terminal with this environment can show braille and box-drawing characters: a UTF-8
    /// locale (`LC_ALL`, then `LC_CTYPE`, then `LANG`) and a `TERM` other than `dumb`.
    public static func unicodeSupported(environment: [String: String]) -> Bool {
        unicodeSupported { environment[$0] }
    }

    /// The same, reading each variable with `variable` (`Environment.value`: no copy of the environment).
    public static func unicodeSupported(variable: (String) -> String?) -> Bool {
        if variable("TERM") == "dumb" { return false }
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap(variable).first { !$0.isEmpty } ?? ""
        // "utf-8" or "utf8" in any case; the names are ASCII, so bytes are compared.
        let bytes = locale.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        func contains(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard bytes.count >= w.count else { return false }
            return (0...(bytes.count - w.count)).contains { start in bytes[start..<(start + w.count)].elementsEqual(w) }
        }
        return contains("utf-8") || contains("utf8")
    }
}

extension Session {
    /// The plot's drawing area, in character cells.
    static let plotHeight = 12
    static let plotMaximumWidth = 60

    /// `plot f(x), g(x) over x in A..B [and grad]`: each expression evaluated with `x` bound to each
    /// sample point; `and grad` adds each one's derivative, read from the tape.
    func plot(_ exprs: [Expr], variable: Identifier, lower: Expr, upper: Expr, includeGradient: Bool) throws -> (String, Figure) {
        func bound(_ e: Expr) throws -> Double {
            let v = try evaluate(e)
            guard v.tensor.count == 1, let x = v.tensor.scalars.first, x.isFinite else {
                throw EvaluationError("a plot bound must be a finite number", at: e.span)
            }
            return x
        }
        let a = try bound(lower), b = try bound(upper)
        guard a < b else {
            throw EvaluationError("the plot range is empty: \(formatNumber(a)) is not below \(formatNumber(b))", at: lower.span.union(upper.span))
        }
        let width = max(20, min(Session.plotMaximumWidth, settings.lineWidth - 12))
        let samples = (settings.unicode ? 2 * width : width) + 1
        // NOTE: not `a + (b - a) * t`: `b - a` overflows to inf for -1e308..1e308. The weighted sum
        // stays within [a, b] (clamped against rounding) and hits both ends exactly.
        let xs = (0..<samples).map { i -> Double in
            let t = Double(i) / Double(samples - 1)
            return min(b, max(a, a * (1 - t) + b * t))
        }
        var series: [(label: String, xs: [Double], ys: [Double])] = []
        for expr in exprs {
            let text = sourceText.text(of: expr.span)
            var ys: [Double] = [], slopes: [Double] = []
            for x in xs {
                if let check = interruptCheck, check() { throw GradientError("interrupted") }
                let point = context.constant(x)
                if includeGradient { try at(expr.span) { try context.watch(point, on: context.implicitTape.bit) } }
                let y = try withScope([variable.name: .value(point)]) { try evaluate(expr) }
                guard y.tensor.count == 1 else {
                    throw EvaluationError("plot needs one number for each \(variable.name), but \(text) has shape \(Shape.describe(y.shape))",
                                          at: expr.span, note: "reduce it, e.g. sum(\(text))")
                }
                ys.append(y.tensor.firstScalar)
                if includeGradient {
                    let slope = try at(expr.span) {
                        try context.withRecordingStopped {
                            try context.gradient(of: y, wrt: [point], tape: context.implicitTape, unconnectedZero: true)[0]
                        }
                    }
                    slopes.append(slope.value?.tensor.scalars.first ?? 0)
                }
            }
            series.append((text, xs, ys))
            if includeGradient { series.append(("d/d\(variable.name) " + label(of: expr), xs, slopes)) }
        }
        // What a plot leaves out is said, not just skipped: a curve with no finite point would
        // otherwise look like a curve off the frame, and a frame with none at all like a bug.
        let range = "from \(formatNumber(a)) to \(formatNumber(b))"
        let leftOut = series.map { s in s.ys.filter { !$0.isFinite }.count }
        if leftOut.allSatisfy({ $0 == samples }) {
            let what = series.count == 1 ? "\(series[0].label) is" : "every curve is"
            throw EvaluationError(Session.nothingFiniteToPlot(what, range),
                                  at: exprs.first!.span.union(exprs.last!.span))
        }
        var notes: [String] = []
        for (s, count) in zip(series, leftOut) where count > 0 {
            notes.append(count == samples ? "note: \(s.label) is NaN or infinite at every point \(range): nothing drawn for it"
                                          : "note: \(s.label) is NaN or infinite at \(count) of \(samples) points: they are left out")
        }
        let drawing = renderPlot(series: series, width: width, height: Session.plotHeight, unicode: settings.unicode, xRange: (a, b))
        return (([drawing] + notes).joined(separator: "\n"), .plot(series: series, xRange: (a, b)))
    }

    /// `plot v`: each vector against its index (0, 1, 2, ...); `plot ys against xs`: against another vector.
    func plotValues(_ exprs: [Expr], against: Expr?) throws -> (String, Figure) {
        func vector(_ e: Expr, role: String) throws -> [Double] {
            let text = sourceText.text(of: e.span)
            let v: Value
            do {
                v = try evaluate(e)
            } catch var error as EvaluationError where against == nil && error.note == nil && error.message.hasPrefix("unknown name") {
                error.note = "to plot a function, write plot \(text) over x in A..B"
                throw error
            }
            guard v.tensor.rank <= 1 || v.shape.filter({ $0 != 1 }).count <= 1 else {
                throw EvaluationError("plot draws vectors, but \(text) has shape \(Shape.describe(v.shape))", at: e.span,
                                      note: "plot a row or a column, e.g. \(text)[0], or flatten it with reshape(\(text), [-1])")
            }
            guard v.tensor.rank > 0 else {
                throw EvaluationError("plot draws vectors, but \(text) is one number", at: e.span,
                                      note: against == nil ? "to plot a function, write plot \(text) over x in A..B" : nil)
            }
            guard v.tensor.count > 0 else { throw EvaluationError("nothing to draw: \(text) is empty", at: e.span) }
            return v.tensor.scalars
        }
        let xs: [Double]
        if let against {
            xs = try vector(against, role: "x")
        } else {
            xs = []
        }
        var series: [(label: String, xs: [Double], ys: [Double])] = []
        for e in exprs {
            let ys = try vector(e, role: "y")
            if let against, ys.count != xs.count {
                throw EvaluationError("\(sourceText.text(of: e.span)) has \(ys.count) element\(ys.count == 1 ? "" : "s") but \(sourceText.text(of: against.span)) has \(xs.count)",
                                      at: e.span.union(against.span), note: "plot ys against xs pairs the elements of two vectors of the same length")
            }
            series.append((sourceText.text(of: e.span), against == nil ? ys.indices.map(Double.init) : xs, ys))
        }
        let span = exprs.first!.span.union((against ?? exprs.last!).span)
        let finite = series.map { s in zip(s.xs, s.ys).filter { $0.0.isFinite && $0.1.isFinite }.count }
        if finite.allSatisfy({ $0 == 0 }) {
            throw EvaluationError("nothing to draw: " + (series.count == 1 ? "\(series[0].label) has" : "the vectors have") + " no finite point", at: span)
        }
        var notes: [String] = []
        for (s, count) in zip(series, finite) where count < s.ys.count {
            notes.append(count == 0 ? "note: \(s.label) has no finite point: nothing drawn for it"
                                    : "note: \(s.ys.count - count) of the \(s.ys.count) points of \(s.label) are NaN or infinite: they are left out")
        }
        let width = max(20, min(Session.plotMaximumWidth, settings.lineWidth - 12))
        let drawing = renderPlot(series: series, width: width, height: Session.plotHeight, unicode: settings.unicode)
        return (([drawing] + notes).joined(separator: "\n"), .plot(series: series, xRange: nil))
    }

    /// The error for a plot with no finite point: `what` is `f(x) is` or `every curve is`.
    static func nothingFiniteToPlot(_ what: String, _ range: String) -> String {
        "nothing to draw: \(what) NaN or infinite at every point \(range)"
    }
}
