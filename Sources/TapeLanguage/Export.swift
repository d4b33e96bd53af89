import FoundationEssentials
import Glibc
import Portable
import TapeSyntax

/// The libraries a tapebook program can be exported to (`:export`, `tapebook export --to`).
public enum ExportTarget: String, CaseIterable, Sendable {
    case torch, tf, jax

    /// The library's name as users know it.
    public var library: String {
        switch self {
        case .torch: return "PyTorch"
        case .tf: return "TensorFlow"
        case .jax: return "JAX"
        }
    }
}

/// A statement that has no faithful translation: the script would compute something else.
public struct ExportError: Error, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var statement: String
    public init(_ message: String, line: Int, statement: String) {
        self.message = message
        self.line = line
        self.statement = statement
    }
    public var description: String { "line \(line): cannot export `\(statement)`: \(message)" }
}

/// Translates a tapebook program (a `.tape` file or a session's history) into a Python script for
/// PyTorch, TensorFlow or JAX that computes the same values and gradients in float64.
public enum Exporter {
    public static func export(_ source: String, to target: ExportTarget, origin: String) throws -> String {
        let text = SourceText(source, firstLine: 1)
        let statements: [Statement]
        do {
            statements = try Parser.parseAll(source)
        } catch let e as SyntaxError {
            throw ExportError(e.message, line: e.span.start.line, statement: text.line(e.span.start.line).trimmingWhitespace())
        }
        var writer = PythonWriter(target: target, source: text)
        try writer.program(statements)
        return writer.script(origin: origin)
    }
}

extension Session {
    /// `:export tf|jax|torch "FILE.py"`: the statements that succeeded, as a Python script, written
    /// atomically (see `FileText.replace`).
    func exportCommand(_ argument: String, span: SourceSpan) throws -> String {
        let usage = "usage: :export tf|jax|torch \"FILE.py\""
        let trimmed = argument.trimmingWhitespace()
        let word = String(trimmed.prefix { !$0.isWhitespace })
        guard let target = ExportTarget(rawValue: word) else {
            throw EvaluationError(word.isEmpty ? ":export needs a target" : "unknown export target '\(word)'", at: span, note: usage)
        }
        let rest = trimmed.dropFirst(word.count).trimmingWhitespace()
        guard rest.hasPrefix("\""), let close = rest.dropFirst().firstIndex(of: "\""),
              rest[rest.index(after: close)...].trimmingWhitespace().isEmpty else {
            throw EvaluationError(":export needs a file name in double quotes", at: span, note: usage)
        }
        let file = String(rest[rest.index(after: rest.startIndex)..<close])
        let program = history.map(\.source).joined(separator: "\n")
        let script: String
        do {
            script = try Exporter.export(program, to: target, origin: "a tapebook session")
        } catch let e as ExportError {
            throw EvaluationError("cannot export `\(e.statement)` to \(target.library): \(e.message)", at: span)
        }
        let code = FileText.replace(path(file), with: Array(script.utf8))
        if code != 0 { throw EvaluationError("cannot write \(file): \(systemErrorText(code))", at: span) }
        let count = history.count
        return "exported \(count) statement\(count == 1 ? "" : "s") to \(file) (\(target.library))"
    }
}
