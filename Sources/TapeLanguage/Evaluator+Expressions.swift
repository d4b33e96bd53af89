import TensorCore
import Autodiff
import TapeSyntax

/// The result of an expression before it is bound or shown.
enum Evaluated {
    case value(Value)
    /// Several results (`clip_by_global_norm`, a custom function's tuple).
    case several([Value])
    /// Gradients: one item per source, each a value or None. `labelled` for `grad` (shown as ∂y/∂x).
    case gradients([(label: String?, item: ResultItem)], labelled: Bool)
    /// A group (`(a, b)`, a name bound to one, memberwise arithmetic on one); labels where the members have names.
    case group([(label: String?, item: ResultItem)])
    /// An optimizer (`adam(0.01)`, a name bound to one).
    case optimizer(Optimizer)

    var items: [(label: String?, item: ResultItem)] {
        switch self {
        case .value(let v): return [(nil, .value(v))]
        case .several(let vs): return vs.map { (nil, .value($0)) }
        case .gradients(let items, _), .group(let items): return items
        case .optimizer: return []
        }
    }

    var isGradient: Bool { if case .gradients(_, true) = self { return true } else { return false } }
    var label: String? { items.count == 1 ? items[0].label : nil }

    func asResult(label: String?) -> StatementResult {
        if case .optimizer(let o) = self { return .text((label.map { $0 + " = " } ?? "") + o.description) }
        if case .group(let items) = self {
            return .several(items.enumerated().map { i, item in (label: label.map { "\($0)[\(i)]" } ?? item.label ?? "[\(i)]", item: item.item) })
        }
        let items = self.items
        if items.isEmpty { return .silent }
        if items.count == 1 { return .single(label: isGradient ? items[0].label : label, item: items[0].item) }
        if case .gradients(_, false) = self { return .several(items) }
        return .several(items)
    }
}

extension Session {
    /// The operations whose 0/1 results index like NumPy's boolean masks.
    static let comparisons: Set<String> = ["less", "greater", "lessEqual", "greaterEqual", "equal", "notEqual"]

    /// Evaluates an expression that may give several results or None (a statement's right side).
    func evaluateTop(_ expr: Expr) throws -> Evaluated {
        switch expr.kind {
        case .gradient(let g): return try evaluateGradient(g, span: expr.span)
        case .name(let name):
            switch lookup(name) {
            case .none(let reason)?: return .gradients([(label: nil, item: .none(reason: reason))], labelled: false)
            case .group(let members)?: return .group(members.map { (nil, $0) })
            case .optimizer(let o)?: return .optimizer(o)
            default: return .value(try evaluate(expr))
            }
        case .call(let name, let arguments):
            if mayGiveGroup(expr), !Session.takesGroups(name) { return try evaluateMembers(expr) }
            return try evaluateCall(name, arguments, span: expr.span)
        case .group, .binary, .unary:
            return mayGiveGroup(expr) ? try evaluateMembers(expr) : .value(try evaluate(expr))
        case .index(let base, let items):
            if let member = try groupMember(base, items, span: expr.span) { return .gradients([(label: nil, item: member)], labelled: false) }
            return .value(try evaluate(expr))
        default:
            return .value(try evaluate(expr))
        }
    }

    /// A call of a user function or a built-in.
    private func evaluateCall(_ name: String, _ arguments: [Argument], span: SourceSpan) throws -> Evaluated {
        let binding = lookup(name)
        if case .function(let f)? = binding { return try call(f, arguments, span: span) }
        // NOTE: built-ins first: no optimizer's name is a built-in's, and a loop calls built-ins.
        if binding == nil, let builtin = Builtins.named(name) {
            let arguments = builtin.takesGroups ? try expandGroupArguments(arguments) : arguments
            let args = try CallArguments(session: self, name: name, builtin: builtin, arguments: arguments, span: span)
            if let single = builtin.single { return .value(try single(args)) }
            let results = try builtin.run(args)
            return results.count == 1 ? .value(results[0]) : .several(results)
        }
        if binding == nil, let kind = Optimizer.Kind(rawValue: name) { return .optimizer(try makeOptimizer(kind, arguments, span: span)) }
        switch binding {
        case nil: throw unknownName(name, at: SourceSpan(start: span.start, end: SourceLocation(
            offset: span.start.offset + name.utf8.count, line: span.start.line, column: span.start.column + name.count)))
        case .tape?: throw EvaluationError("\(name) is a tape, not a function", at: span)
        default: throw EvaluationError("\(name) is a tensor, not a function", at: span,
                                       note: "to multiply, write \(name) * (...)")
        }
    }

    /// The elementwise function of the built-in `name`, if it has one and no binding hides it.
    private func elementwiseBuiltin(_ name: String) -> UnaryFunction? {
        guard lookup(name) == nil, let f = Builtins.named(name)?.elementwise else { return nil }
        return f
    }

    /// Evaluates an expression to one tensor.
    func evaluate(_ expr: Expr) throws -> Value {
        switch expr.kind {
        case .number(let x):
            return context.constant(x)
        case .name(let name):
            switch lookup(name) {
            case .value(let v)?: return v
            case nil:
                if name == "pi" { return context.constant(Double.pi) }
                if name == "e" { return context.constant(2.718281828459045) }
                if name == "inf" { return context.constant(Double.infinity) }
                if name == "nan" { return context.constant(Double.nan) }
                if name == "true" { return context.constant(1) }
                if name == "false" { return context.constant(0) }
                throw unknownName(name, at: expr.span)
            case .none(let reason)?:
                throw EvaluationError("\(name) is None (\(reason))", at: expr.span, note: "a None gradient cannot be computed with; use `unconnected zero` to get zeros")
            case .function?:
                throw EvaluationError("\(name) is a function; call it as \(name)(...)", at: expr.span)
            case .tape?:
                throw EvaluationError("\(name) is a tape, not a tensor", at: expr.span, note: "read a tape with `grad y wrt x using \(name)`")
            case .group(let members)?:
                throw EvaluationError("\(name) is a group of \(members.count), not one tensor", at: expr.span,
                                      note: "take a member with \(name)[0], or unpack it with " + (0..<members.count).map { "m\($0)" }.joined(separator: ", ") + " = \(name)")
            case .optimizer?:
                throw EvaluationError("\(name) is an optimizer, not a tensor", at: expr.span, note: "use it with `apply \(name) to w with g`")
            }
        case .string:
            throw EvaluationError("a string can only be a file name (load(\"x.npy\"), save x to \"x.npy\")", at: expr.span)
        case .unary(let op, let operand):
            let v = try evaluate(operand)
            return op == .plus ? v : try at(expr.span) { try -v }
        case .binary(let op, let lhs, let rhs):
            if op == .modulo || op == .floorDivide {
                // NumPy's mod and floor_divide, as the built-ins define them (TensorFlow's gradients).
                let name = Session.builtinName(of: op)
                guard let builtin = Builtins.named(name) else { throw EvaluationError("\(op.rawValue) needs the built-in \(name)", at: expr.span) }
                let args = try CallArguments(session: self, name: name, builtin: builtin,
                                             arguments: [Argument(label: nil, value: lhs), Argument(label: nil, value: rhs)], span: expr.span)
                return try operatorError(op, lhs, rhs) {
                    if let single = builtin.single { return try single(args) }
                    return try builtin.run(args)[0]
                }
            }
            let a = try operand(lhs), b = try operand(rhs)
            return try operatorError(op, lhs, rhs) { try Session.apply(op, a, b) }
        case .call(let name, let arguments):
            // NOTE: `sin(y)` and its kind, the commonest call in a loop, skip `CallArguments` and the result's
            // wrapping (W2 calls `sin` 20,000 times); what they do and the errors they give are the same.
            if arguments.count == 1, arguments[0].label == nil, let f = elementwiseBuiltin(name) {
                return try evaluate(arguments[0].value).map(f)
            }
            return try single(try evaluateCall(name, arguments, span: expr.span), span: expr.span, what: "\(name)(...)")
        case .index(let base, let items):
            if let member = try groupMember(base, items, span: expr.span) {
                return try single(.gradients([(label: nil, item: member)], labelled: false), span: expr.span, what: sourceText.text(of: expr.span))
            }
            return try index(try evaluate(base), items, span: expr.span)
        case .transpose(let base):
            let v = try evaluate(base)
            return try at(expr.span) { try v.transposed() }
        case .tensor(let elements):
            return try literal(elements, span: expr.span)
        case .gradient(let g):
            return try single(try evaluateGradient(g, span: expr.span), span: expr.span, what: g.kind.rawValue)
        case .group(let members):
            throw EvaluationError("a group of \(members.count) where one tensor is expected", at: expr.span,
                                  note: "groups combine with arithmetic and elementwise functions; take one member with (...)[0]")
        }
    }

    /// An operand of an operator. A number literal there is one shared constant per value, so a loop's
    /// `* 0.9` does not make (and keep, in the graph) a new constant on every pass; an operator always
    /// returns a new value, so no name can get hold of the shared one (and `watch` it).
    func operand(_ expr: Expr) throws -> Value {
        if case .number(let x) = expr.kind { return context.literal(x) }
        return try evaluate(expr)
    }

    /// The one tensor of a result, or an error saying why there is not one.
    func single(_ result: Evaluated, span: SourceSpan, what: @autoclosure () -> String) throws -> Value {
        if case .value(let v) = result { return v }
        if case .optimizer = result {
            throw EvaluationError("\(what()) is an optimizer where one tensor is expected", at: span, note: "bind it to a name: opt = \(what())")
        }
        if case .group(let members) = result {
            throw EvaluationError("\(what()) is a group of \(members.count) where one tensor is expected", at: span,
                                  note: "take a member with [0], or bind it to a name")
        }
        let items = result.items
        guard items.count == 1 else {
            throw EvaluationError("\(what()) gives \(items.count) results where one tensor is expected", at: span,
                                  note: "bind them with `a, b = ...`")
        }
        switch items[0].item {
        case .value(let v): return v
        case .none(let reason):
            throw EvaluationError("\(items[0].label ?? what()) is None (\(reason))", at: span,
                                  note: "add `unconnected zero` to get zeros instead of None")
        }
    }

    /// Runs `body`, attributing tensor errors to `span`.
    func at<T>(_ span: SourceSpan, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as TensorError {
            throw EvaluationError(e.message, at: span)
        } catch let e as GradientError {
            throw EvaluationError(e.message, at: span)
        }
    }

    /// Runs a binary operation, pointing errors at the operator.
    private func operatorError(_ op: BinaryOperator, _ lhs: Expr, _ rhs: Expr, _ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let e as TensorError {
            let location = sourceText.firstNonSpace(after: lhs.span.end, before: rhs.span.start)
            let width = op == .power ? (sourceText.text(of: SourceSpan(start: location, end: rhs.span.start)).hasPrefix("**") ? 2 : 1) : op.rawValue.count
            let end = SourceLocation(offset: location.offset + width, line: location.line, column: location.column + width)
            throw EvaluationError(e.message, at: SourceSpan(start: location, end: end))
        }
    }

    // MARK: Literals

    func literal(_ elements: [Expr], span: SourceSpan) throws -> Value {
        if elements.isEmpty { return context.constant(Tensor(shape: [0], scalars: [])) }
        // Fast path: numbers only.
        var numbers: [Double] = []
        numbers.reserveCapacity(elements.count)
        for e in elements {
            switch e.kind {
            case .number(let x): numbers.append(x)
            case .unary(.negate, let inner): if case .number(let x) = inner.kind { numbers.append(-x) }
            default: break
            }
        }
        if numbers.count == elements.count { return context.constant(Tensor(vector: numbers)) }
        let values = try elements.map { try evaluate($0) }
        let shape = values[0].shape
        for (i, v) in values.enumerated() where v.shape != shape {
            throw EvaluationError("ragged tensor literal: element \(i + 1) has shape \(Shape.describe(v.shape)) but element 1 has shape \(Shape.describe(shape))",
                                  at: elements[i].span, note: "every element of a literal must have the same shape")
        }
        try Shape.checkAllocation([values.count] + shape)
        if values.contains(where: { $0.isTracked }) {
            return try at(span) { try Value.stack(values, axis: 0) }
        }
        var scalars: [Double] = []
        scalars.reserveCapacity(values.count * Shape.count(shape))
        for v in values { v.tensor.withUnsafeBufferPointer { scalars.append(contentsOf: $0) } }
        return context.constant(Tensor(shape: [values.count] + shape, scalars: scalars))
    }

    // MARK: Indexing

    func index(_ base: Value, _ items: [IndexItem], span: SourceSpan) throws -> Value {
        var subscripts: [AxisIndex] = []
        var gatherAt: (position: Int, indices: [Int], shape: [Int], span: SourceSpan)? = nil
        var keptBefore = 0
        for item in items {
            switch item.kind {
            case .single(let e):
                let v = try evaluate(e)
                if v.tensor.rank == 0 {
                    subscripts.append(.index(try wholeNumber(v.tensor.firstScalar, what: "an index", at: e.span)))
                } else if case .notDifferentiable(let op)? = v.untrackedReason, Session.comparisons.contains(op), items.count == 1, v.shape == base.shape {
                    // A 0/1 mask from a comparison selects elements, as a boolean index does in NumPy.
                    let selected = v.tensor.scalars.enumerated().filter { $0.element != 0 }.map(\.offset)
                    return try at(item.span) { try base.reshaped([-1]).gather(axis: 0, indices: selected, indexShape: [selected.count]) }
                } else {
                    guard gatherAt == nil else {
                        throw EvaluationError("only one index array is supported in a subscript", at: item.span)
                    }
                    let indices = try v.tensor.scalars.map { try wholeNumber($0, what: "an index", at: e.span) }
                    gatherAt = (keptBefore, indices, v.shape, item.span)
                    subscripts.append(.all)
                    keptBefore += 1
                }
            case .slice(let start, let stop, let step):
                func bound(_ e: Expr?) throws -> Int? {
                    guard let e else { return nil }
                    let v = try evaluate(e)
                    guard v.tensor.count == 1, v.tensor.rank == 0 else { throw EvaluationError("a slice bound must be a number", at: e.span) }
                    return try wholeNumber(v.tensor.firstScalar, what: "an index", at: e.span)
                }
                let s = try bound(step) ?? 1
                if s == 0 { throw EvaluationError("slice step cannot be zero", at: step?.span ?? item.span) }
                subscripts.append(.range(start: try bound(start), stop: try bound(stop), step: s))
                keptBefore += 1
            }
        }
        if subscripts.count > base.shape.count {
            throw EvaluationError("too many indices: \(subscripts.count) for a tensor of rank \(base.shape.count)" + (base.shape.isEmpty ? " (a scalar)" : ""), at: span)
        }
        var result = try at(span) { try base.slice(subscripts) }
        if let g = gatherAt {
            result = try at(g.span) { try result.gather(axis: g.position, indices: g.indices, indexShape: g.shape) }
        }
        return result
    }

    // MARK: Functions

    func call(_ f: FunctionDefinition, _ arguments: [Argument], span: SourceSpan) throws -> Evaluated {
        if let keyword = arguments.first(where: { $0.label != nil })?.label {
            throw EvaluationError("\(f.name) takes no keyword arguments, got '\(keyword.name)'", at: keyword.span)
        }
        guard arguments.count == f.parameters.count else {
            throw EvaluationError("\(f.name) takes \(f.parameters.count) argument\(f.parameters.count == 1 ? "" : "s") (\(f.parameters.joined(separator: ", "))), got \(arguments.count)", at: span)
        }
        guard callDepth < 100 else {
            throw EvaluationError("function calls are nested too deeply (more than 100): is \(f.name) recursive?", at: span)
        }
        guard !stack.isNearlyFull else {
            throw EvaluationError("function calls are nested too deeply (the stack is nearly full): is \(f.name) recursive?", at: span)
        }
        let inputs = try arguments.map { try evaluate($0.value) }
        callDepth += 1
        defer { callDepth -= 1 }
        do {
            return try callBody(f, inputs, span: span)
        } catch let e as EvaluationError where f.definedIn.firstLine != sourceText.firstLine || f.definedIn.text != sourceText.text {
            // The body's text is not the text being run: point at the call, and say where in the body.
            let place = "in \(f.name), at \(e.span.start.line):\(e.span.start.column) of the text that defined it"
            throw EvaluationError(e.message, at: span, note: e.note.map { place + "; " + $0 } ?? place)
        }
    }

    private func callBody(_ f: FunctionDefinition, _ inputs: [Value], span: SourceSpan) throws -> Evaluated {
        guard let custom = f.customGradient else {
            return try withScope(NameTable(names: f.parameters, elements: inputs.map { Binding.value($0) })) {
                try runBody(f.body, span: span)
            }
        }
        // A custom function is one operation: its forward runs unrecorded, its pullback is the grad body.
        let forward = try context.withRecordingStopped {
            try withScope(NameTable(names: f.parameters, elements: inputs.map { Binding.value($0) })) {
                try single(runBody(f.body, span: span), span: span, what: f.name)
            }
        }
        let gradient = CustomGradient(name: f.name) { [unowned self] inputs, dy in
            var scope = NameTable(names: f.parameters, elements: inputs.map { Binding.value($0) })
            scope[custom.cotangent] = .value(dy)
            let result = try self.withScope(scope) { try self.runBody(custom.body, span: span) }
            return result.items.map { if case .value(let v) = $0.item { return v } else { return nil } }
        }
        return .value(context.recordCustom(gradient, inputs: inputs, output: forward.tensor))
    }

    func withScope<T>(_ scope: NameTable<Binding>, _ body: () throws -> T) throws -> T {
        scopes.append(scope)
        defer { scopes.removeLast() }
        return try body()
    }

    /// The value of a function body: its expression(s), or its block's last statement.
    func runBody(_ body: FunctionBody, span: SourceSpan) throws -> Evaluated {
        switch body {
        case .expressions(let exprs):
            if exprs.count == 1 { return try evaluateTop(exprs[0]) }
            return .several(try exprs.map { try evaluate($0) })
        case .block(let statements):
            guard let last = statements.last else { throw EvaluationError("an empty block has no value", at: span) }
            var ignored: [StatementOutcome] = []
            for s in statements.dropLast() { try executeStatement(s, printing: false, into: &ignored) }
            switch last.kind {
            case .expression(let e): return try evaluateTop(e)
            case .expressionList(let es): return .several(try es.map { try evaluate($0) })
            case .assignment(let name, let e):
                let v = try evaluateTop(e)
                if case .value(let value) = v { bind(name.name, .value(value)) }
                return v
            default:
                throw EvaluationError("a block's last statement must be an expression: it is the block's value", at: last.span)
            }
        }
    }

    // MARK: Gradients

    func evaluateGradient(_ g: TapeSyntax.Gradient, span: SourceSpan) throws -> Evaluated {
        // Several targets (`grad (y0, y1) wrt x`): the gradient of their sum, as `tape.gradient([y0, y1], x)`.
        var targets: [Value]
        if mayGiveGroup(g.target) {
            let result = try evaluateMembers(g.target)
            targets = try result.items.enumerated().map { i, member in
                guard case .value(let v) = member.item else {
                    throw EvaluationError("target \(i) of \(g.kind.rawValue) is None", at: g.target.span)
                }
                return v
            }
            if targets.isEmpty { throw EvaluationError("\(g.kind.rawValue) needs at least one target", at: g.target.span) }
            if targets.count > 1, g.kind != .grad {
                throw EvaluationError("\(g.kind.rawValue) takes one target, got a group of \(targets.count)", at: g.target.span,
                                      note: "only grad sums several targets; stack them for a jacobian")
            }
        } else {
            targets = [try evaluate(g.target)]
        }
        let target = targets[0]
        let targetText = label(of: g.target)
        let tape = try g.tape.map { try self.tape(named: $0) }
        let (sources, sourceLabels, groupedSources) = try expandSources(g.sources, expected: "a tensor to differentiate with respect to")
        func item(_ gradient: Autodiff.Gradient, _ source: String) -> ResultItem {
            switch gradient {
            case .value(let v): return .value(v)
            case .none(let reason): return .none(reason: describe(reason, target: targetText, source: source, tape: g.tape?.name))
            }
        }
        func result(_ items: [(label: String?, item: ResultItem)], labelled: Bool) -> Evaluated {
            groupedSources ? .group(items) : .gradients(items, labelled: labelled)
        }
        return try at(span) {
            switch g.kind {
            case .grad:
                var seeds: [Value?] = [nil]
                if let seedExpr = g.seed {
                    if mayGiveGroup(seedExpr) {
                        seeds = try evaluateMembers(seedExpr).items.map { if case .value(let v) = $0.item { return v } else { return nil } }
                    } else {
                        seeds = [try evaluate(seedExpr)]
                    }
                    guard seeds.count == targets.count else {
                        throw EvaluationError("\(targets.count) targets need \(targets.count) seeds, got \(seeds.count)", at: seedExpr.span,
                                              note: "give one seed per target: seed (s0, s1)")
                    }
                } else {
                    seeds = targets.map { _ in nil }
                }
                let grads = try context.gradient(of: targets, wrt: sources, seeds: seeds, tape: tape, unconnectedZero: g.unconnectedZero)
                let labels = gradientLabels(target: targetText, sources: sourceLabels)
                return result(zip(grads, zip(labels, sourceLabels)).map { (label: $1.0, item: item($0, $1.1)) }, labelled: true)
            case .jacobian, .batchJacobian, .hessian, .jvp:
                if g.kind == .jvp && sources.count != 1 {
                    throw EvaluationError("jvp takes one source, got \(sources.count)", at: g.sources.count > 1 ? g.sources[1].span : g.sources[0].span)
                }
                let labelled = sources.count > 1 || groupedSources
                switch g.kind {
                case .jacobian, .batchJacobian:
                    let results = g.kind == .jacobian
                        ? try context.jacobians(of: target, wrt: sources, tape: tape, unconnectedZero: g.unconnectedZero)
                        : try context.batchJacobians(of: target, wrt: sources, tape: tape, unconnectedZero: g.unconnectedZero)
                    return result(zip(results, sourceLabels).map { (label: labelled ? "∂\(targetText)/∂\($1)" : nil, item: item($0, $1)) }, labelled: false)
                case .hessian:
                    if sources.count == 1 && !groupedSources {
                        let h = try context.hessian(of: target, wrt: sources[0], tape: tape)
                        return .gradients([(label: nil, item: item(h, sourceLabels[0]))], labelled: false)
                    }
                    let blocks = try context.hessianBlocks(of: target, wrt: sources, tape: tape)
                    var items: [(label: String?, item: ResultItem)] = []
                    for (i, a) in sourceLabels.enumerated() {
                        for (j, b) in sourceLabels.enumerated() {
                            items.append((label: "∂²\(targetText)/∂\(a)∂\(b)", item: item(blocks[i * sources.count + j], a)))
                        }
                    }
                    return result(items, labelled: false)
                default:
                    guard let tangentExpr = g.tangent else { throw EvaluationError("jvp needs `along V`", at: span) }
                    let r = try context.jvp(of: target, wrt: sources[0], along: try evaluate(tangentExpr), tape: tape)
                    return result([(label: nil, item: item(r, sourceLabels[0]))], labelled: false)
                }
            }
        }
    }

    /// `∂y/∂x` for each source, kept for the last few targets and sources: a loop's `grad` then labels its
    /// gradients with the same strings at every step instead of building them again (and the health
    /// monitor, which matches gradients by label, compares strings that are one and the same).
    func gradientLabels(target: String, sources: [String]) -> [String] {
        for entry in recentGradientLabels where entry.target == target && entry.sources == sources { return entry.labels }
        let labels = sources.map { "∂\(target)/∂\($0)" }
        if recentGradientLabels.count == 4 { recentGradientLabels.removeFirst() }
        recentGradientLabels.append((target, sources, labels))
        return labels
    }

    /// How an expression is named in a gradient label: `y`, or `(x^2)`.
    func label(of expr: Expr) -> String {
        let text = sourceText.text(of: expr.span)
        switch expr.kind {
        case .name, .call, .index, .transpose, .number: return text
        default: return text.hasPrefix("(") && text.hasSuffix(")") ? text : "(" + text + ")"
        }
    }

    /// A None reason in words, with the user's names.
    func describe(_ reason: NoneReason, target: String, source: String, tape: String?) -> String {
        switch reason {
        case .sourceNotWatched:
            return tape.map { "\(source) is not watched on tape \($0)" } ?? "\(source) is not watched; use `watch \(source)`"
        case .targetComputedWhileStopped: return "\(target) was computed while recording was stopped"
        case .targetFromStopGradient: return "\(target) comes from stop_gradient"
        case .targetNotDifferentiable(let op):
            let names = ["less": "lt", "greater": "gt", "lessEqual": "le", "greaterEqual": "ge", "equal": "eq", "notEqual": "ne"]
            return "\(target) comes from \(names[op] ?? op), which has no gradient"
        case .targetComputedBeforeWatch: return "\(target) was computed before \(source) was watched"
        case .cutByStopGradient: return "the path from \(target) to \(source) is cut by stop_gradient"
        case .computedWhileTapeStopped:
            return "the path from \(target) to \(source) was computed while tape \(tape ?? "") was stopped"
        case .notConnected:
            let text = "\(target) does not depend on \(source)" + (tape.map { " on tape \($0)" } ?? "")
            // TensorFlow's guide, "control flow": a source used only in the branch that did not run gets None.
            if let line = untakenBranchNames[source] { return text + "; \(source) is used in a branch that did not run (line \(line))" }
            return text
        }
    }
}
