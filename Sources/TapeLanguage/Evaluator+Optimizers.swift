import Portable
import TensorCore
import Autodiff
import TapeSyntax

/// `opt = adam(0.01)` and `apply opt to w, b with gw, gb` (spec section 7).
extension Session {
    /// `sgd(...)`, `adam(...)`, `rmsprop(...)`, `adagrad(...)`: the learning rate may come first, unlabelled.
    func makeOptimizer(_ kind: Optimizer.Kind, _ arguments: [Argument], span: SourceSpan) throws -> Optimizer {
        let names = Optimizer.defaults(kind).map(\.name)
        var settings: [String: Double] = [:]
        var spans: [String: SourceSpan] = [:]
        for (i, a) in arguments.enumerated() {
            let name: String
            if let label = a.label {
                guard names.contains(label.name) else {
                    throw EvaluationError("unknown keyword argument '\(label.name)' for \(kind.rawValue)", at: label.span,
                                          note: "\(kind.rawValue) accepts " + names.map { "'\($0)'" }.joined(separator: ", "))
                }
                guard settings[label.name] == nil else { throw EvaluationError("keyword argument '\(label.name)' is given twice", at: label.span) }
                name = label.name
            } else {
                guard i == 0 else {
                    throw EvaluationError("\(kind.rawValue) takes the learning rate alone unlabelled; name the others", at: a.value.span,
                                          note: "usage: \(Optimizer.usage(kind))")
                }
                name = "lr"
            }
            let v = try evaluate(a.value)
            guard v.tensor.count == 1, v.tensor.rank == 0 else {
                throw EvaluationError("'\(name)' must be a number, got shape \(Shape.describe(v.shape))", at: a.value.span)
            }
            settings[name] = v.tensor.firstScalar
            spans[name] = a.value.span
        }
        do {
            return try Optimizer(kind: kind, settings: settings)
        } catch {
            throw EvaluationError("'\(error.name)' \(error.message), got \(plainNumber(settings[error.name] ?? .nan))",
                                  at: spans[error.name] ?? span)
        }
    }

    /// A call's arguments with each group (a name bound to one, or a literal) replaced by its members,
    /// for the built-ins that take groups whole (`global_norm(gs)`).
    func expandGroupArguments(_ arguments: [Argument]) throws -> [Argument] {
        var expanded: [Argument] = []
        for a in arguments {
            guard a.label == nil else { expanded.append(a); continue }
            switch a.value.kind {
            case .name(let name):
                guard case .group(let members)? = lookup(name) else { expanded.append(a); continue }
                for i in members.indices {
                    let index = IndexItem(kind: .single(Expr(kind: .number(Double(i)), span: a.value.span)), span: a.value.span)
                    expanded.append(Argument(label: nil, value: Expr(kind: .index(a.value, [index]), span: a.value.span)))
                }
            case .group(let members):
                expanded += members.map { Argument(label: nil, value: $0) }
            default:
                expanded.append(a)
            }
        }
        return expanded
    }

    /// `apply opt to w, b with gw, gb` (`apply_gradients`): updates the variables in place, unrecorded;
    /// the optimizer keeps their slots. Returns the updated variables, labelled, to show.
    func applyOptimizer(_ optimizerExpr: Expr, _ variables: [Identifier], _ gradientExprs: [Expr],
                        notes: inout [String]) throws -> [(label: String?, item: ResultItem)] {
        guard case .name(let optimizerName) = optimizerExpr.kind, case .optimizer(var optimizer)? = lookup(optimizerName) else {
            if case .name(let name) = optimizerExpr.kind, lookup(name) != nil {
                throw unknownOrWrongKind(Identifier(name: name, span: optimizerExpr.span), expected: "an optimizer")
            }
            throw EvaluationError("apply needs an optimizer bound to a name, which keeps its slots from step to step", at: optimizerExpr.span,
                                  note: "make one first: opt = adam(0.01); then apply opt to w with g")
        }
        // The variables, each a variable's value: a name, or every member of a group.
        var targets: [(label: String, value: Value, span: SourceSpan)] = []
        targets.reserveCapacity(variables.count)
        for k in variables.indices {
            switch lookup(variables[k].name) {
            case .value(let v)?:
                guard v.isVariable else { throw notAVariable(variables[k].name, at: variables[k].span) }
                targets.append((variables[k].name, v, variables[k].span))
            case .group(let members)?:
                for (i, m) in members.enumerated() {
                    guard case .value(let v) = m, v.isVariable else { throw notAVariable("\(variables[k].name)[\(i)]", at: variables[k].span) }
                    targets.append(("\(variables[k].name)[\(i)]", v, variables[k].span))
                }
            default:
                throw unknownOrWrongKind(variables[k], expected: "a variable to update")
            }
        }
        // Keras refuses a variable given twice; so does tapebook (its slots would be stepped twice).
        // NOTE: loops over indices here and below: a loop over the tuples copies each one, label and span too.
        for i in targets.indices {
            let variable = targets[i].value.variable
            for j in 0..<i where targets[j].value.variable === variable {
                throw EvaluationError("\(targets[i].label) is the same variable as \(targets[j].label): apply takes each variable once",
                                      at: targets[i].span)
            }
        }
        // The gradients, in the same order: tensors, or groups' members.
        var gradients: [(item: ResultItem, span: SourceSpan)] = []
        gradients.reserveCapacity(targets.count)
        for e in gradientExprs {
            let result = try evaluateTop(e)
            if case .optimizer = result { throw EvaluationError("expected gradients after 'with', got an optimizer", at: e.span) }
            if case .gradients(let items, _) = result { noteGradients(items) }
            for member in result.items { gradients.append((member.item, e.span)) }
        }
        guard gradients.count == targets.count else {
            let span = gradientExprs[0].span.union(gradientExprs.last!.span)
            throw EvaluationError("apply has \(targets.count) variable\(targets.count == 1 ? "" : "s") but \(gradients.count) gradient\(gradients.count == 1 ? "" : "s")",
                                  at: span, note: "give one gradient per variable, in the same order")
        }
        var pairs: [(variable: VariableIdentity, value: Tensor, gradient: Tensor)] = []
        var updatedIndices: [Int] = []
        pairs.reserveCapacity(targets.count)
        updatedIndices.reserveCapacity(targets.count)
        for i in targets.indices {
            switch gradients[i].item {
            case .none(let reason):
                // Keras skips a variable whose gradient is None, with a warning.
                notes.append("\(targets[i].label) was not updated: its gradient is None (\(reason))")
            case .value(let g):
                let value = targets[i].value
                guard g.shape == value.shape else {
                    let label = targets[i].label
                    throw EvaluationError("the gradient for \(label) has shape \(Shape.describe(g.shape)) but \(label) has shape \(Shape.describe(value.shape))",
                                          at: gradients[i].span)
                }
                pairs.append((value.variable!, value.tensor, g.tensor))
                updatedIndices.append(i)
            }
        }
        try Shape.checkAllocation([pairs.reduce(0) { $0 + 3 * $1.value.count }])
        // The name lets go of its copy first: the step then updates the only copy of the slots, in place.
        bind(optimizerName, .none(reason: "stepping"))
        let updated = optimizer.step(pairs)
        bind(optimizerName, .optimizer(optimizer))
        var shown: [(label: String?, item: ResultItem)] = []
        shown.reserveCapacity(targets.count)
        for i in targets.indices { shown.append((targets[i].label, .value(targets[i].value))) }
        var nexts: [Value] = []
        nexts.reserveCapacity(updatedIndices.count)
        for (k, i) in updatedIndices.enumerated() {
            let next = context.variable(updated[k], identity: pairs[k].variable)
            nexts.append(next)
            shown[i].item = .value(next)
        }
        replaceVariables(nexts)
        return shown
    }

    private func notAVariable(_ name: String, at span: SourceSpan) -> EvaluationError {
        EvaluationError("\(name) is a plain tensor, not a variable: an optimizer updates variables in place", at: span,
                        note: "make it a variable: var \(name.split(separator: "[").first.map(String.init) ?? name) = ...")
    }
}
