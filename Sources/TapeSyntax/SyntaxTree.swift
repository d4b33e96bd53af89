/// A name as written in the source, with where it was written.
public struct Identifier: Hashable, Sendable {
    public var name: String
    public var span: SourceSpan
    public init(name: String, span: SourceSpan) {
        self.name = name
        self.span = span
    }
}

/// One statement; `silenced` when it ended with `;` (it prints nothing).
public struct Statement: Hashable, Sendable {
    public var kind: StatementKind
    /// From the statement's first token to its last, not including a trailing `;`.
    public var span: SourceSpan
    public var silenced: Bool

    public init(kind: StatementKind, span: SourceSpan, silenced: Bool = false) {
        self.kind = kind
        self.span = span
        self.silenced = silenced
    }
}

public indirect enum StatementKind: Hashable, Sendable {
    /// `expr`
    case expression(Expr)
    /// `a, 2 * b`: several values shown together (also the last statement of a custom `grad` block).
    case expressionList([Expr])
    /// `x = expr`
    case assignment(target: Identifier, value: Expr)
    /// `a, b = expr`
    case multipleAssignment(targets: [Identifier], value: Expr)
    /// `f(x, y) = expr` or `f(x) = < a = x^2; a + 1 >`
    case functionDefinition(name: Identifier, parameters: [Identifier], body: FunctionBody)
    /// `custom f(a, b) = a * b grad(dy) = dy * b, dy * a`
    case customFunctionDefinition(name: Identifier, parameters: [Identifier], body: FunctionBody,
                                  cotangent: Identifier, gradient: FunctionBody)
    /// `watch x, y` or `watch x on t`
    case watch(names: [Identifier], tape: Identifier?)
    /// `var w = expr`
    case variableDeclaration(name: Identifier, value: Expr)
    /// `w += expr`, `w -= expr`, `x *= expr`, `x /= expr`
    case update(target: Identifier, operator: UpdateOperator, value: Expr)
    /// `x[i] = expr`, `x[1:3] += expr`, `x[x < 0] = 0`: `operator` is nil for `=`.
    case indexAssignment(target: Identifier, subscript: [IndexItem], operator: UpdateOperator?, value: Expr)
    /// `if C < … > elif C < … > else < … >`
    case conditional(branches: [ConditionalBranch], otherwise: [Statement]?)
    /// `while C < … >`
    case whileLoop(condition: Expr, body: [Statement])
    /// `print e1, e2`
    case print([Expr])
    /// `with stop < … >` or `with stop t < … >`
    case withStop(tape: Identifier?, body: [Statement])
    /// `with tape t [persistent] [nowatch] < … >`
    case withTape(name: Identifier, persistent: Bool, nowatch: Bool, body: [Statement])
    /// `tape` or `tape t`
    case showTape(Identifier?)
    /// `tape reset` or `tape reset t`
    case resetTape(Identifier?)
    /// `repeat N [as i] [show loss] < … >`
    case repeatLoop(count: Expr, counter: Identifier?, shown: Identifier?, body: [Statement])
    /// `save x to "x.npy"`
    case save(value: Expr, path: String)
    /// `explain grad Y wrt X`
    case explain(Gradient)
    /// `graph Y` or `graph Y to "g.dot"`
    case graph(value: Expr, path: String?)
    /// `check grad Y wrt X`
    case checkGradient(Gradient)
    /// `plot f(x), g(x) over x in A..B [and grad]`
    case plot(expressions: [Expr], variable: Identifier, lower: Expr, upper: Expr, includeGradient: Bool)
    /// `plot v` (a vector against its index), `plot ys, zs against xs`
    case plotValues(series: [Expr], against: Expr?)
    /// `apply opt to w, b with gw, gb` or `apply opt to params with gs`
    case apply(optimizer: Expr, variables: [Identifier], gradients: [Expr])
    /// `:name argument…` — `argument` is the raw rest of the line, trimmed (comments included); it starts
    /// at `argumentColumn` of the statement's line (`:time` parses it, and points into it).
    case meta(name: String, argument: String, argumentColumn: Int)
}

public enum UpdateOperator: String, Hashable, Sendable {
    case add = "+="
    case subtract = "-="
    case multiply = "*="
    case divide = "/="

    /// The operator that `x op= e` applies: `x = x op e`.
    public var binary: BinaryOperator {
        switch self {
        case .add: return .add
        case .subtract: return .subtract
        case .multiply: return .multiply
        case .divide: return .divide
        }
    }
}

/// One `if C < … >` or `elif C < … >` of a conditional.
public struct ConditionalBranch: Hashable, Sendable {
    public var condition: Expr
    public var body: [Statement]
    public init(condition: Expr, body: [Statement]) {
        self.condition = condition
        self.body = body
    }
}

/// The body of a function or of a custom gradient.
public indirect enum FunctionBody: Hashable, Sendable {
    /// `= expr` or `= e1, e2` (a custom gradient gives one expression per parameter).
    case expressions([Expr])
    /// `= < statements >`: the value of the last statement is the result.
    case block([Statement])
}

public struct Expr: Hashable, Sendable {
    public var kind: ExprKind { didSet { hasGroupForm = Self.hasGroupForm(kind) } }
    public var span: SourceSpan
    /// Whether a group can come from this expression's own syntax, whatever its names are bound to: a group
    /// literal `(a, b)`, a gradient with several sources, or a call of `groupCalls`, along the operands and
    /// positional arguments.
    // NOTE: kept beside the tree, not walked: the evaluator asks it of every statement a loop runs.
    public private(set) var hasGroupForm: Bool

    /// The calls whose result is a group of their tensor arguments.
    // NOTE: an array, not a set: the parser reads it at every call, and a set's first use instantiates its
    // type's metadata at run time (docs/DECISIONS.md, "Start-up and `.npy` reading").
    public static let groupCalls = ["clip_by_global_norm"]

    public init(kind: ExprKind, span: SourceSpan) {
        self.kind = kind
        self.span = span
        self.hasGroupForm = Self.hasGroupForm(kind)
    }

    private static func hasGroupForm(_ kind: ExprKind) -> Bool {
        switch kind {
        case .group: return true
        case .gradient(let g): return g.sources.count > 1
        case .unary(_, let operand): return operand.hasGroupForm
        case .binary(_, let lhs, let rhs): return lhs.hasGroupForm || rhs.hasGroupForm
        case .call(let name, let arguments):
            return groupCalls.contains(name) || arguments.contains { $0.label == nil && $0.value.hasGroupForm }
        default: return false
        }
    }
}

public indirect enum ExprKind: Hashable, Sendable {
    case number(Double)
    case name(String)
    /// A double-quoted string (file names), escapes resolved.
    case string(String)
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    /// `f(a, b, axis=0)`: positional arguments first, then keyword arguments.
    case call(name: String, arguments: [Argument])
    /// `a[1, 2:3, ::-1]`
    case index(Expr, [IndexItem])
    /// `a.T`
    case transpose(Expr)
    /// `[e1, e2, …]`; nested literals are elements that are themselves `.tensor`.
    case tensor([Expr])
    /// `grad`, `jacobian`, `batch_jacobian`, `hessian`, `jvp`.
    case gradient(Gradient)
    /// `(a, b)` or `(x,)`: a group of tensors.
    case group([Expr])
}

extension Expr {
    /// The expressions directly inside this one, in source order: operands, arguments, indexes and slice
    /// bounds, elements, a gradient's target, seed and tangent (its sources are names, not expressions).
    public var subexpressions: [Expr] {
        switch kind {
        case .number, .name, .string: return []
        case .unary(_, let a), .transpose(let a): return [a]
        case .binary(_, let a, let b): return [a, b]
        case .call(_, let arguments): return arguments.map(\.value)
        case .index(let base, let items):
            return [base] + items.flatMap { item -> [Expr] in
                switch item.kind {
                case .single(let x): return [x]
                case .slice(let a, let b, let c): return [a, b, c].compactMap { $0 }
                }
            }
        case .tensor(let elements), .group(let elements): return elements
        case .gradient(let g): return [g.target] + [g.seed, g.tangent].compactMap { $0 }
        }
    }
}

public enum UnaryOperator: String, Hashable, Sendable {
    case negate = "-"
    case plus = "+"
}

public enum BinaryOperator: String, Hashable, Sendable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
    case matmul = "@"
    /// `^` or `**`
    case power = "^"
    /// NumPy's `mod` (Python's `%` on floats: the sign of the divisor).
    case modulo = "%"
    /// NumPy's `floor_divide`.
    case floorDivide = "//"
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case greater = ">"
    case lessEqual = "<="
    case greaterEqual = ">="

    /// Whether the operator compares (its result is an untracked 0/1 tensor).
    public var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .greater, .lessEqual, .greaterEqual: return true
        default: return false
        }
    }
}

/// A call argument; `label` is set for keyword arguments (`axis=0`).
public struct Argument: Hashable, Sendable {
    public var label: Identifier?
    public var value: Expr
    public init(label: Identifier?, value: Expr) {
        self.label = label
        self.value = value
    }
}

/// One comma-separated part of a subscript.
public struct IndexItem: Hashable, Sendable {
    public var kind: IndexItemKind
    public var span: SourceSpan
    public init(kind: IndexItemKind, span: SourceSpan) {
        self.kind = kind
        self.span = span
    }
}

public indirect enum IndexItemKind: Hashable, Sendable {
    /// `a[i]`: the evaluator decides if `i` is a number or an index tensor (`a[[0, 0, 2]]`).
    case single(Expr)
    /// `a[start:stop:step]`, each part optional.
    case slice(start: Expr?, stop: Expr?, step: Expr?)
}

public enum GradientKind: String, Hashable, Sendable {
    case grad, jacobian, batchJacobian = "batch_jacobian", hessian, jvp
}

/// `grad Y wrt X1, X2 [seed S] [unconnected zero] [using t]`, and the other gradient forms.
public struct Gradient: Hashable, Sendable {
    public var kind: GradientKind
    public var target: Expr
    public var sources: [Identifier]
    /// `seed S` (grad only): the output gradient.
    public var seed: Expr?
    /// `along V` (jvp only, required there): the direction.
    public var tangent: Expr?
    /// `unconnected zero` (grad, jacobian, batch_jacobian).
    public var unconnectedZero: Bool
    /// `using t` (all but jvp): the scoped tape to read.
    public var tape: Identifier?

    public init(kind: GradientKind, target: Expr, sources: [Identifier], seed: Expr? = nil,
                tangent: Expr? = nil, unconnectedZero: Bool = false, tape: Identifier? = nil) {
        self.kind = kind
        self.target = target
        self.sources = sources
        self.seed = seed
        self.tangent = tangent
        self.unconnectedZero = unconnectedZero
        self.tape = tape
    }
}
