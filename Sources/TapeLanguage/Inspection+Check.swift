import Portable
import TensorCore
import Autodiff
import TapeSyntax
import Rendering

/// One compared element (or random direction) of a gradient check.
struct DifferenceRow {
    var label: String
    var tape: Double
    var difference: Double
    var absoluteError: Double { abs(tape - difference) }
    /// |tape − differences| / max(|tape|, |differences|); 0 when both are 0.
    var relativeError: Double {
        let scale = max(abs(tape), abs(difference))
        return scale == 0 ? absoluteError : absoluteError / scale
    }
    var withinTolerance: Bool {
        absoluteError <= Session.checkAbsoluteTolerance + Session.checkRelativeTolerance * abs(difference)
    }
}

extension Session {
    /// The finite-difference step is this times max(1, |x|), per element.
    static let checkStep = 1e-5
    static let checkAbsoluteTolerance = 1e-6
    static let checkRelativeTolerance = 1e-5
    /// Sources with more elements are checked along random directions instead of element by element.
    static let checkElementLimit = 64
    static let checkDirections = 3
    /// Sources with at most this many compared rows are shown row by row.
    static let checkRowsShown = 8

    static let checkToleranceText = "|tape − differences| ≤ 1e-6 + 1e-5·|differences|"
    /// Primitives whose kinks make finite differences disagree with any one-sided rule there.
    static let kinkedOperations: Set<String> = ["relu", "abs", "maximum", "minimum", "max", "min", "where", "sign", "floor", "ceil", "round"]

    /// `check grad Y wrt X`: the tape's gradient against central finite differences of the same recorded
    /// computation, replayed with X perturbed.
    func checkGradient(_ g: TapeSyntax.Gradient) throws -> String {
        let (target, sources, tape, seed) = try gradientOperands(g, command: "check")
        let targetLabel = label(of: g.target)
        let names = g.sources.map(\.name)
        return try at(g.target.span) {
            try context.withRecordingStopped {
                let gradients = try context.gradient(of: target, wrt: sources, seed: seed, tape: tape, unconnectedZero: g.unconnectedZero)
                let weights = try seed.map { $0.tensor.shape == target.shape ? $0.tensor : try $0.tensor.broadcast(to: target.shape) }
                var lines = ["check grad \(targetLabel) wrt \(names.joined(separator: ", ")): the tape's gradient against central differences",
                             "step 1e-5·max(1, |element|); tolerance \(Session.checkToleranceText)"]
                var rows: [DifferenceRow] = []
                var tableRows: [[String]] = []
                var kinks = Set<String>()
                var customs: [(Value, CustomGradient)] = []
                for (i, source) in sources.enumerated() {
                    guard case .value(let gradient) = gradients[i] else {
                        if case .none(let reason) = gradients[i] {
                            lines.append("∂\(targetLabel)/∂\(names[i]) is None (\(describe(reason, target: targetLabel, source: names[i], tape: g.tape?.name))): nothing to check")
                        }
                        continue
                    }
                    let graph = RecordedGraph(target: target, sources: [source], tape: tape)
                    for v in graph.backwardOrder {
                        let p = v.node!.primitive
                        if Session.kinkedOperations.contains(p.name) { kinks.insert(p.name) }
                        if case .custom(let c) = p, !customs.contains(where: { $0.1.name == c.name }) { customs.append((v, c)) }
                    }
                    let objective = { (delta: Tensor) throws -> Double in
                        let y = try self.replay(target, graph: graph, sourceKey: source.accumulationKey, delta: delta)
                        guard let weights else { return y.scalars.reduce(0, +) }
                        return zip(y.scalars, weights.scalars).reduce(0) { $0 + $1.0 * $1.1 }
                    }
                    let compared = try compareWithDifferences(objective, at: source.tensor, gradient: gradient.tensor, name: names[i])
                    rows += compared
                    if compared.count <= Session.checkRowsShown {
                        tableRows += compared.map { [$0.label, formatNumber($0.tape, precision: settings.precision),
                                                     formatNumber($0.difference, precision: settings.precision), Session.scientific($0.absoluteError)] }
                    } else if let worst = compared.max(by: { $0.absoluteError < $1.absoluteError }) {
                        tableRows.append(["\(names[i]): \(compared.count) \(source.tensor.count > Session.checkElementLimit ? "random directions" : "elements"), worst \(worst.label)",
                                          formatNumber(worst.tape, precision: settings.precision),
                                          formatNumber(worst.difference, precision: settings.precision), Session.scientific(worst.absoluteError)])
                    }
                }
                guard !rows.isEmpty else { return lines.joined(separator: "\n") }
                lines.append(renderTable(headers: ["element", "tape", "differences", "abs error"], rows: tableRows,
                                         alignments: [.left, .right, .right, .right]))
                let maxAbsolute = rows.map(\.absoluteError).max() ?? 0
                let maxRelative = rows.map(\.relativeError).max() ?? 0
                lines.append("max abs error \(Session.scientific(maxAbsolute)), max rel error \(Session.scientific(maxRelative))")
                let failures = rows.filter { !$0.withinTolerance || $0.tape.isNaN != $0.difference.isNaN }
                if let worst = failures.max(by: { $0.absoluteError < $1.absoluteError }) {
                    lines.append("verdict: MISMATCH, \(failures.count) of \(rows.count) beyond tolerance; worst \(worst.label): \(formatNumber(worst.tape, precision: settings.precision)) on the tape, \(formatNumber(worst.difference, precision: settings.precision)) by differences")
                    if !kinks.isEmpty {
                        lines.append("note: the path goes through \(kinks.sorted().joined(separator: ", ")); at a kink finite differences average both sides, so a mismatch there is expected")
                    }
                } else {
                    lines.append("verdict: ok, " + (rows.count == 1 ? "within tolerance" : "all \(rows.count) within tolerance"))
                }
                for (output, custom) in customs {
                    lines.append(try checkCustomGradient(custom, output: output))
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    /// Central differences of `f` around zero (a perturbation of `x`), element by element for small
    /// sources and along fixed pseudo-random directions for large ones, against `gradient`.
    func compareWithDifferences(_ f: (Tensor) throws -> Double, at x: Tensor, gradient: Tensor, name: String) throws -> [DifferenceRow] {
        let n = x.count
        var rows: [DifferenceRow] = []
        if n <= Session.checkElementLimit {
            for i in 0..<n {
                if let check = interruptCheck, check() { throw GradientError("interrupted") }
                let h = Session.checkStep * max(1, abs(x.scalars[i]))
                var delta = [Double](repeating: 0, count: n)
                delta[i] = h
                let plus = try f(Tensor(shape: x.shape, scalars: delta))
                delta[i] = -h
                let minus = try f(Tensor(shape: x.shape, scalars: delta))
                rows.append(DifferenceRow(label: Session.elementLabel(name, index: i, shape: x.shape), tape: gradient.scalars[i],
                                          difference: (plus - minus) / (2 * h)))
            }
        } else {
            var random = RandomGenerator(seed: 20240601)
            let scale = Session.checkStep * max(1, x.scalars.map(abs).max() ?? 1)
            for k in 1...Session.checkDirections {
                if let check = interruptCheck, check() { throw GradientError("interrupted") }
                var direction = (0..<n).map { _ in random.normal() }
                let length = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
                direction = direction.map { $0 / length }
                let plus = try f(Tensor(shape: x.shape, scalars: direction.map { $0 * scale }))
                let minus = try f(Tensor(shape: x.shape, scalars: direction.map { -$0 * scale }))
                let projected = zip(gradient.scalars, direction).reduce(0) { $0 + $1.0 * $1.1 }
                rows.append(DifferenceRow(label: "\(name) along direction \(k)", tape: projected, difference: (plus - minus) / (2 * scale)))
            }
        }
        return rows
    }

    /// The target's tensor recomputed from the recorded operations, with `delta` added to the values
    /// of the source (those with its gradient key); operations that do not depend on it keep their values.
    func replay(_ target: Value, graph: RecordedGraph, sourceKey: ObjectIdentifier, delta: Tensor) throws -> Tensor {
        let bit = graph.tape.bit
        var computed: [ObjectIdentifier: Tensor] = [:]
        func tensor(_ v: Value) throws -> Tensor {
            if v.accumulationKey == sourceKey && v.tapes & bit != 0 { return try Tensor.zip(v.tensor, delta, .add) }
            return computed[ObjectIdentifier(v)] ?? v.tensor
        }
        for v in graph.nodes where graph.relevant.contains(ObjectIdentifier(v)) && v.accumulationKey != sourceKey {
            let node = v.node!
            let inputs = try node.inputs.map { $0.tapes & bit != 0 ? try tensor($0) : $0.tensor }
            computed[ObjectIdentifier(v)] = try forward(node.primitive, inputs)
        }
        return try tensor(target)
    }

    /// A primitive's forward on tensors; a custom operation's forward is its definition, re-run.
    func forward(_ primitive: Primitive, _ inputs: [Tensor]) throws -> Tensor {
        guard case .custom(let custom) = primitive else { return try primitive.evaluateForward(inputs) }
        guard case .function(let f)? = lookup(custom.name), f.customGradient != nil, f.parameters.count == inputs.count else {
            throw GradientError("cannot re-run the custom function \(custom.name): its definition is gone")
        }
        let scope = NameTable(names: f.parameters, elements: inputs.map { Binding.value(context.constant($0)) })
        let span = f.body.span ?? SourceSpan(start: SourceLocation(offset: 0, line: 0, column: 0), end: SourceLocation(offset: 0, line: 0, column: 0))
        return try withScope(scope) { try single(runBody(f.body, span: span), span: span, what: custom.name).tensor }
    }

    /// Checks a custom operation's gradient against differences of its own forward at the inputs it was
    /// recorded with, for a cotangent of ones.
    func checkCustomGradient(_ custom: CustomGradient, output: Value) throws -> String {
        let inputs = Array(output.node!.inputs)
        let ones = context.constant(try Tensor(shape: output.shape, repeating: 1))
        let grads = try custom.pullback(inputs, ones)
        guard case .function(let f)? = lookup(custom.name) else { return "custom \(custom.name): its definition is gone, not checked" }
        var rows: [DifferenceRow] = []
        for (k, input) in inputs.enumerated() {
            let expected = k < grads.count ? grads[k].map { $0.shape == input.shape ? $0.tensor : $0.tensor.sumToShape(input.shape) } : nil
            let objective = { (delta: Tensor) throws -> Double in
                var tensors = inputs.map(\.tensor)
                tensors[k] = try Tensor.zip(tensors[k], delta, .add)
                return try self.forward(.custom(custom), tensors).scalars.reduce(0, +)
            }
            let name = k < f.parameters.count ? f.parameters[k] : "input \(k + 1)"
            rows += try compareWithDifferences(objective, at: input.tensor, gradient: expected ?? (try Tensor.zeros(input.shape)), name: name)
        }
        let maxAbsolute = rows.map(\.absoluteError).max() ?? 0
        if let worst = rows.filter({ !$0.withinTolerance }).max(by: { $0.absoluteError < $1.absoluteError }) {
            return "custom \(custom.name): its gradient DISAGREES with its forward: for \(worst.label), grad(\(f.customGradient?.cotangent ?? "dy")) gives \(formatNumber(worst.tape, precision: settings.precision)) but differences of \(custom.name) give \(formatNumber(worst.difference, precision: settings.precision)) (max abs error \(Session.scientific(maxAbsolute)))"
        }
        return "custom \(custom.name): its gradient agrees with its forward (max abs error \(Session.scientific(maxAbsolute)))"
    }

    /// `x`, `x[2]`, `w[0, 1]`.
    static func elementLabel(_ name: String, index: Int, shape: [Int]) -> String {
        if shape.isEmpty { return name }
        var rest = index
        var indices = [Int](repeating: 0, count: shape.count)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            indices[axis] = rest % max(shape[axis], 1)
            rest /= max(shape[axis], 1)
        }
        return name + "[" + indices.map(String.init).joined(separator: ", ") + "]"
    }

    /// An error: small ones in scientific notation with two significant digits (`1.2e-11`), others as numbers.
    static func scientific(_ x: Double) -> String {
        if x == 0 { return "0" }
        if !x.isFinite || x >= 1e-3 { return formatNumber(x) }
        return String(cFormat: "%.1e", x)
    }
}
