import TensorCore
import Autodiff
import TapeSyntax

// `if`, `while`, loops that Ctrl-C stops, `x += e` on plain tensors and element assignment (spec §3, §4, §7).
extension Session {
    /// A binary operator on two values: arithmetic recorded, comparisons untracked 0/1 tensors.
    /// (`%` and `//` are built-ins called with their operands' expressions: see `evaluate`.)
    static func apply(_ op: BinaryOperator, _ a: Value, _ b: Value) throws -> Value {
        switch op {
        case .add: return try a + b
        case .subtract: return try a - b
        case .multiply: return try a * b
        case .divide: return try a / b
        case .power: return try a.pow(b)
        case .matmul: return try Value.numpyMatmul(a, b)
        case .equal: return try a.compare(.equal, b)
        case .notEqual: return try a.compare(.notEqual, b)
        case .less: return try a.compare(.less, b)
        case .greater: return try a.compare(.greater, b)
        case .lessEqual: return try a.compare(.lessEqual, b)
        case .greaterEqual: return try a.compare(.greaterEqual, b)
        case .modulo, .floorDivide: throw GradientError("\(op.rawValue) is evaluated by its built-in function")
        }
    }

    /// The built-in that `%` or `//` calls: NumPy's `mod` and `floor_divide`, with TensorFlow's gradients.
    static func builtinName(of op: BinaryOperator) -> String { op == .modulo ? "mod" : "floor_divide" }

    /// A condition of `if`, `elif` or `while`: a scalar or one-element tensor, non-zero is true; never recorded.
    func condition(_ expr: Expr) throws -> Bool {
        let v = try context.withRecordingStopped { try evaluate(expr) }
        guard v.tensor.count == 1 else {
            if v.tensor.count == 0 {
                throw EvaluationError("a condition must have one element, got an empty tensor of shape \(Shape.describe(v.shape))", at: expr.span)
            }
            throw EvaluationError("a condition must have one element, got a tensor of shape \(Shape.describe(v.shape))", at: expr.span,
                                  note: "use any(...) or all(...) to ask about every element")
        }
        let x = v.tensor.firstScalar
        guard !x.isNaN else { throw EvaluationError("the condition is NaN, neither true nor false", at: expr.span) }
        return x != 0
    }

    /// Polled between a loop's statements: Ctrl-C (or the test hook) stops the loop there.
    func checkLoopInterrupt() throws {
        if let check = interruptCheck, check() { throw GradientError(Session.interrupted) }
    }

    static let interrupted = "interrupted"

    private func isInterruption(_ error: Error) -> Bool {
        switch error {
        case let e as GradientError: return e.message == Session.interrupted
        case let e as EvaluationError: return e.message == Session.interrupted
        default: return false
        }
    }

    /// Runs a loop's iterations, numbered from 0, until `iteration` returns false. Ctrl-C stops the outermost
    /// loop as it stops a Python training loop: the iterations that finished stay done, the one it
    /// interrupted is undone. Returns whether Ctrl-C stopped it; `iterations` counts those that finished.
    func runLoop(total: Int?, iterations: inout Int, _ iteration: (Int) throws -> Bool) throws -> Bool {
        // NOTE: only the outermost loop of a statement stops: an inner one passes the interruption out, as
        // KeyboardInterrupt leaves every Python loop.
        let outermost = loopDepth == 0 && callDepth == 0
        loopDepth += 1
        defer { loopDepth -= 1 }
        // Only an iteration that Ctrl-C can stop, and whose undoing matters, keeps a copy of the workspace as it
        // began: the copy holds the previous iteration's values (W8 peak memory) and makes the iteration's
        // first binding copy the name table.
        let undoes = outermost && interruptCheck != nil && undoesInterruptedIteration
        while true {
            let snapshot = undoes ? (workspace, random, untakenBranchNames) : nil
            do {
                try checkLoopInterrupt()
                guard try iteration(iterations) else { return false }
            } catch where outermost && isInterruption(error) {
                if let snapshot { (workspace, random, untakenBranchNames) = snapshot }
                return true
            }
            iterations += 1
        }
    }

    /// The names an expression or block reads, for the None reason of a branch that did not run.
    static func namesRead(in statements: [Statement]) -> Set<String> {
        var names = Set<String>()
        func visit(_ e: Expr) {
            if case .name(let n) = e.kind { names.insert(n) }
            e.subexpressions.forEach(visit)
        }
        for s in statements {
            switch s.kind {
            case .expression(let e), .assignment(_, let e), .variableDeclaration(_, let e), .update(_, _, let e), .save(let e, _),
                 .graph(let e, _): visit(e)
            case .indexAssignment(let t, _, _, let e): names.insert(t.name); visit(e)
            case .multipleAssignment(_, let e): visit(e)
            case .expressionList(let es), .print(let es): es.forEach(visit)
            case .apply(let optimizer, let variables, let gradients):
                visit(optimizer); variables.forEach { names.insert($0.name) }; gradients.forEach(visit)
            case .conditional(let branches, let otherwise):
                for b in branches { visit(b.condition); names.formUnion(namesRead(in: b.body)) }
                names.formUnion(namesRead(in: otherwise ?? []))
            case .whileLoop(let c, let body): visit(c); names.formUnion(namesRead(in: body))
            case .repeatLoop(_, _, _, let body), .withStop(_, let body), .withTape(_, _, _, let body):
                names.formUnion(namesRead(in: body))
            default: break
            }
        }
        return names
    }

    // MARK: Element assignment

    /// `x[i] = e`, `x[1:3] = e`, `x[[0, 2]] = e`, `x[x < 0] = 0`, `x[i] += e`. On a plain tensor, `x` is
    /// rebound to a copy with those elements replaced, recorded like TensorFlow's `tensor_scatter_nd_update`
    /// (the gradient reaches `e` at those places and the old `x` everywhere else); on a variable, the
    /// variable is updated in place, unrecorded.
    func assignElements(_ target: Identifier, _ items: [IndexItem], _ op: UpdateOperator?, _ expr: Expr,
                        statement: Statement) throws -> Value {
        guard case .value(let old)? = lookup(target.name) else {
            throw unknownOrWrongKind(target, expected: "a tensor whose elements to assign")
        }
        let subscriptSpan = SourceSpan(start: items.first?.span.start ?? target.span.end, end: items.last?.span.end ?? target.span.end)
        // The selected places, found by indexing a tensor of flat positions with the same subscript: every
        // indexing rule (negative indices, slices, index lists, masks) is the one reading uses.
        let count = old.tensor.count
        let positionsTensor = context.constant(Tensor(shape: old.shape, scalars: (0..<count).map(Double.init)))
        let selected = try index(positionsTensor, items, span: SourceSpan(start: target.span.start, end: subscriptSpan.end))
        let positions = selected.tensor.scalars.map { Int($0) }
        var value = try evaluate(expr)
        if let op {
            let current = try index(old, items, span: SourceSpan(start: target.span.start, end: subscriptSpan.end))
            value = try at(expr.span) { try Session.apply(op.binary, current, value) }
        }
        let updates = try at(expr.span) {
            do { return try value.broadcast(to: selected.shape) } catch is TensorError {
                throw TensorError("cannot assign a value of shape \(Shape.describe(value.shape)) to the elements of \(target.name) it selects, of shape \(Shape.describe(selected.shape))")
            }
        }
        if let variable = old.variable {
            // A variable: in place and unrecorded (TensorFlow's `assign` on a slice); a repeated index takes the
            // last value written to it, as NumPy does.
            var scalars = old.tensor.scalars
            let written = updates.tensor.scalars
            for (k, p) in positions.enumerated() { scalars[p] = written[k] }
            let next = context.variable(Tensor(shape: old.shape, scalars: scalars), identity: variable)
            bind(target.name, .value(next))
            return next
        }
        var seen = [Bool](repeating: false, count: count)
        for p in positions {
            guard !seen[p] else {
                throw EvaluationError("the subscript selects an element of \(target.name) more than once: which value it gets is undefined", at: subscriptSpan,
                                      note: "TensorFlow's tensor_scatter_nd_update does not define it either; assign each element once")
            }
            seen[p] = true
        }
        let next = try at(statement.span) { try old.scatterUpdate(positions: positions, updates: updates) }
        if !scopes.isEmpty, case .tape? = lookup(target.name) {
            throw EvaluationError("\(target.name) is a tape and cannot be rebound inside a function", at: target.span)
        }
        bind(target.name, .value(next))
        return next
    }
}
