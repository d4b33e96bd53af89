import Portable
import TapeSyntax

/// Python code for one expression, with its precedence (for parentheses) and whether it is a plain
/// number (which must become a tensor before a library call).
struct PyCode {
    var text: String
    var precedence: Int
    var isNumber = false

    static let additive = 1, multiplicative = 2, unary = 3, power = 4, atom = 5
}

/// What the exporter knows about a name's value, for JAX: JAX differentiates functions, so a
/// gradient's target is re-expressed in terms of its sources by inlining each tracked name's
/// defining expression, with a perturbation (a parameter, zero) added to each source where it is read.
struct ExportBinding {
    enum Definition {
        /// Watched, a variable, a loop counter, or anything whose value cannot be re-expressed.
        case root
        /// `name = expr`, with the names `expr` saw.
        case expression(Expr, environment: [String: Int])
        /// The `index`-th result of `a, b = expr`.
        case element(Expr, index: Int, environment: [String: Int])
        /// The `index`-th result of replay `k` (a loop, a branch, an element assignment; see ExportReplay).
        case replay(Int, index: Int)
    }
    var name: String
    var definition: Definition
    var tracked: Bool
    /// JAX: the statement that bound it draws random numbers (see PythonWriter.randomPoints).
    var randomPoint: Int?
    /// The Python name that holds this value once `name` holds another (a variable's earlier versions).
    var python: String?
    /// For a variable's versions: the binding of its declaration, the same for all of them.
    var variable: Int?
    /// Bound in a loop: what it depends on is not known statically.
    var opaque = false
    /// The scoped tapes that recorded it (open, not stopped, when it was bound).
    var tapes: Set<String> = []
}

/// Context for inlining a gradient's target (JAX).
struct InlineContext {
    /// Binding id → the perturbations added where it is read (a variable's versions share theirs; a
    /// source named twice has two).
    var parameters: [Int: [String]]
    /// Every source of this gradient and of the ones around it.
    var sources: Set<Int>
    /// Values a scoped tape did not record, on a path from the sources: constants for this gradient.
    var constants: Set<Int> = []
}

struct PythonWriter {
    let target: ExportTarget
    var source: SourceText
    /// Where relative file names resolve (`:load`).
    var directory: String?
    var lines: [String] = []
    var indent = 0
    /// False inside `repeat`: nothing prints there.
    var printing = true
    /// False inside `with stop`.
    var recording = true
    /// Open scoped tapes (innermost last), for TensorFlow.
    var openTapes: [String] = []
    /// TensorFlow tapes whose recording a `with stop` block around the current statement stopped.
    var stoppedTapes: Set<String> = []
    var helpers: Set<String> = []
    /// User functions: name → custom or not.
    var functions: [String: Bool] = [:]
    /// JAX's view of the workspace.
    var bindings: [ExportBinding] = []
    var environment: [String: Int] = [:]
    /// The statement being translated, for errors.
    var current: Statement?
    var temporaries = 0
    /// What tapebook gave for the statement being translated.
    var outcomes: [StatementOutcome] = []
    var programStart = 0
    /// JAX: the nesting of the gradient being written (its perturbations' names).
    var jaxDepth = 0
    /// Which sources tapebook found connected, for the top-level gradient of this statement (that one).
    var expectedConnected: [Bool]?
    var topGradient: Gradient?
    /// User functions: the names their bodies read from outside their parameters.
    var freeNames: [String: Set<String>] = [:]
    /// Scoped tapes (`with tape t < ... >`) open now, innermost last; those stopped by `with stop t`;
    /// those made `nowatch`; the bindings each was told to watch.
    var scopes: [String] = []
    var stoppedScopes: Set<String> = []
    var nowatchScopes: Set<String> = []
    var watchedOn: [String: Set<Int>] = [:]
    /// PyTorch: names bound to a variable. An update makes a new leaf (in place, it would break the
    /// graphs that read the old value); a gradient with respect to the variable sums over its versions,
    /// as TensorFlow's gradient with respect to a variable sums over its reads.
    var variables: Set<String> = []
    /// JAX: the compound statements a gradient may need to replay; true while one is being written (its
    /// function prints and saves nothing); where their functions go (before the top-level statement
    /// being written).
    var replays: [ExportReplay] = []
    var replaying = false
    var replayInsertion = 0
    /// Whether tapebook has `name` bound after the statement being translated (a branch that did not run
    /// binds nothing).
    var isBound: (String) -> Bool = { _ in true }
    /// A file the exported session saved (kept in memory: export writes nothing), by path, for `:load`.
    var keptText: (String) -> String? = { _ in nil }
    /// JAX: a user function's body inlined into a gradient: its parameters' and locals' code.
    var renames: [String: PyCode] = [:]
    var functionBodies: [String: (parameters: [String], body: FunctionBody)] = [:]
    /// Names bound to an optimizer; to a group of variables (its members' names); to a group of gradients
    /// (how many); groups whose members were declared again (refused).
    var optimizers: Set<String> = []
    var groupMembers: [String: [String]] = [:]
    var listGroups: [String: Int] = [:]
    var staleGroups: Set<String> = []
    /// Each variable's key for an optimizer's slots (a declaration makes a new variable).
    var variableKeys: [String: String] = [:]
    /// How many members tapebook's value of a name has after the statement ran (nil: not a group).
    var groupSize: (String) -> Int? = { _ in nil }
    /// Nesting of member-by-member comprehensions (their variables' names); user functions that give
    /// several results (a group).
    var memberwiseDepth = 0
    var severalFunctions: Set<String> = []
    /// PyTorch: whether a group update changes its variables in place (else a new leaf each, see
    /// Exporter.export); the bindings of variable values an in-place update has overwritten since.
    var torchInPlace = true
    var overwritten: Set<Int> = []
    /// Whether the statement being translated is one of the session's (not inside a block).
    var topLevel = false
    /// JAX: where each statement that draws random numbers starts (its line in `lines`, its indentation),
    /// and the name of the generator's state saved there, once a gradient re-evaluates what it computed
    /// (`_redraw`); the point of the statement being translated; user functions that draw.
    var randomPoints: [(line: Int, indent: Int, line1: Int, snapshot: String?)] = []
    var randomPoint: Int?
    var drawingFunctions: Set<String> = []
    /// While a replay is checked (`replayed`): gradients inside it are replayed too.
    var checkingReplay = false
    /// Scoped tapes made persistent (TensorFlow: an empty tape replaces one reset after its block).
    var persistentTapes: Set<String> = []

    init(target: ExportTarget, source: SourceText) {
        self.target = target
        self.source = source
    }

    // MARK: Errors and output

    func unsupported(_ message: String) -> ExportError {
        let statement = current.map { source.text(of: $0.span) } ?? ""
        let firstLine = statement.split(separator: "\n").first.map(String.init) ?? statement
        return ExportError(message, line: current?.span.start.line ?? 0, statement: firstLine)
    }

    mutating func emit(_ line: String) {
        lines.append(String(repeating: "    ", count: indent) + PythonWriter.escapingControls(line))
    }

    mutating func comment(_ statement: Statement) {
        let text = source.text(of: statement.span).replacingText("\n", with: " ")
        emit("# tapebook: \(PythonWriter.commentText(text)) (no equivalent)")
    }

    static let reserved: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
        "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
        "np", "torch", "tf", "jax", "jnp", "T", "show", "tape", "sys", "print", "range", "float", "int", "len", "list",
        "tuple", "str", "math", "set_seed", "json", "os", "time", "weakref", "sum", "isinstance", "id",
    ]

    /// A tapebook name as a Python name.
    func py(_ name: String) -> String {
        // Names of the script's own helpers start with `_`: a tapebook name that does gets a trailing `_`.
        PythonWriter.reserved.contains(name) || name.hasPrefix("_") ? name + "_" : name
    }

    // MARK: The program

    /// The script's statements start: TensorFlow's run inside the session's implicit tape.
    mutating func begin() {
        if target == .tf {
            emit("with tf.GradientTape(persistent=True) as tape:  # the session's implicit tape")
            indent += 1
            programStart = lines.count
        }
    }

    mutating func end() {
        if target == .tf {
            if lines.count == programStart { emit("pass") }
            indent -= 1
        }
    }

    /// A statement that failed in tapebook: a comment that says so, and nothing it would have bound.
    mutating func failed(_ text: [String], because message: String) {
        emit("# tapebook: error: \(PythonWriter.commentText(message))")
        for line in text { emit("#     \(PythonWriter.commentText(line))") }
    }

    mutating func block(_ statements: [Statement]) throws {
        for s in statements { try statement(s) }
    }

    /// Which results of this statement tapebook gave as values (not None), when it shows a gradient.
    func connectedResults() -> [Bool]? {
        for o in outcomes {
            switch o.result {
            case .tensor: return [true]
            case .none: return [false]
            case .several(let items): return items.map { if case .value = $0.item { return true } else { return false } }
            default: continue
            }
        }
        return nil
    }

    mutating func statement(_ s: Statement) throws {
        let saved = current, savedTopLevel = topLevel, savedRandomPoint = randomPoint
        current = s
        topLevel = saved == nil
        defer { current = saved; topLevel = savedTopLevel; randomPoint = savedRandomPoint }
        if target == .jax, !replaying {
            randomPoint = nil
            if draws([s]) {
                randomPoints.append((lines.count, indent, s.span.start.line, nil))
                randomPoint = randomPoints.count - 1
            }
        }
        expectedConnected = nil
        topGradient = nil
        if saved == nil && !replaying { replayInsertion = lines.count }
        if printing, saved == nil {
            switch s.kind {
            case .expression(let e), .assignment(_, let e), .multipleAssignment(_, let e):
                if case .gradient(let g) = e.kind { expectedConnected = connectedResults(); topGradient = g }
            default: break
            }
        }
        let shows = printing && !s.silenced
        switch s.kind {
        case .expression(let e):
            if case .name(let n) = e.kind, optimizers.contains(n) {
                if shows { emit("print(\(py(n)))") }
                return
            }
            if case .name(let n) = e.kind, let count = groupCount(n) {
                let list = groupList(n) ?? py(n)
                if shows { for i in 0..<count { emit("show(\(quote("\(n)[\(i)] =")), \(list)[\(i)])") } }
                return
            }
            if case .call(let name, _) = e.kind, name == "set_seed" {
                emit(try expression(e).text)
                return
            }
            if case .gradient(let ungrouped) = e.kind, ungrouped.kind == .grad {
                let g = expandingGroups(ungrouped)
                let code = try expression(e).text
                guard shows else { emit(code); return }
                let target = gradientTargetLabel(g)
                if g.sources.count == 1 {
                    emit("show(\(quote("∂\(target)/∂\(g.sources[0].name) =")), \(code))")
                } else {
                    temporaries += 1
                    let t = "_g\(temporaries)"
                    emit("\(t) = \(code)")
                    for (i, x) in g.sources.enumerated() { emit("show(\(quote("∂\(target)/∂\(x.name) =")), \(t)[\(i)])") }
                }
                return
            }
            if isGroupExpression(e) {
                let code = try groupCode(e, env: environment, inline: nil)
                if shows { showGroup(code, labels: severalLabels()) } else { emit(code) }
                return
            }
            if topLevel, outcomes.contains(where: { if case .several = $0.result { return true } else { return false } }) {
                throw unsupported("tapebook gives a group here, but the export cannot tell which part of the expression is one")
            }
            let code = try tensor(expression(e))
            emit(shows ? "show(\"\", \(code))" : code)
        case .expressionList(let es):
            if let group = es.first(where: isGroupExpression) {
                throw unsupported("a group (\(source.text(of: group.span))) among several values is not exported; show it on its own")
            }
            for e in es {
                let code = try tensor(expression(e))
                emit(shows ? "show(\"\", \(code))" : code)
            }
        case .assignment(let name, let value):
            variables.remove(name.name)
            forgetGroups(of: name.name)
            if try groupAssignment(name.name, value, shows: shows) { return }
            if isGroupExpression(value) { try bindGroup(name.name, value, shows: shows); return }
            if groupSize(name.name) != nil {
                throw unsupported("tapebook binds a group to '\(name.name)' here, but the export cannot tell which part of the expression is one")
            }
            let code = try tensor(expression(value))
            bind(name.name, .expression(value, environment: environment), tracked: recording && isTracked(value, environment))
            variables.remove(name.name)
            emit("\(py(name.name)) = \(code)")
            if shows { emit("show(\(quote("\(name.name) =")), \(py(name.name)))") }
        case .multipleAssignment(let names, let value):
            for n in names { variables.remove(n.name); forgetGroups(of: n.name) }
            let code = try expression(value).text
            let tracked = recording && isTracked(value, environment)
            let env = environment
            for (i, n) in names.enumerated() { bind(n.name, .element(value, index: i, environment: env), tracked: tracked); variables.remove(n.name) }
            emit(names.map { py($0.name) }.joined(separator: ", ") + " = " + code)
            if shows { for n in names { emit("show(\(quote("\(n.name) =")), \(py(n.name)))") } }
        case .functionDefinition(let name, let parameters, let body):
            try function(name: name.name, parameters: parameters.map(\.name), body: body)
        case .customFunctionDefinition(let name, let parameters, let body, let cotangent, let gradient):
            try customFunction(name: name.name, parameters: parameters.map(\.name), body: body, cotangent: cotangent.name, gradient: gradient)
        case .watch(let names, let tape):
            for n in names {
                guard let id = environment[n.name] else { throw unsupported("'\(n.name)' is not bound") }
                if !bindings[id].tracked || !recording { bindings[id].definition = .root }
                bindings[id].tracked = true
                for t in tape.map({ [$0.name] }) ?? scopes.filter({ !stoppedScopes.contains($0) }) { watchedOn[t, default: []].insert(id) }
                switch target {
                case .torch:
                    if tape != nil { emit("# watched on tape \(tape!.name) alone; torch records on one graph") }
                    emit("\(py(n.name)).requires_grad_()")
                case .tf:
                    let tapes = tape.map { [py($0.name)] } ?? (["tape"] + openTapes)
                    for t in tapes { emit("\(t).watch(\(py(n.name)))") }
                case .jax:
                    emit("# watch \(n.name): \(n.name) is a source of the jax.grad calls below")
                }
            }
        case .variableDeclaration(let name, let value):
            let c = try expression(value)
            forgetGroups(of: name.name)
            variableKeys[name.name] = "\(name.name)#\(bindings.count)"
            bind(name.name, .root, tracked: true, variable: bindings.count)
            let n = py(name.name)
            variables.insert(name.name)
            switch target {
            case .torch:
                helpers.insert("variables")
                if let literal = numericLiteral(value) {
                    emit("\(n) = _var(\(quote(name.name)), torch.tensor(\(literal), dtype=torch.float64, requires_grad=True), new=True)")
                } else {
                    emit("\(n) = _var(\(quote(name.name)), T(\(c.text)).detach().clone().requires_grad_(), new=True)")
                }
            case .tf:
                emit("\(n) = tf.Variable(\(numericLiteral(value) ?? tensor(c)), dtype=tf.float64)")
            case .jax:
                emit("\(n) = \(tensor(c))  # a variable: a source of the jax.grad calls below")
            }
            if shows { emit("show(\(quote("\(name.name) =")), \(n))") }
        case .update(let name, let op, let value):
            guard environment[name.name] != nil else { throw unsupported("'\(name.name)' is not bound") }
            if groupCount(name.name) != nil || staleGroups.contains(name.name) {
                try groupUpdate(name, op, value, statement: s, shows: shows)
                return
            }
            guard variables.contains(name.name) else {
                // A plain tensor: `x += e` is `x = x + e`, recorded.
                let sum = Expr(kind: .binary(op.binary, Expr(kind: .name(name.name), span: name.span), value), span: s.span)
                var assignment = s
                assignment.kind = .assignment(target: name, value: sum)
                try statement(assignment)
                return
            }
            let c = try expression(value)
            let n = py(name.name)
            let symbol = String(op.rawValue.dropLast())
            switch target {
            case .torch:
                // The value parenthesized: `m -= 0.1 * m - g` is m - (0.1 * m - g).
                let operand = parenthesized(PyCode(text: tensor(c), precedence: c.isNumber ? PyCode.atom : c.precedence),
                                            above: op == .add || op == .subtract ? PyCode.additive + 1 : PyCode.multiplicative + 1)
                emit("\(n) = _var(\(quote(name.name)), (\(n) \(symbol) \(operand)).detach().requires_grad_())")
            case .tf:
                switch op {
                case .add, .subtract: emit("\(n).\(op == .subtract ? "assign_sub" : "assign_add")(\(tensor(c)))")
                case .multiply, .divide: emit("\(n).assign(\(n) \(symbol) \(parenthesized(c, above: PyCode.multiplicative + 1)))")
                }
            case .jax:
                // The value before the update stays readable under its own name: what was computed from
                // it is differentiated there (a gradient with respect to a variable reaches all its values).
                let previous = environment[name.name]!
                temporaries += 1
                let keep = "_\(name.name)_\(temporaries)"
                bindings[previous].python = keep
                emit("\(keep) = \(n)")
                let updated = "\(n) \(symbol) \(parenthesized(c, above: op == .add || op == .subtract ? PyCode.additive + 1 : PyCode.multiplicative + 1))"
                // Replayed for a gradient: an update is not recorded (the variable's new value is a source of its own).
                emit("\(n) = " + (replaying ? "jax.lax.stop_gradient(\(updated))" : updated))
                bind(name.name, .root, tracked: true, variable: bindings[previous].variable ?? previous)
            }
            if shows { emit("show(\(quote("\(name.name) =")), \(n))") }
        case .indexAssignment(let name, let items, let op, let value):
            keepRoots(rebound: s)
            let before = environment, variablesBefore = variables, start = bindings.count
            try elementAssignment(name, items, op, value, statement: s)
            if target == .jax, !variables.contains(name.name), let id = environment[name.name], bindings[id].tracked {
                bindReplays(s, before: before, variablesBefore: variablesBefore, start: start)
            }
            if shows { emit("show(\(quote("\(name.name) =")), \(py(name.name)))") }
        case .conditional(let branches, let otherwise):
            let savedPrinting = printing
            printing = shows
            defer { printing = savedPrinting }
            // Each branch sees the names as they were before the `if` (JAX: then what it bound is replayed).
            keepRoots(rebound: s)
            let before = environment, variablesBefore = variables, start = bindings.count
            for (i, branch) in branches.enumerated() {
                environment = before
                variables = variablesBefore
                emit("\(i == 0 ? "if" : "elif") \(try condition(branch.condition)):")
                try indented(branch.body)
            }
            if let otherwise {
                environment = before
                variables = variablesBefore
                emit("else:")
                try indented(otherwise)
            }
            if target == .jax {
                var after = before
                for n in PythonWriter.assignedNames([s]) {
                    if let id = bindings.lastIndex(where: { $0.name == n && $0.variable == nil }), id >= start { after[n] = id }
                }
                environment = after
                bindReplays(s, before: before, variablesBefore: variablesBefore, start: start)
            }
        case .whileLoop(let condition, let body):
            let savedPrinting = printing
            printing = false
            defer { printing = savedPrinting }
            keepRoots(rebound: s)
            let before = environment, variablesBefore = variables, start = bindings.count
            emit("while \(try self.condition(condition)):")
            try indented(body)
            if target == .jax {
                markLoopBindings(since: start, pythonBefore: Array(bindings[..<start].map(\.python)))
                bindReplays(s, before: before, variablesBefore: variablesBefore, start: start)
            }
        case .print(let values):
            if replaying { return }
            helpers.insert("print")
            let parts = try values.map { e -> String in
                if case .string(let text) = e.kind { return quote(text) }
                return try tensor(expression(e))
            }
            emit("_print(\(parts.joined(separator: ", ")))")
        case .withStop(let tape, let body):
            // A block followed by `;` shows nothing of its statements.
            let savedRecording = recording, savedStopped = stoppedTapes, savedPrinting = printing
            printing = shows
            defer { printing = savedPrinting }
            // One tape stopped: what is bound here is not on it (a gradient from it through these values is
            // refused below, in PyTorch and JAX, which record on one graph).
            let savedStoppedScopes = stoppedScopes
            defer { stoppedScopes = savedStoppedScopes }
            if let tape { stoppedScopes.insert(tape.name) }
            if tape == nil { recording = false }
            switch target {
            case .torch: emit(tape == nil ? "with torch.no_grad():" : "if True:  # with stop \(tape!.name): recorded, but not on \(tape!.name)")
            case .tf:
                // NOTE: a tape's stop_recording stops that tape alone, so `with stop` stops every open tape;
                // and stopping a stopped tape is an error in TensorFlow, so a nested block skips those.
                let stopping = (tape.map { [py($0.name)] } ?? ["tape"] + openTapes).filter { !stoppedTapes.contains($0) }
                stoppedTapes.formUnion(stopping)
                emit(stopping.isEmpty ? "if True:  # with stop: its tapes are already stopped"
                                      : "with " + stopping.map { "\($0).stop_recording()" }.joined(separator: ", ") + ":")
            case .jax: emit(tape == nil ? "if True:  # with stop: names bound here are constants for jax.grad" : "if True:  # with stop \(tape!.name): not on \(tape!.name)")
            }
            indent += 1
            let before = lines.count
            try block(body)
            if lines.count == before { emit("pass") }
            indent -= 1
            recording = savedRecording
            stoppedTapes = savedStopped
        case .withTape(let name, let persistent, let nowatch, let body):
            if persistent { persistentTapes.insert(name.name) } else { persistentTapes.remove(name.name) }
            let savedPrinting = printing
            printing = shows
            defer { printing = savedPrinting }
            switch target {
            case .tf:
                var options: [String] = []
                if persistent { options.append("persistent=True") }
                if nowatch { options.append("watch_accessed_variables=False") }
                emit("with tf.GradientTape(\(options.joined(separator: ", "))) as \(py(name.name)):")
                openTapes.append(py(name.name))
                indent += 1
                let before = lines.count
                try block(body)
                if lines.count == before { emit("pass") }
                indent -= 1
                openTapes.removeLast()
            case .torch, .jax:
                emit("# tapebook: with tape \(name.name)\(persistent ? " persistent" : "")\(nowatch ? " nowatch" : "") < ... >: \(target == .torch ? "torch records every operation on one graph" : "jax differentiates functions"), so the block runs as it is")
                scopes.append(name.name)
                if nowatch { nowatchScopes.insert(name.name) } else { nowatchScopes.remove(name.name) }
                watchedOn[name.name] = []
                try block(body)
                scopes.removeLast()
            }
        case .showTape, .explain, .graph, .checkGradient, .plot, .plotValues:
            comment(s)
        case .resetTape(let tape?) where target == .tf:
            if openTapes.contains(py(tape.name)) {
                emit("\(py(tape.name)).reset()")
            } else {
                // NOTE: reset() on a tape whose block has closed raises "Tape is not recording"; an empty tape
                // of the same kind answers as the reset one would (None), persistent or not.
                emit("with tf.GradientTape(\(persistentTapes.contains(tape.name) ? "persistent=True" : "")) as \(py(tape.name)):  # tape reset \(tape.name): empty")
                emit("    pass")
            }
        case .resetTape(let tape?):
            // One graph records everything: what t recorded so far is forgotten in the export's account of t
            // (a gradient from t then finds no path through it, or is refused where a path leaves t's record).
            emit("# tape reset \(tape.name): what \(tape.name) recorded and watched so far is forgotten; it goes on recording")
            forgetRecording(of: tape.name)
        case .resetTape:
            // Every value becomes untracked; variables stay sources for what is computed next.
            let names = environment.keys.sorted()
            switch target {
            case .tf: emit("tape.reset()  # tape reset: every value is untracked now")
            case .torch:
                emit("# tape reset: every value is untracked now")
                for n in names where functions[n] == nil {
                    guard let id = environment[n], bindings[id].tracked else { continue }
                    if variables.contains(n) {
                        emit("\(py(n)) = _var(\(quote(n)), \(py(n)).detach().requires_grad_(), new=True)")
                    } else {
                        emit("\(py(n)) = \(py(n)).detach() if isinstance(\(py(n)), torch.Tensor) else \(py(n))")
                    }
                }
            case .jax: emit("# tape reset: every value is untracked now")
            }
            // It empties the scoped tapes too (they go on recording).
            for t in Set(watchedOn.keys).union(scopes) { forgetRecording(of: t) }
            for n in names {
                guard environment[n] != nil else { continue }
                if variables.contains(n) {
                    bind(n, .root, tracked: true)
                } else {
                    bind(n, .root, tracked: false)
                }
            }
        case .meta(let name, let argument, _):
            try meta(s, name: name, argument: argument)
        case .repeatLoop(let count, let counter, let shown, let body):
            let n = try integer(count)
            keepRoots(rebound: s)
            if let counter { bind(counter.name, .root, tracked: false) }
            let savedPrinting = printing
            printing = false
            // Twice through the body, so that what the second iteration sees (names rebound by the
            // first) decides; the two must agree or the loop's gradients change between iterations.
            let savedLines = lines, savedBindings = bindings, savedTemporaries = temporaries
            let savedReplays = replays, savedInsertion = replayInsertion, savedRandomPoints = randomPoints
            let namesBefore = environment, variablesBefore = variables
            emit("for \(counter.map { py($0.name) } ?? "_") in range(\(n)):")
            indent += 1
            try block(body)
            let first = Array(lines[savedLines.count...])
            lines = savedLines
            temporaries = savedTemporaries
            replays = savedReplays
            replayInsertion = savedInsertion
            randomPoints = savedRandomPoints
            indent -= 1
            emit("for \(counter.map { py($0.name) } ?? "_") in range(\(n)):")
            indent += 1
            let before = lines.count
            try block(body)
            let second = Array(lines[savedLines.count...])
            if target == .jax && first != second {
                throw unsupported("the loop's gradients depend on the iteration; JAX needs one function per gradient")
            }
            if lines.count == before { emit("pass") }
            indent -= 1
            printing = savedPrinting
            markLoopBindings(since: savedBindings.count, pythonBefore: savedBindings.map(\.python))
            if target == .jax { bindReplays(s, before: namesBefore, variablesBefore: variablesBefore, start: savedBindings.count) }
            // tapebook draws the last value and a sparkline: text, not a value the fidelity test compares.
            if let shown, printing { helpers.insert("note"); emit("_note(\(quote("\(shown.name):")), \(py(shown.name)))") }
        case .apply(let optimizer, let targets, let gradients):
            try applyOptimizer(optimizer, targets, gradients, shows: shows)
        case .save(let value, let path):
            if replaying { return }
            let c = try expression(value)
            helpers.insert("save")
            emit("_save(\(quote(path)), \(tensor(c)))")
        }
    }

    /// `tape reset t` in PyTorch and JAX: no value bound so far was recorded on t, nothing is watched on it.
    mutating func forgetRecording(of tape: String) {
        for id in bindings.indices { bindings[id].tapes.remove(tape) }
        watchedOn[tape] = []
    }

    /// After a loop: what a value bound in it depends on is not known statically (it ran many times), nor
    /// what an earlier value saved in it holds. A variable's value after the loop is known: the variable.
    mutating func markLoopBindings(since start: Int, pythonBefore: [String?]) {
        for id in bindings.indices {
            let created = id >= start
            let resaved = !created && bindings[id].python != pythonBefore[id]
            let current = environment[bindings[id].name] == id
            if created && current && bindings[id].variable != nil { continue }
            if (created && bindings[id].tracked) || resaved { bindings[id].opaque = true }
        }
    }

    /// `:reset` forgets every name (statements after it that use an old name failed in tapebook, so they
    /// are comments); `:load` runs a file's statements, so they are translated here; `:time` runs its
    /// statement. The other commands change nothing the script computes.
    mutating func meta(_ s: Statement, name: String, argument: String) throws {
        switch name {
        case "reset":
            emit("# tapebook: :reset (every name is forgotten here)")
            bindings = []
            environment = [:]
            functions = [:]
            variables = []
            overwritten = []
            severalFunctions = []
            optimizers = []
            groupMembers = [:]
            listGroups = [:]
            staleGroups = []
            if target == .tf { emit("tape.reset()") }
        case "load":
            let trimmed = argument.trimmingWhitespace()
            guard trimmed.hasPrefix("\""), let close = trimmed.dropFirst().firstIndex(of: "\"") else {
                throw unsupported(":load needs a file name in double quotes")
            }
            let file = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            let path = file.hasPrefix("/") || directory == nil ? file : PathText.appending(file, to: directory!)
            guard let text = keptText(path) ?? (try? String(contentsOfFile: path, encoding: .utf8)) else { throw unsupported("cannot read \(file)") }
            emit("# tapebook: \(PythonWriter.commentText(source.text(of: s.span))): its statements follow")
            try nested(text)
        case "time":
            emit("# tapebook: :time")
            try nested(argument)
        default:
            comment(s)
        }
    }

    /// Statements from another text (a loaded file, `:time`'s statement), translated in place.
    mutating func nested(_ text: String) throws {
        let statements: [Statement]
        do {
            statements = try Parser.parseAll(text)
        } catch let e as SyntaxError {
            throw unsupported("syntax error in the statements it runs: \(e.message)")
        }
        let saved = source
        source = SourceText(text, firstLine: 1)
        defer { source = saved }
        try block(statements)
    }

    func integer(_ e: Expr) throws -> String {
        if case .number(let d) = e.kind, d == d.rounded() { return String(Int(d)) }
        return "int(\(try expressionConst(e)))"
    }

    /// An expression that must not be differentiated (counts, shapes).
    func expressionConst(_ e: Expr) throws -> String {
        var copy = self
        return try copy.expression(e).text
    }

    mutating func bind(_ name: String, _ definition: ExportBinding.Definition, tracked: Bool, variable: Int? = nil) {
        var b = ExportBinding(name: name, definition: definition, tracked: tracked, variable: variable)
        b.randomPoint = randomPoint
        b.tapes = recording ? Set(scopes).subtracting(stoppedScopes) : []
        bindings.append(b)
        environment[name] = bindings.count - 1
    }

    func quote(_ s: String) -> String { PythonWriter.stringLiteral(s) }

    /// A Python string literal of any text (see `escapingControls`).
    static func stringLiteral(_ s: String) -> String {
        "\"" + PythonWriter.escapingControls(s.replacingText("\\", with: "\\\\").replacingText("\"", with: "\\\"")) + "\""
    }

    /// Text for a Python comment (see `escapingControls`).
    static func commentText(_ s: String) -> String { escapingControls(s) }

    /// `text` with every character that could end a Python string or comment, or hide what follows it,
    /// written as an escape: control characters (`\r`, `\n`, `\x0c`, NUL…), U+0085, the line and paragraph
    /// separators, and format characters (bidirectional overrides). Inside a string literal the escape
    /// stands for the character; inside a comment it is plain text. Every line the exporter writes passes
    /// through here, so nothing from a session can start a statement of its own.
    static func escapingControls(_ text: String) -> String {
        func unsafe(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
        guard text.unicodeScalars.contains(where: unsafe) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if !unsafe(scalar) { out.unicodeScalars.append(scalar); continue }
            let hex = String(scalar.value, radix: 16)
            switch scalar.value {
            case ..<0x100: out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
            case ..<0x10000: out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out += "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
            }
        }
        return out
    }

    func gradientTargetLabel(_ g: Gradient) -> String {
        let text = source.text(of: g.target.span)
        switch g.target.kind {
        case .name, .number, .call, .index, .tensor, .group: return text
        default: return "(\(text))"
        }
    }

    // MARK: Functions

    /// A function's body. `fit`: a custom gradient's rule, whose results are broadcast to the shapes of
    /// these parameters (tapebook broadcasts `dy * 7` for a vector parameter; the libraries would not).
    mutating func functionBody(_ body: FunctionBody, parameters: [String], fit: [String]? = nil) throws {
        func returned(_ codes: [String]) -> String {
            guard let fit else { return "return " + codes.joined(separator: ", ") }
            helpers.insert("fit")
            return "return " + codes.enumerated().map { i, c in i < fit.count ? "_fit(\(c), \(fit[i]))" : c }.joined(separator: ", ")
        }
        switch body {
        case .expressions(let es):
            let codes = try es.map { try tensor(expression($0)) }
            emit(returned(codes))
        case .block(let statements):
            for (i, s) in statements.enumerated() {
                let saved = current
                current = s
                defer { current = saved }
                let last = i == statements.count - 1
                switch s.kind {
                case .assignment(let name, let value) where !last:
                    emit("\(py(name.name)) = \(try tensor(expression(value)))")
                case .multipleAssignment(let names, let value) where !last:
                    emit(names.map { py($0.name) }.joined(separator: ", ") + " = " + (try expression(value).text))
                case .expression(let e) where last:
                    emit(returned([try tensor(expression(e))]))
                case .expressionList(let es) where last:
                    emit(returned(try es.map { try tensor(expression($0)) }))
                case .assignment(let name, let value) where last:
                    emit("\(py(name.name)) = \(try tensor(expression(value)))")
                    emit(returned([py(name.name)]))
                default:
                    throw unsupported("a function body may hold assignments and end with an expression")
                }
            }
        }
    }

    /// Whether a function's body ends with several expressions (its value is a group).
    static func givesSeveral(_ body: FunctionBody) -> Bool {
        switch body {
        case .expressions(let es): return es.count > 1
        case .block(let statements):
            if case .expressionList(let es)? = statements.last?.kind { return es.count > 1 }
            return false
        }
    }

    /// The names a function body reads that are not its parameters nor bound in it.
    func freeNames(_ body: FunctionBody, parameters: [String]) -> Set<String> {
        var bound = Set(parameters), free = Set<String>()
        func walk(_ e: Expr) {
            if case .name(let n) = e.kind, !bound.contains(n) && functions[n] == nil { free.insert(n) }
            e.subexpressions.forEach(walk)
            if case .gradient(let g) = e.kind { g.sources.forEach { if !bound.contains($0.name) { free.insert($0.name) } } }
        }
        switch body {
        case .expressions(let es): es.forEach(walk)
        case .block(let statements):
            for s in statements {
                switch s.kind {
                case .assignment(let n, let v): walk(v); bound.insert(n.name)
                case .multipleAssignment(let ns, let v): walk(v); ns.forEach { bound.insert($0.name) }
                case .expression(let e): walk(e)
                case .expressionList(let es): es.forEach(walk)
                default: break
                }
            }
        }
        return free
    }

    mutating func function(name: String, parameters: [String], body: FunctionBody) throws {
        freeNames[name] = freeNames(body, parameters: parameters)
        functions[name] = false
        if draws(body) { drawingFunctions.insert(name) } else { drawingFunctions.remove(name) }
        if PythonWriter.givesSeveral(body) { severalFunctions.insert(name) } else { severalFunctions.remove(name) }
        functionBodies[name] = (parameters, body)
        emit("def \(py(name))(\(parameters.map(py).joined(separator: ", "))):")
        indent += 1
        try functionBody(body, parameters: parameters)
        indent -= 1
    }

    mutating func customFunction(name: String, parameters: [String], body: FunctionBody, cotangent: String, gradient: FunctionBody) throws {
        freeNames[name] = freeNames(body, parameters: parameters).union(freeNames(gradient, parameters: parameters + [cotangent]))
        functions[name] = true
        if draws(body) || draws(gradient) { drawingFunctions.insert(name) } else { drawingFunctions.remove(name) }
        if PythonWriter.givesSeveral(body) { severalFunctions.insert(name) } else { severalFunctions.remove(name) }
        let ps = parameters.map(py).joined(separator: ", ")
        let n = py(name)
        switch target {
        case .torch:
            emit("class _\(name)_function(torch.autograd.Function):")
            indent += 1
            emit("@staticmethod")
            emit("def forward(ctx, \(ps)):")
            indent += 1
            emit("ctx.save_for_backward(\(ps))")
            try functionBody(body, parameters: parameters)
            indent -= 1
            emit("@staticmethod")
            emit("def backward(ctx, \(py(cotangent))):")
            indent += 1
            emit("\(ps)\(parameters.count == 1 ? "," : "") = ctx.saved_tensors")
            try functionBody(gradient, parameters: parameters, fit: parameters.map(py))
            indent -= 2
            emit("def \(n)(\(ps)):")
            emit("    return _\(name)_function.apply(\(parameters.map { "T(\(py($0)))" }.joined(separator: ", ")))")
        case .tf:
            emit("@tf.custom_gradient")
            emit("def \(n)(\(ps)):")
            indent += 1
            emit("def grad(\(py(cotangent))):")
            indent += 1
            try functionBody(gradient, parameters: parameters, fit: parameters.map(py))
            indent -= 1
            // The forward body, then its value with the gradient function.
            let start = lines.count
            try functionBody(body, parameters: parameters)
            if let last = lines.last, lines.count > start, last.trimmingWhitespace().hasPrefix("return ") {
                lines[lines.count - 1] = last + ", grad"
            }
            indent -= 1
        case .jax:
            emit("@jax.custom_vjp")
            emit("def \(n)(\(ps)):")
            indent += 1
            try functionBody(body, parameters: parameters)
            indent -= 1
            emit("def _\(name)_fwd(\(ps)):")
            emit("    return \(n)(\(ps)), (\(ps)\(parameters.count == 1 ? "," : ""))")
            emit("def _\(name)_bwd(_residuals, \(py(cotangent))):")
            indent += 1
            emit("\(ps)\(parameters.count == 1 ? "," : "") = _residuals")
            let start = lines.count
            try functionBody(gradient, parameters: parameters, fit: parameters.map(py))
            if parameters.count == 1, let last = lines.last, lines.count > start {
                let trimmed = last.trimmingWhitespace()
                if trimmed.hasPrefix("return ") {
                    lines[lines.count - 1] = String(repeating: "    ", count: indent) + "return (" + trimmed.dropFirst(7) + ",)"
                }
            }
            indent -= 1
            emit("\(n).defvjp(_\(name)_fwd, _\(name)_bwd)")
        }
    }

    // MARK: Tracking (what tapebook's tape would record)

    /// Whether an expression's value is tracked on the implicit tape.
    func isTracked(_ e: Expr, _ env: [String: Int]) -> Bool {
        switch e.kind {
        case .number, .string: return false
        case .name(let n):
            if let members = groupMembers[n] { return members.contains { m in (env[m] ?? environment[m]).map { bindings[$0].tracked } ?? false } }
            if let id = env[n] { return bindings[id].tracked }
            return false
        case .unary(_, let a), .transpose(let a): return isTracked(a, env)
        case .binary(_, let a, let b): return isTracked(a, env) || isTracked(b, env)
        case .index(let a, _): return isTracked(a, env)
        case .tensor(let es), .group(let es): return es.contains { isTracked($0, env) }
        case .call(let name, let args):
            if PythonWriter.untrackedCalls.contains(name) || Builtins.table[name]?.untracked == true { return false }
            if functions[name] != nil, (freeNames[name] ?? []).contains(where: { n in (env[n] ?? environment[n]).map { bindings[$0].tracked } ?? false }) {
                return true
            }
            return args.contains { isTracked($0.value, env) }
        case .gradient(let g):
            return isTracked(g.target, env) || (g.seed.map { isTracked($0, env) } ?? false) || (g.tangent.map { isTracked($0, env) } ?? false)
        }
    }

    static let untrackedCalls: Set<String> = ["stop_gradient", "argmax", "argmin", "shape", "size", "rank",
                                              "lt", "gt", "le", "ge", "eq", "ne", "zeros", "ones", "eye",
                                              "arange", "randn", "rand", "load", "set_seed"]

    /// Whether binding `id` reaches any of `sources` through recorded operations.
    func depends(_ id: Int, on sources: Set<Int>) -> Bool {
        if sources.contains(id) { return true }
        let b = bindings[id]
        guard b.tracked else { return false }
        if b.opaque { return true }
        switch b.definition {
        case .root: return false
        case .expression(let e, let env), .element(let e, _, let env): return reaches(e, env, sources)
        case .replay(let k, _): return replayReaches(k, sources)
        }
    }

    /// Whether replay `k` reads anything that reaches `sources`.
    func replayReaches(_ k: Int, _ sources: Set<Int>) -> Bool {
        replays[k].parameters.contains { p in replays[k].environment[p].map { depends($0, on: sources) } ?? false }
    }

    /// Whether an expression reaches any of `sources` through recorded operations.
    func reaches(_ e: Expr, _ env: [String: Int], _ sources: Set<Int>) -> Bool {
        switch e.kind {
        case .number, .string: return false
        case .name(let n):
            if let members = groupMembers[n] { return members.contains { m in (env[m] ?? environment[m]).map { depends($0, on: sources) } ?? false } }
            guard let id = env[n] else { return false }
            return depends(id, on: sources)
        case .unary(_, let a), .transpose(let a): return reaches(a, env, sources)
        case .binary(_, let a, let b): return reaches(a, env, sources) || reaches(b, env, sources)
        case .index(let a, _): return reaches(a, env, sources)
        case .tensor(let es), .group(let es): return es.contains { reaches($0, env, sources) }
        case .call(let name, let args):
            if PythonWriter.untrackedCalls.contains(name) || Builtins.table[name]?.untracked == true { return false }
            // A function reads the names it does not bind where it is called.
            if functions[name] != nil, (freeNames[name] ?? []).contains(where: { n in (env[n] ?? environment[n]).map { depends($0, on: sources) } ?? false }) {
                return true
            }
            return args.contains { reaches($0.value, env, sources) }
        case .gradient(let g):
            return reaches(g.target, env, sources) || g.sources.contains { n in env[n.name].map { sources.contains($0) } ?? false }
                || (g.seed.map { reaches($0, env, sources) } ?? false) || (g.tangent.map { reaches($0, env, sources) } ?? false)
        }
    }
}

extension PythonWriter {
    /// A block of `if` or `while`, indented (`pass` when it writes nothing).
    mutating func indented(_ body: [Statement]) throws {
        indent += 1
        let before = lines.count
        try block(body)
        if lines.count == before { emit("pass") }
        indent -= 1
    }

    /// A condition of `if` or `while` as Python tests it: a one-element tensor, non-zero is true.
    mutating func condition(_ e: Expr) throws -> String {
        let c = try expression(e)
        return c.isNumber ? c.text : "bool(\(tensor(c)) != 0)"
    }

    /// The subscript of `x[...] = e` as NumPy, PyTorch and JAX index (not TensorFlow's gather).
    mutating func subscriptText(_ items: [IndexItem]) throws -> String {
        var parts: [String] = []
        for item in items {
            switch item.kind {
            case .single(let e):
                if let literal = numericLiteral(e) {
                    parts.append(literal.hasPrefix("[") ? (target == .jax ? "jnp.array(\(literal))" : target == .torch ? "torch.tensor(\(literal))" : "np.array(\(literal))") : literal)
                } else {
                    helpers.insert("index")
                    parts.append("_index(\(try expression(e).text))")
                }
            case .slice(let start, let stop, let step):
                func part(_ e: Expr?) throws -> String {
                    guard let e else { return "" }
                    if let literal = numericLiteral(e), !literal.hasPrefix("[") { return literal }
                    return "int(\(try expression(e).text))"
                }
                var text = try part(start) + ":" + part(stop)
                if let step {
                    let s = try part(step)
                    if target == .torch && !(Int(s).map { $0 > 0 } ?? false) { throw unsupported("PyTorch slices step forwards only") }
                    text += ":" + s
                }
                parts.append(text)
            }
        }
        return parts.joined(separator: ", ")
    }

    /// Whether a subscript is one mask: a comparison (`x[x < 0]`), which selects where it is 1.
    func isMask(_ items: [IndexItem]) -> Bool {
        guard items.count == 1, case .single(let e) = items[0].kind else { return false }
        switch e.kind {
        case .binary(let op, _, _): return op.isComparison
        case .call(let name, _): return ["lt", "gt", "le", "ge", "eq", "ne"].contains(name)
        default: return false
        }
    }

    /// `x[i] = e`, `x[i] += e`: on a plain tensor a recorded copy (tf.tensor_scatter_nd_update, `.at[].set`,
    /// a cloned tensor written in place), on a variable an update in place.
    mutating func elementAssignment(_ name: Identifier, _ items: [IndexItem], _ op: UpdateOperator?, _ value: Expr,
                                    statement s: Statement) throws {
        guard let id = environment[name.name] else { throw unsupported("'\(name.name)' is not bound") }
        let n = py(name.name)
        var v = try tensor(expression(value))
        let isVariable = variables.contains(name.name)
        let tracked = recording && (bindings[id].tracked || isTracked(value, environment))
        defer { if !isVariable { bind(name.name, .root, tracked: tracked) } }
        if isMask(items), case .single(let maskExpr) = items[0].kind {
            // A mask selects where it is 1: where(mask, e, x) has tensor_scatter_nd_update's gradient.
            let mask = try tensor(expression(maskExpr))
            if let op { v = "\(n) \(op.rawValue.dropLast()) \(v)" }
            let selected: String
            switch target {
            case .torch: selected = "torch.where(\(mask) != 0, \(v), \(n))"
            case .tf: selected = "tf.where(\(mask) != 0, \(v), \(n))"
            case .jax: selected = "jnp.where(\(mask) != 0, \(v), \(n))"
            }
            switch (target, isVariable) {
            case (.torch, true): emit("with torch.no_grad(): \(n).copy_(\(selected))")
            case (.tf, true): emit("\(n).assign(\(selected))")
            default: emit("\(n) = \(selected)")
            }
            return
        }
        let sub = try subscriptText(items)
        if let op { v = "\(n)[\(sub)] \(op.rawValue.dropLast()) \(v)" }
        switch target {
        case .torch:
            if isVariable {
                emit("with torch.no_grad(): \(n)[\(sub)] = \(v)")
            } else {
                // A copy written in place: autograd records the write (the gradient reaches e there, x elsewhere).
                emit("\(n) = \(n).clone()")
                emit("\(n)[\(sub)] = \(v)")
            }
        case .jax:
            emit("\(n) = \(n).at[\(sub)].set(\(v))")
        case .tf:
            helpers.insert("scatter")
            let updated = "_scatter_update(\(n), lambda a: a[\(sub)], \(v))"
            emit(isVariable ? "\(n).assign(\(updated))" : "\(n) = \(updated)")
        }
    }
}
