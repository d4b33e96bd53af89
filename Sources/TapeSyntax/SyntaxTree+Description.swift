/// Compact S-expressions of the syntax tree, for tests and debugging:
/// `-x^2` is `(- (^ x 2))`, `f(a, axis=0)` is `(f a axis=0)`, `a[1:, ::2]` is `(index a (: 1 _) (: _ _ 2))`,
/// `[1, 2]` is `[1 2]`, `grad y wrt x seed s` is `(grad y wrt x seed s)`.
extension Expr: CustomDebugStringConvertible {
    public var debugDescription: String { sExpression }

    public var sExpression: String {
        switch kind {
        case .number(let value): return formatNumber(value)
        case .name(let name): return name
        case .string(let text): return quote(text)
        case .unary(let op, let operand): return "(\(op.rawValue) \(operand.sExpression))"
        case .binary(let op, let left, let right): return "(\(op.rawValue) \(left.sExpression) \(right.sExpression))"
        case .call(let name, let arguments):
            let parts = arguments.map { argument in
                (argument.label.map { $0.name + "=" } ?? "") + argument.value.sExpression
            }
            return "(" + ([name] + parts).joined(separator: " ") + ")"
        case .index(let base, let items):
            return "(index " + ([base.sExpression] + items.map(\.sExpression)).joined(separator: " ") + ")"
        case .transpose(let base): return "(T \(base.sExpression))"
        case .tensor(let elements): return "[" + elements.map(\.sExpression).joined(separator: " ") + "]"
        case .gradient(let gradient): return gradient.sExpression
        case .group(let members): return "(group " + members.map(\.sExpression).joined(separator: " ") + ")"
        }
    }
}

extension IndexItem {
    public var sExpression: String {
        switch kind {
        case .single(let expression): return expression.sExpression
        case .slice(let start, let stop, let step):
            let parts = [start, stop] + (step == nil ? [] : [step])
            return "(: " + parts.map { $0?.sExpression ?? "_" }.joined(separator: " ") + ")"
        }
    }
}

extension Gradient {
    public var sExpression: String {
        var parts = [kind.rawValue, target.sExpression, "wrt", sources.map(\.name).joined(separator: ",")]
        if let seed { parts += ["seed", seed.sExpression] }
        if let tangent { parts += ["along", tangent.sExpression] }
        if unconnectedZero { parts += ["unconnected", "zero"] }
        if let tape { parts += ["using", tape.name] }
        return "(" + parts.joined(separator: " ") + ")"
    }
}

extension FunctionBody {
    public var sExpression: String {
        switch self {
        case .expressions(let expressions): return expressions.map(\.sExpression).joined(separator: " ")
        case .block(let statements): return blockSExpression(statements)
        }
    }
}

/// Statements print as `(= x 1)`, `(def f (x y) body)`, `(watch x y on t)`, `(repeat 3 as i < … >)`;
/// a silenced statement ends with `;`.
extension Statement: CustomDebugStringConvertible {
    public var debugDescription: String { sExpression }

    public var sExpression: String {
        let text: String
        func names(_ identifiers: [Identifier]) -> String { identifiers.map(\.name).joined(separator: " ") }
        switch kind {
        case .expression(let expression): text = expression.sExpression
        case .expressionList(let expressions): text = "(list " + expressions.map(\.sExpression).joined(separator: " ") + ")"
        case .assignment(let target, let value): text = "(= \(target.name) \(value.sExpression))"
        case .multipleAssignment(let targets, let value): text = "(= (\(names(targets))) \(value.sExpression))"
        case .functionDefinition(let name, let parameters, let body):
            text = "(def \(name.name) (\(names(parameters))) \(body.sExpression))"
        case .customFunctionDefinition(let name, let parameters, let body, let cotangent, let gradient):
            text = "(custom \(name.name) (\(names(parameters))) \(body.sExpression) grad (\(cotangent.name)) \(gradient.sExpression))"
        case .watch(let identifiers, let tape):
            text = "(watch \(names(identifiers))" + (tape.map { " on \($0.name)" } ?? "") + ")"
        case .variableDeclaration(let name, let value): text = "(var \(name.name) \(value.sExpression))"
        case .update(let target, let op, let value): text = "(\(op.rawValue) \(target.name) \(value.sExpression))"
        case .withStop(let tape, let body):
            text = "(with-stop" + (tape.map { " \($0.name)" } ?? "") + " \(blockSExpression(body)))"
        case .withTape(let name, let persistent, let nowatch, let body):
            text = "(with-tape \(name.name)" + (persistent ? " persistent" : "") + (nowatch ? " nowatch" : "")
                + " \(blockSExpression(body)))"
        case .showTape(let tape): text = "(tape" + (tape.map { " \($0.name)" } ?? "") + ")"
        case .resetTape(let tape): text = "(tape-reset" + (tape.map { " \($0.name)" } ?? "") + ")"
        case .indexAssignment(let target, let items, let op, let value):
            text = "(\(op?.rawValue ?? "=") (index \(target.name) " + items.map(\.sExpression).joined(separator: " ") + ") \(value.sExpression))"
        case .conditional(let branches, let otherwise):
            text = "(if " + branches.map { "\($0.condition.sExpression) \(blockSExpression($0.body))" }.joined(separator: " elif ")
                + (otherwise.map { " else \(blockSExpression($0))" } ?? "") + ")"
        case .whileLoop(let condition, let body): text = "(while \(condition.sExpression) \(blockSExpression(body)))"
        case .print(let expressions): text = "(print " + expressions.map(\.sExpression).joined(separator: " ") + ")"
        case .repeatLoop(let count, let counter, let shown, let body):
            text = "(repeat \(count.sExpression)" + (counter.map { " as \($0.name)" } ?? "")
                + (shown.map { " show \($0.name)" } ?? "") + " \(blockSExpression(body)))"
        case .save(let value, let path): text = "(save \(value.sExpression) \(quote(path)))"
        case .explain(let gradient): text = "(explain \(gradient.sExpression))"
        case .graph(let value, let path): text = "(graph \(value.sExpression)" + (path.map { " " + quote($0) } ?? "") + ")"
        case .checkGradient(let gradient): text = "(check \(gradient.sExpression))"
        case .plot(let expressions, let variable, let lower, let upper, let includeGradient):
            text = "(plot (" + expressions.map(\.sExpression).joined(separator: " ")
                + ") \(variable.name) \(lower.sExpression) \(upper.sExpression)" + (includeGradient ? " and-grad" : "") + ")"
        case .plotValues(let series, let against):
            text = "(plot (" + series.map(\.sExpression).joined(separator: " ") + ")" + (against.map { " against " + $0.sExpression } ?? "") + ")"
        case .apply(let optimizer, let variables, let gradients):
            text = "(apply \(optimizer.sExpression) (\(names(variables))) (" + gradients.map(\.sExpression).joined(separator: " ") + "))"
        case .meta(let name, let argument, _): text = "(:\(name) \(quote(argument)))"
        }
        return silenced ? text + ";" : text
    }
}

func blockSExpression(_ statements: [Statement]) -> String {
    "<" + statements.map { " " + $0.sExpression }.joined() + " >"
}

private func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return String(value)
}

private func quote(_ text: String) -> String {
    var quoted = "\""
    for character in text {
        if character == "\"" || character == "\\" { quoted.append("\\") }
        quoted.append(character)
    }
    return quoted + "\""
}
