import TensorCore
import Autodiff
import TapeSyntax

/// Groups (spec section 1): `(a, b)`, several results under one name, members by `g[0]`, memberwise
/// arithmetic and elementwise built-ins, and groups of variables that update their variables.
extension Session {
    /// Names no source can spell: the operands of one member's operation while a group is computed
    /// member by member, so the operators and built-ins themselves do the work.
    private static let hiddenNames = (0..<8).map { "\u{1}operand\($0)" }

    /// Built-ins applied member by member when given a group: the elementwise ones, and the few others a
    /// training step applies to every parameter.
    static func isMemberwise(_ name: String) -> Bool {
        if Builtins.named(name)?.elementwise != nil { return true }
        return ["pow", "maximum", "minimum", "where", "clip", "clip_by_value", "clip_by_norm", "stop_gradient", "square",
                "leaky_relu", "elu", "gelu", "silu", "selu", "mod", "floor_divide"].contains(name)
    }

    /// Whether `name` is a built-in that takes groups whole: a group argument stands for its members, in order.
    static func takesGroups(_ name: String) -> Bool { Builtins.named(name)?.takesGroups ?? false }

    func isGroupName(_ name: String) -> Bool {
        // NOTE: no lookup until a group has been bound: a loop's statements ask this of every name they use.
        guard groupsBound else { return false }
        if case .group? = lookup(name) { return true }
        return false
    }

    /// Whether `expr` may give a group (a cheap look at its form and the names it uses).
    func mayGiveGroup(_ expr: Expr) -> Bool {
        // Until a group is bound, only the syntax can give one.
        guard groupsBound || expr.hasGroupForm else { return false }
        switch expr.kind {
        case .group: return true
        case .name(let name): return isGroupName(name)
        case .binary(_, let lhs, let rhs): return mayGiveGroup(lhs) || mayGiveGroup(rhs)
        case .unary(_, let operand): return mayGiveGroup(operand)
        case .call(let name, let arguments):
            if Expr.groupCalls.contains(name) { return lookup(name) == nil }
            guard arguments.contains(where: { $0.label == nil && mayGiveGroup($0.value) }) else { return false }
            return lookup(name) == nil && !Session.takesGroups(name) && Session.isMemberwise(name)
        case .gradient(let g):
            return g.sources.count > 1 || g.sources.contains { isGroupName($0.name) }
        default: return false
        }
    }

    /// The value of an expression where a group may stand: a tensor, or a group computed member by member.
    func evaluateMembers(_ expr: Expr) throws -> Evaluated {
        switch expr.kind {
        case .group(let members):
            var items: [(label: String?, item: ResultItem)] = []
            for m in members {
                let result = try evaluateTop(m)
                if case .group = result { throw groupsDoNotNest(at: m.span) }
                if case .optimizer = result { throw EvaluationError("an optimizer cannot be a member of a group", at: m.span) }
                let memberItems = result.items
                guard memberItems.count == 1 else { throw groupsDoNotNest(at: m.span) }
                items.append((nil, memberItems[0].item))
            }
            return .group(items)
        case .binary(let op, let lhs, let rhs):
            let a = try evaluateMembers(lhs), b = try evaluateMembers(rhs)
            return try memberwise([a, b], spans: [lhs.span, rhs.span], at: expr.span) { hidden in
                Expr(kind: .binary(op, hidden[0], hidden[1]), span: expr.span)
            }
        case .unary(let op, let operand):
            let a = try evaluateMembers(operand)
            return try memberwise([a], spans: [operand.span], at: expr.span) { hidden in
                Expr(kind: .unary(op, hidden[0]), span: expr.span)
            }
        case .call(let name, let arguments) where lookup(name) == nil && Session.isMemberwise(name):
            let positional = arguments.filter { $0.label == nil }
            let keywords = arguments.filter { $0.label != nil }
            guard positional.count <= Session.hiddenNames.count else { return try evaluateTop(expr) }
            // Strings (file names, modes) stay as written; the rest is evaluated once.
            var operands: [Evaluated] = []
            var spans: [SourceSpan] = []
            var kept: [Int: Argument] = [:]
            for (i, a) in positional.enumerated() {
                if case .string = a.value.kind { kept[i] = a; operands.append(.value(context.constant(0))) }
                else { operands.append(try evaluateMembers(a.value)) }
                spans.append(a.value.span)
            }
            return try memberwise(operands, spans: spans, at: expr.span) { hidden in
                let args = hidden.enumerated().map { i, h in kept[i] ?? Argument(label: nil, value: h) }
                return Expr(kind: .call(name: name, arguments: args + keywords), span: expr.span)
            }
        default:
            // Several results (`clip_by_global_norm`, a gradient with several sources) are a group here.
            switch try evaluateTop(expr) {
            case .several(let values): return .group(values.map { (nil, .value($0)) })
            case .gradients(let items, _) where items.count > 1: return .group(items)
            case let result: return result
            }
        }
    }

    private func groupsDoNotNest(at span: SourceSpan) -> EvaluationError {
        EvaluationError("groups do not nest: a member of a group must be one tensor", at: span,
                        note: "write the members out one by one, as in (w1, b1, w2, b2)")
    }

    /// Computes `operation` on each member (a tensor operand broadcasts to every member), or once when no
    /// operand is a group. `operation` builds the expression to evaluate from hidden names bound to the operands.
    private func memberwise(_ operands: [Evaluated], spans: [SourceSpan], at span: SourceSpan,
                            _ operation: ([Expr]) -> Expr) throws -> Evaluated {
        var length: Int? = nil
        for operand in operands {
            guard case .group(let items) = operand else { continue }
            if let length, length != items.count {
                throw EvaluationError("groups of \(length) and \(items.count) members cannot be combined", at: span,
                                      note: "two groups combine member by member, so they must have the same length")
            }
            length = items.count
        }
        func member(_ operand: Evaluated, _ i: Int?, _ operandSpan: SourceSpan) throws -> Value {
            switch operand {
            case .group(let items):
                if case .value(let v) = items[i!].item { return v }
                if case .none(let reason) = items[i!].item {
                    throw EvaluationError("member \(i!) of this group is None (\(reason))", at: operandSpan,
                                          note: "a None gradient cannot be computed with; use `unconnected zero` to get zeros")
                }
                fatalError("unreachable")
            default: return try single(operand, span: operandSpan, what: sourceText.text(of: operandSpan))
            }
        }
        let hidden = spans.indices.map { Expr(kind: .name(Session.hiddenNames[$0]), span: spans[$0]) }
        let expr = operation(hidden)
        func compute(_ i: Int?) throws -> Value {
            let values = try operands.indices.map { try member(operands[$0], i, spans[$0]) }
            let scope = NameTable(names: Array(Session.hiddenNames.prefix(values.count)), elements: values.map { Binding.value($0) })
            return try withScope(scope) { try evaluate(expr) }
        }
        guard let length else { return .value(try compute(nil)) }
        return .group(try (0..<length).map { (nil, .value(try compute($0))) })
    }

    /// `g[0]`, `g[-1]` on a group (a name bound to one, or a group literal); nil when `base` is no group.
    func groupMember(_ base: Expr, _ items: [IndexItem], span: SourceSpan) throws -> ResultItem? {
        let members: [ResultItem]
        switch base.kind {
        case .name(let name):
            guard case .group(let m)? = lookup(name) else { return nil }
            members = m
        case .group:
            guard case .group(let m) = try evaluateMembers(base) else { return nil }
            members = m.map(\.item)
        default: return nil
        }
        guard items.count == 1, case .single(let e) = items[0].kind else {
            throw EvaluationError("a group takes one index, its member's position", at: items.count == 1 ? items[0].span : span,
                                  note: "take a member first, then index it: g[0][1:3]")
        }
        let v = try evaluate(e)
        guard v.tensor.count == 1, v.tensor.rank == 0 else {
            throw EvaluationError("a group's index must be a number", at: e.span)
        }
        var i = try wholeNumber(v.tensor.firstScalar, what: "a group's index", at: e.span)
        if i < 0 { i += members.count }
        guard i >= 0 && i < members.count else {
            throw EvaluationError("index \(plainIndex(v.tensor.firstScalar)) is out of range for a group of \(members.count) member\(members.count == 1 ? "" : "s")", at: e.span)
        }
        return members[i]
    }

    private func plainIndex(_ x: Double) -> String { String(Int(x)) }

    /// The tensors of a statement's sources: each name's tensor, or every member of a group.
    func expandSources(_ names: [Identifier], expected: String) throws -> (values: [Value], labels: [String], hasGroup: Bool) {
        var values: [Value] = [], labels: [String] = []
        values.reserveCapacity(names.count)
        labels.reserveCapacity(names.count)
        var hasGroup = false
        for k in names.indices {
            let name = names[k].name
            switch lookup(name) {
            case .value(let v)?:
                values.append(v)
                labels.append(name)
            case .group(let members)?:
                hasGroup = true
                for (i, m) in members.enumerated() {
                    guard case .value(let v) = m else {
                        throw EvaluationError("\(name)[\(i)] is None, expected \(expected)", at: names[k].span)
                    }
                    values.append(v)
                    labels.append("\(name)[\(i)]")
                }
            default:
                throw unknownOrWrongKind(names[k], expected: expected)
            }
        }
        return (values, labels, hasGroup)
    }

    // MARK: Variables

    /// Makes every name and group member that holds variable `updated.variable` hold `updated`: a variable
    /// is one thing however many names and groups hold it (a group of variables holds the variables).
    func replaceVariable(_ updated: Value) { replaceVariables([updated]) }

    /// `replaceVariable` for several variables at once, in one pass over the names (an optimizer's step);
    /// a variable given twice ends as the later value, as two calls in order would leave it.
    func replaceVariables(_ updated: [Value]) {
        func replacement(for v: Value) -> Value? {
            guard let identity = v.variable else { return nil }
            for u in updated.reversed() where u.variable === identity { return u === v ? nil : u }
            return nil
        }
        func replace(_ binding: inout Binding) {
            switch binding {
            case .value(let v):
                if let new = replacement(for: v) { binding = .value(new) }
            case .group(var members):
                var changed = false
                for i in members.indices {
                    if case .value(let v) = members[i], let new = replacement(for: v) { members[i] = .value(new); changed = true }
                }
                if changed { binding = .group(members) }
            default: break
            }
        }
        workspace.updateEach(replace)
        for i in scopes.indices { scopes[i].updateEach(replace) }
    }

    /// `params -= e`, `params += e` on a group: each variable member is updated in place, unrecorded
    /// (`assign_sub`); a plain member is replaced by `member - e`, recorded, as `x -= e` on a tensor is.
    func updateGroup(_ target: Identifier, _ members: [ResultItem], subtract: Bool, _ expr: Expr) throws -> [ResultItem] {
        let delta = try evaluateMembers(expr)
        if case .group(let items) = delta, items.count != members.count {
            throw EvaluationError("cannot update \(target.name), a group of \(members.count), with a group of \(items.count)", at: expr.span,
                                  note: "two groups combine member by member, so they must have the same length")
        }
        var updated: [ResultItem] = []
        for (i, m) in members.enumerated() {
            guard case .value(let old) = m else {
                throw EvaluationError("\(target.name)[\(i)] is None and cannot be updated", at: target.span)
            }
            let d: Value
            switch delta {
            case .group(let items):
                guard case .value(let v) = items[i].item else {
                    throw EvaluationError("member \(i) of the update is None", at: expr.span,
                                          note: "a None gradient cannot be computed with; use `unconnected zero` to get zeros")
                }
                d = v
            default: d = try single(delta, span: expr.span, what: sourceText.text(of: expr.span))
            }
            if old.isVariable {
                let new: Tensor
                do { new = try Tensor.zip(old.tensor, d.tensor, subtract ? .subtract : .add) } catch let e as TensorError {
                    throw EvaluationError("\(target.name)[\(i)]: " + e.message, at: expr.span)
                }
                guard new.shape == old.shape else {
                    throw EvaluationError("cannot update \(target.name)[\(i)] of shape \(Shape.describe(old.shape)) with a value of shape \(Shape.describe(d.shape))",
                                          at: expr.span, note: "an update keeps the shape of each member")
                }
                updated.append(.value(context.variable(new, identity: old.variable!)))
            } else {
                updated.append(.value(try at(expr.span) { subtract ? try old - d : try old + d }))
            }
        }
        return updated
    }
}
