import Portable
import TapeSyntax

/// JAX: a compound statement (`repeat`, `while`, `if`, `x[i] = e`) whose results a later gradient needs
/// as functions of its sources. The script replays it as a Python function of the values it reads
/// (`def _replay1(y): for _ in range(5): y = y * 2; return y`), called with those values as the gradient
/// sees them (its sources perturbed), so that `jax.grad` differentiates the loop itself, every
/// iteration, the branch that runs, the element written.
struct ExportReplay {
    var statement: Statement
    /// The names bound before the statement (what it reads).
    var environment: [String: Int]
    var variables: Set<String>
    var source: SourceText
    /// The names it reads that were bound before it: the function's parameters.
    var parameters: [String]
    /// The names it binds: the function's results, in order.
    var results: [String]
    /// The Python function, once written at the script's top level.
    var function: String?
    /// The statement draws random numbers: its point in PythonWriter.randomPoints.
    var randomPoint: Int?
}

extension PythonWriter {
    // MARK: What a statement reads and binds

    /// The names a statement binds (a loop's counter included; not a function's name).
    static func assignedNames(_ statements: [Statement]) -> [String] {
        var out: [String] = []
        func add(_ n: String) { if !out.contains(n) { out.append(n) } }
        for s in statements {
            switch s.kind {
            case .assignment(let n, _), .update(let n, _, _), .indexAssignment(let n, _, _, _): add(n.name)
            case .multipleAssignment(let ns, _): ns.forEach { add($0.name) }
            case .repeatLoop(_, let counter, _, let body):
                if let counter { add(counter.name) }
                assignedNames(body).forEach(add)
            case .whileLoop(_, let body), .withStop(_, let body), .withTape(_, _, _, let body): assignedNames(body).forEach(add)
            case .conditional(let branches, let otherwise):
                for b in branches { assignedNames(b.body).forEach(add) }
                assignedNames(otherwise ?? []).forEach(add)
            default: break
            }
        }
        return out
    }

    /// Every name an expression reads, and the user functions it calls.
    static func readNames(_ e: Expr, into names: inout [String], calls: inout Set<String>) {
        func walk(_ e: Expr) {
            switch e.kind {
            case .name(let n): if !names.contains(n) { names.append(n) }
            case .call(let name, _): calls.insert(name)
            default: break
            }
            e.subexpressions.forEach(walk)
            if case .gradient(let g) = e.kind { g.sources.forEach { if !names.contains($0.name) { names.append($0.name) } } }
        }
        walk(e)
    }

    /// Every name the statements read (targets of updates included), and the functions they call.
    static func readNames(_ statements: [Statement], into names: inout [String], calls: inout Set<String>) {
        func name(_ n: String) { if !names.contains(n) { names.append(n) } }
        for s in statements {
            switch s.kind {
            case .expression(let e), .assignment(_, let e), .multipleAssignment(_, let e), .variableDeclaration(_, let e):
                readNames(e, into: &names, calls: &calls)
            case .expressionList(let es), .print(let es): es.forEach { readNames($0, into: &names, calls: &calls) }
            case .update(let n, _, let e):
                name(n.name)
                readNames(e, into: &names, calls: &calls)
            case .indexAssignment(let n, let items, _, let e):
                name(n.name)
                readNames(Expr(kind: .index(Expr(kind: .name(n.name), span: n.span), items), span: s.span), into: &names, calls: &calls)
                readNames(e, into: &names, calls: &calls)
            case .repeatLoop(let count, _, _, let body):
                readNames(count, into: &names, calls: &calls)
                readNames(body, into: &names, calls: &calls)
            case .whileLoop(let c, let body):
                readNames(c, into: &names, calls: &calls)
                readNames(body, into: &names, calls: &calls)
            case .conditional(let branches, let otherwise):
                for b in branches {
                    readNames(b.condition, into: &names, calls: &calls)
                    readNames(b.body, into: &names, calls: &calls)
                }
                readNames(otherwise ?? [], into: &names, calls: &calls)
            case .withStop(_, let body), .withTape(_, _, _, let body): readNames(body, into: &names, calls: &calls)
            case .save(let e, _): readNames(e, into: &names, calls: &calls)
            default: break
            }
        }
    }

    /// Why a statement cannot be replayed inside a function that `jax.grad` differentiates, if it cannot.
    func replayRefusal(_ statements: [Statement]) -> String? {
        for s in statements {
            switch s.kind {
            case .expression(let e), .assignment(_, let e), .multipleAssignment(_, let e), .update(_, _, let e):
                if let r = replayRefusal(e) { return r }
            case .expressionList(let es), .print(let es):
                for e in es { if let r = replayRefusal(e) { return r } }
            case .indexAssignment(_, let items, _, let e):
                if let r = replayRefusal(e) { return r }
                for i in items {
                    if case .single(let x) = i.kind, let r = replayRefusal(x) { return r }
                }
            case .repeatLoop(let c, _, _, let body), .whileLoop(let c, let body):
                if let r = replayRefusal(c) ?? replayRefusal(body) { return r }
            case .conditional(let branches, let otherwise):
                for b in branches { if let r = replayRefusal(b.condition) ?? replayRefusal(b.body) { return r } }
                if let r = replayRefusal(otherwise ?? []) { return r }
            case .save, .showTape, .explain, .graph, .checkGradient, .plot, .plotValues:
                continue
            default:
                return "it holds a statement (\(source.text(of: s.span).split(separator: "\n").first ?? "")) that a replay cannot repeat"
            }
        }
        return nil
    }

    func replayRefusal(_ e: Expr) -> String? {
        var names: [String] = [], calls = Set<String>()
        PythonWriter.readNames(e, into: &names, calls: &calls)
        // A replay that draws random numbers draws them again from the generator's state saved where the
        // statement ran (`_redraw`); a function body written in place of its call (`inlinedCall`) has no
        // such point, and is refused.
        if !calls.isDisjoint(with: PythonWriter.randomCalls.union(drawingFunctions)) && randomPoint == nil {
            return "it draws random numbers, which a replay would draw anew"
        }
        var found: String?
        func walk(_ e: Expr) {
            if found != nil { return }
            switch e.kind {
            // A gradient inside a replay is a jax.grad inside the function jax.grad differentiates (nested, as
            // TensorFlow's persistent tape records it); a function body written in place cannot hold one.
            case .gradient: if !checkingReplay { found = "it takes gradients itself" }
            case .group: found = "it makes groups"
            case .unary(_, let a), .transpose(let a): walk(a)
            case .binary(_, let a, let b): walk(a); walk(b)
            case .index(let a, _): walk(a)
            case .tensor(let es): es.forEach(walk)
            case .call(_, let args): args.forEach { walk($0.value) }
            default: break
            }
        }
        walk(e)
        return found
    }

    // MARK: Replays

    /// After a compound statement, JAX: each name it bound (that is bound after it) becomes the result of
    /// its replay, as a function of what it read. `before`: the names bound before it.
    mutating func bindReplays(_ s: Statement, before: [String: Int], variablesBefore: Set<String>, start: Int) {
        let assigned = PythonWriter.assignedNames([s]).filter { n in
            guard let id = environment[n] else { return false }
            return id >= start && bindings[id].variable == nil && isBound(n)
        }
        // Names bound in a branch that did not run are not bound: they keep what they were.
        for n in PythonWriter.assignedNames([s]) where !assigned.contains(n) {
            if let id = environment[n], id >= start, bindings[id].variable == nil {
                environment[n] = before[n]
            }
        }
        guard !assigned.isEmpty else { return }
        var names: [String] = [], calls = Set<String>()
        PythonWriter.readNames([s], into: &names, calls: &calls)
        let parameters = (names + assigned).filter { n in before[n] != nil && functions[n] == nil }
            .reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let tracked = recording && (parameters.contains { bindings[before[$0]!].tracked }
            || assigned.contains { bindings[environment[$0]!].tracked })
        var replay = ExportReplay(statement: s, environment: before, variables: variablesBefore, source: source,
                                  parameters: parameters, results: assigned)
        replay.randomPoint = randomPoint
        replays.append(replay)
        let k = replays.count - 1
        for (i, n) in assigned.enumerated() {
            bind(n, .replay(k, index: i), tracked: tracked)
        }
    }

    /// The value of replay `k`'s `index`-th result, as the gradient being written sees it.
    mutating func replayed(_ k: Int, index: Int, name: String, inline: InlineContext) throws -> PyCode {
        let replay = replays[k]
        let savedPoint = randomPoint
        randomPoint = replay.randomPoint
        checkingReplay = true
        defer { randomPoint = savedPoint; checkingReplay = false }
        if let reason = replayRefusal([replay.statement]) {
            throw unsupported("JAX differentiates '\(name)' by replaying the statement that computed it (line \(replay.statement.span.start.line)), but \(reason)")
        }
        var names: [String] = [], calls = Set<String>()
        PythonWriter.readNames([replay.statement], into: &names, calls: &calls)
        for f in calls where functions[f] != nil {
            for n in freeNames[f] ?? [] {
                guard let id = replay.environment[n] else { continue }
                if inline.parameters[id] != nil || depends(id, on: inline.sources) {
                    throw unsupported("JAX: \(f) reads '\(n)', which this gradient depends on, from outside its parameters, in the statement that computed '\(name)' (line \(replay.statement.span.start.line))")
                }
            }
        }
        // A source variable updated in the replay: each of its values is a source in TensorFlow.
        for n in PythonWriter.assignedNames([replay.statement]) where replay.variables.contains(n) {
            if let id = replay.environment[n], inline.sources.contains(id) {
                throw unsupported("JAX: the statement that computed '\(name)' (line \(replay.statement.span.start.line)) updates the variable '\(n)', a source of this gradient")
            }
        }
        let arguments = try replay.parameters.map { try tensor(self.name($0, env: replay.environment, inline: inline)) }
        let function = try replayFunction(k)
        var call = "\(function)(\(arguments.joined(separator: ", ")))"
        if let point = replay.randomPoint { call = "_redraw(\(snapshot(point)), lambda: \(call))" }
        return PythonWriter.atom(replay.results.count == 1 ? call : "\(call)[\(index)]")
    }

    /// Writes replay `k`'s Python function once, at the script's top level (before the statement being
    /// written), and returns its name.
    mutating func replayFunction(_ k: Int) throws -> String {
        if let f = replays[k].function { return f }
        let replay = replays[k]
        let saved = self
        temporaries += 1
        let name = "_replay\(temporaries)"
        lines = []
        indent = 0
        environment = replay.environment
        variables = replay.variables
        source = replay.source
        printing = false
        replaying = true
        current = nil
        emit("def \(name)(\(replay.parameters.map(py).joined(separator: ", "))):")
        emit("    \"\"\"line \(replay.statement.span.start.line), replayed for jax.grad: \(PythonWriter.commentText(source.text(of: replay.statement.span).split(separator: "\n").first.map(String.init) ?? "").replacingText("\"", with: "'"))\"\"\"")
        indent = 1
        do {
            try statement(replay.statement)
        } catch let e as ExportError {
            self = saved
            throw unsupported("JAX differentiates through line \(replay.statement.span.start.line) by replaying it, but: \(e.message)")
        }
        emit("return " + replay.results.map(py).joined(separator: ", "))
        let written = lines
        let newHelpers = helpers
        let count = temporaries
        self = saved
        helpers.formUnion(newHelpers)
        temporaries = count
        let at = replayInsertion
        lines.insert(contentsOf: written, at: at)
        replayInsertion += written.count
        for i in randomPoints.indices where randomPoints[i].line > at { randomPoints[i].line += written.count }
        replays[k].function = name
        return name
    }
}

extension PythonWriter {
    /// JAX: a call of a function that reads, from outside its parameters, a name this gradient depends on.
    /// `jax.grad` sees only what the lambda computes, so the body is written in place of the call (its
    /// parameters and locals replaced by their code), where the name it reads carries the perturbation.
    mutating func inlinedCall(_ name: String, _ codes: [PyCode], env: [String: Int], inline: InlineContext) throws -> PyCode {
        guard let (parameters, body) = functionBodies[name], parameters.count == codes.count else {
            throw unsupported("JAX: \(name) reads a name this gradient depends on from outside its parameters")
        }
        let savedRenames = renames
        defer { renames = savedRenames }
        renames = [:]
        func held(_ c: PyCode) -> PyCode { PythonWriter.atom(c.precedence < PyCode.atom ? "(\(tensor(c)))" : tensor(c)) }
        for (p, c) in zip(parameters, codes) { renames[p] = held(c) }
        func result(_ es: [Expr]) throws -> PyCode {
            let cs = try es.map { try expression($0, env: env, inline: inline) }
            if cs.count == 1 { return held(cs[0]) }
            return PythonWriter.atom("(" + cs.map(tensor).joined(separator: ", ") + ")")
        }
        func refuseGradients(_ e: Expr) throws {
            if replayRefusal(e) != nil {
                throw unsupported("JAX: \(name) reads a name this gradient depends on from outside its parameters, and its body cannot be written in place of the call")
            }
        }
        switch body {
        case .expressions(let es):
            try es.forEach(refuseGradients)
            return try result(es)
        case .block(let statements):
            for (i, s) in statements.enumerated() {
                let last = i == statements.count - 1
                switch s.kind {
                case .assignment(let n, let value):
                    try refuseGradients(value)
                    renames[n.name] = held(try expression(value, env: env, inline: inline))
                    if last { return renames[n.name]! }
                case .multipleAssignment(let ns, let value) where !last:
                    try refuseGradients(value)
                    let c = try expression(value, env: env, inline: inline)
                    for (k, n) in ns.enumerated() { renames[n.name] = PythonWriter.atom("\(parenthesized(c, above: PyCode.atom))[\(k)]") }
                case .expression(let e) where last:
                    try refuseGradients(e)
                    return try result([e])
                case .expressionList(let es) where last:
                    try es.forEach(refuseGradients)
                    return try result(es)
                default:
                    throw unsupported("a function body may hold assignments and end with an expression")
                }
            }
            throw unsupported("\(name)'s body computes nothing")
        }
    }
}

extension PythonWriter {
    /// JAX, before a compound statement rebinds them: the tracked values that only their names hold
    /// (watched tensors), kept under a name of their own, which a replay of the statement reads.
    mutating func keepRoots(rebound s: Statement) {
        guard target == .jax, !replaying else { return }
        for n in PythonWriter.assignedNames([s]) {
            guard let id = environment[n], bindings[id].tracked, bindings[id].variable == nil, bindings[id].python == nil,
                  case .root = bindings[id].definition else { continue }
            temporaries += 1
            let keep = "_\(n)_\(temporaries)"
            bindings[id].python = keep
            emit("\(keep) = \(py(n))  # \(n) before line \(s.span.start.line), which jax.grad may replay")
        }
    }
}
