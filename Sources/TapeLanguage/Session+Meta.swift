import FoundationEssentials
import Glibc
import Portable
import TensorCore
import Autodiff
import TapeSyntax
import Rendering

extension Session {
    /// Meta commands (`:help`, `:vars`, `:save`, ...): not part of the language, but they work the same in
    /// the REPL, in files and on stdin.
    /// `column` is where `argument` starts on the statement's line.
    func meta(_ name: String, _ argument: String, column: Int, statement: Statement, into outcomes: inout [StatementOutcome],
              outcome: inout StatementOutcome) throws {
        let span = statement.span
        // `:load` and `:time` run statements, which may be `:load` or `:time` again.
        let runsStatements = name == "load" || name == "time"
        if runsStatements {
            guard nestedRunDepth < Session.maximumNestedRuns else {
                throw EvaluationError(Session.nestedTooDeeply, at: span, note: name == "load" ? "does the file load itself?" : nil)
            }
            nestedRunDepth += 1
        }
        defer { if runsStatements { nestedRunDepth -= 1 } }
        // NOTE: a command that takes nothing refuses an argument: `:reset x`, meant for one name, would
        // otherwise clear the whole workspace.
        if ["vars", "grads", "health", "reset", "quit", "q", "exit"].contains(name), !argument.isEmpty {
            throw EvaluationError("unexpected '\(argument)' after :\(name)", at: span,
                                  note: name == "reset" ? ":reset clears the whole workspace and takes no argument" : ":\(name) takes no argument")
        }
        switch name {
        case "help", "h", "?":
            outcome.result = .text(try Help.lookup(argument.isEmpty ? nil : argument, width: settings.lineWidth).text(at: span))
        case "vars":
            outcome.result = .text(variablesTable())
        case "grads", "health":
            outcome.result = .text(gradientHealth())
        case "save":
            let (file, rest) = try quotedFileName(argument, span: span, command: ":save")
            let withoutCustom: Bool
            switch rest.trimmingWhitespace() {
            case "": withoutCustom = false
            case "without custom": withoutCustom = true
            default: throw EvaluationError("unexpected '\(rest.trimmingWhitespace())' after the file name", at: span,
                                           note: "usage: :save \"f.tape\" [without custom]")
            }
            let count = try saveHistory(to: file, withoutCustom: withoutCustom, span: span)
            outcome.result = .text("saved \(count) statement\(count == 1 ? "" : "s") to \(file)")
        case "load":
            let (file, rest) = try quotedFileName(argument, span: span, command: ":load")
            guard rest.trimmingWhitespace().isEmpty else { throw EvaluationError("unexpected text after the file name", at: span) }
            let kept = keptFiles?[path(file)].map { String(decoding: $0, as: UTF8.self) }
            guard let text = kept ?? (FileText.isRegularFile(path(file)) ? FileText.read(path(file)) : nil) else {
                throw EvaluationError("cannot read \(visibleText(file))", at: span)
            }
            // A loaded file is replayed: its relative names resolve against its folder, and it writes
            // only there (section 12 of the language), whoever typed `:load`.
            let inner = replaying(path(file)) { run(text) }
            if let failed = inner.first(where: { $0.result.isError }), case .error(let e) = failed.result {
                // A file that loads itself fails at the deepest level; that error is passed up unchanged.
                if e.message == Session.nestedTooDeeply { throw EvaluationError(e.message, at: span, note: e.note) }
                throw EvaluationError("\(file):\(e.span.start.line): \(e.message)", at: span)
            }
            outcomes.append(contentsOf: inner.filter { if case .silent = $0.result { return false } else { return true } })
            outcome.result = .text("loaded \(file)")
        case "reset":
            reset()
            outcome.result = .text("workspace, tapes and history cleared")
        case "set":
            outcome.result = .text(try set(argument, span: span))
        case "time":
            guard !argument.isEmpty else { throw EvaluationError("usage: :time STATEMENT", at: span) }
            let start = monotonicNanoseconds()
            let inner = run(argument, firstLine: statement.span.start.line, firstColumn: column)
            let elapsed = Double(monotonicNanoseconds() - start) / 1e9
            if let failed = inner.first(where: { $0.result.isError }), case .error(let e) = failed.result { throw e }
            outcomes.append(contentsOf: inner)
            outcome.result = .text("time: \(Session.formatDuration(elapsed))")
        case "export":
            outcome.result = .text(try exportCommand(argument, span: span))
        case "quit", "q", "exit":
            outcome.quit = true
        default:
            let known = ["help", "vars", "grads", "save", "load", "reset", "set", "time", "export", "quit"]
            throw EvaluationError("unknown command ':\(name)'", at: span,
                                  note: closestName(to: name, among: known).map { "did you mean ':\($0)'?" } ?? "see :help")
        }
        outcome.source = sourceText.text(of: span)
        outcomes.append(outcome)
    }

    static let nestedTooDeeply = ":load and :time are nested too deeply (more than \(maximumNestedRuns))"

    static func formatDuration(_ seconds: Double) -> String {
        if seconds < 1e-3 { return String(cFormat: "%.1f µs", seconds * 1e6) }
        if seconds < 1 { return String(cFormat: "%.2f ms", seconds * 1e3) }
        return String(cFormat: "%.2f s", seconds)
    }

    private func quotedFileName(_ argument: String, span: SourceSpan, command: String) throws -> (String, String) {
        let trimmed = argument.trimmingWhitespace()
        guard trimmed.hasPrefix("\""), let close = trimmed.dropFirst().firstIndex(of: "\"") else {
            throw EvaluationError("\(command) needs a file name in double quotes", at: span, note: "usage: \(command) \"session.tape\"")
        }
        let file = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
        return (file, String(trimmed[trimmed.index(after: close)...]))
    }

    private func set(_ argument: String, span: SourceSpan) throws -> String {
        let parts = argument.split(separator: " ").map(String.init)
        guard parts.count == 2 else { throw EvaluationError("usage: :set precision N | color on|off | anomaly on|off | width N | limit N", at: span) }
        func onOff(_ s: String) throws -> Bool {
            switch s { case "on": return true; case "off": return false
            default: throw EvaluationError("expected 'on' or 'off', got '\(s)'", at: span) }
        }
        switch parts[0] {
        case "precision":
            guard let n = Int(parts[1]), (0...17).contains(n) else { throw EvaluationError("precision must be a whole number from 0 to 17", at: span) }
            settings.precision = n
            return "precision \(n)"
        case "color", "colour":
            settings.color = try onOff(parts[1])
            return "color \(parts[1])"
        case "anomaly":
            settings.anomaly = try onOff(parts[1])
            return "anomaly \(parts[1])"
        case "limit":
            guard let n = Int(parts[1]), n >= 1 else { throw EvaluationError("the element limit must be a positive whole number", at: span) }
            Shape.elementLimit = n
            return "element limit \(n)"
        case "memory":
            if parts[1] == "auto" {
                Memory.liveLimitBytes = 0
                return "memory limit: half this machine's memory"
            }
            guard let n = Int(parts[1]), (1...(1 << 30)).contains(n) else {
                throw EvaluationError("the memory limit is a whole number of MiB, at least 1, or 'auto'", at: span)
            }
            Memory.liveLimitBytes = n << 20
            return "memory limit \(n) MiB"
        case "width":
            guard let n = Int(parts[1]), n >= 20 else { throw EvaluationError("width must be at least 20", at: span) }
            settings.lineWidth = n
            return "width \(n)"
        default:
            throw EvaluationError("unknown setting '\(parts[0])'", at: span, note: "settings: precision, color, anomaly, width, limit, memory")
        }
    }

    /// Writes the statements that succeeded, atomically (see `FileText.replace`).
    func saveHistory(to file: String, withoutCustom: Bool, span: SourceSpan) throws -> Int {
        var lines: [String] = ["# saved by tapebook"]
        for entry in history {
            if withoutCustom, let name = entry.definesFunction, case .function(let f)? = workspace[name], f.customGradient != nil,
               entry.source == f.source || entry.source == f.source + ";" {
                lines.append(f.plainSource + (entry.source.hasSuffix(";") ? ";" : ""))
            } else {
                lines.append(entry.source)
            }
        }
        let text = lines.joined(separator: "\n") + "\n"
        try writeFile(Array(text.utf8), to: file, kind: .session, span: span)
        return history.count
    }

    // MARK: Tables

    func variablesTable() -> String {
        let names = workspace.keys.sorted()
        if names.isEmpty { return "no names bound yet" }
        var rows: [[String]] = []
        for name in names {
            switch workspace[name]! {
            case .value(let v):
                let kind = v.isVariable ? "variable" : "tensor"
                var tracking = "-"
                if v.isTracked { tracking = v.node == nil ? "watched" : "tracked" }
                rows.append([name, kind, Shape.describe(v.shape), tracking, preview(v.tensor)])
            case .none(let reason):
                rows.append([name, "None", "", "", reason])
            case .function(let f):
                rows.append([name, f.customGradient == nil ? "function" : "custom", "(" + f.parameters.joined(separator: ", ") + ")", "", f.source.count > 40 ? String(f.source.prefix(39)) + "…" : f.source])
            case .tape(let t):
                rows.append([name, "tape", "", t.persistent ? "persistent" : (t.used ? "used" : "single-use"), ""])
            case .group(let members):
                let shapes = members.map { m -> String in if case .value(let v) = m { return Shape.describe(v.shape) } else { return "None" } }
                let kinds = members.map { m -> String in
                    guard case .value(let v) = m else { return "None" }
                    return v.isVariable ? "variable" : (v.isTracked ? (v.node == nil ? "watched" : "tracked") : "-")
                }
                let tracking = Set(kinds).count == 1 ? kinds[0] : kinds.joined(separator: ", ")
                rows.append([name, "group of \(members.count)", "(" + shapes.joined(separator: ", ") + ")", tracking,
                             members.count == 1 ? "" : ""])
            case .optimizer(let o):
                rows.append([name, "optimizer", "", "", o.description])
            }
        }
        return renderTable(headers: ["name", "kind", "shape", "tracking", "value"], rows: rows,
                           alignments: [.left, .left, .left, .left, .left])
    }

    /// The first few values of a tensor, on one line.
    func preview(_ t: Tensor) -> String {
        let shown = t.scalars.prefix(4).map { formatNumber($0, precision: settings.precision) }
        if t.rank == 0 { return shown.first ?? "" }
        return "[" + shown.joined(separator: ", ") + (t.count > 4 ? ", …]" : "]")
    }

    func gradientHealth() -> String {
        if lastGradients.isEmpty { return "no gradients yet: run `grad y wrt x` first" }
        var rows: [[String]] = []
        var flags: [String] = []
        for (label, v) in lastGradients {
            let s = v.tensor.scalars
            // NOTE: min and max leave out NaN only, as NumPy's nanmin/nanmax do (NaN has its own count);
            // ±inf are values, so `[inf, 2]` has max inf, never a max that hides the Inf counted beside it.
            let ordered = s.filter { !$0.isNaN }
            let norm = v.tensor.euclideanNorm
            let nan = s.filter(\.isNaN).count, inf = s.filter(\.isInfinite).count
            var flag = ""
            if nan > 0 || inf > 0 { flag = "non-finite" } else if norm < 1e-7 { flag = "vanishing" } else if norm > 1e3 { flag = "exploding" }
            if !flag.isEmpty { flags.append("\(label): \(flag)") }
            rows.append([label, Shape.describe(v.shape), formatNumber(norm, precision: settings.precision),
                         ordered.min().map { formatNumber($0, precision: settings.precision) } ?? "-",
                         ordered.max().map { formatNumber($0, precision: settings.precision) } ?? "-",
                         String(nan), String(inf), flag])
        }
        return renderTable(headers: ["gradient", "shape", "norm", "min", "max", "nan", "inf", "flag"], rows: rows,
                           alignments: [.left, .left, .right, .right, .right, .right, .right, .left])
    }

    // MARK: The tape

    /// Every recorded operation that a workspace value can still reach, oldest first; with a scoped tape,
    /// those that tape recorded.
    func recordedNodes(on tape: Tape? = nil) -> [Value] {
        var pending = workspaceValues
        var seen = Set<ObjectIdentifier>()
        var found: [Value] = []
        while let v = pending.popLast() {
            guard seen.insert(ObjectIdentifier(v)).inserted else { continue }
            if let n = v.node {
                if tape.map({ v.isTracked(on: $0) }) ?? true { found.append(v) }
                pending.append(contentsOf: n.inputs)
            }
        }
        return found.sorted { $0.serial < $1.serial }
    }

    /// The names bound to values, by identity.
    func namesByValue() -> [ObjectIdentifier: String] {
        var names: [ObjectIdentifier: String] = [:]
        for (name, b) in workspace.sorted(by: { $0.key < $1.key }) { if case .value(let v) = b { names[ObjectIdentifier(v)] = names[ObjectIdentifier(v)] ?? name } }
        return names
    }

    /// `tape` (the implicit tape) or `tape t` (a scoped tape).
    func tapeListing(_ tape: Tape? = nil) -> String {
        let nodes = recordedNodes(on: tape)
        let names = namesByValue()
        var number: [ObjectIdentifier: Int] = [:]
        var rows: [[String]] = []
        var bytes = 0
        var counted = Set<ObjectIdentifier>()
        func describe(_ v: Value) -> String {
            if let n = names[ObjectIdentifier(v)] { return n }
            if let k = number[ObjectIdentifier(v)] { return "#\(k)" }
            return v.tensor.count == 1 ? formatNumber(v.tensor.firstScalar, precision: settings.precision) : "const " + Shape.describe(v.shape)
        }
        for (i, v) in nodes.enumerated() {
            number[ObjectIdentifier(v)] = i + 1
            let node = v.node!
            for t in [v] + node.inputs where counted.insert(ObjectIdentifier(t)).inserted { bytes += t.tensor.count * 8 }
            rows.append(["#\(i + 1)", node.primitive.name, node.inputs.map(describe).joined(separator: ", "),
                         Shape.describe(v.shape), names[ObjectIdentifier(v)] ?? "", node.line > 0 ? String(node.line) : ""])
        }
        var watched: [String] = []
        for (name, b) in workspace.sorted(by: { $0.key < $1.key }) {
            if case .value(let v) = b, v.node == nil, tape.map({ v.isTracked(on: $0) }) ?? v.isTracked {
                watched.append(v.isVariable ? "\(name) (variable)" : name)
            }
        }
        var text = nodes.isEmpty ? (tape.map { "tape \($0.name) holds no operations" } ?? "the tape holds no operations") : renderTable(headers: ["#", "operation", "inputs", "shape", "name", "line"], rows: rows,
                                                                                alignments: [.right, .left, .left, .left, .left, .right])
        text += "\nwatched: " + (watched.isEmpty ? "nothing" : watched.joined(separator: ", "))
        text += "\nmemory: \(nodes.count) operation\(nodes.count == 1 ? "" : "s"), \(Session.formatBytes(bytes)) of tensors"
        return text
    }

    static func formatBytes(_ n: Int) -> String {
        if n < 1024 { return "\(n) B" }
        if n < 1024 * 1024 { return String(cFormat: "%.1f KiB", Double(n) / 1024) }
        return String(cFormat: "%.1f MiB", Double(n) / 1024 / 1024)
    }
}
