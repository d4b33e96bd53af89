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

/// PyTorch: a gradient through a graph that read a variable's value which a group update has changed
/// in place since (torch would refuse it); the export then starts again with a new leaf per update.
struct InPlaceConflict: Error {}

/// Translates a tapebook program (a `.tape` file or a session's history) into a Python script for
/// PyTorch, TensorFlow or JAX that computes the same values and gradients in float64.
///
/// The program runs in a tapebook session as it is translated (as `run --keep-going` would run it; the
/// files it saves are kept in memory, not written): a statement that fails in tapebook, a syntax error included, becomes a comment
/// that says so instead of code, and what tapebook computed (which gradients are None) is known.
public enum Exporter {
    /// `file`: the session file being exported, which runs as a replay (`run` runs it so): relative names
    /// from its folder, and, unless `trusted`, writes confined there. Unless `trusted`, the files the script
    /// would save must be ones a replay of the source could write (section 12 of the language): relative,
    /// inside the script's folder, no hidden name, `.npy` or `.csv`.
    public static func export(_ source: String, to target: ExportTarget, origin: String, directory: String? = nil,
                              replaying file: String? = nil, trusted: Bool = true) throws -> String {
        do {
            return try export(source, to: target, origin: origin, directory: directory, replaying: file, trusted: trusted, torchInPlace: true)
        } catch is InPlaceConflict {
            return try export(source, to: target, origin: origin, directory: directory, replaying: file, trusted: trusted, torchInPlace: false)
        }
    }

    static func export(_ source: String, to target: ExportTarget, origin: String, directory: String?,
                       replaying file: String?, trusted: Bool, torchInPlace: Bool) throws -> String {
        let text = SourceText(source, firstLine: 1)
        // A replayed file runs confined (below): a save that tapebook refuses fails there, and becomes a
        // comment. Without a file, the saves are judged by their names.
        if !trusted && file == nil {
            var parser = Parser(source: source)
            var statements: [Statement] = []
            while true {
                do {
                    guard let next = try parser.nextStatement() else { break }
                    statements.append(next)
                } catch is SyntaxError {
                    continue
                }
            }
            try checkSavedFiles(statements, source: text)
        }
        var writer = PythonWriter(target: target, source: text)
        let session = Session()
        session.directory = directory
        // Export reads: what the session saves is kept in memory (a later `load` finds it), not written.
        session.keptFiles = [:]
        if let file { session.beginReplay(of: file, trusted: trusted) }
        writer.directory = session.directory
        writer.isBound = { session.lookup($0) != nil }
        writer.groupSize = { name in
            if case .group(let members)? = session.lookup(name) { return members.count }
            return nil
        }
        writer.torchInPlace = torchInPlace
        writer.keptText = { name in session.keptFiles?[session.path(name)].map { String(decoding: $0, as: UTF8.self) } }
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

extension Exporter {
    /// Refuses a `save ... to` whose file a replay would not write, judged by the name alone: the script
    /// runs later, elsewhere, so links and special files cannot be seen now.
    static func checkSavedFiles(_ statements: [Statement], source: SourceText) throws {
        for statement in statements {
            switch statement.kind {
            case .save(_, let path):
                let components = path.split(separator: "/")
                var refusal: ConfinedFile.Refusal?
                if path.hasPrefix("/") || components.contains("..") {
                    refusal = .outsideFolder
                } else if !WrittenFile.tensor.extensions.contains(PathText.pathExtension(path).lowercased()) {
                    refusal = .wrongExtension
                } else if let hidden = components.first(where: { $0.hasPrefix(".") && $0 != "." }) {
                    refusal = .hiddenName(String(hidden))
                }
                if let refusal {
                    throw ExportError(TrustMessages.refused(path, refusal, .tensor), line: statement.span.start.line,
                                      statement: visibleText(source.text(of: statement.span)))
                }
            case .withStop(_, let body), .withTape(_, _, _, let body), .repeatLoop(_, _, _, let body):
                try checkSavedFiles(body, source: source)
            case .functionDefinition(_, _, .block(let body)):
                try checkSavedFiles(body, source: source)
            case .customFunctionDefinition(_, _, let body, _, let gradient):
                if case .block(let b) = body { try checkSavedFiles(b, source: source) }
                if case .block(let g) = gradient { try checkSavedFiles(g, source: source) }
            default:
                break
            }
        }
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
        try writeFile(Array(script.utf8), to: file, kind: .script, span: span)
        let count = history.count
        return "exported \(count) statement\(count == 1 ? "" : "s") to \(file) (\(target.library))"
    }
}
