import TensorCore
import Autodiff
import TapeSyntax

/// A failure of a statement, with where it happened and what was expected.
public struct EvaluationError: Error, CustomStringConvertible {
    public var message: String
    public var span: SourceSpan
    /// A hint: what was expected, or how to fix it.
    public var note: String?

    public init(_ message: String, at span: SourceSpan, note: String? = nil) {
        self.message = message
        self.span = span
        self.note = note
    }

    public var description: String { "\(span.start): error: \(message)" }
}

/// What one statement gives back, before any formatting.
public enum StatementResult {
    /// One tensor; `label` is `x` for `x = ...`, `∂y/∂x` for a gradient, nil for a bare expression.
    case tensor(label: String?, value: Value)
    /// Several results (`a, b = ...`, `grad y wrt a, b`).
    case several([(label: String?, item: ResultItem)])
    /// An unconnected gradient, with the reason in words.
    case none(label: String?, reason: String)
    /// Text output: listings, tables, plots, help.
    case text(String)
    /// Nothing to show.
    case silent
    /// The statement failed.
    case error(EvaluationError)
}

/// A picture of a statement's result, for front ends that draw (the Jupyter kernel); the terminal prints the text.
public enum Figure {
    /// A computation graph in Graphviz's DOT language.
    case graph(dot: String)
    /// Curves, each with a legend label and its points; `xRange` is the range sampled, when there is one.
    case plot(series: [(label: String, xs: [Double], ys: [Double])], xRange: (lower: Double, upper: Double)?)
}

/// One item of a several-result statement.
public enum ResultItem {
    case value(Value)
    case none(reason: String)
}

/// The outcome of one statement: where it was, its text, and its result.
public struct StatementOutcome {
    /// The statement's first line.
    public var line: Int
    /// The statement as written.
    public var source: String
    public var result: StatementResult
    /// Names an assignment bound, for the JSON output.
    public var names: [String] = []
    /// Remarks printed after the result (`w is no longer a variable`).
    public var notes: [String] = []
    /// Whether the statement (a meta command) asked to leave.
    public var quit = false
    /// What a front end that shows pictures draws beside the text (`graph`, `plot`).
    public var figure: Figure?

    public init(line: Int, source: String, result: StatementResult) {
        self.line = line
        self.source = source
        self.result = result
    }
}

extension StatementResult {
    /// One labelled item.
    static func single(label: String?, item: ResultItem) -> StatementResult {
        switch item {
        case .value(let v): return .tensor(label: label, value: v)
        case .none(let reason): return .none(label: label, reason: reason)
        }
    }

    public var isError: Bool { if case .error = self { return true } else { return false } }
}
