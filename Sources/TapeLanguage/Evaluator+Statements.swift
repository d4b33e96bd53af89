import TensorCore
import Autodiff
import TapeSyntax
import Rendering

extension Session {
    /// Runs a statement; `printing` is false inside `repeat`, whose statements print nothing.
    func executeStatement(_ statement: Statement, printing: Bool, into outcomes: inout [StatementOutcome]) throws {
        context.currentLine = statement.span.start.line
        // The fast path of loops: one tensor bound to a name, nothing printed, no outcome built.
        if !printing, case .assignment(let target, let expr) = statement.kind {
            switch try evaluateTop(expr) {
            case .value(let v): try rebind(target, .value(v))
            case let other: try rebind(target, try binding(for: other, target: target))
            }
            return
        }
        let line = statement.span.start.line
        // NOTE: a statement inside `repeat` runs many times and prints nothing: build no text for it, and no
        // list of the names it bound.
        var outcome = StatementOutcome(line: line, source: "", result: .silent)
        let show = printing && !statement.silenced
        func emit() {
            guard printing else { return }
            outcome.source = sourceText.text(of: statement.span)
            outcomes.append(outcome)
        }

        switch statement.kind {
        case .expression(let expr):
            let result = try evaluateTop(expr)
            outcome.result = show ? result.asResult(label: result.isGradient ? result.label : nil) : .silent
            if case .gradients(let items, _) = result { noteGradients(items) }
            emit()

        case .expressionList(let exprs):
            let items = try exprs.map { try evaluateTop($0) }
            outcome.result = show ? .several(items.flatMap { $0.items }) : .silent
            emit()

        case .assignment(let target, let expr):
            let bound = try binding(for: try evaluateTop(expr), target: target)
            let wasVariable = value(named: target.name)?.isVariable ?? false
            try rebind(target, bound)
            if printing { outcome.names = [target.name] }
            if show { outcome.result = shown(bound, label: target.name) }
            if wasVariable && scopes.isEmpty { outcome.notes.append("\(target.name) is no longer a variable (use `\(target.name) -= ...` to update it)") }
            emit()

        case .multipleAssignment(let targets, let expr):
            let result = try evaluateTop(expr)
            if case .gradients(let items, _) = result { noteGradients(items) }
            let items = result.items
            guard items.count == targets.count else {
                throw EvaluationError("the right side gives \(items.count) result\(items.count == 1 ? "" : "s") but \(targets.count) names are assigned",
                                      at: expr.span)
            }
            for (t, item) in zip(targets, items) { try assign(t, item.item) }
            if printing { outcome.names = targets.map(\.name) }
            if show { outcome.result = .several(zip(targets, items).map { (label: $0.name, item: $1.item) }) }
            emit()

        case .functionDefinition(let name, let parameters, let body):
            try checkDefinable(name)
            let text = sourceText.text(of: statement.span)
            bind(name.name, .function(FunctionDefinition(name: name.name, parameters: parameters.map(\.name), body: body,
                                                         customGradient: nil, source: text, plainSource: text, definedIn: sourceText)))
            emit()

        case .customFunctionDefinition(let name, let parameters, let body, let cotangent, let gradient):
            try checkDefinable(name)
            let text = sourceText.text(of: statement.span)
            var plain = sourceText.text(of: SourceSpan(start: name.span.start, end: cotangent.span.start))
            while let last = plain.last, last == "(" || last == " " || last == "\t" || last == "\n" { plain.removeLast() }
            if plain.hasSuffix("grad") { plain.removeLast(4) }
            while let last = plain.last, last.isWhitespace { plain.removeLast() }
            bind(name.name, .function(FunctionDefinition(name: name.name, parameters: parameters.map(\.name), body: body,
                                                         customGradient: (cotangent.name, gradient), source: text, plainSource: plain,
                                                         definedIn: sourceText)))
            emit()

        case .watch(let names, let tapeName):
            var mask: TapeMask? = nil
            if let tapeName { mask = try tape(named: tapeName).bit }
            for n in names {
                guard case .value(let v)? = lookup(n.name) else { throw unknownOrWrongKind(n, expected: "a tensor to watch") }
                try at(n.span) { try context.watch(v, on: mask) }
            }
            emit()

        case .variableDeclaration(let name, let expr):
            let v = try evaluate(expr)
            let variable = context.variable(v.tensor, identity: VariableIdentity(name: name.name))
            bind(name.name, .value(variable))
            if printing { outcome.names = [name.name] }
            if show { outcome.result = .tensor(label: name.name, value: variable) }
            emit()

        case .update(let target, let op, let expr):
            if case .group(let members)? = lookup(target.name) {
                guard op == .add || op == .subtract else {
                    throw EvaluationError("a group is updated with += or -=, not \(op.rawValue)", at: target.span)
                }
                let updated = try updateGroup(target, members, subtract: op == .subtract, expr)
                bind(target.name, .group(updated))
                replaceVariables(updated.compactMap { if case .value(let v) = $0 { return v } else { return nil } })
                if printing { outcome.names = [target.name] }
                if show { outcome.result = shown(.group(updated), label: target.name) }
                emit()
                return
            }
            guard case .value(let old)? = lookup(target.name) else { throw unknownOrWrongKind(target, expected: "a tensor or variable to update") }
            guard old.variable != nil else {
                // A plain tensor: `x += e` is `x = x + e`, recorded, as TensorFlow, PyTorch and micrograd record it.
                let next = try at(expr.span) { try Session.apply(op.binary, old, try operand(expr)) }
                try assign(target, .value(next))
                if printing { outcome.names = [target.name] }
                if show { outcome.result = .tensor(label: target.name, value: next) }
                emit()
                return
            }
            let delta = try evaluate(expr)
            let updated: Tensor
            do {
                updated = try Tensor.zip(old.tensor, delta.tensor, op.elementwise)
            } catch let e as TensorError { throw EvaluationError(e.message, at: expr.span) }
            guard updated.shape == old.shape else {
                throw EvaluationError("cannot update \(target.name) of shape \(Shape.describe(old.shape)) with a value of shape \(Shape.describe(delta.shape))",
                                      at: expr.span, note: "an update keeps the shape of \(target.name)")
            }
            // NOTE: an update of a variable is not recorded (TensorFlow's assign_sub); it stays the same variable.
            let next = old.variable.map { context.variable(updated, identity: $0) } ?? context.constant(updated)
            bind(target.name, .value(next))
            replaceVariable(next)
            if printing { outcome.names = [target.name] }
            if show { outcome.result = .tensor(label: target.name, value: next) }
            emit()

        case .indexAssignment(let target, let items, let op, let expr):
            let next = try assignElements(target, items, op, expr, statement: statement)
            if printing { outcome.names = [target.name] }
            if show { outcome.result = .tensor(label: target.name, value: next) }
            emit()

        case .conditional(let branches, let otherwise):
            var taken: [Statement]? = nil
            var untaken: [(statements: [Statement], line: Int)] = []
            for branch in branches {
                if taken == nil, try condition(branch.condition) {
                    taken = branch.body
                } else {
                    untaken.append((branch.body, branch.condition.span.start.line))
                }
            }
            if let otherwise {
                if taken == nil { taken = otherwise } else { untaken.append((otherwise, otherwise.first?.span.start.line ?? statement.span.start.line)) }
            }
            // Only the branch that runs is recorded (TensorFlow's guide, "control flow"); a gradient that is
            // None because its source appears only in a branch that did not run says so.
            for (statements, line) in untaken {
                for name in Session.namesRead(in: statements) { untakenBranchNames[name] = line }
            }
            for s in taken ?? [] {
                for name in Session.namesRead(in: [s]) { untakenBranchNames[name] = nil }
                try executeStatement(s, printing: show, into: &outcomes)
            }
            if !show { emit() }

        case .whileLoop(let conditionExpr, let body):
            var iterations = 0
            var silent: [StatementOutcome] = []
            var health = startGradientHealth()
            var history = LoopHistory(start: context.currentSerial)
            let stopped: Bool
            do {
                stopped = try runLoop(total: nil, iterations: &iterations) { i in
                    guard try condition(conditionExpr) else { return false }
                    history.beginIteration(i, serial: context.currentSerial)
                    for s in body {
                        try executeStatement(s, printing: false, into: &silent)
                        try checkLoopInterrupt()
                    }
                    history.iterations = i + 1
                    observeGradientHealth(&health, step: i + 1)
                    return true
                }
            } catch {
                throw withHistoryHint(error, history)
            }
            if printing { outcome.notes += gradientHealthReport(health) }
            if stopped { outcome.notes.append("stopped after \(iterations) iteration\(iterations == 1 ? "" : "s")") }
            if printing, let note = loopHistoryNote(history) { outcome.notes.append(note) }
            emit()

        case .print(let exprs):
            var parts: [String] = []
            for e in exprs {
                if case .string(let text) = e.kind { parts.append(text); continue }
                for (label, item) in try evaluateTop(e).items {
                    switch item {
                    case .value(let v): parts.append(formatTensor(v.tensor, FormatOptions(precision: settings.precision, lineWidth: settings.lineWidth)))
                    case .none(let reason): parts.append((label.map { $0 + " = " } ?? "") + "None (\(reason))")
                    }
                }
            }
            // `print` prints inside loops and after `;`: its line goes out as its own outcome, before the block's.
            let printed = StatementOutcome(line: line, source: sourceText.text(of: statement.span), result: .text(parts.joined(separator: " ")))
            if let onPrint { onPrint(printed) } else { printedOutcomes.append(printed) }

        case .withStop(let tapeName, let body):
            let mask = try tapeName.map { try tape(named: $0).bit } ?? ~0
            // A block followed by `;` prints nothing: its statements run as a loop's do, and it is one silent outcome.
            try context.withRecordingStopped(mask) {
                for s in body { try executeStatement(s, printing: show, into: &outcomes) }
            }
            if !show { emit() }

        case .withTape(let name, let persistent, let nowatch, let body):
            if case .tape(let old)? = workspace[name.name] { releaseTape(old, rebinding: name.name) }
            let tape = try context.openTape(name: name.name, persistent: persistent, watchesVariables: !nowatch)
            bind(name.name, .tape(tape))
            defer { context.closeTape(tape) }
            for s in body { try executeStatement(s, printing: show, into: &outcomes) }
            if !show { emit() }

        case .showTape(let tapeName):
            let scoped = try tapeName.map { try tape(named: $0) }
            if show { outcome.result = .text(tapeListing(scoped)) }
            emit()

        case .resetTape(let tapeName?):
            let scoped = try tape(named: tapeName)
            let count = recordedNodes(on: scoped).count
            context.resetTape(scoped, clearingFrom: workspaceValues)
            if show { outcome.result = .text("tape \(tapeName.name) reset: \(count) recorded operation\(count == 1 ? "" : "s") and its watches forgotten; \(tapeName.name) goes on recording") }
            emit()

        case .resetTape(nil):
            let count = recordedNodes().count
            context.reset(workspaceValues)
            var tapeNames: [String] = []
            // A tape whose block is open stays bound: it goes on recording (TensorFlow's reset()).
            for (name, b) in workspace { if case .tape(let t) = b, !context.isOpen(t) { workspace[name] = nil; tapeNames.append(name) } }
            // The scoped tapes go too (their recordings are gone): say so, or `using t` later is a mystery.
            let tapes = tapeNames.isEmpty ? "" : "; scoped tape\(tapeNames.count == 1 ? "" : "s") " + tapeNames.joined(separator: ", ") + " forgotten"
            if show { outcome.result = .text("tape reset: \(count) recorded operation\(count == 1 ? "" : "s") forgotten; every value is untracked, variables stay variables" + tapes) }
            emit()

        case .repeatLoop(let countExpr, let counter, let shown, let body):
            let count = try integer(countExpr, what: "the repeat count")
            guard count >= 0 else { throw EvaluationError("the repeat count must not be negative, got \(count)", at: countExpr.span) }
            var silent: [StatementOutcome] = []
            var shownValues: [Double] = []
            var health = startGradientHealth()
            var iterations = 0
            var history = LoopHistory(start: context.currentSerial)
            let stopped: Bool
            do {
                stopped = try runLoop(total: count, iterations: &iterations) { i in
                    guard i < count else { return false }
                    history.beginIteration(i, serial: context.currentSerial)
                    if let counter { bind(counter.name, .value(context.constant(Double(i)))) }
                    for s in body {
                        try executeStatement(s, printing: false, into: &silent)
                        try checkLoopInterrupt()
                    }
                    history.iterations = i + 1
                    var last: Double? = nil
                    if let shown, let v = value(named: shown.name), let s = v.tensor.scalarValue {
                        last = s
                        shownValues.append(s)
                    }
                    observeGradientHealth(&health, step: i + 1)
                    progress?(i + 1, count, last)
                    return true
                }
            } catch {
                throw withHistoryHint(error, history)
            }
            if stopped { shownValues = Array(shownValues.prefix(iterations)) }
            if printing { outcome.notes += gradientHealthReport(health) }
            if stopped { outcome.notes.append("stopped after \(iterations) of \(count) iterations") }
            if printing, let note = loopHistoryNote(history) { outcome.notes.append(note) }
            if let shown, show, !shownValues.isEmpty {
                outcome.result = .text("\(shown.name): \(formatNumber(shownValues.first!, precision: settings.precision)) → \(formatNumber(shownValues.last!, precision: settings.precision))  \(sparkline(shownValues, width: 40))")
            } else if let shown, printing, count > 0 {
                outcome.notes.append("nothing to show: \(shown.name) was not a number after any step")
            }
            emit()

        case .save(let expr, let file):
            let v = try evaluate(expr)
            let bytes: [UInt8]
            do { bytes = try v.tensor.fileBytes(path: file) } catch let e as TensorError { throw EvaluationError(e.message, at: statement.span) }
            try writeFile(bytes, to: file, kind: .tensor, span: statement.span)
            outcome.result = show ? .text("saved \(Shape.describe(v.shape)) to \(file)") : .silent
            emit()

        case .explain(let g):
            // The walks below read recorded nodes: a gradient whose recording was deferred and fails to
            // record (the memory limit) is an error here, not a constant in the drawing.
            try at(statement.span) { try context.recordDeferredGradients() }
            let text = try explain(g)
            if show { outcome.result = .text(text) }
            emit()

        case .graph(let expr, let file):
            // Errors about the file point at `to "…"`, the rest of the statement.
            let fileSpan = SourceSpan(start: sourceText.firstNonSpace(after: expr.span.end, before: statement.span.end), end: statement.span.end)
            try at(statement.span) { try context.recordDeferredGradients() }
            let (text, dot) = try graph(expr, file: file, fileSpan: fileSpan)
            if show {
                outcome.result = .text(text)
                if file == nil { outcome.figure = .graph(dot: dot) }
            }
            emit()

        case .checkGradient(let g):
            try at(statement.span) { try context.recordDeferredGradients() }
            let text = try checkGradient(g)
            if show { outcome.result = .text(text) }
            emit()

        case .plot(let exprs, let variable, let lower, let upper, let includeGradient):
            let (text, figure) = try plot(exprs, variable: variable, lower: lower, upper: upper, includeGradient: includeGradient)
            if show {
                outcome.result = .text(text)
                outcome.figure = figure
            }
            emit()

        case .plotValues(let series, let against):
            let (text, figure) = try plotValues(series, against: against)
            if show {
                outcome.result = .text(text)
                outcome.figure = figure
            }
            emit()

        case .apply(let optimizer, let variables, let gradients):
            let updated = try applyOptimizer(optimizer, variables, gradients, notes: &outcome.notes)
            if printing { outcome.names = variables.map(\.name) }
            if show { outcome.result = .several(updated) }
            emit()

        case .meta(let name, let argument, let argumentColumn):
            try meta(name, argument, column: argumentColumn, statement: statement, into: &outcomes, outcome: &outcome)
        }
    }

    /// What a single name is bound to: one result, or several as a group (noting gradients for `:grads`).
    private func binding(for result: Evaluated, target: Identifier) throws -> Binding {
        switch result {
        case .value(let v): return .value(v)
        case .optimizer(let o): return .optimizer(o)
        case .group(let items): return .group(items.map(\.item))
        default:
            if case .gradients(let items, _) = result { noteGradients(items) }
            let items = result.items
            guard !items.isEmpty else { throw EvaluationError("the right side gives no result to assign", at: target.span) }
            if items.count > 1 { return .group(items.map(\.item)) }
            switch items[0].item {
            case .value(let v): return .value(v)
            case .none(let reason): return .none(reason: reason)
            }
        }
    }

    /// How a bound name is shown: `x = …`, `gs[0] = …` for each member, `opt = adam(…)`.
    func shown(_ binding: Binding, label: String) -> StatementResult {
        switch binding {
        case .value(let v): return .tensor(label: label, value: v)
        case .none(let reason): return .none(label: label, reason: reason)
        case .group(let members): return .several(members.enumerated().map { (label: "\(label)[\($0)]", item: $1) })
        case .optimizer(let o): return .text(label + " = " + o.description)
        case .function, .tape: return .silent
        }
    }

    private func assign(_ target: Identifier, _ item: ResultItem) throws {
        switch item {
        case .value(let v): try rebind(target, .value(v))
        case .none(let reason): try rebind(target, .none(reason: reason))
        }
    }

    /// Binds an assignment's target (a tape cannot be rebound inside a function).
    private func rebind(_ target: Identifier, _ binding: Binding) throws {
        if !scopes.isEmpty, case .tape? = lookup(target.name) {
            throw EvaluationError("\(target.name) is a tape and cannot be rebound inside a function", at: target.span)
        }
        bind(target.name, binding)
    }

    private func checkDefinable(_ name: Identifier) throws {
        guard scopes.isEmpty else { throw EvaluationError("functions can only be defined at the top level", at: name.span) }
    }

    func noteGradients(_ items: [(label: String?, item: ResultItem)]) {
        var kept: [(label: String, value: Value)] = []
        kept.reserveCapacity(items.count)
        for (label, item) in items { if case .value(let v) = item { kept.append((label ?? "", v)) } }
        lastGradients = kept
    }

    func tape(named name: Identifier) throws -> Tape {
        guard case .tape(let t)? = lookup(name.name) else { throw unknownOrWrongKind(name, expected: "a tape opened with `with tape \(name.name) < ... >`") }
        return t
    }

    func integer(_ expr: Expr, what: String) throws -> Int {
        let v = try evaluate(expr)
        guard v.tensor.count == 1 else {
            throw EvaluationError("\(what) must be a whole number, got a tensor of shape \(Shape.describe(v.shape))", at: expr.span)
        }
        return try wholeNumber(v.tensor.firstScalar, what: what, at: expr.span)
    }

    /// `x` as an Int: a finite whole number under 10^15 in size; otherwise an error that names `what`.
    func wholeNumber(_ x: Double, what: String, at span: SourceSpan) throws -> Int {
        guard x.isFinite, x == x.rounded() else {
            throw EvaluationError("\(what) must be a whole number, got \(formatNumber(x))", at: span)
        }
        guard abs(x) < 1e15 else { throw EvaluationError("\(what) is too large: \(formatNumber(x)) (it must be under 10^15)", at: span) }
        return Int(x)
    }

    /// An error for a name that is unbound, or bound to the wrong kind of thing.
    func unknownOrWrongKind(_ name: Identifier, expected: String) -> EvaluationError {
        switch lookup(name.name) {
        case nil: return unknownName(name.name, at: name.span)
        case .function?: return EvaluationError("\(name.name) is a function, expected \(expected)", at: name.span)
        case .tape?: return EvaluationError("\(name.name) is a tape, expected \(expected)", at: name.span)
        case .none(let reason)?: return EvaluationError("\(name.name) is None (\(reason))", at: name.span)
        case .value?: return EvaluationError("\(name.name) is a tensor, expected \(expected)", at: name.span)
        case .group(let members)?: return EvaluationError("\(name.name) is a group of \(members.count), expected \(expected)", at: name.span)
        case .optimizer?: return EvaluationError("\(name.name) is an optimizer, expected \(expected)", at: name.span)
        }
    }

    /// The error for a name nothing in the session binds; a built-in function's name used as a value says so.
    func unknownName(_ name: String, at span: SourceSpan) -> EvaluationError {
        if Builtins.named(name) != nil {
            return EvaluationError("\(name) is a built-in function; call it as \(name)(...)", at: span)
        }
        var candidates = Array(workspace.keys) + Builtins.names
        for scope in scopes { candidates += scope.keys }
        let suggestion = closestName(to: name, among: candidates)
        return EvaluationError("unknown name '\(name)'", at: span, note: suggestion.map { "did you mean '\($0)'?" })
    }
}

/// The nearest candidate by edit distance, if it is close enough to be a likely typo.
func closestName(to name: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1] + [Int](repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    let chars = Array(name)
    let limit = max(1, chars.count / 3)
    // The distance is at least the difference in length: most candidates are too long or too short to count.
    let near = candidates.filter { (candidate: String) -> Bool in abs(candidate.count - chars.count) <= limit }
    return near.map { ($0, distance(chars, Array($0))) }.filter { $0.1 <= limit }
        .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.first?.0
}

extension FunctionBody {
    var span: SourceSpan? {
        switch self {
        case .expressions(let es): return es.last.map { es[0].span.union($0.span) }
        case .block(let ss): return ss.last.map { ss[0].span.union($0.span) }
        }
    }
}

extension UpdateOperator {
    /// The tensor operation of a variable's in-place update.
    var elementwise: BinaryFunction {
        switch self {
        case .add: return .add
        case .subtract: return .subtract
        case .multiply: return .multiply
        case .divide: return .divide
        }
    }
}
