import FoundationEssentials
import Portable
import TensorCore
import Autodiff
import TapeSyntax

/// What a name is bound to in the workspace.
public enum Binding {
    case value(Value)
    /// An unconnected gradient that was assigned (`g = grad z wrt x` giving None).
    case none(reason: String)
    case function(FunctionDefinition)
    case tape(Tape)
    /// A group: several tensors (or Nones) under one name (`gs = grad loss wrt w, b`, `params = (w, b)`).
    case group([ResultItem])
    /// An optimizer with its settings, step count and slots (`opt = adam(0.01)`).
    case optimizer(Optimizer)
}

/// A user function: `f(x) = ...`, or `custom f(x) = ... grad(dy) = ...`.
public final class FunctionDefinition {
    public let name: String
    public let parameters: [String]
    public let body: FunctionBody
    /// For custom functions: the cotangent's name and the gradient body.
    public let customGradient: (cotangent: String, body: FunctionBody)?
    /// The definition as written, for `:save`.
    public let source: String
    /// The forward part as written (`f(x) = ...`), for `:save ... without custom`.
    public let plainSource: String
    /// The text the definition is part of: an error in the body is shown against it, or, when the function
    /// is called from other text (a file that `:load`ed it, a later line of the REPL), at the call.
    let definedIn: SourceText

    init(name: String, parameters: [String], body: FunctionBody, customGradient: (cotangent: String, body: FunctionBody)?,
         source: String, plainSource: String, definedIn: SourceText) {
        self.definedIn = definedIn
        self.name = name
        self.parameters = parameters
        self.body = body
        self.customGradient = customGradient
        self.source = source
        self.plainSource = plainSource
    }
}

/// The user's settings: printing, colour and NaN-origin tracking.
public struct Settings {
    public var precision = 4
    public var lineWidth = 80
    public var color = false
    public var anomaly = true
    /// Unicode drawing (braille plots, box-drawing graphs); false draws in ASCII.
    public var unicode = true
    public init() {}
}

/// One notebook: the workspace, the tapes and the settings. Runs statements and reports outcomes;
/// it does no terminal I/O.
public final class Session {
    public let context = GradientContext()
    var workspace = NameTable<Binding>()
    public var settings = Settings() {
        didSet { context.detectsAnomalies = settings.anomaly }
    }
    var random = RandomGenerator(seed: UInt64(UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970 * 1000))))
    /// Statements that succeeded, as written, in order (for `:save`).
    public internal(set) var history: [HistoryEntry] = []
    /// The gradients of the last `grad`, for `:grads`.
    public internal(set) var lastGradients: [(label: String, value: Value)] = []
    /// Polled between iterations and long operations; true stops the statement with `interrupted`.
    public var interruptCheck: (() -> Bool)? {
        didSet { context.interruptCheck = interruptCheck }
    }
    /// Whether Ctrl-C undoes the loop iteration it interrupts (see `runLoop`). A session that goes on after
    /// it (the REPL, a notebook) needs that; a replay that stops there (`tapebook run`) does not, and then
    /// keeps no copy of the workspace at each iteration: the copy held the previous iteration's values.
    public var undoesInterruptedIteration = true
    /// Called while a `repeat` runs, with (iteration, total, last value of the shown name).
    public var progress: ((Int, Int, Double?) -> Void)?
    /// Where relative file names are resolved; nil means the process's directory.
    public var directory: String?
    /// While a file someone else wrote is replayed, its folder (symbolic links resolved): the only place
    /// its statements may write (see `writeFile`). Nil for what a person typed, and with `--trust`.
    public var replayFolder: String?
    /// `--trust`: files this session replays or `:load`s write as freely as typed statements.
    public var trustsFiles = false
    /// A session that only reads (export replays a file to learn what it computes): the files it writes
    /// are kept here, by path, instead of written, and its reads find them here first.
    public var keptFiles: [String: [UInt8]]?
    /// Seconds spent reading input files with `load`, so `run --time` can report the work alone.
    public internal(set) var fileReadingSeconds = 0.0

    /// The source being run, for spans and error lines.
    var sourceText = SourceText("", firstLine: 1)
    /// Local scopes of function calls, innermost last.
    var scopes: [NameTable<Binding>] = []
    var callDepth = 0
    /// Whether a group was ever bound: until then no name can give one, and none is looked up to ask.
    var groupsBound = false
    /// Stops recursion through functions before the stack overflows (a body deep enough overflows it in
    /// fewer than 100 calls); made anew by each statement that is not inside a function call.
    var stack = StackMeter()
    /// How many `:load` and `:time` commands are running inside one another (a file that loads itself).
    var nestedRunDepth = 0
    /// Loops running inside one another in this statement: Ctrl-C stops the outermost one.
    var loopDepth = 0
    /// Names read in a branch of `if` that did not run, with the branch's line, for None reasons.
    var untakenBranchNames: [String: Int] = [:]
    /// The labels of the last few `grad`s, by target and sources (see `gradientLabels`).
    var recentGradientLabels: [(target: String, sources: [String], labels: [String])] = []
    /// Lines `print` wrote while a statement ran, given before the statement's own outcome.
    var printedOutcomes: [StatementOutcome] = []
    /// Receives each `print` as it runs (a loop's prints as the loop goes); nil collects them into the
    /// statement's outcomes.
    public var onPrint: ((StatementOutcome) -> Void)?
    static let maximumNestedRuns = 32

    public init() {}

    /// A statement that succeeded, as it will be saved.
    public struct HistoryEntry {
        public var source: String
        public var definesFunction: String?
    }

    // MARK: Running

    /// Runs every statement in `text`. Stops at the first failure unless `keepGoing`.
    /// `onOutcome` sees each outcome as soon as its statement has run. `text` starts at `firstColumn` of
    /// `firstLine` (the statement of `:time` starts after the command's name).
    @discardableResult
    public func run(_ text: String, firstLine: Int = 1, firstColumn: Int = 1, keepGoing: Bool = false,
                    onOutcome: (StatementOutcome) -> Void = { _ in }) -> [StatementOutcome] {
        var all: [StatementOutcome] = []
        var parser = Parser(source: text, firstLine: firstLine, firstColumn: firstColumn)
        let source = SourceText(text, firstLine: firstLine)
        while true {
            let statement: Statement
            do {
                guard let next = try parser.nextStatement() else { break }
                statement = next
            } catch let error as SyntaxError {
                let outcome = StatementOutcome(line: error.span.start.line, source: source.line(error.span.start.line),
                                               result: .error(EvaluationError(error.message, at: error.span)))
                onOutcome(outcome)
                all.append(outcome)
                if keepGoing { continue } else { break }
            } catch {
                break
            }
            let outcomes = execute(statement, in: source)
            for o in outcomes { onOutcome(o) }
            all.append(contentsOf: outcomes)
            if outcomes.contains(where: { $0.quit }) { break }
            if !keepGoing, outcomes.contains(where: { if case .error = $0.result { return true } else { return false } }) { break }
        }
        return all
    }

    /// Runs one parsed statement of `source`. On failure the workspace is left exactly as it was.
    public func execute(_ statement: Statement, in source: SourceText) -> [StatementOutcome] {
        let savedSource = sourceText
        sourceText = source
        defer { sourceText = savedSource }
        let snapshot = (workspace, random, history.count)
        if callDepth == 0 { stack = StackMeter() }
        context.currentLine = statement.span.start.line
        let printedBefore = printedOutcomes.count
        // What `print` wrote comes first, whether the statement succeeds or not.
        func printed() -> [StatementOutcome] {
            defer { printedOutcomes.removeSubrange(printedBefore...) }
            return Array(printedOutcomes[printedBefore...])
        }
        do {
            var outcomes: [StatementOutcome] = []
            try executeStatement(statement, printing: true, into: &outcomes)
            outcomes = printed() + outcomes
            if case .meta = statement.kind {} else {
                // A silenced statement is saved with its `;`, so that a replay prints what this session printed.
                let text = source.text(of: statement.span) + (statement.silenced ? ";" : "")
                history.append(HistoryEntry(source: text, definesFunction: definedFunction(statement)))
            }
            return outcomes
        } catch {
            workspace = snapshot.0
            random = snapshot.1
            history.removeSubrange(snapshot.2...)
            scopes = []
            callDepth = 0
            loopDepth = 0
            return printed() + [StatementOutcome(line: statement.span.start.line, source: source.text(of: statement.span),
                                     result: .error(evaluationError(error, at: statement.span)))]
        }
    }

    private func definedFunction(_ statement: Statement) -> String? {
        switch statement.kind {
        case .functionDefinition(let name, _, _), .customFunctionDefinition(let name, _, _, _, _): return name.name
        default: return nil
        }
    }

    /// Turns any thrown error into an `EvaluationError` with a span.
    func evaluationError(_ error: Error, at span: SourceSpan) -> EvaluationError {
        switch error {
        case let e as EvaluationError: return e
        case let e as SyntaxError: return EvaluationError(e.message, at: e.span)
        case let e as TensorError: return EvaluationError(e.message, at: span)
        case let e as GradientError: return EvaluationError(e.message, at: span)
        default: return EvaluationError("\(error)", at: span)
        }
    }

    // MARK: Workspace

    /// The value bound to `name`, if it is a tensor.
    public func value(named name: String) -> Value? {
        if case .value(let v)? = lookup(name) { return v }
        return nil
    }

    func lookup(_ name: String) -> Binding? {
        var i = scopes.count - 1
        while i >= 0 {
            if let b = scopes[i][name] { return b }
            i -= 1
        }
        return workspace[name]
    }

    func bind(_ name: String, _ binding: Binding) {
        if case .group = binding { groupsBound = true }
        if scopes.isEmpty {
            if case .tape(let old)? = workspace.updateValue(binding, forKey: name) {
                if case .tape(let new) = binding, new === old {} else { releaseTape(old, rebinding: name) }
            }
        } else {
            scopes[scopes.count - 1][name] = binding
        }
    }

    /// Frees a tape's slot when no name refers to it any more.
    func releaseTape(_ tape: Tape, rebinding name: String) {
        let stillBound = workspace.contains { key, b in
            if key != name, case .tape(let t) = b { return t === tape }
            return false
        }
        if !stillBound { context.forgetTape(tape, clearingFrom: workspaceValues) }
    }

    /// Every tensor bound in the workspace.
    public var workspaceValues: [Value] {
        workspace.values.compactMap { if case .value(let v) = $0 { return v } else { return nil } }
    }

    /// Forgets everything: workspace, tapes, history.
    public func reset() {
        context.reset(workspaceValues)
        workspace = NameTable()
        history = []
        lastGradients = []
    }

    /// Resolves a file name against the session's directory.
    func path(_ name: String) -> String {
        if name.hasPrefix("/") || directory == nil { return name }
        return PathText.appending(name, to: directory!)
    }

    /// Sets the seed of `rand`/`randn`.
    public func setSeed(_ seed: UInt64) { random = RandomGenerator(seed: seed) }
}

/// Source text with its lines, to quote statements and error lines.
public struct SourceText {
    public let text: String
    public let firstLine: Int
    let lines: [String]
    let utf8: [UInt8]

    public init(_ text: String, firstLine: Int) {
        self.text = text
        self.firstLine = firstLine
        self.lines = text.splitLines()
        self.utf8 = Array(text.utf8)
    }

    /// The text of line `number` (as numbered in spans).
    public func line(_ number: Int) -> String {
        let i = number - firstLine
        return i >= 0 && i < lines.count ? lines[i] : ""
    }

    /// The text a span covers.
    public func text(of span: SourceSpan) -> String {
        let a = max(0, min(span.start.offset, utf8.count)), b = max(a, min(span.end.offset, utf8.count))
        return String(decoding: utf8[a..<b], as: UTF8.self)
    }

    /// The first character after `offset` that is not a space, as a location (for operator positions).
    func firstNonSpace(after location: SourceLocation, before end: SourceLocation) -> SourceLocation {
        var offset = location.offset, column = location.column, line = location.line
        while offset < min(end.offset, utf8.count) {
            let c = utf8[offset]
            if c == UInt8(ascii: "\n") { line += 1; column = 1; offset += 1; continue }
            if c != UInt8(ascii: " ") && c != UInt8(ascii: "\t") && c != UInt8(ascii: ")") { break }
            offset += 1
            if c & 0xC0 != 0x80 { column += 1 }
        }
        return SourceLocation(offset: offset, line: line, column: column)
    }
}

extension Session {
    public enum NameKind { case tensor, function, tape }

    /// Bound names and what they are, for completion.
    public func completionNames() -> [(String, NameKind)] {
        workspace.map { name, b in
            switch b {
            case .function: return (name, .function)
            case .tape: return (name, .tape)
            default: return (name, .tensor)
            }
        }
    }

    /// The language's keywords.
    public static let keywords = ["watch", "var", "grad", "jacobian", "batch_jacobian", "hessian", "jvp", "wrt", "along",
                                  "seed", "unconnected", "using", "with", "stop", "tape", "persistent", "nowatch", "on",
                                  "custom", "repeat", "as", "explain", "graph", "check", "plot", "over", "in", "to", "and",
                                  "save", "show", "reset", "zero", "if", "elif", "else", "while", "print", "true", "false", "apply"]

    /// Every built-in function's name.
    public static var builtinNames: [String] { (Builtins.names + Optimizer.Kind.allCases.map(\.rawValue)).sorted() }
}
