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
///
/// The program runs in a tapebook session as it is translated (as `run --keep-going` would run it, files
/// it saves included): a statement that fails in tapebook, a syntax error included, becomes a comment
/// that says so instead of code, and what tapebook computed (which gradients are None) is known.
public enum Exporter {
    public static func export(_ source: String, to target: ExportTarget, origin: String, directory: String? = nil) throws -> String {
        let text = SourceText(source, firstLine: 1)
        var writer = PythonWriter(target: target, source: text)
        writer.directory = directory
        let session = Session()
        session.directory = directory
        var parser = Parser(source: source)
        writer.begin()
        while true {
            let statement: Statement
            do {
                guard let next = try parser.nextStatement() else { break }
                statement = next
            } catch let e as SyntaxError {
                let first = e.statementStart?.line ?? e.span.start.line
                let lines = (first...max(first, e.span.start.line)).map { text.line($0) }
                writer.failed(lines, because: "syntax error: " + e.message)
                continue
            }
            let outcomes = session.execute(statement, in: text)
            if let failure = outcomes.lazy.compactMap({ o -> EvaluationError? in
                if case .error(let e) = o.result { return e } else { return nil }
            }).first {
                writer.failed(text.text(of: statement.span).split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
                              because: failure.message)
                continue
            }
            writer.outcomes = outcomes
            try writer.statement(statement)
            if outcomes.contains(where: { $0.quit }) { break }
        }
        writer.end()
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
            script = try Exporter.export(program, to: target, origin: "a tapebook session", directory: directory)
        } catch let e as ExportError {
            throw EvaluationError("cannot export `\(e.statement)` to \(target.library): \(e.message)", at: span)
        }
        let code = FileText.replace(path(file), with: Array(script.utf8))
        if code != 0 { throw EvaluationError("cannot write \(file): \(systemErrorText(code))", at: span) }
        let count = history.count
        return "exported \(count) statement\(count == 1 ? "" : "s") to \(file) (\(target.library))"
    }
}
