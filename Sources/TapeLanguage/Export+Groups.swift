import Portable
import TapeSyntax

/// Groups in exported scripts (spec section 1).
///
/// A group of tensors is a Python list: `[a, b]`, a gradient's several results, a built-in's (`qr`,
/// `split`). Arithmetic and elementwise built-ins on groups are one list comprehension over the members,
/// `[p - 0.1 * g for p, g in zip(params, gs, strict=True)]` (a tensor operand broadcasts to every member;
/// `strict` makes groups of different lengths an error, as in tapebook). A group of variables is the list
/// of its members' names, written afresh where it is read (an update rebinds a member in PyTorch's
/// new-leaf mode and in JAX); updating it updates its variables: `assign_sub` in TensorFlow, an in-place
/// update under `torch.no_grad()` in PyTorch, a functional update (`w, b = [...]`) in JAX.
extension PythonWriter {
    /// Whether `e` gives a group: a group literal, a name bound to one, several sources or results, or
    /// arithmetic and elementwise built-ins with a group operand (computed member by member).
    func isGroupExpression(_ e: Expr) -> Bool {
        switch e.kind {
        case .group: return true
        case .name(let n): return renames[n] == nil && (groupCount(n) != nil || staleGroups.contains(n))
        case .gradient(let g): return expandingGroups(g).sources.count > 1
        case .binary(_, let a, let b): return isGroupExpression(a) || isGroupExpression(b)
        case .unary(_, let a): return isGroupExpression(a)
        case .call(let name, let arguments):
            if functions[name] != nil { return severalFunctions.contains(name) }
            if name == "clip_by_global_norm" {
                // Its result has as many members as its arguments after the first (one is a tensor).
                let members = arguments.dropFirst().filter { $0.label == nil }
                return members.count > 1 || members.contains { isGroupExpression($0.value) }
            }
            // A declared built-in with several results (qr, svd, split, top_k).
            if let declared = Builtins.declared[name], declared.single == nil { return true }
            return isMemberwiseCall(name, arguments)
        default: return false
        }
    }

    /// A built-in applied member by member (as tapebook applies it) to a group argument.
    func isMemberwiseCall(_ name: String, _ arguments: [Argument]) -> Bool {
        functions[name] == nil && !Session.takesGroups(name) && Session.isMemberwise(name)
            && arguments.contains { $0.label == nil && isGroupExpression($0.value) }
    }

    /// How many members a group expression has, where the export can tell without running it.
    func staticGroupCount(_ e: Expr) -> Int? {
        switch e.kind {
        case .group(let members): return members.count
        case .name(let n): return groupCount(n)
        case .gradient(let g):
            let n = expandingGroups(g).sources.count
            return g.kind == .hessian ? n * n : n
        case .binary(_, let a, let b): return staticGroupCount(a) ?? staticGroupCount(b)
        case .unary(_, let a): return staticGroupCount(a)
        case .call(let name, let arguments) where isMemberwiseCall(name, arguments):
            return arguments.lazy.compactMap { $0.label == nil ? self.staticGroupCount($0.value) : nil }.first
        default: return nil
        }
    }

    /// Python code for a group: an iterable of its members (a list, or a library's tuple of results).
    mutating func groupCode(_ e: Expr, env: [String: Int], inline: InlineContext?) throws -> String {
        switch e.kind {
        case .group(let members):
            if let nested = members.first(where: isGroupExpression) {
                throw unsupported("groups do not nest (\(source.text(of: nested.span)) is a group)")
            }
            return "[" + (try members.map { try tensor(expression($0, env: env, inline: inline)) }).joined(separator: ", ") + "]"
        case .binary, .unary:
            return try memberwise(e, env: env, inline: inline).text
        case .call(let name, let arguments) where isMemberwiseCall(name, arguments):
            return try memberwise(e, env: env, inline: inline).text
        default:
            return try expression(e, env: env, inline: inline).text
        }
    }

    /// The code of a group as a Python list (a library's tuple of results is made one).
    mutating func groupList(_ e: Expr) throws -> String {
        let code = try groupCode(e, env: environment, inline: nil)
        return code.hasPrefix("[") && code.hasSuffix("]") ? code : "list(\(code))"
    }

    /// `params - 0.1 * gs`, `square(gs)`, `(a, b) * 2`: one comprehension over the members of the group
    /// operands, the operation written once for a member.
    mutating func memberwise(_ e: Expr, env: [String: Int], inline: InlineContext?) throws -> PyCode {
        let depth = memberwiseDepth
        memberwiseDepth += 1
        defer { memberwiseDepth -= 1 }
        var lists: [String] = []
        var hidden: [String] = []
        let element = try memberOperation(e, env: env, inline: inline, depth: depth, lists: &lists, hidden: &hidden)
        defer { for h in hidden { renames[h] = nil } }
        let code = try tensor(expression(element, env: env, inline: inline))
        let variables = hidden.indices.map { memberVariable(depth, $0) }
        if lists.count == 1 { return PythonWriter.atom("[\(code) for \(variables[0]) in \(lists[0])]") }
        return PythonWriter.atom("[\(code) for \(variables.joined(separator: ", ")) in zip(\(lists.joined(separator: ", ")), strict=True)]")
    }

    func memberVariable(_ depth: Int, _ k: Int) -> String { depth == 0 ? "_m\(k)" : "_m\(depth)_\(k)" }

    /// `e` with each group operand replaced by a name for one of its members (its code goes to `lists`).
    private mutating func memberOperation(_ e: Expr, env: [String: Int], inline: InlineContext?, depth: Int,
                                          lists: inout [String], hidden: inout [String]) throws -> Expr {
        guard isGroupExpression(e) else { return e }
        switch e.kind {
        case .binary(let op, let a, let b):
            let l = try memberOperation(a, env: env, inline: inline, depth: depth, lists: &lists, hidden: &hidden)
            let r = try memberOperation(b, env: env, inline: inline, depth: depth, lists: &lists, hidden: &hidden)
            return Expr(kind: .binary(op, l, r), span: e.span)
        case .unary(let op, let a):
            return Expr(kind: .unary(op, try memberOperation(a, env: env, inline: inline, depth: depth, lists: &lists, hidden: &hidden)), span: e.span)
        case .call(let name, let arguments) where isMemberwiseCall(name, arguments):
            var replaced: [Argument] = []
            for a in arguments {
                guard a.label == nil else { replaced.append(a); continue }
                replaced.append(Argument(label: nil, value: try memberOperation(a.value, env: env, inline: inline, depth: depth, lists: &lists, hidden: &hidden)))
            }
            return Expr(kind: .call(name: name, arguments: replaced), span: e.span)
        default:
            lists.append(try groupCode(e, env: env, inline: inline))
            // A name no source can spell, read as the comprehension's variable.
            let name = "\u{1}member\(depth)_\(hidden.count)"
            renames[name] = PythonWriter.atom(memberVariable(depth, hidden.count))
            hidden.append(name)
            return Expr(kind: .name(name), span: e.span)
        }
    }

    /// Shows each member of a group, with tapebook's labels where its outcome gives them.
    mutating func showGroup(_ code: String, labels: [String]?) {
        temporaries += 1
        let t = "_g\(temporaries)"
        emit("\(t) = \(code)")
        if let labels {
            for (i, label) in labels.enumerated() { emit("show(\(quote(label + " =")), \(t)[\(i)])") }
        } else {
            emit("for _i, _m in enumerate(\(t)):")
            emit("    show(\"[%d] =\" % _i, _m)")
        }
    }

    /// The labels tapebook showed for this statement's several results (top-level statements only).
    func severalLabels() -> [String]? {
        guard topLevel else { return nil }
        for o in outcomes {
            if case .several(let items) = o.result { return items.enumerated().map { $1.label ?? "[\($0)]" } }
        }
        return nil
    }

    /// `x = <a group>`: the name holds a Python list; its members are shown as tapebook shows them.
    mutating func bindGroup(_ name: String, _ value: Expr, shows: Bool) throws {
        guard let count = groupSize(name) ?? staticGroupCount(value) else {
            throw unsupported("the export cannot tell how many members the group '\(name)' has")
        }
        let code = try groupList(value)
        bind(name, .expression(value, environment: environment), tracked: recording && isTracked(value, environment))
        listGroups[name] = count
        emit("\(py(name)) = \(code)")
        if shows { for i in 0..<count { emit("show(\(quote("\(name)[\(i)] =")), \(py(name))[\(i)])") } }
    }

    /// `params -= e`, `params += e`: a group of variables updates its variables (unrecorded); a group of
    /// tensors is rebound to `params - e`, recorded, member by member.
    mutating func groupUpdate(_ name: Identifier, _ op: UpdateOperator, _ value: Expr, statement s: Statement, shows: Bool) throws {
        if staleGroups.contains(name.name) {
            throw unsupported("the group '\(name.name)' holds a variable whose name was bound again since; the export names variables by their names")
        }
        guard op == .add || op == .subtract else { throw unsupported("a group is updated with += or -=") }
        guard let members = groupMembers[name.name] else {
            // A group of tensors: `g -= e` is `g = g - e`, member by member.
            let difference = Expr(kind: .binary(op.binary, Expr(kind: .name(name.name), span: name.span), value), span: s.span)
            let count = listGroups[name.name]
            let code = try groupList(difference)
            bind(name.name, .expression(difference, environment: environment), tracked: recording && isTracked(difference, environment))
            emit("\(py(name.name)) = \(code)")
            if shows, let count { for i in 0..<count { emit("show(\(quote("\(name.name)[\(i)] =")), \(py(name.name))[\(i)])") } }
            return
        }
        if target == .jax || (target == .torch && !torchInPlace) { for m in members { try refuseAliases(of: m) } }
        let names = members.map(py)
        let list = "[" + names.joined(separator: ", ") + "]"
        let symbol = op == .subtract ? "-" : "+"
        // The update's members, computed first (with the graph: it may hold a gradient); a tensor is the
        // same for every member.
        temporaries += 1
        let update = "_u\(temporaries)"
        let pairs: String
        if isGroupExpression(value) {
            emit("\(update) = \(try groupList(value))")
            pairs = "zip(\(list), \(update), strict=True)"
        } else {
            emit("\(update) = \(try tensor(expression(value)))")
            pairs = "((_v, \(update)) for _v in \(list))"
        }
        switch target {
        case .tf:
            emit("for _v, _d in \(pairs):")
            // NOTE: assign_sub does not broadcast; tapebook broadcasts the update to the member's shape.
            emit("    _v.\(op == .subtract ? "assign_sub" : "assign_add")(tf.broadcast_to(_d, _v.shape))")
        case .torch:
            if torchInPlace {
                // In place on each leaf; a later gradient through a graph that read the old values would
                // fail (torch's version check), so the exporter then writes new leaves instead (see Exporter).
                emit("with torch.no_grad():")
                emit("    for _v, _d in \(pairs):")
                emit("        _v \(symbol)= _d")
                for m in members {
                    guard let previous = environment[m] else { continue }
                    overwritten.insert(previous)
                    bind(m, .root, tracked: true, variable: bindings[previous].variable ?? previous)
                }
            } else {
                // A new leaf per member, as `w -= e` makes one (the graphs that read the old values stay valid).
                for (i, m) in members.enumerated() {
                    let d = isGroupExpression(value) ? "\(update)[\(i)]" : update
                    emit("\(names[i]) = _var(\(quote(m)), (\(names[i]) \(symbol) \(d)).detach().requires_grad_())")
                }
            }
        case .jax:
            // The values before the update stay readable under names of their own (see `w -= e`).
            var keeps: [String] = []
            for m in members {
                guard let previous = environment[m] else { continue }
                temporaries += 1
                let keep = "_\(m)_\(temporaries)"
                bindings[previous].python = keep
                keeps.append(keep)
            }
            if keeps.count == names.count { emit("\(keeps.joined(separator: ", ")) = \(names.joined(separator: ", "))") }
            let updated = "_v \(symbol) _d"
            emit("\(names.joined(separator: ", "))\(names.count == 1 ? "," : "") = [\(replaying ? "jax.lax.stop_gradient(\(updated))" : updated) for _v, _d in \(pairs)]")
            for m in members {
                guard let previous = environment[m] else { continue }
                bind(m, .root, tracked: true, variable: bindings[previous].variable ?? previous)
            }
        }
        if shows { for (i, n) in names.enumerated() { emit("show(\(quote("\(name.name)[\(i)] =")), \(n))") } }
    }
}

extension PythonWriter {
    /// The built-ins that draw from the generator (or reseed it).
    static let randomCalls: Set<String> = ["randn", "rand", "dropout", "set_seed"]

    /// Whether statements draw random numbers (a user function that does included).
    func draws(_ statements: [Statement]) -> Bool {
        var names: [String] = [], calls = Set<String>()
        PythonWriter.readNames(statements, into: &names, calls: &calls)
        return !calls.isDisjoint(with: PythonWriter.randomCalls.union(drawingFunctions))
    }

    func draws(_ body: FunctionBody) -> Bool {
        switch body {
        case .expressions(let es): return es.contains { e in
            var names: [String] = [], calls = Set<String>()
            PythonWriter.readNames(e, into: &names, calls: &calls)
            return !calls.isDisjoint(with: PythonWriter.randomCalls.union(drawingFunctions))
        }
        case .block(let statements): return draws(statements)
        }
    }

    /// JAX: the generator's state saved where random point `k`'s statement starts, written there the
    /// first time a gradient needs it.
    mutating func snapshot(_ k: Int) -> String {
        if let name = randomPoints[k].snapshot { return name }
        temporaries += 1
        let name = "_rng\(temporaries)"
        let at = randomPoints[k].line
        lines.insert(String(repeating: "    ", count: randomPoints[k].indent)
                     + "\(name) = _rng.copy()  # the generator before line \(randomPoints[k].line1), which jax.grad evaluates again", at: at)
        for i in randomPoints.indices where i != k && randomPoints[i].line >= at { randomPoints[i].line += 1 }
        randomPoints[k].line += 1
        if replayInsertion >= at { replayInsertion += 1 }
        randomPoints[k].snapshot = name
        return name
    }

    /// JAX: code re-evaluated inside a gradient's function, drawing the numbers its statement drew.
    mutating func redrawn(_ c: PyCode, _ point: Int?) throws -> PyCode {
        guard let point else { return c }
        if replaying { throw unsupported("JAX: a gradient inside a replayed statement would draw its random numbers again") }
        return PythonWriter.atom("_redraw(\(snapshot(point)), lambda: \(tensor(c)))")
    }
}

extension PythonWriter {
    /// PyTorch (a new leaf per update) and JAX (a new value): a name bound to a variable (`w2 = w`) holds the
    /// variable in tapebook and follows its updates; the script's name would keep the old value, so the
    /// update is refused while such a name is bound.
    func refuseAliases(of variable: String) throws {
        guard target != .tf, let id = environment[variable], let v = bindings[id].variable ?? Optional(id) else { return }
        for (other, oid) in environment.sorted(by: { $0.key < $1.key }) where other != variable {
            guard case .expression(let e, let env) = bindings[oid].definition, case .name(let n) = e.kind,
                  let nid = env[n], (bindings[nid].variable ?? nid) == v else { continue }
            throw unsupported("'\(other)' holds the variable \(variable) (\(other) = \(n)) and follows its updates in tapebook, but in \(target.library) it would keep the old value; write \(other) = \(n) after the update, or read \(variable)")
        }
    }
}
