import TensorCore
import Portable
import Autodiff
import TapeSyntax
import Rendering

/// Turns statement outcomes into text: the human layout, or one JSON object per statement.
public struct OutputFormatter {
    public var settings: Settings
    /// Shown in diagnostics (` --> FILE:3:5`); nil shows `3:5`.
    public var file: String?

    public init(settings: Settings, file: String? = nil) {
        self.settings = settings
        self.file = file
    }

    var options: FormatOptions { FormatOptions(precision: settings.precision, lineWidth: settings.lineWidth) }

    /// The human-readable output of one outcome; empty when it shows nothing.
    public func human(_ outcome: StatementOutcome, source: SourceText) -> String {
        var lines: [String] = []
        switch outcome.result {
        case .tensor(let label, let value):
            lines.append(labelled(label, formatTensor(value.tensor, options)))
            if let note = nonFiniteNote(value) { lines.append(note) }
        case .several(let items):
            for (label, item) in items {
                switch item {
                case .value(let v):
                    lines.append(labelled(label, formatTensor(v.tensor, options)))
                    if let note = nonFiniteNote(v) { lines.append(note) }
                case .none(let reason): lines.append(labelled(label, "None   (\(reason))"))
                }
            }
        case .none(let label, let reason):
            lines.append(labelled(label, "None   (\(reason))"))
        case .text(let text):
            lines.append(text)
        case .silent:
            break
        case .error(let e):
            lines.append(diagnostic(e, source: source))
        }
        lines.append(contentsOf: outcome.notes.map { "note: " + $0 })
        return lines.joined(separator: "\n")
    }

    private func labelled(_ label: String?, _ text: String) -> String {
        guard let label else { return text }
        return label + " = " + text
    }

    /// Where a NaN or Inf came from, when the engine knows.
    func nonFiniteNote(_ v: Value) -> String? {
        guard settings.anomaly, let origin = v.nonFiniteOrigin, v.tensor.hasNonFinite else { return nil }
        let what = v.tensor.scalars.contains(where: \.isNaN) ? "NaN" : "Inf"
        var text = "note: the \(what) traces back to \(origin.operation) in the \(origin.pass.rawValue) pass"
        if origin.line > 0 { text += " (line \(origin.line))" }
        if let why = origin.explanation { text += ": " + why }
        return text
    }

    public func diagnostic(_ e: EvaluationError, source: SourceText) -> String {
        let start = e.span.start
        let length = e.span.end.line == start.line ? max(1, e.span.end.column - start.column) : max(1, source.line(start.line).count - start.column + 1)
        return renderDiagnostic(message: e.message, sourceLine: source.line(start.line), line: start.line, column: start.column,
                                length: length, file: file, note: e.note, color: settings.color)
    }

    // MARK: JSON

    /// One line of JSON for an outcome (spec section 11).
    public func json(_ outcome: StatementOutcome) -> String {
        let notes = outcome.notes.isEmpty ? "" : ", \"notes\": [" + outcome.notes.map(jsonString).joined(separator: ", ") + "]"
        return "{\"line\": \(outcome.line), \"source\": \(jsonString(outcome.source)), \"result\": \(jsonResult(outcome))" + notes + "}"
    }

    private func jsonResult(_ outcome: StatementOutcome) -> String {
        var name = ""
        if outcome.names.count == 1 { name = "\"name\": \(jsonString(outcome.names[0])), " }
        if outcome.names.count > 1 { name = "\"names\": [" + outcome.names.map(jsonString).joined(separator: ", ") + "], " }
        switch outcome.result {
        case .tensor(_, let v): return "{" + name + jsonTensorBody(v.tensor) + "}"
        case .several(let items):
            let inner = items.map { _, item -> String in
                switch item {
                case .value(let v): return "{" + jsonTensorBody(v.tensor) + "}"
                case .none(let reason): return "{\"kind\": \"none\", \"reason\": \(jsonString(reason))}"
                }
            }
            return "{" + name + "\"kind\": \"tensors\", \"items\": [" + inner.joined(separator: ", ") + "]}"
        case .none(_, let reason): return "{" + name + "\"kind\": \"none\", \"reason\": \(jsonString(reason))}"
        case .text(let text): return "{\"kind\": \"text\", \"text\": \(jsonString(text))}"
        case .silent: return "{\"kind\": \"silent\"}"
        case .error(let e):
            var message = e.message
            if let note = e.note { message += " (\(note))" }
            return "{\"kind\": \"error\", \"message\": \(jsonString(message)), \"line\": \(e.span.start.line), \"column\": \(e.span.start.column)}"
        }
    }

    private func jsonTensorBody(_ t: Tensor) -> String {
        "\"kind\": \"tensor\", \"shape\": [" + t.shape.map(String.init).joined(separator: ", ") + "], \"data\": ["
            + t.scalars.map(jsonNumber).joined(separator: ", ") + "]"
    }
}

/// A JSON string literal.
public func jsonString(_ s: String) -> String {
    var out = ""
    JSON.quote(s, into: &out)
    return out
}

