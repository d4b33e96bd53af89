import Portable
import TapeSyntax

extension PythonWriter {
    // MARK: Small pieces

    static func number(_ d: Double) -> String {
        if d.isNaN { return "float(\"nan\")" }
        if d.isInfinite { return d > 0 ? "float(\"inf\")" : "-float(\"inf\")" }
        if d == d.rounded() && abs(d) < 1e15 { return String(Int(d)) }
        return "\(d)"
    }

    /// A tensor literal (or number) made only of numbers, as a nested Python list.
    func numericLiteral(_ e: Expr) -> String? {
        switch e.kind {
        case .number(let d): return PythonWriter.number(d)
        case .unary(.negate, let a):
            if case .number(let d) = a.kind { return PythonWriter.number(-d) }
            return nil
        case .tensor(let es):
            var parts: [String] = []
            for x in es { guard let p = numericLiteral(x) else { return nil }; parts.append(p) }
            return "[" + parts.joined(separator: ", ") + "]"
        default: return nil
        }
    }

    var float64: String {
        switch target { case .torch: return "torch.float64"; case .tf: return "tf.float64"; case .jax: return "jnp.float64" }
    }

    func literalTensor(_ list: String) -> String {
        switch target {
        case .torch: return "torch.tensor(\(list), dtype=torch.float64)"
        case .tf: return "tf.constant(\(list), tf.float64)"
        case .jax: return "jnp.array(\(list), jnp.float64)"
        }
    }

    /// The code as a library tensor (plain numbers are converted).
    func tensor(_ c: PyCode) -> String { c.isNumber ? "T(\(c.text))" : c.text }

    func parenthesized(_ c: PyCode, above level: Int) -> String {
        c.precedence < level ? "(\(c.text))" : c.text
    }

    static func atom(_ s: String) -> PyCode { PyCode(text: s, precedence: PyCode.atom) }

    var lib: String { switch target { case .torch: return "torch"; case .tf: return "tf"; case .jax: return "jnp" } }

    // MARK: Expressions

    mutating func expression(_ e: Expr) throws -> PyCode {
        try expression(e, env: environment, inline: nil)
    }

    mutating func expression(_ e: Expr, env: [String: Int], inline: InlineContext?) throws -> PyCode {
        switch e.kind {
        case .number(let d):
            return PyCode(text: PythonWriter.number(d), precedence: d < 0 ? PyCode.unary : PyCode.atom, isNumber: true)
        case .string(let s):
            return PythonWriter.atom(quote(s))
        case .name(let n):
            return try name(n, env: env, inline: inline)
        case .unary(let op, let a):
            if isGroupExpression(a) { return try memberwise(e, env: env, inline: inline) }
            let c = try expression(a, env: env, inline: inline)
            return PyCode(text: op.rawValue + parenthesized(c, above: PyCode.unary), precedence: PyCode.unary, isNumber: c.isNumber)
        case .binary(let op, let a, let b):
            if isGroupExpression(a) || isGroupExpression(b) { return try memberwise(e, env: env, inline: inline) }
            let l = try expression(a, env: env, inline: inline), r = try expression(b, env: env, inline: inline)
            switch op {
            case .power:
                let left = l.isNumber && r.isNumber ? l.text : (l.isNumber ? tensor(l) : l.text)
                let lc = PyCode(text: left, precedence: l.isNumber && !r.isNumber ? PyCode.atom : l.precedence)
                return PyCode(text: parenthesized(lc, above: PyCode.atom) + " ** " + parenthesized(r, above: PyCode.unary),
                              precedence: PyCode.power, isNumber: l.isNumber && r.isNumber)
            case .matmul:
                if target == .tf {
                    helpers.insert("matmul")
                    return PythonWriter.atom("_matmul(\(tensor(l)), \(tensor(r)))")
                }
                return PyCode(text: parenthesized(l, above: PyCode.multiplicative) + " @ " + parenthesized(r, above: PyCode.multiplicative + 1),
                              precedence: PyCode.multiplicative)
            case .multiply, .divide:
                var lt = l
                // 1 / 0 in Python raises; tensors give inf as tapebook does.
                if op == .divide && l.isNumber && r.isNumber { lt = PythonWriter.atom(tensor(l)) }
                return PyCode(text: parenthesized(lt, above: PyCode.multiplicative) + " \(op.rawValue) " + parenthesized(r, above: PyCode.multiplicative + 1),
                              precedence: PyCode.multiplicative, isNumber: lt.isNumber && r.isNumber)
            case .add, .subtract:
                return PyCode(text: parenthesized(l, above: PyCode.additive) + " \(op.rawValue) " + parenthesized(r, above: PyCode.additive + 1),
                              precedence: PyCode.additive, isNumber: l.isNumber && r.isNumber)
            case .equal, .notEqual, .less, .greater, .lessEqual, .greaterEqual, .modulo, .floorDivide:
                // Written as the built-in the operator stands for (`gt`, `mod`, ...), with its library spelling.
                let names: [BinaryOperator: String] = [.equal: "eq", .notEqual: "ne", .less: "lt", .greater: "gt", .lessEqual: "le",
                                                       .greaterEqual: "ge", .modulo: "mod", .floorDivide: "floor_divide"]
                return try call(names[op]!, [Argument(label: nil, value: a), Argument(label: nil, value: b)], env: env, inline: inline)
            }
        case .call(let name, let arguments):
            if isMemberwiseCall(name, arguments) { return try memberwise(e, env: env, inline: inline) }
            return try call(name, arguments, env: env, inline: inline)
        case .index(let a, let items):
            return try index(a, items, env: env, inline: inline)
        case .transpose(let a):
            let c = try expression(a, env: env, inline: inline)
            return transposed(tensor(c), axes: nil)
        case .tensor(let es):
            if let list = numericLiteral(e) { return PythonWriter.atom(literalTensor(list)) }
            let parts = try es.map { try tensor(expression($0, env: env, inline: inline)) }
            let stack = target == .jax ? "jnp.stack" : "\(lib).stack"
            return PythonWriter.atom("\(stack)([\(parts.joined(separator: ", "))])")
        case .gradient(let g):
            return try gradient(checkedGroups(g), env: env, inline: inline)
        case .group:
            return PythonWriter.atom(try groupCode(e, env: env, inline: inline))
        }
    }

    mutating func name(_ n: String, env: [String: Int], inline: InlineContext?) throws -> PyCode {
        if let code = renames[n] { return code }
        if staleGroups.contains(n) {
            throw unsupported("the group '\(n)' holds a variable whose name was bound again since; the export names variables by their names")
        }
        if let members = groupMembers[n] {
            return PythonWriter.atom("[" + (try members.map { try tensor(name($0, env: env, inline: inline)) }).joined(separator: ", ") + "]")
        }
        if (n == "true" || n == "false") && env[n] == nil && environment[n] == nil {
            return PyCode(text: n == "true" ? "1" : "0", precedence: PyCode.atom, isNumber: true)
        }
        if functions[n] != nil { return PythonWriter.atom(py(n)) }
        guard let inline, let id = env[n] else { return PythonWriter.atom(py(n)) }
        let b = bindings[id]
        // The Python name that holds this value now, if any.
        let held: String? = environment[n] == id ? py(n) : b.python
        if inline.constants.contains(id), inline.parameters[id] == nil {
            if let held { return PythonWriter.atom(held) }
            return try definition(n, id, env: env, inline: inline, dependent: false)
        }
        if let perturbations = inline.parameters[id] {
            // A source: its value plus its perturbations. An intermediate source (one that other sources of
            // the same gradient reach) is its definition, so that gradients flow through it to them.
            var others = inline.sources
            others.remove(id)
            var base: String
            if case .root = b.definition, let held {
                base = held
            } else if let held, !definitionReaches(id, others) {
                base = held
            } else {
                base = try definition(n, id, env: env, inline: inline, dependent: true).text
            }
            if b.opaque && definitionReaches(id, others) {
                throw unsupported("JAX needs '\(n)' as a function of the gradient's other sources, but it was computed in a loop")
            }
            base = "(" + base + " + " + perturbations.joined(separator: " + ") + ")"
            return PythonWriter.atom(base)
        }
        let dependent = depends(id, on: inline.sources)
        if !dependent, let held { return PythonWriter.atom(held) }
        if b.opaque {
            throw unsupported("JAX needs '\(n)' as a function of the gradient's sources, but it was computed in a loop (a loop's gradients need the loop as a function)")
        }
        return try definition(n, id, env: env, inline: inline, dependent: dependent)
    }

    /// Whether binding `id`'s own definition reaches any of `sources`.
    func definitionReaches(_ id: Int, _ sources: Set<Int>) -> Bool {
        let b = bindings[id]
        guard b.tracked, !sources.isEmpty else { return false }
        if b.opaque { return true }
        switch b.definition {
        case .root: return false
        case .expression(let e, let env), .element(let e, _, let env): return reaches(e, env, sources)
        case .replay(let k, _): return replayReaches(k, sources)
        }
    }

    /// A binding's defining expression, inlined; a constant (stop_gradient) where it does not depend on
    /// the sources.
    mutating func definition(_ n: String, _ id: Int, env: [String: Int], inline: InlineContext, dependent: Bool) throws -> PyCode {
        switch bindings[id].definition {
        case .root:
            throw unsupported("JAX needs '\(n)' as a function of the gradient's sources, but its value cannot be re-expressed (it was watched, a variable, or rebound)")
        case .expression(let e, let definitionEnv):
            let c = try redrawn(try expression(e, env: definitionEnv, inline: inline), bindings[id].randomPoint)
            if dependent { return c }
            return PythonWriter.atom("jax.lax.stop_gradient(\(tensor(c)))")
        case .element(let e, let i, let definitionEnv):
            let c = try redrawn(try expression(e, env: definitionEnv, inline: inline), bindings[id].randomPoint)
            let element = "\(parenthesized(c, above: PyCode.atom))[\(i)]"
            return PythonWriter.atom(dependent ? element : "jax.lax.stop_gradient(\(element))")
        case .replay(let k, let i):
            let c = try replayed(k, index: i, name: n, inline: inline)
            return dependent ? c : PythonWriter.atom("jax.lax.stop_gradient(\(c.text))")
        }
    }

    func transposed(_ x: String, axes: String?) -> PyCode {
        switch target {
        case .torch: return PythonWriter.atom(axes.map { "torch.permute(\(x), \($0))" } ?? "_transpose(\(x))")
        case .tf: return PythonWriter.atom(axes.map { "tf.transpose(\(x), \($0))" } ?? "tf.transpose(\(x))")
        case .jax: return PythonWriter.atom(axes.map { "jnp.transpose(\(x), \($0))" } ?? "jnp.transpose(\(x))")
        }
    }

    // MARK: Indexing

    mutating func index(_ a: Expr, _ items: [IndexItem], env: [String: Int], inline: InlineContext?) throws -> PyCode {
        let base = try expression(a, env: env, inline: inline)
        var parts: [String] = []
        var gathers = 0
        var backwards = false
        for item in items {
            switch item.kind {
            case .single(let e):
                if let literal = numericLiteral(e) {
                    if literal.hasPrefix("[") {
                        gathers += 1
                        switch target {
                        case .torch: parts.append("torch.tensor(\(literal))")
                        case .tf: parts.append(literal)
                        case .jax: parts.append("jnp.array(\(literal))")
                        }
                    } else {
                        parts.append(literal)
                    }
                } else {
                    // An index computed at run time: untracked, so outside any gradient's perturbation.
                    let c = try expression(e, env: env, inline: nil)
                    helpers.insert("index")
                    if items.count == 1 && (isMask(e, env) || target == .tf) {
                        // A comparison's 0/1 result of x's shape selects elements (NumPy's boolean index).
                        helpers.insert("select")
                        return PythonWriter.atom("_select(\(tensor(base)), \(tensor(c)), \(isMask(e, env) ? "True" : "False"))")
                    }
                    parts.append("_index(\(c.text))")
                }
            case .slice(let start, let stop, let step):
                func part(_ e: Expr?) throws -> String {
                    guard let e else { return "" }
                    if let literal = numericLiteral(e), !literal.hasPrefix("[") { return literal }
                    return "int(\(try expression(e, env: env, inline: inline).text))"
                }
                var s = try part(start) + ":" + part(stop)
                if let step {
                    let st = try part(step)
                    if target == .torch && !(Int(st).map { $0 > 0 } ?? false) { backwards = true }
                    s += ":" + st
                }
                parts.append(s)
            }
        }
        let x = parenthesized(PyCode(text: tensor(base), precedence: base.isNumber ? PyCode.atom : base.precedence), above: PyCode.atom)
        if target == .tf && gathers > 0 {
            guard items.count == 1 else { throw unsupported("TensorFlow gathers with an index list only on a single axis") }
            let x = tensor(base)
            if parts[0].containsText("-") {
                return PythonWriter.atom("tf.gather(\(x), np.array(\(parts[0])) % \(parenthesized(PyCode(text: x, precedence: base.isNumber ? PyCode.atom : base.precedence), above: PyCode.atom)).shape[0])")
            }
            return PythonWriter.atom("tf.gather(\(x), \(parts[0]))")
        }
        if backwards {
            guard gathers == 0, !parts.contains(where: { $0.hasPrefix("_index(") }) else {
                throw unsupported("PyTorch slices step forwards only; write the backward slice on its own")
            }
            helpers.insert("take")
            let items = parts.map { p -> String in
                guard p.containsText(":") else { return p }
                let pieces = p.split(separator: ":", omittingEmptySubsequences: false).map { $0.isEmpty ? "None" : String($0) }
                return "slice(" + pieces.joined(separator: ", ") + ")"
            }
            return PythonWriter.atom("_take(\(tensor(base)), [\(items.joined(separator: ", "))])")
        }
        return PythonWriter.atom("\(x)[\(parts.joined(separator: ", "))]")
    }

    /// Whether an index is a comparison's result, which tapebook reads as a boolean mask.
    func isMask(_ e: Expr, _ env: [String: Int]) -> Bool {
        switch e.kind {
        case .binary(let op, _, _): return op.isComparison
        case .call(let name, _): return ["lt", "gt", "le", "ge", "eq", "ne"].contains(name)
        case .name(let n):
            guard let id = env[n], case .expression(let d, let denv) = bindings[id].definition else { return false }
            return isMask(d, denv)
        default: return false
        }
    }

    // MARK: Gradients

    /// PyTorch and JAX record on one graph; a gradient from scoped tape `t` gives TensorFlow's numbers
    /// there when every value on the way from its sources to its target was recorded on `t` and each
    /// source was watched by `t`. Returns, per source, whether `t` watched it (else the gradient is None);
    /// anything else is refused.
    /// `constants`: JAX's top-level gradient, which can hold a value t did not record constant (collected in
    /// `offTape`, for its InlineContext) where one graph would differentiate through it.
    func scopedSources(_ g: Gradient, env: [String: Int], constants: Bool = false, offTape: inout Set<Int>) throws -> [Bool] {
        guard let tape = g.tape?.name else { return g.sources.map { _ in true } }
        var all = Set<Int>()
        var watched: [Bool] = []
        for s in g.sources {
            guard let id = env[s.name] else { throw unsupported("'\(s.name)' is not bound") }
            let versions = bindings[id].variable.map { v in Set(bindings.indices.filter { bindings[$0].variable == v }) } ?? [id]
            all.formUnion(versions)
            let isVariable = bindings[id].variable != nil
            watched.append((isVariable && !nowatchScopes.contains(tape)) || !(watchedOn[tape] ?? []).isDisjoint(with: versions))
        }
        // A source from which tape t recorded no path gives None, as in TensorFlow: every value on the way
        // was computed while t did not record (before its block, under `with stop`), or the target's own
        // operations were (a target written after the block). Where tapebook showed this gradient, it
        // must agree.
        let recordsTarget = scopes.contains(tape) && !stoppedScopes.contains(tape)
        let onTape = g.sources.indices.map { i -> Bool? in
            guard watched[i], let id = env[g.sources[i].name] else { return false }
            let versions = bindings[id].variable.map { v in Set(bindings.indices.filter { bindings[$0].variable == v }) } ?? [id]
            return tapePath(g.target, env, versions, tape: tape, top: true, recordsTarget: recordsTarget)
        }
        if onTape.allSatisfy({ $0 == false }) {
            if topGradient == g, let expected = expectedConnected, expected.contains(true) {
                throw unsupported("\(target.library) records on one graph: tapebook finds a path on tape \(tape) that the export cannot see")
            }
            return g.sources.map { _ in false }
        }
        if !scopes.contains(tape), case .name = g.target.kind {} else if !scopes.contains(tape) {
            throw unsupported("\(target.library) records on one graph: the target of a gradient from tape \(tape) must be a name bound in its block")
        }
        func walk(_ e: Expr, _ env: [String: Int]) throws {
            switch e.kind {
            case .number, .string: return
            case .name(let n):
                guard let id = env[n], !all.contains(id), depends(id, on: all) else { return }
                let b = bindings[id]
                if constants, !b.tapes.contains(tape), !b.opaque {
                    // TensorFlow's t sees this value as a constant: JAX differentiates it as one.
                    offTape.insert(id)
                    return
                }
                if !b.tapes.contains(tape) || b.opaque {
                    throw unsupported("\(target.library) records on one graph: '\(n)' reaches the sources outside what tape \(tape) recorded, where TensorFlow's tape sees a constant or no path")
                }
                switch b.definition {
                case .root: return
                case .expression(let d, let denv), .element(let d, _, let denv): try walk(d, denv)
                case .replay(let k, _):
                    for p in replays[k].parameters { try walk(Expr(kind: .name(p), span: e.span), replays[k].environment) }
                }
            case .unary(_, let a), .transpose(let a): try walk(a, env)
            case .binary(_, let a, let b): try walk(a, env); try walk(b, env)
            case .index(let a, _): try walk(a, env)
            case .tensor(let es), .group(let es): for x in es { try walk(x, env) }
            case .call(let name, let args):
                if PythonWriter.untrackedCalls.contains(name) { return }
                for a in args { try walk(a.value, env) }
            case .gradient(let inner):
                try walk(inner.target, env)
                if let s = inner.seed { try walk(s, env) }
            }
        }
        try walk(g.target, env)
        return watched
    }

    /// Whether tape `tape` recorded a path from `versions` (a source's values) to `e`: nil when not known.
    func tapePath(_ e: Expr, _ env: [String: Int], _ versions: Set<Int>, tape: String, top: Bool, recordsTarget: Bool) -> Bool? {
        func any(_ results: [Bool?]) -> Bool? {
            if results.contains(true) { return true }
            return results.contains(where: { $0 == nil }) ? nil : false
        }
        if top && !recordsTarget {
            // The target's own operations were not recorded on the tape: only a name bound on it can lead back.
            guard case .name = e.kind else { return false }
        }
        switch e.kind {
        case .number, .string: return false
        case .name(let n):
            guard let id = env[n] else { return false }
            if versions.contains(id) { return top ? nil : true }
            let b = bindings[id]
            if !b.tracked || !b.tapes.contains(tape) { return false }
            if b.opaque { return nil }
            switch b.definition {
            case .root: return false
            case .expression(let d, let denv), .element(let d, _, let denv):
                return tapePath(d, denv, versions, tape: tape, top: false, recordsTarget: true)
            case .replay: return nil
            }
        case .unary(_, let a), .transpose(let a): return tapePath(a, env, versions, tape: tape, top: false, recordsTarget: true)
        case .binary(_, let a, let b):
            return any([a, b].map { tapePath($0, env, versions, tape: tape, top: false, recordsTarget: true) })
        case .index(let a, _): return tapePath(a, env, versions, tape: tape, top: false, recordsTarget: true)
        case .tensor(let es): return any(es.map { tapePath($0, env, versions, tape: tape, top: false, recordsTarget: true) })
        case .call(let name, let args):
            if PythonWriter.untrackedCalls.contains(name) || Builtins.table[name]?.untracked == true { return false }
            if functions[name] != nil && !(freeNames[name] ?? []).isEmpty { return nil }
            return any(args.map { tapePath($0.value, env, versions, tape: tape, top: false, recordsTarget: true) })
        case .gradient, .group: return nil
        }
    }

    mutating func gradient(_ g: Gradient, env: [String: Int], inline: InlineContext?) throws -> PyCode {
        if isGroupExpression(g.target), g.kind != .grad || g.seed != nil {
            throw unsupported("several targets are exported for grad without a seed (the gradient of their sum)")
        }
        switch target {
        case .torch: return try torchGradient(g, env: env, inline: inline)
        case .tf: return try tfGradient(g, env: env, inline: inline)
        case .jax: return try jaxGradient(g, env: env, inline: inline)
        }
    }

    /// A gradient's target: several targets (a group) are the sum of their sums (TensorFlow takes the list).
    mutating func targetCode(_ g: Gradient, env: [String: Int], inline: InlineContext?) throws -> String {
        guard isGroupExpression(g.target) else { return try tensor(expression(g.target, env: env, inline: inline)) }
        let members = try groupCode(g.target, env: env, inline: inline)
        switch target {
        case .tf: return members
        case .torch: return "sum(torch.sum(_t) for _t in \(members))"
        case .jax: return "sum(jnp.sum(_t) for _t in \(members))"
        }
    }

    mutating func torchGradient(_ g: Gradient, env: [String: Int], inline: InlineContext?) throws -> PyCode {
        if !overwritten.isEmpty, reaches(g.target, env, overwritten) || (g.seed.map { reaches($0, env, overwritten) } ?? false) {
            // Its graph read a variable's value that a group update has since changed in place.
            throw InPlaceConflict()
        }
        let y = try targetCode(g, env: env, inline: inline)
        var unused = Set<Int>()
        let watched = try scopedSources(g, env: env, offTape: &unused)
        // A source the scoped tape did not watch: a detached copy, whose gradient is None (or zeros).
        let xs = g.sources.indices.map { i -> String in
            let x = g.sources[i]
            if !watched[i] { return "\(py(x.name)).detach()" }
            return variables.contains(x.name) ? "_vs(\(quote(x.name)))" : py(x.name)
        }
        let zero = g.unconnectedZero ? ", zero=True" : ""
        switch g.kind {
        case .grad:
            helpers.insert("grad")
            let seed = try g.seed.map { ", seed=" + tensor(try expression($0, env: env, inline: inline)) } ?? ""
            let call = "_grad(\(y), [\(xs.joined(separator: ", "))]\(seed)\(zero))"
            return PythonWriter.atom(xs.count == 1 ? call + "[0]" : call)
        case .jacobian:
            helpers.insert("jacobian")
            let calls = xs.map { "_jacobian(\(y), \($0)\(zero))" }
            return PythonWriter.atom(calls.count == 1 ? calls[0] : "[" + calls.joined(separator: ", ") + "]")
        case .batchJacobian:
            helpers.insert("jacobian"); helpers.insert("batch")
            guard xs.count == 1 else { throw unsupported("batch_jacobian takes one source") }
            return PythonWriter.atom("_batch_diagonal(_jacobian(\(y), \(xs[0])\(zero)), \(py(g.sources[0].name)))")
        case .hessian:
            helpers.insert("jacobian"); helpers.insert("grad")
            guard xs.count > 1 else { return PythonWriter.atom("_jacobian(_grad(\(y), [\(xs[0])], zero=True)[0], \(xs[0]))") }
            // Blocks ∂²/∂xi∂xj in row order, each the jacobian of ∂y/∂xi (None where that is None).
            let blocks = xs.indices.flatMap { i in xs.indices.map { j in "None if _h[\(i)] is None else _jacobian(_h[\(i)], \(xs[j]), zero=True)" } }
            return PythonWriter.atom("(lambda _h: [\(blocks.joined(separator: ", "))])(_grad(\(y), [\(xs.joined(separator: ", "))]))")
        case .jvp:
            helpers.insert("jacobian"); helpers.insert("jvp")
            guard xs.count == 1, let v = g.tangent else { throw unsupported("jvp takes one source and a direction") }
            let vc = try tensor(expression(v, env: env, inline: inline))
            return PythonWriter.atom("_jvp(_jacobian(\(y), \(xs[0])), \(vc))")
        }
    }

    mutating func tfGradient(_ g: Gradient, env: [String: Int], inline: InlineContext?) throws -> PyCode {
        let y = try targetCode(g, env: env, inline: inline)
        let xs = g.sources.map { py($0.name) }
        let sources = xs.count == 1 ? xs[0] : "[" + xs.joined(separator: ", ") + "]"
        let t = g.tape.map { py($0.name) } ?? "tape"
        let zero = g.unconnectedZero ? ", unconnected_gradients=tf.UnconnectedGradients.ZERO" : ""
        switch g.kind {
        case .grad:
            let seed = try g.seed.map { ", output_gradients=" + tensor(try expression($0, env: env, inline: inline)) } ?? ""
            helpers.insert("dense")
            return PythonWriter.atom("_dense(\(t).gradient(\(y), \(sources)\(seed)\(zero)))")
        case .jacobian:
            return PythonWriter.atom("\(t).jacobian(\(y), \(sources)\(zero))")
        case .batchJacobian:
            return PythonWriter.atom("\(t).batch_jacobian(\(y), \(sources)\(zero))")
        case .hessian:
            helpers.insert("dense")
            guard xs.count > 1 else { return PythonWriter.atom("\(t).jacobian(_dense(\(t).gradient(\(y), \(xs[0]))), \(xs[0]))") }
            // Blocks ∂²/∂xi∂xj in row order, each the jacobian of ∂y/∂xi (None where that is None).
            let blocks = xs.indices.flatMap { i in xs.indices.map { j in
                "None if _h[\(i)] is None else \(t).jacobian(_h[\(i)], \(xs[j]), unconnected_gradients=tf.UnconnectedGradients.ZERO)" } }
            return PythonWriter.atom("(lambda _h: [\(blocks.joined(separator: ", "))])(_dense(\(t).gradient(\(y), \(sources))))")
        case .jvp:
            helpers.insert("jvp")
            guard xs.count == 1, let v = g.tangent else { throw unsupported("jvp takes one source and a direction") }
            let vc = try tensor(expression(v, env: env, inline: inline))
            return PythonWriter.atom("_jvp(\(t).jacobian(\(y), \(xs[0])), \(vc))")
        }
    }

    /// JAX: the gradient of a function of perturbations, one per source, each added (at zero) where its
    /// source's value is read in the inlined target; a variable's perturbation is added to all its values.
    /// Intermediate and repeated sources then behave as on a tape. Which sources are connected is what
    /// tapebook found when it ran the statement, where it is known, and must agree with what the
    /// export sees.
    mutating func jaxGradient(_ g: Gradient, env: [String: Int], inline: InlineContext?) throws -> PyCode {
        var offTape = Set<Int>()
        let watched = try scopedSources(g, env: env, constants: inline == nil, offTape: &offTape)
        var ids: [Int] = []
        for s in g.sources {
            guard let id = env[s.name] else {
                throw unsupported("JAX differentiates functions of bound names; '\(s.name)' is not one here")
            }
            ids.append(id)
        }
        jaxDepth += 1
        defer { jaxDepth -= 1 }
        let parameters = ids.indices.map { "_d\(jaxDepth)_\($0)" }
        var context = inline ?? InlineContext(parameters: [:], sources: [])
        for (i, id) in ids.enumerated() {
            let versions = bindings[id].variable.map { v in bindings.indices.filter { bindings[$0].variable == v } } ?? [id]
            for version in versions {
                context.parameters[version, default: []].append(parameters[i])
                context.sources.insert(version)
            }
        }
        // A source the target does not reach through recorded operations gives None, as in tapebook.
        var connected = ids.map { id -> Bool in
            let versions = bindings[id].variable.map { v in Set(bindings.indices.filter { bindings[$0].variable == v }) } ?? [id]
            return bindings[id].tracked && reaches(g.target, env, versions)
        }
        for i in connected.indices where !watched[i] { connected[i] = false }
        if let tape = g.tape?.name {
            // A source the tape recorded no path from (only through values it saw as constants) gives None.
            let recordsTarget = scopes.contains(tape) && !stoppedScopes.contains(tape)
            for (i, id) in ids.enumerated() where connected[i] {
                let versions = bindings[id].variable.map { v in Set(bindings.indices.filter { bindings[$0].variable == v }) } ?? [id]
                if tapePath(g.target, env, versions, tape: tape, top: true, recordsTarget: recordsTarget) == false { connected[i] = false }
            }
        }
        context.constants.formUnion(offTape)
        if inline == nil, g.kind == .grad, !g.unconnectedZero, let expected = expectedConnected, expected.count == connected.count {
            expectedConnected = nil
            if expected != connected {
                let i = expected.indices.first { expected[$0] != connected[$0] }!
                if expected[i] {
                    throw unsupported("JAX: tapebook finds a path from '\(g.sources[i].name)' to the target that the export cannot see")
                }
                connected = expected
            }
        }
        let body = try targetCode(g, env: env, inline: context)
        let arguments = parameters.joined(separator: ", ")
        let zeros = g.sources.map { "jnp.zeros_like(T(\(py($0.name))))" }
        let points = zeros.joined(separator: ", ")
        func missing(_ i: Int) -> String { g.unconnectedZero ? zeros[i] : "None" }
        let argnums = parameters.count == 1 ? "" : ", argnums=(" + parameters.indices.map(String.init).joined(separator: ", ") + ")"
        switch g.kind {
        case .grad:
            let live = connected.indices.filter { connected[$0] }
            if live.isEmpty {
                let parts = parameters.indices.map(missing)
                return PythonWriter.atom(parts.count == 1 ? parts[0] : "(" + parts.joined(separator: ", ") + ")")
            }
            let call: String
            if let seed = g.seed {
                let s = try tensor(expression(seed, env: env, inline: inline))
                call = "jax.vjp(lambda \(arguments): \(body), \(points))[1](\(s))"
            } else {
                call = "jax.grad(lambda \(arguments): jnp.sum(\(body))\(argnums))(\(points))"
            }
            if live.count == parameters.count {
                return PythonWriter.atom(parameters.count == 1 && g.seed != nil ? call + "[0]" : call)
            }
            let parts = parameters.indices.map { connected[$0] ? "_r[\($0)]" : missing($0) }
            let whole = parameters.count == 1 && g.seed == nil ? "(\(call),)" : call
            return PythonWriter.atom("(lambda _r: (\(parts.joined(separator: ", "))\(parts.count == 1 ? "," : "")))(\(whole))" + (parts.count == 1 ? "[0]" : ""))
        case .jacobian:
            if !connected.contains(true) && !g.unconnectedZero {
                return PythonWriter.atom(parameters.count == 1 ? "None" : "(" + parameters.map { _ in "None" }.joined(separator: ", ") + ")")
            }
            return PythonWriter.atom("jax.jacrev(lambda \(arguments): \(body)\(argnums))(\(points))")
        case .batchJacobian:
            guard parameters.count == 1 else { throw unsupported("batch_jacobian takes one source") }
            if !connected[0] && !g.unconnectedZero { return PythonWriter.atom("None") }
            helpers.insert("batch")
            return PythonWriter.atom("_batch_diagonal(jax.jacrev(lambda \(arguments): \(body))(\(points)), \(py(g.sources[0].name)))")
        case .hessian:
            guard parameters.count > 1 else {
                if !connected[0] { return PythonWriter.atom("None") }
                return PythonWriter.atom("jax.hessian(lambda \(arguments): \(body))(\(points))")
            }
            // Blocks ∂²/∂xi∂xj in row order; None where ∂y/∂xi is None (jax.hessian gives zeros there).
            let n = parameters.count
            if !connected.contains(true) { return PythonWriter.atom("[" + Array(repeating: "None", count: n * n).joined(separator: ", ") + "]") }
            let blocks = (0..<n).flatMap { i in (0..<n).map { j in connected[i] ? "_h[\(i)][\(j)]" : "None" } }
            return PythonWriter.atom("(lambda _h: [\(blocks.joined(separator: ", "))])(jax.hessian(lambda \(arguments): \(body)\(argnums))(\(points)))")
        case .jvp:
            guard parameters.count == 1, let v = g.tangent else { throw unsupported("jvp takes one source and a direction") }
            let vc = try tensor(expression(v, env: env, inline: inline))
            if !connected[0] { return PythonWriter.atom("None") }
            return PythonWriter.atom("jax.jvp(lambda \(arguments): \(body), (\(points),), (\(vc),))[1]")
        }
    }
}
