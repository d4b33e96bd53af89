import Portable
import TapeSyntax

extension PythonWriter {
    // MARK: Built-in functions

    mutating func call(_ name: String, _ arguments: [Argument], env: [String: Int], inline: InlineContext?) throws -> PyCode {
        if functions[name] == nil, Optimizer.Kind(rawValue: name) != nil {
            return try optimizer(name, arguments, env: env)
        }
        if ["global_norm", "clip_by_global_norm"].contains(name), arguments.contains(where: { isGroupExpression($0.value) }) {
            // A group stands for its members, in order (`*gs` in the list tapebook's built-in takes).
            var parts: [String] = []
            for a in arguments where a.label == nil {
                parts.append(isGroupExpression(a.value) ? "*" + (try groupCode(a.value, env: env, inline: inline))
                                                        : try tensor(expression(a.value, env: env, inline: inline)))
            }
            guard !parts.isEmpty else { throw unsupported("\(name) needs arguments") }
            if name == "global_norm" {
                if target == .tf { return PythonWriter.atom("tf.linalg.global_norm([\(parts.joined(separator: ", "))])") }
                helpers.insert("global_norm")
                return PythonWriter.atom("_global_norm([\(parts.joined(separator: ", "))])")
            }
            guard !parts[0].hasPrefix("*") else { throw unsupported("clip_by_global_norm's first argument is the norm, a tensor") }
            let members = parts.dropFirst().joined(separator: ", ")
            if target == .tf { return PythonWriter.atom("tf.clip_by_global_norm([\(members)], \(parts[0]))[0]") }
            helpers.insert("global_norm")
            return PythonWriter.atom("_clip_by_global_norm(\(parts[0]), [\(members)])")
        }
        if let group = arguments.first(where: { isGroupExpression($0.value) }) {
            throw unsupported("\(name) of a group (\(source.text(of: group.value.span))) is not exported: it is not applied member by member")
        }
        if let declared = try declaredCall(name, arguments, env: env, inline: inline) { return declared }
        let positional = arguments.filter { $0.label == nil }
        var keywords: [String: Expr] = [:]
        for a in arguments { if let l = a.label { keywords[l.name] = a.value } }
        var codes: [PyCode] = []
        // The arguments of an untracked built-in (a comparison, argmax, shape) are constants for any gradient.
        let argumentInline = PythonWriter.untrackedCalls.contains(name) ? nil : inline
        for a in positional { codes.append(try expression(a.value, env: env, inline: argumentInline)) }
        func t(_ i: Int) throws -> String {
            guard i < codes.count else { throw unsupported("\(name) needs more arguments") }
            return tensor(codes[i])
        }
        func plain(_ i: Int) throws -> String {
            guard i < codes.count else { throw unsupported("\(name) needs more arguments") }
            return codes[i].text
        }
        func staticInts(_ e: Expr) throws -> String {
            guard let literal = numericLiteral(e) else { throw unsupported("'\(name)' needs its axes or shape written as numbers") }
            if literal.hasPrefix("[") {
                let inner = literal.dropFirst().dropLast()
                return inner.containsText(",") ? "(\(inner))" : "(\(inner),)"
            }
            return literal
        }
        func axis(_ position: Int?) throws -> String? {
            if let e = keywords["axis"] { return try staticInts(e) }
            if let p = position, p < positional.count { return try staticInts(positional[p].value) }
            return nil
        }
        func shape(_ i: Int) throws -> String {
            guard i < positional.count else { throw unsupported("\(name) needs a shape") }
            if let literal = numericLiteral(positional[i].value) {
                return literal.hasPrefix("[") ? literal : "[\(literal)]"
            }
            helpers.insert("ints")
            return "_ints(\(codes[i].text))"
        }
        func scalar(_ i: Int) throws -> String {
            guard i < positional.count else { throw unsupported("\(name) needs more arguments") }
            if numericLiteral(positional[i].value) != nil { return codes[i].text }
            return "float(\(codes[i].text))"
        }
        func wholeNumber(_ i: Int) throws -> String {
            guard i < positional.count else { throw unsupported("\(name) needs more arguments") }
            if numericLiteral(positional[i].value) != nil { return codes[i].text }
            return "int(\(codes[i].text))"
        }
        var keepdims: Bool {
            get throws {
                guard let e = keywords["keepdims"] else { return false }
                guard case .number(let d) = e.kind else { throw unsupported("keepdims must be 0 or 1") }
                return d != 0
            }
        }
        let A = PythonWriter.atom

        if ["floor", "ceil", "round"].contains(name), let unary = unaryName(name) {
            // No gradient (None) in tapebook, as TensorFlow registers none; PyTorch and JAX would give zeros.
            switch target {
            case .torch: return A("\(unary)(\(try t(0))).detach()")
            case .tf: return A("tf.stop_gradient(\(unary)(\(try t(0))))")
            case .jax: return A("jax.lax.stop_gradient(\(unary)(\(try t(0))))")
            }
        }
        if let unary = unaryName(name) {
            return A("\(unary)(\(try t(0)))")
        }
        switch name {
        case "lt", "gt", "le", "ge", "eq", "ne":
            let op = ["lt": "<", "gt": ">", "le": "<=", "ge": ">=", "eq": "==", "ne": "!="][name]!
            switch target {
            case .torch: return A("(\(try t(0)) \(op) \(try t(1))).double()")
            case .tf: return A("tf.cast(\(try t(0)) \(op) \(try t(1)), tf.float64)")
            case .jax: return A("(\(try t(0)) \(op) \(try t(1))).astype(jnp.float64)")
            }
        case "pow":
            switch target {
            case .torch: return A("torch.pow(\(try t(0)), \(try t(1)))")
            case .tf: return A("tf.pow(\(try t(0)), \(try t(1)))")
            case .jax: return A("jnp.power(\(try t(0)), \(try t(1)))")
            }
        case "maximum", "minimum":
            return A("\(lib).\(name)(\(try t(0)), \(try t(1)))")
        case "where":
            switch target {
            case .torch: return A("torch.where(\(try t(0)) != 0, \(try t(1)), \(try t(2)))")
            case .tf: return A("tf.where(\(try t(0)) != 0, \(try t(1)), \(try t(2)))")
            case .jax: return A("jnp.where(\(try t(0)) != 0, \(try t(1)), \(try t(2)))")
            }
        case "clip", "clip_by_value":
            // tapebook's rule: maximum with lo, then minimum with hi.
            return A("\(lib).minimum(\(lib).maximum(\(try t(0)), \(try t(1))), \(try t(2)))")
        case "sum", "mean", "prod", "max", "min", "logsumexp", "norm":
            let x = try t(0)
            let ax = try axis(1)
            let keep = try keepdims
            switch target {
            case .torch:
                if name == "norm" {
                    let inner = ax.map { "torch.sum(\(x) ** 2, dim=\($0)\(keep ? ", keepdim=True" : ""))" } ?? "torch.sum(\(x) ** 2)"
                    if ax == nil && keep { throw unsupported("keepdims without an axis: write the axes") }
                    return A("torch.sqrt(\(inner))")
                }
                guard let ax else {
                    if keep { throw unsupported("keepdims without an axis: write the axes") }
                    switch name {
                    case "logsumexp": return A("torch.logsumexp(\(x).reshape(-1), dim=0)")
                    default: return A("torch.\(name)(\(x))")
                    }
                }
                let fn = ["max": "torch.amax", "min": "torch.amin"][name] ?? "torch.\(name)"
                if name == "prod" && ax.hasPrefix("(") { throw unsupported("torch.prod reduces one axis at a time") }
                return A("\(fn)(\(x), dim=\(ax)\(keep ? ", keepdim=True" : ""))")
            case .tf:
                let extra = (ax.map { ", axis=\($0)" } ?? "") + (keep ? ", keepdims=True" : "")
                if name == "norm" { return A("tf.sqrt(tf.reduce_sum(tf.square(\(x))\(extra)))") }
                let fn = ["sum": "tf.reduce_sum", "mean": "tf.reduce_mean", "prod": "tf.reduce_prod", "max": "tf.reduce_max",
                          "min": "tf.reduce_min", "logsumexp": "tf.reduce_logsumexp"][name]!
                return A("\(fn)(\(x)\(extra))")
            case .jax:
                let extra = (ax.map { ", axis=\($0)" } ?? "") + (keep ? ", keepdims=True" : "")
                if name == "norm" { return A("jnp.sqrt(jnp.sum(jnp.square(\(x))\(extra)))") }
                if name == "logsumexp" { return A("jax.scipy.special.logsumexp(\(x)\(extra))") }
                return A("jnp.\(name)(\(x)\(extra))")
            }
        case "argmax", "argmin":
            let x = try t(0)
            let ax = try axis(1)
            let keep = try keepdims
            if keep && ax == nil { throw unsupported("keepdims without an axis: write the axis") }
            let found: String
            switch target {
            case .torch: found = "torch.\(name)(\(x)\(ax.map { ", dim=\($0)" } ?? "")\(keep ? ", keepdim=True" : "")).double()"
            case .tf:
                let plainFound = ax.map { "tf.cast(tf.math.\(name)(\(x), axis=\($0)), tf.float64)" } ?? "tf.cast(tf.math.\(name)(tf.reshape(\(x), [-1])), tf.float64)"
                found = keep ? "tf.expand_dims(\(plainFound), \(ax!))" : plainFound
            case .jax: found = "jnp.\(name)(\(x)\(ax.map { ", axis=\($0)" } ?? "")\(keep ? ", keepdims=True" : "")).astype(jnp.float64)"
            }
            return A(found)
        case "softmax", "log_softmax":
            let x = try t(0)
            let ax = try axis(1) ?? "-1"
            switch target {
            case .torch: return A("torch.\(name)(\(x), dim=\(ax))")
            case .tf: return A("tf.nn.\(name)(\(x), axis=\(ax))")
            case .jax: return A("jax.nn.\(name)(\(x), axis=\(ax))")
            }
        case "reshape":
            let s = try keywords["shape"].map { _ in try shape(0) } ?? shape(1)
            return A("\(lib).reshape(\(try t(0)), \(s))")
        case "transpose":
            let axes = try (keywords["axes"] ?? (positional.count > 1 ? positional[1].value : nil)).map { try staticInts($0) }
            return transposed(try t(0), axes: axes)
        case "expand_dims":
            guard let ax = try axis(1) else { throw unsupported("expand_dims needs an axis") }
            switch target {
            case .torch: return A("torch.unsqueeze(\(try t(0)), \(ax))")
            case .tf: return A("tf.expand_dims(\(try t(0)), \(ax))")
            case .jax: return A("jnp.expand_dims(\(try t(0)), \(ax))")
            }
        case "squeeze":
            let ax = try axis(1)
            switch target {
            case .torch: return A("torch.squeeze(\(try t(0))\(ax.map { ", \($0)" } ?? ""))")
            case .tf: return A("tf.squeeze(\(try t(0))\(ax.map { ", axis=\($0)" } ?? ""))")
            case .jax: return A("jnp.squeeze(\(try t(0))\(ax.map { ", axis=\($0)" } ?? ""))")
            }
        case "flatten":
            return A("\(lib).reshape(\(try t(0)), [-1])")
        case "concat", "stack":
            let ax = try axis(nil) ?? "0"
            let parts = try codes.indices.map(t).joined(separator: ", ")
            switch target {
            case .torch: return A("torch.\(name == "concat" ? "cat" : "stack")([\(parts)], dim=\(ax))")
            case .tf: return A("tf.\(name)([\(parts)], axis=\(ax))")
            case .jax: return A("jnp.\(name == "concat" ? "concatenate" : "stack")([\(parts)], axis=\(ax))")
            }
        case "shape", "size", "rank":
            let x = parenthesized(PyCode(text: try t(0), precedence: codes[0].isNumber ? PyCode.atom : codes[0].precedence), above: PyCode.atom)
            switch (target, name) {
            case (.torch, "shape"): return A("torch.tensor(list(\(x).shape), dtype=torch.float64)")
            case (.torch, "size"): return A("torch.tensor(float(\(x).numel()), dtype=torch.float64)")
            case (.torch, _): return A("torch.tensor(float(\(x).dim()), dtype=torch.float64)")
            case (.tf, _): return A("tf.cast(tf.\(name)(\(x)), tf.float64)")
            case (.jax, "shape"): return A("jnp.array(\(x).shape, jnp.float64)")
            case (.jax, "size"): return A("jnp.array(\(x).size, jnp.float64)")
            case (.jax, _): return A("jnp.array(\(x).ndim, jnp.float64)")
            }
        case "matmul":
            if target == .tf { helpers.insert("matmul"); return A("_matmul(\(try t(0)), \(try t(1)))") }
            return A("\(parenthesized(PyCode(text: try t(0), precedence: codes[0].precedence), above: PyCode.atom)) @ \(parenthesized(PyCode(text: try t(1), precedence: codes[1].precedence), above: PyCode.atom))")
        case "dot":
            helpers.insert("dot")
            if target == .tf { helpers.insert("matmul") }
            return A("_dot(\(try t(0)), \(try t(1)))")
        case "outer":
            // Parenthesized: it is a product, and `outer(c, b)^2` or `2 / outer(c, b)` applies to all of it.
            return A("(\(lib).reshape(\(try t(0)), [-1, 1]) * \(lib).reshape(\(try t(1)), [1, -1]))")
        case "trace":
            switch target {
            case .torch: return A("torch.trace(\(try t(0)))")
            case .tf: return A("tf.linalg.trace(\(try t(0)))")
            case .jax: return A("jnp.trace(\(try t(0)))")
            }
        case "inv", "det":
            switch target {
            case .torch: return A("torch.linalg.\(name)(\(try t(0)))")
            case .tf: return A("tf.linalg.\(name == "inv" ? "inv" : "det")(\(try t(0)))")
            case .jax: return A("jnp.linalg.\(name)(\(try t(0)))")
            }
        case "zeros", "ones":
            switch target {
            case .torch: return A("torch.\(name)(\(try shape(0)), dtype=torch.float64)")
            case .tf: return A("tf.\(name)(\(try shape(0)), tf.float64)")
            case .jax: return A("jnp.\(name)(\(try shape(0)), jnp.float64)")
            }
        case "fill":
            switch target {
            case .torch: return A("torch.full(\(try shape(0)), \(try scalar(1)), dtype=torch.float64)")
            case .tf: return A("tf.fill(\(try shape(0)), tf.constant(\(try scalar(1)), tf.float64))")
            case .jax: return A("jnp.full(\(try shape(0)), \(try scalar(1)), jnp.float64)")
            }
        case "eye":
            let m = codes.count > 1 ? ", \(try wholeNumber(1))" : ""
            switch target {
            case .torch: return A("torch.eye(\(try wholeNumber(0))\(m), dtype=torch.float64)")
            case .tf: return A("tf.eye(\(try wholeNumber(0))\(m), dtype=tf.float64)")
            case .jax: return A("jnp.eye(\(try wholeNumber(0))\(m), dtype=jnp.float64)")
            }
        case "arange":
            let bounds = try codes.indices.map(scalar).joined(separator: ", ")
            switch target {
            case .torch: return A("torch.arange(\(bounds), dtype=torch.float64)")
            case .tf: return A("tf.range(\(bounds), dtype=tf.float64)")
            case .jax: return A("jnp.arange(\(bounds), dtype=jnp.float64)")
            }
        case "linspace":
            switch target {
            case .torch: return A("torch.linspace(\(try scalar(0)), \(try scalar(1)), \(try wholeNumber(2)), dtype=torch.float64)")
            case .tf: return A("tf.linspace(tf.constant(\(try scalar(0)), tf.float64), \(try scalar(1)), \(try wholeNumber(2)))")
            case .jax: return A("jnp.linspace(\(try scalar(0)), \(try scalar(1)), \(try wholeNumber(2)), dtype=jnp.float64)")
            }
        case "randn", "rand":
            // tapebook's own generator, in Python: the same numbers after the same set_seed.
            helpers.insert("random")
            return A("T(_rng.tensor(\(try shape(0)), \(name == "randn" ? "True" : "False")))")
        case "dropout":
            // The mask from tapebook's own generator, as randn's numbers: the libraries' dropout draws others.
            helpers.insert("random")
            guard let rateExpr = keywords["rate"] ?? (positional.count > 1 ? positional[1].value : nil) else { throw unsupported("dropout needs a rate") }
            let rate = try expression(rateExpr, env: env, inline: nil).text
            return A("(lambda X, r: X * T(np.where(_rng.tensor(tuple(X.shape), False) >= r, 1 / (1 - r), 0.0)))(\(try t(0)), float(\(rate)))")
        case "set_seed":
            helpers.insert("random")
            return A("set_seed(\(try wholeNumber(0)))")
        case "stop_gradient":
            switch target {
            case .torch: return A("\(parenthesized(PyCode(text: try t(0), precedence: codes[0].precedence), above: PyCode.atom)).detach()")
            case .tf: return A("tf.stop_gradient(\(try t(0)))")
            case .jax: return A("jax.lax.stop_gradient(\(try t(0)))")
            }
        case "clip_by_norm":
            if target == .tf { return A("tf.clip_by_norm(\(try t(0)), \(try t(1)))") }
            helpers.insert("clip_by_norm")
            return A("_clip_by_norm(\(try t(0)), \(try t(1)))")
        case "global_norm":
            let parts = try codes.indices.map(t).joined(separator: ", ")
            if target == .tf { return A("tf.linalg.global_norm([\(parts)])") }
            helpers.insert("global_norm")
            return A("_global_norm([\(parts)])")
        case "clip_by_global_norm":
            let parts = try codes.indices.dropFirst().map(t).joined(separator: ", ")
            if target == .tf { return A("tf.clip_by_global_norm([\(parts)], \(try t(0)))[0]") }
            helpers.insert("global_norm")
            return A("_clip_by_global_norm(\(try t(0)), [\(parts)])")
        case "mse":
            switch target {
            case .torch: return A("torch.mean((\(try t(0)) - \(try t(1))) ** 2)")
            case .tf: return A("tf.reduce_mean(tf.square(\(try t(0)) - \(try t(1))))")
            case .jax: return A("jnp.mean((\(try t(0)) - \(try t(1))) ** 2)")
            }
        case "cross_entropy":
            helpers.insert("cross_entropy")
            return A("_cross_entropy(\(try t(0)), \(try t(1)))")
        case "load":
            helpers.insert("load")
            return A("_load(\(try plain(0)))")
        default:
            if functions[name] != nil {
                // JAX sees a function's parameters only: a name it reads from outside that depends on this
                // gradient's sources would be a constant there.
                if let inline {
                    for n in freeNames[name] ?? [] {
                        guard let id = env[n] ?? environment[n] else { continue }
                        if inline.parameters[id] != nil || depends(id, on: inline.sources) {
                            guard functions[name] == false else {
                                throw unsupported("JAX: \(name) has a custom gradient and reads '\(n)', which this gradient depends on, from outside its parameters; JAX cannot see that dependence")
                            }
                            return try inlinedCall(name, codes, env: env, inline: inline)
                        }
                    }
                }
                return A("\(py(name))(\(try codes.indices.map(t).joined(separator: ", ")))")
            }
            throw unsupported("'\(name)' is not a function tapebook knows")
        }
    }

    func unaryName(_ name: String) -> String? {
        let common: Set<String> = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "log1p",
                                   "expm1", "sqrt", "square", "abs", "sign", "floor", "ceil", "round"]
        switch target {
        case .torch:
            if common.contains(name) || ["sigmoid", "relu", "erf"].contains(name) { return "torch.\(name)" }
            if name == "softplus" { return "torch.nn.functional.softplus" }
        case .tf:
            if common.contains(name) || ["sigmoid", "erf", "softplus"].contains(name) { return "tf.math.\(name)" }
            if name == "relu" { return "tf.nn.relu" }
        case .jax:
            if common.contains(name) { return "jnp.\(name)" }
            if ["sigmoid", "relu", "softplus"].contains(name) { return "jax.nn.\(name)" }
            if name == "erf" { return "jax.scipy.special.erf" }
        }
        return nil
    }

    // MARK: The script

    func script(origin: String) -> String {
        var out: [String] = []
        let command = "tapebook export --to \(target.rawValue)"
        out.append("# Generated by `\(command)` from \(origin).")
        out.append("# \(target.library), float64 throughout; each statement that prints in tapebook prints here.")
        out.append("# Random numbers (randn, rand) come from tapebook's own generator: the same numbers after set_seed.")
        out.append("# Gradient edge cases (ties, 0 of abs/relu) follow \(target.library).")
        out.append("import json")
        out.append("import math")
        out.append("import os")
        out.append("import time")
        out.append("import numpy as np")
        switch target {
        case .torch:
            out.append("import weakref")
            out.append("import torch")
            out.append("")
            out.append("torch.set_default_dtype(torch.float64)")
        case .tf:
            out.append("os.environ.setdefault(\"TF_CPP_MIN_LOG_LEVEL\", \"2\")")
            out.append("import tensorflow as tf")
            out.append("")
            out.append("tf.get_logger().setLevel(\"ERROR\")  # gradients inside the tape's context are meant: higher orders")
        case .jax:
            out.append("import jax")
            out.append("import jax.numpy as jnp")
            out.append("import jax.scipy.special")
            out.append("")
            out.append("jax.config.update(\"jax_enable_x64\", True)")
        }
        out.append("")
        out.append(contentsOf: preludeHelpers())
        out.append("")
        out.append("# The session's statements")
        out.append(contentsOf: lines)
        return out.map(PythonWriter.escapingControls).joined(separator: "\n") + "\n"
    }

    func preludeHelpers() -> [String] {
        var h: [String] = []
        switch target {
        case .torch:
            h += ["def T(v):",
                  "    return v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=torch.float64)",
                  "",
                  "def _np(v):",
                  "    return v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)"]
        case .tf:
            h += ["def T(v):",
                  "    return v if isinstance(v, (tf.Tensor, tf.Variable)) else tf.constant(v, tf.float64)",
                  "",
                  "def _np(v):",
                  "    return v.numpy() if hasattr(v, \"numpy\") else np.asarray(v)"]
        case .jax:
            h += ["def T(v):",
                  "    return jnp.asarray(v, jnp.float64)",
                  "",
                  "def _np(v):",
                  "    return np.asarray(v)"]
        }
        h += ["",
              "# TAPEBOOK_SHOW=full prints each value as one line of JSON at full precision (the fidelity test).",
              "_FULL = os.environ.get(\"TAPEBOOK_SHOW\") == \"full\"",
              "",
              "def show(label, value):",
              "    if _FULL:",
              "        a = None if value is None else np.asarray(_np(value), np.float64)",
              "        print(\"tapebook-value \" + json.dumps(None if a is None else [list(a.shape), [repr(float(v)) for v in a.ravel()]]))",
              "        return",
              "    text = \"None\" if value is None else np.array2string(_np(value), precision=4)",
              "    print(label + (\"\\n\" if \"\\n\" in text and label else \" \" if label else \"\") + text)"]
        func add(_ lines: [String]) { h.append(""); h += lines }
        if helpers.contains("index") {
            add(["def _index(i):",
                 "    a = np.asarray(_np(i))",
                 "    return int(a) if a.ndim == 0 else a.astype(np.int64)"])
        }
        if helpers.contains("random") {
            add(PythonWriter.randomHelper)
        }
        if helpers.contains("optimizer") {
            add(optimizerHelper())
        }
        if helpers.contains("fit") {
            let broadcast: String
            switch target {
            case .torch: broadcast = "torch.broadcast_to(T(g), x.shape)"
            case .tf: broadcast = "tf.broadcast_to(T(g), tf.shape(x))"
            case .jax: broadcast = "jnp.broadcast_to(T(g), jnp.shape(x))"
            }
            add(["def _fit(g, x):",
                 "    \"\"\"A custom gradient's result broadcast to its parameter's shape, as tapebook does.\"\"\"",
                 "    return None if g is None else \(broadcast)"])
        }
        if helpers.contains("select") {
            let masked: String, listed: String
            switch target {
            case .torch: masked = "x.reshape(-1)[i.reshape(-1) != 0]"; listed = "x[_index(i)]"
            case .tf: masked = "tf.boolean_mask(tf.reshape(x, [-1]), tf.reshape(i, [-1]) != 0)"
                listed = "x[a] if isinstance(a, int) else tf.gather(x, a % x.shape[0])"
            case .jax: masked = "x.reshape(-1)[np.asarray(i).reshape(-1) != 0]"; listed = "x[_index(i)]"
            }
            add(["def _select(x, i, mask):",
                 "    \"\"\"x[i]; a comparison's 0/1 result of x's shape selects elements, as a boolean index in NumPy.\"\"\"",
                 "    if mask and tuple(i.shape) == tuple(x.shape):",
                 "        return \(masked)",
                 "    a = _index(i)",
                 "    return \(listed)"])
        }
        if helpers.contains("save") {
            add(["def _save(path, value):",
                 "    \"\"\"save ... to: CSV (a vector as one column, numbers that read back exactly) or .npy, by the name.\"\"\"",
                 "    a = np.asarray(_np(value), np.float64)",
                 "    if path.lower().endswith(\".csv\"):",
                 "        np.savetxt(path, a.reshape(-1, 1) if a.ndim < 2 else a, delimiter=\",\", fmt=\"%.17g\")",
                 "    else:",
                 "        with open(path, \"wb\") as f:",
                 "            np.save(f, a)"])
        }
        if helpers.contains("note") {
            add(["def _note(label, value):",
                 "    \"\"\"A loop's shown value: printed for reading, not one of the values tapebook prints as a result.\"\"\"",
                 "    if not _FULL:",
                 "        print(label, np.array2string(_np(value), precision=4))"])
        }
        if helpers.contains("print") {
            add(["def _print(*values):",
                 "    print(*[v if isinstance(v, str) else np.array2string(_np(v), precision=4) for v in values])"])
        }
        if helpers.contains("scatter") {
            add(["def _scatter_update(x, select, value):",
                 "    \"\"\"x[select] = value as tf.tensor_scatter_nd_update: the gradient reaches value there and x elsewhere.\"\"\"",
                 "    places = select(np.arange(int(tf.size(x))).reshape(x.shape))",
                 "    updates = tf.broadcast_to(T(value), np.shape(places))",
                 "    return tf.reshape(tf.tensor_scatter_nd_update(tf.reshape(x, [-1]), np.reshape(places, [-1, 1]), tf.reshape(updates, [-1])), x.shape)"])
        }
        if helpers.contains("ints") {
            add(["def _ints(v):",
                 "    return [int(s) for s in np.atleast_1d(_np(v))]"])
        }
        switch target {
        case .torch:
            if helpers.contains("variables") || lines.contains(where: { $0.containsText("_vs(") }) {
                add(["# Each update of a variable makes a new leaf; _versions keeps those that a graph still reads.",
                     "_versions = {}",
                     "",
                     "def _var(name, t, new=False):",
                     "    if new:",
                     "        _versions[name] = []",
                     "    _versions[name].append(weakref.ref(t))",
                     "    return t",
                     "",
                     "def _vs(name):",
                     "    return [t for t in (r() for r in _versions[name]) if t is not None]"])
            }
            if helpers.contains("grad") {
                add(["def _grad(y, xs, seed=None, zero=False):",
                     "    \"\"\"tapebook's grad: the gradient of sum(y) (or of y seeded), None where y does not reach a source.",
                     "    A source that is a list holds a variable's versions: its gradient is the sum over them.\"\"\"",
                     "    groups = [x if isinstance(x, list) else [x] for x in xs]",
                     "    live = [t for g in groups for t in g if isinstance(t, torch.Tensor) and t.requires_grad]",
                     "    found = {}",
                     "    if y.requires_grad and live:",
                     "        seed = torch.ones_like(y) if seed is None else T(seed).expand_as(y)",
                     "        gs = torch.autograd.grad(y, live, grad_outputs=seed, create_graph=True, allow_unused=True)",
                     "        found = {id(t): g for t, g in zip(live, gs)}",
                     "    out = []",
                     "    for g in groups:",
                     "        parts = [found[id(t)] for t in g if found.get(id(t)) is not None]",
                     "        out.append(sum(parts[1:], parts[0]) if parts else None)",
                     "    return [torch.zeros_like(T(g[-1])) if d is None and zero else d for d, g in zip(out, groups)]"])
            }
            if helpers.contains("jacobian") {
                add(["def _jacobian(y, x, zero=False):",
                     "    \"\"\"shape y.shape + x.shape, one backward pass per element of y (summed over a variable's versions).\"\"\"",
                     "    if isinstance(x, list):",
                     "        js = [j for j in (_jacobian(y, v) for v in x) if j is not None]",
                     "        if js:",
                     "            return sum(js[1:], js[0])",
                     "        return torch.zeros(y.shape + x[-1].shape) if zero else None",
                     "    if not (y.requires_grad and x.requires_grad):",
                     "        return torch.zeros(y.shape + x.shape) if zero else None",
                     "    flat = y.reshape(-1)",
                     "    rows, used = [], False",
                     "    for i in range(flat.numel()):",
                     "        g, = torch.autograd.grad(flat[i], x, retain_graph=True, create_graph=True, allow_unused=True)",
                     "        used = used or g is not None",
                     "        rows.append(torch.zeros_like(x) if g is None else g)",
                     "    if not used and not zero:",
                     "        return None",
                     "    return torch.stack(rows).reshape(y.shape + x.shape) if rows else torch.zeros(y.shape + x.shape)"])
            }
            if helpers.contains("jvp") {
                add(["def _jvp(j, v):",
                     "    return None if j is None else torch.tensordot(j, v, dims=v.dim())"])
            }
            if helpers.contains("batch") {
                add(["def _batch_diagonal(j, x):",
                     "    \"\"\"the per-example blocks of a full jacobian (batch_jacobian).\"\"\"",
                     "    if j is None:",
                     "        return None",
                     "    b, ny = x.shape[0], j.dim() - x.dim()",
                     "    return torch.stack([j[(i,) + (slice(None),) * (ny - 1) + (i,)] for i in range(b)])"])
            }
            if helpers.contains("dot") {
                add(["def _dot(a, b):",
                     "    if a.dim() == 1 and b.dim() == 1:",
                     "        return torch.sum(a * b)",
                     "    return a * b if a.dim() == 0 or b.dim() == 0 else a @ b"])
            }
            if helpers.contains("clip_by_norm") {
                add(["def _clip_by_norm(t, c):",
                     "    l2sum = torch.sum(t ** 2)",
                     "    safe = torch.where(l2sum > 0, l2sum, torch.ones_like(l2sum))",
                     "    l2norm = torch.where(l2sum > 0, torch.sqrt(safe), l2sum)",
                     "    return t * c / torch.maximum(l2norm, T(c))"])
            }
            if helpers.contains("global_norm") {
                add(["def _global_norm(ts):",
                     "    return torch.sqrt(sum(torch.sum(t ** 2) for t in ts))",
                     "",
                     "def _clip_by_global_norm(c, ts):",
                     "    scale = c * torch.minimum(1.0 / _global_norm(ts), 1.0 / T(c))",
                     "    return [t * scale for t in ts]"])
            }
            if helpers.contains("cross_entropy") {
                add(["def _cross_entropy(logits, labels):",
                     "    logp = torch.log_softmax(logits, dim=-1)",
                     "    if labels.shape != logits.shape:",
                     "        labels = torch.nn.functional.one_hot(labels.long(), logits.shape[-1]).double()",
                     "    return torch.mean(-torch.sum(labels * logp, dim=-1))"])
            }
            if helpers.contains("load") {
                add(PythonWriter.loadHead + [
                     "    return torch.tensor(np.asarray(a, np.float64))"])
            }
            if helpers.contains("take") {
                add(["def _take(x, items):",
                     "    \"\"\"x[items] where a slice steps backwards (torch slices step forwards only).\"\"\"",
                     "    k = 0",
                     "    for s in items:",
                     "        if isinstance(s, slice):",
                     "            x = x.index_select(k, torch.tensor(list(range(x.shape[k]))[s], dtype=torch.long))",
                     "            k += 1",
                     "        else:",
                     "            x = x.select(k, s)",
                     "    return x"])
            }
            if helpers.contains("transpose") || lines.contains(where: { $0.containsText("_transpose(") }) {
                add(["def _transpose(x):",
                     "    return torch.permute(x, tuple(reversed(range(x.dim()))))"])
            }
        case .tf:
            if helpers.contains("matmul") {
                add(["def _matmul(a, b):",
                     "    \"\"\"numpy.matmul's rules (tf.linalg.matmul wants matrices).\"\"\"",
                     "    a1, b1 = len(a.shape) == 1, len(b.shape) == 1",
                     "    r = tf.linalg.matmul(a[None, :] if a1 else a, b[:, None] if b1 else b)",
                     "    if a1:",
                     "        r = tf.squeeze(r, -2)",
                     "    return tf.squeeze(r, -1) if b1 else r"])
            }
            if helpers.contains("dense") {
                add(["def _dense(g):",
                     "    \"\"\"A gradient as a dense tensor (a gather's gradient is an IndexedSlices).\"\"\"",
                     "    if isinstance(g, (list, tuple)):",
                     "        return [_dense(x) for x in g]",
                     "    return tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g"])
            }
            if helpers.contains("jvp") {
                add(["def _jvp(j, v):",
                     "    return None if j is None else tf.tensordot(j, v, axes=len(v.shape))"])
            }
            if helpers.contains("dot") {
                add(["def _dot(a, b):",
                     "    if len(a.shape) == 1 and len(b.shape) == 1:",
                     "        return tf.reduce_sum(a * b)",
                     "    return a * b if len(a.shape) == 0 or len(b.shape) == 0 else _matmul(a, b)"])
            }
            if helpers.contains("cross_entropy") {
                add(["def _cross_entropy(logits, labels):",
                     "    logp = tf.nn.log_softmax(logits, axis=-1)",
                     "    if labels.shape != logits.shape:",
                     "        labels = tf.one_hot(tf.cast(labels, tf.int64), logits.shape[-1], dtype=tf.float64)",
                     "    return tf.reduce_mean(-tf.reduce_sum(labels * logp, axis=-1))"])
            }
            if helpers.contains("load") {
                add(PythonWriter.loadHead + [
                     "    return tf.constant(np.asarray(a, np.float64))"])
            }
        case .jax:
            if helpers.contains("batch") {
                add(["def _batch_diagonal(j, x):",
                     "    \"\"\"the per-example blocks of a full jacobian (batch_jacobian).\"\"\"",
                     "    b, ny = x.shape[0], j.ndim - x.ndim",
                     "    return jnp.stack([j[(i,) + (slice(None),) * (ny - 1) + (i,)] for i in range(b)])"])
            }
            if helpers.contains("dot") {
                add(["def _dot(a, b):",
                     "    if a.ndim == 1 and b.ndim == 1:",
                     "        return jnp.sum(a * b)",
                     "    return a * b if a.ndim == 0 or b.ndim == 0 else a @ b"])
            }
            if helpers.contains("clip_by_norm") {
                add(["def _clip_by_norm(t, c):",
                     "    l2sum = jnp.sum(t ** 2)",
                     "    safe = jnp.where(l2sum > 0, l2sum, 1.0)",
                     "    l2norm = jnp.where(l2sum > 0, jnp.sqrt(safe), l2sum)",
                     "    return t * c / jnp.maximum(l2norm, c)"])
            }
            if helpers.contains("global_norm") {
                add(["def _global_norm(ts):",
                     "    return jnp.sqrt(sum(jnp.sum(t ** 2) for t in ts))",
                     "",
                     "def _clip_by_global_norm(c, ts):",
                     "    scale = c * jnp.minimum(1.0 / _global_norm(ts), 1.0 / c)",
                     "    return [t * scale for t in ts]"])
            }
            if helpers.contains("cross_entropy") {
                add(["def _cross_entropy(logits, labels):",
                     "    logp = jax.nn.log_softmax(logits, axis=-1)",
                     "    if labels.shape != logits.shape:",
                     "        labels = jax.nn.one_hot(labels.astype(jnp.int64), logits.shape[-1], dtype=jnp.float64)",
                     "    return jnp.mean(-jnp.sum(labels * logp, axis=-1))"])
            }
            if helpers.contains("load") {
                add(PythonWriter.loadHead + [
                     "    return jnp.asarray(np.asarray(a, np.float64))"])
            }
        }
        return h
    }
}

extension PythonWriter {
    /// tapebook's random generator (TensorCore's RandomGenerator: SplitMix64 seeds xoshiro256**, Box–Muller
    /// normals in pairs), so that `randn` and `rand` give tapebook's numbers after the same `set_seed`.
    static let randomHelper = [
        "class _TapeRandom:",
        "    M = (1 << 64) - 1",
        "",
        "    def __init__(self, seed):",
        "        s, self.state, self.spare = seed & self.M, [], None",
        "        for _ in range(4):",
        "            s = (s + 0x9E3779B97F4A7C15) & self.M",
        "            z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & self.M",
        "            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.M",
        "            self.state.append(z ^ (z >> 31))",
        "",
        "    def _rotl(self, x, k):",
        "        return ((x << k) | (x >> (64 - k))) & self.M",
        "",
        "    def uniform(self):",
        "        s = self.state",
        "        result = (self._rotl((s[1] * 5) & self.M, 7) * 9) & self.M",
        "        t = (s[1] << 17) & self.M",
        "        s[2] ^= s[0]",
        "        s[3] ^= s[1]",
        "        s[1] ^= s[2]",
        "        s[0] ^= s[3]",
        "        s[2] ^= t",
        "        s[3] = self._rotl(s[3], 45)",
        "        return (result >> 11) * 2.0 ** -53",
        "",
        "    def normal(self):",
        "        if self.spare is not None:",
        "            v, self.spare = self.spare, None",
        "            return v",
        "        u1 = 1 - self.uniform()",
        "        u2 = self.uniform()",
        "        r = math.sqrt(-2 * math.log(u1))",
        "        self.spare = r * math.sin(2 * math.pi * u2)",
        "        return r * math.cos(2 * math.pi * u2)",
        "",
        "    def copy(self):",
        "        other = _TapeRandom(0)",
        "        other.state, other.spare = list(self.state), self.spare",
        "        return other",
        "",
        "    def tensor(self, shape, normal):",
        "        n = int(np.prod(shape))",
        "        return np.array([self.normal() if normal else self.uniform() for _ in range(n)], np.float64).reshape(shape)",
        "",
        "_rng = _TapeRandom(int(time.time() * 1000) & 0xFFFFFFFF)",
        "",
        "def set_seed(n):",
        "    global _rng",
        "    _rng = _TapeRandom(n)",
        "",
        "def _redraw(state, compute):",
        "    \"\"\"compute(), drawing the random numbers it drew where `state` was saved (jax.grad evaluates again).\"\"\"",
        "    global _rng",
        "    outer, _rng = _rng, state.copy()",
        "    try:",
        "        return compute()",
        "    finally:",
        "        _rng = outer",
    ]

    /// The start of every backend's `_load(path)`: `.npy` through `np.load`; CSV as tapebook reads it, with
    /// `np.loadtxt`'s shapes, skipping blank and `#` lines and a first line of names (a header), where plain
    /// `np.loadtxt` would stop at the names. Each backend adds the line that makes its tensor of `a`.
    static let loadHead = [
        "def _load(path):",
        "    if not path.endswith(\".csv\"):",
        "        a = np.load(path)",
        "    else:",
        "        with open(path, encoding=\"utf-8-sig\") as f:",
        "            lines = [line for line in f if line.strip() and not line.lstrip().startswith(\"#\")]",
        "        def is_number(field):",
        "            try:",
        "                float(field)",
        "                return True",
        "            except ValueError:",
        "                return False",
        "        names = [field.strip() for field in lines[0].split(\",\") if field.strip()] if lines else []",
        "        if names and all(not is_number(n) and (n[0].isalpha() or n[0] in \"_\\\"'\") for n in names):",
        "            lines = lines[1:]",
        "        a = np.loadtxt(lines, delimiter=\",\")",
    ]
}
