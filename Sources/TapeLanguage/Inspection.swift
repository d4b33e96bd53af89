import TensorCore
import Autodiff
import TapeSyntax
import Rendering

// The looking-inside commands share these: the recorded graph between a target and its sources,
// how its values are named, and how a value is shown on one line. Each command has its own file:
// Inspection+Explain, Inspection+Check, Inspection+Graph, Inspection+Plot, Inspection+Health.

/// The recorded operations between a target and some sources on one tape, as the backward pass sees
/// them (the same walk as Autodiff's `BackwardPlan`).
struct RecordedGraph {
    let tape: Tape
    let sourceKeys: Set<ObjectIdentifier>
    /// Every value with a recorded operation that the target reaches on this tape, oldest first.
    var nodes: [Value] = []
    /// Of `nodes`, those on a path to a source, by identity.
    var relevant = Set<ObjectIdentifier>()

    init(target: Value, sources: [Value], tape: Tape) {
        self.tape = tape
        let bit = tape.bit
        let keys = Set(sources.map(\.accumulationKey))
        sourceKeys = keys
        var seen = Set<ObjectIdentifier>()
        var pending = target.tapes & bit != 0 ? [target] : []
        while let v = pending.popLast() {
            guard let node = v.node, seen.insert(ObjectIdentifier(v)).inserted else { continue }
            nodes.append(v)
            for input in node.inputs where input.tapes & bit != 0 && input.node != nil { pending.append(input) }
        }
        nodes.sort { $0.serial < $1.serial }
        var onPath = Set<ObjectIdentifier>()
        for v in nodes where v.node!.inputs.contains(where: { input in
            input.tapes & bit != 0 && (keys.contains(input.accumulationKey) || onPath.contains(ObjectIdentifier(input)))
        }) {
            onPath.insert(ObjectIdentifier(v))
        }
        relevant = onPath
    }

    /// Whether the backward pass sends a gradient to `input` (Autodiff's `needs`).
    func needsGradient(_ input: Value) -> Bool {
        input.tapes & tape.bit != 0 && (sourceKeys.contains(input.accumulationKey) || relevant.contains(ObjectIdentifier(input)))
    }

    /// The key gradients of `v` accumulate under: a source's variable identity, or the value's own.
    func key(_ v: Value) -> ObjectIdentifier {
        sourceKeys.contains(v.accumulationKey) ? v.accumulationKey : ObjectIdentifier(v)
    }

    /// Recorded values on a path to a source, latest first: the order of the backward pass.
    var backwardOrder: [Value] { nodes.filter { relevant.contains(ObjectIdentifier($0)) }.reversed() }
}

/// Names for the values of a graph: the user's names, `#k` for unnamed recorded values (numbered
/// oldest first), and the value itself for small constants.
struct ValueNames {
    private var names: [ObjectIdentifier: String]
    private var numbers: [ObjectIdentifier: Int] = [:]
    private let precision: Int

    init(session: Session, numbering nodes: [Value], sources: [(Value, String)] = []) {
        names = session.namesByValue()
        precision = session.settings.precision
        for (value, name) in sources where names[ObjectIdentifier(value)] == nil { names[ObjectIdentifier(value)] = name }
        var k = 0
        for v in nodes where names[ObjectIdentifier(v)] == nil {
            k += 1
            numbers[ObjectIdentifier(v)] = k
        }
    }

    /// The user's name of `v`, if it has one (a variable's older value goes by the variable's name).
    func name(_ v: Value) -> String? {
        names[ObjectIdentifier(v)] ?? (v.node == nil ? v.variable?.name : nil)
    }

    /// How `v` is written in an expression: `x`, `#2`, `0.5`, `[1, 2]` or `const [3, 4]`.
    func callName(_ v: Value) -> String {
        if let n = name(v) { return n }
        if let k = numbers[ObjectIdentifier(v)] { return "#\(k)" }
        if v.tensor.count == 1 { return formatNumber(v.tensor.firstScalar, precision: precision) }
        if v.tensor.rank == 1 && v.tensor.count <= 4 { return formatTensor(v.tensor, FormatOptions(precision: precision, lineWidth: 1000)) }
        return "const " + Shape.describe(v.shape)
    }

    /// Whether `v` is named by the user or numbered here (rather than written as a constant).
    func isNamed(_ v: Value) -> Bool { name(v) != nil || numbers[ObjectIdentifier(v)] != nil }
}

extension Session {
    /// A tensor on one line: the number or the elements when small, else its shape and L2 norm.
    func inline(_ t: Tensor) -> String {
        if t.count == 1 { return formatNumber(t.firstScalar, precision: settings.precision) }
        func list(_ xs: ArraySlice<Double>) -> String {
            "[" + xs.map { formatNumber($0, precision: settings.precision) }.joined(separator: ", ") + "]"
        }
        if t.rank == 1 && t.count <= 6 { return list(t.scalars[...]) }
        if t.rank == 2 && t.count <= 6 && t.shape[0] > 0 {
            let width = t.shape[1]
            return "[" + (0..<t.shape[0]).map { list(t.scalars[($0 * width)..<(($0 + 1) * width)]) }.joined(separator: ", ") + "]"
        }
        var text = "shape \(Shape.describe(t.shape)), norm \(formatNumber(t.euclideanNorm, precision: settings.precision))"
        let nan = t.scalars.filter(\.isNaN).count, inf = t.scalars.filter(\.isInfinite).count
        if nan > 0 { text += ", \(nan) NaN" }
        if inf > 0 { text += ", \(inf) Inf" }
        return text
    }

    /// The target and sources of a `grad` form, evaluated, and the tape it reads.
    func gradientOperands(_ g: TapeSyntax.Gradient, command: String) throws -> (target: Value, sources: [Value], tape: Tape, seed: Value?) {
        guard g.kind == .grad else {
            throw EvaluationError("\(command) works with grad, not \(g.kind.rawValue)", at: g.target.span,
                                  note: "write `\(command) grad Y wrt X`")
        }
        let target = try evaluate(g.target)
        let tape = try g.tape.map { try self.tape(named: $0) } ?? context.implicitTape
        let sources: [Value] = try g.sources.map { s in
            guard case .value(let v)? = lookup(s.name) else { throw unknownOrWrongKind(s, expected: "a tensor to differentiate with respect to") }
            return v
        }
        let seed = try g.seed.map { try evaluate($0) }
        return (target, sources, tape, seed)
    }
}
