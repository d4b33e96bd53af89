import Portable
import TapeSyntax

/// Optimizers and groups in exported scripts (issue 18).
///
/// An optimizer is `_Optimizer`, the same in the three scripts: Keras's formulas and defaults (tapebook's),
/// written out in the library's float64 operations. `tf.keras.optimizers` rounds the learning rate and
/// Adam's betas through float32, and `torch.optim` puts epsilon elsewhere (Adam, RMSprop, Adagrad), so
/// neither gives tapebook's numbers to 1e-9. A group of variables (`params = (w, b)`) is the list of its
/// members, written afresh wherever it is read, since an update rebinds a member (a new leaf in PyTorch, a
/// new value in JAX); a group of gradients (`gs = grad loss wrt w, b`) is a Python list.
extension PythonWriter {
    /// `sgd(0.05, momentum=0.9)` as `_Optimizer("sgd", lr=0.05, momentum=0.9)`.
    mutating func optimizer(_ kind: String, _ arguments: [Argument], env: [String: Int]) throws -> PyCode {
        var settings: [String] = []
        for a in arguments {
            let label = a.label?.name ?? "lr"
            let value: String
            if let literal = numericLiteral(a.value), !literal.hasPrefix("[") {
                value = literal
            } else if case .name(let n) = a.value.kind, (n == "true" || n == "false"), env[n] == nil {
                value = n == "true" ? "1" : "0"
            } else {
                value = "float(\(try expression(a.value, env: env, inline: nil).text))"
            }
            settings.append("\(label)=\(value)")
        }
        helpers.insert("optimizer")
        return PythonWriter.atom("_Optimizer(\(quote(kind))\(settings.map { ", " + $0 }.joined()))")
    }

    /// The members of a group of variables bound to `name`, as the script names them now.
    func groupList(_ name: String) -> String? {
        guard let members = groupMembers[name] else { return nil }
        return "[" + members.map(py).joined(separator: ", ") + "]"
    }

    /// A gradient's sources with each group of variables replaced by its members; a group whose members'
    /// names were bound again is refused.
    func checkedGroups(_ g: Gradient) throws -> Gradient {
        if let s = g.sources.first(where: { staleGroups.contains($0.name) }) {
            throw unsupported("the group '\(s.name)' holds a variable whose name was bound again since; the export names variables by their names")
        }
        return expandingGroups(g)
    }

    /// A gradient's sources with each group of variables replaced by its members.
    func expandingGroups(_ g: Gradient) -> Gradient {
        var copy = g
        copy.sources = g.sources.flatMap { s in groupMembers[s.name].map { $0.map { Identifier(name: $0, span: s.span) } } ?? [s] }
        return copy
    }

    /// `apply opt to w, b with gw, gb`: one step of the optimizer, each variable given its new value
    /// (unrecorded, as Keras's `apply_gradients`).
    mutating func applyOptimizer(_ optimizerExpr: Expr, _ targets: [Identifier], _ gradientExprs: [Expr], shows: Bool) throws {
        guard case .name(let o) = optimizerExpr.kind, optimizers.contains(o) else {
            throw unsupported("apply needs an optimizer bound to a name (opt = adam(0.01))")
        }
        let names = targets.flatMap { t in groupMembers[t.name] ?? [t.name] }
        for n in names where !variables.contains(n) {
            throw unsupported("apply updates variables; '\(n)' is not one here")
        }
        var gradients: String
        if gradientExprs.count == 1, case .name(let g) = gradientExprs[0].kind, let list = groupList(g) {
            gradients = list
        } else if gradientExprs.count == 1, case .name(let g) = gradientExprs[0].kind, listGroups[g] != nil {
            gradients = py(g)
        } else if gradientExprs.count == 1, case .gradient(let g) = gradientExprs[0].kind, expandingGroups(g).sources.count > 1 {
            gradients = "list(\(try expression(gradientExprs[0]).text))"
        } else {
            gradients = "[" + (try gradientExprs.map { try tensor(expression($0)) }).joined(separator: ", ") + "]"
        }
        let keys = "[" + names.map { quote(variableKeys[$0] ?? $0) }.joined(separator: ", ") + "]"
        temporaries += 1
        let step = "_step\(temporaries)"
        emit("\(step) = \(py(o)).apply(\(keys), [\(names.map(py).joined(separator: ", "))], \(gradients))")
        for (i, n) in names.enumerated() {
            let v = py(n)
            switch target {
            case .torch:
                emit("\(v) = _var(\(quote(n)), \(step)[\(i)].detach().requires_grad_())")
            case .tf:
                emit("\(v).assign(\(step)[\(i)])")
            case .jax:
                // As `w -= ...`: the value before the update stays readable under its own name.
                guard let previous = environment[n] else { continue }
                temporaries += 1
                let keep = "_\(n)_\(temporaries)"
                bindings[previous].python = keep
                emit("\(keep) = \(v)")
                emit("\(v) = \(step)[\(i)]")
                bind(n, .root, tracked: true, variable: bindings[previous].variable ?? previous)
            }
        }
        // tapebook shows the variables it updated.
        if shows { for n in names { emit("show(\(quote("\(n) =")), \(py(n)))") } }
    }

    /// The script's `_Optimizer`: tapebook's Optimizer.step in Python.
    func optimizerHelper() -> [String] {
        let zeros: String, sqrt: String, maximum: String, constant: String
        switch target {
        case .torch: zeros = "torch.zeros_like"; sqrt = "torch.sqrt"; maximum = "torch.maximum"; constant = "T(v).detach()"
        case .tf: zeros = "tf.zeros_like"; sqrt = "tf.sqrt"; maximum = "tf.maximum"; constant = "tf.stop_gradient(tf.convert_to_tensor(v))"
        case .jax: zeros = "jnp.zeros_like"; sqrt = "jnp.sqrt"; maximum = "jnp.maximum"; constant = "jax.lax.stop_gradient(T(v))"
        }
        return [
            "class _Optimizer:",
            "    \"\"\"tapebook's optimizers: Keras's formulas and defaults, in float64 (tf.keras rounds some settings",
            "    through float32, torch.optim puts epsilon elsewhere). Slots are kept per variable, untracked.\"\"\"",
            "    DEFAULTS = {",
            "        \"sgd\": {\"lr\": 0.01, \"momentum\": 0.0, \"nesterov\": 0},",
            "        \"adam\": {\"lr\": 0.001, \"beta1\": 0.9, \"beta2\": 0.999, \"epsilon\": 1e-7, \"amsgrad\": 0},",
            "        \"rmsprop\": {\"lr\": 0.001, \"rho\": 0.9, \"momentum\": 0.0, \"epsilon\": 1e-7},",
            "        \"adagrad\": {\"lr\": 0.001, \"initial_accumulator\": 0.1, \"epsilon\": 1e-7},",
            "    }",
            "",
            "    def __init__(self, kind, **settings):",
            "        self.kind, self.steps, self.slots = kind, 0, {}",
            "        self.settings = dict(self.DEFAULTS[kind], **settings)",
            "",
            "    def copy(self):",
            "        other = _Optimizer(self.kind, **self.settings)",
            "        other.steps, other.slots = self.steps, {k: list(v) for k, v in self.slots.items()}",
            "        return other",
            "",
            "    def __repr__(self):",
            "        return f\"{self.kind}({self.settings}), {self.steps} steps, slots for {len(self.slots)} variables\"",
            "",
            "    def apply(self, keys, values, gradients):",
            "        \"\"\"One step (Keras's apply_gradients): the variables' new values; a None gradient leaves its variable.\"\"\"",
            "        s, t, out = self.settings, self.steps + 1, []",
            "        lr = s[\"lr\"]",
            "        for key, v, g in zip(keys, values, gradients):",
            "            if g is None:",
            "                out.append(v)",
            "                continue",
            "            w, g = _constant(v), _constant(g)",
            "            slot = self.slots.setdefault(key, [None, None, None])",
            "            first = \(zeros)(w) if slot[0] is None else slot[0]",
            "            second = \(zeros)(w) if slot[1] is None else slot[1]",
            "            if self.kind == \"sgd\":",
            "                if s[\"momentum\"] != 0:",
            "                    first = first * s[\"momentum\"] - g * lr",
            "                    w = w + (first * s[\"momentum\"] - g * lr if s[\"nesterov\"] else first)",
            "                else:",
            "                    w = w - g * lr",
            "            elif self.kind == \"adam\":",
            "                b1, b2 = s[\"beta1\"], s[\"beta2\"]",
            "                first = first + (g - first) * (1 - b1)",
            "                second = second + (g * g - second) * (1 - b2)",
            "                v2 = second",
            "                if s[\"amsgrad\"]:",
            "                    slot[2] = v2 = second if slot[2] is None else \(maximum)(slot[2], second)",
            "                alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)",
            "                w = w - first * alpha / (\(sqrt)(v2) + s[\"epsilon\"])",
            "            elif self.kind == \"rmsprop\":",
            "                first = s[\"rho\"] * first + (1 - s[\"rho\"]) * g * g",
            "                increment = lr * g / \(sqrt)(first + s[\"epsilon\"])",
            "                if s[\"momentum\"] > 0:",
            "                    second = s[\"momentum\"] * second + increment",
            "                    w = w - second",
            "                else:",
            "                    w = w - increment",
            "            else:",
            "                if slot[0] is None:",
            "                    first = first + s[\"initial_accumulator\"]",
            "                first = first + g * g",
            "                w = w - lr * g / \(sqrt)(first + s[\"epsilon\"])",
            "            slot[0], slot[1] = first, second",
            "            out.append(w)",
            "        self.steps += 1",
            "        return out",
            "",
            "def _constant(v):",
            "    return \(constant)",
        ]
    }
}

extension PythonWriter {
    /// How many members a group bound to `name` has (nil: not a group).
    func groupCount(_ name: String) -> Int? {
        groupMembers[name]?.count ?? listGroups[name]
    }

    /// A name bound again: the groups that hold it as a member no longer hold what the name holds.
    mutating func forgetGroups(of name: String) {
        optimizers.remove(name)
        groupMembers[name] = nil
        listGroups[name] = nil
        staleGroups.remove(name)
        for (g, members) in groupMembers where members.contains(name) {
            groupMembers[g] = nil
            staleGroups.insert(g)
        }
    }

    /// `opt = adam(...)`, `opt2 = opt`, `params = (w, b)`, `gs = grad loss wrt w, b`, `g2 = gs`: true when
    /// written here.
    mutating func groupAssignment(_ name: String, _ value: Expr, shows: Bool) throws -> Bool {
        let n = py(name)
        func showMembers(_ count: Int) {
            guard shows else { return }
            for i in 0..<count { emit("show(\(quote("\(name)[\(i)] =")), \(n)[\(i)])") }
        }
        switch value.kind {
        case .call(let kind, let arguments) where functions[kind] == nil && Optimizer.Kind(rawValue: kind) != nil:
            emit("\(n) = \(try optimizer(kind, arguments, env: environment).text)")
            if shows { emit("print(\(quote("\(name) =")), \(n))") }
        case .name(let o) where optimizers.contains(o):
            emit("\(n) = \(py(o)).copy()")
            if shows { emit("print(\(quote("\(name) =")), \(n))") }
        case .group(let members):
            var names: [String] = []
            for m in members {
                if case .name(let v) = m.kind, variables.contains(v) { names.append(v) }
            }
            // A group of tensors is a list of their values; one of variables names them (an update updates them).
            if names.isEmpty { return false }
            guard names.count == members.count else {
                throw unsupported("a group of variables and other tensors is not exported; make them all variables, or none")
            }
            groupMembers[name] = names
            emit("\(n) = [\(names.map(py).joined(separator: ", "))]  # a group: the script reads its members by their names")
            showMembers(names.count)
            bind(name, .root, tracked: false)
            return true
        case .name(let g) where groupMembers[g] != nil:
            groupMembers[name] = groupMembers[g]
            emit("\(n) = \(groupList(g)!)")
            showMembers(groupMembers[g]!.count)
            bind(name, .root, tracked: false)
            return true
        case .name(let g) where listGroups[g] != nil:
            listGroups[name] = listGroups[g]
            emit("\(n) = list(\(py(g)))")
            bind(name, .expression(value, environment: environment), tracked: recording && isTracked(value, environment))
            showMembers(listGroups[g]!)
            return true
        case .gradient(let g) where expandingGroups(g).sources.count > 1:
            let count = expandingGroups(g).sources.count
            let code = try expression(value).text
            bind(name, .expression(value, environment: environment), tracked: recording && isTracked(value, environment))
            listGroups[name] = count
            emit("\(n) = list(\(code))")
            showMembers(count)
            return true
        default:
            return false
        }
        bind(name, .root, tracked: false)
        optimizers.insert(name)
        return true
    }
}
