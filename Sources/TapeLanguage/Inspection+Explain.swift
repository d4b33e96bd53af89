import Portable
import TensorCore
import Autodiff
import TapeSyntax
import Rendering

/// Sees the backward pass of `explain`, step by step.
private final class StepRecorder: BackwardObserver {
    var steps: [(output: Value, cotangent: Value, gradients: [Value?])] = []
    func pulledBack(_ output: Value, cotangent: Value, gradients: [Value?]) {
        steps.append((output, cotangent, gradients))
    }
    func accumulated(into value: Value) {}
}

extension Session {
    /// Steps of a long backward pass shown at each end; the ones between are counted.
    static let explainEdgeSteps = 5
    /// A backward pass with more steps than this is summarized.
    static let explainStepLimit = 30

    /// `explain grad Y wrt X`: the backward pass step by step, latest operation first.
    func explain(_ g: TapeSyntax.Gradient) throws -> String {
        let (target, sources, tape, seed) = try gradientOperands(g, command: "explain")
        let targetLabel = label(of: g.target)
        let sourceNames = g.sources.map(\.name)
        // NOTE: recording is stopped so that explaining leaves nothing on the tape; the gradients are
        // the same, they are only not differentiable again.
        let recorder = StepRecorder()
        let gradients = try at(g.target.span) {
            try context.withRecordingStopped {
                try context.gradient(of: target, wrt: sources, seed: seed, tape: tape, unconnectedZero: g.unconnectedZero, observer: recorder)
            }
        }
        let graph = RecordedGraph(target: target, sources: sources, tape: tape)
        // An unnamed target goes by its expression (`sum(safe)`), not by a number.
        let targetNamed = namesByValue()[ObjectIdentifier(target)] != nil
        let names = ValueNames(session: self, numbering: graph.nodes.filter { $0 !== target },
                               sources: Array(zip(sources, sourceNames)) + (targetNamed ? [] : [(target, targetLabel)]))
        func partial(_ v: Value) -> String { "∂\(targetLabel)/∂\(names.callName(v))" }

        var lines: [String] = []
        let count = recorder.steps.count
        let sourcesText = sourceNames.joined(separator: ", ")
        lines.append("explain grad \(targetLabel) wrt \(sourcesText): \(count) operation\(count == 1 ? "" : "s"), from \(targetLabel) back to \(sourcesText)")
        let start = try seed.map { $0.tensor.shape == target.shape ? $0.tensor : try $0.tensor.broadcast(to: target.shape) }
            ?? (try Tensor(shape: target.shape, repeating: 1))
        lines.append("start  ∂\(targetLabel)/∂\(targetLabel) = \(inline(start))" + (seed == nil ? (target.tensor.count > 1 ? "   (ones: the gradient of the sum)" : "") : "   (the seed)"))

        /// Gradients that reached each value so far, by the step that sent them (0: the start).
        var contributions: [ObjectIdentifier: [(step: Int, value: Tensor)]] = [graph.key(target): [(0, start)]]
        let shown = count > Session.explainStepLimit
            ? Set(Array(0..<Session.explainEdgeSteps) + Array((count - Session.explainEdgeSteps)..<count))
            : Set(0..<count)
        var skipped = 0
        for (index, step) in recorder.steps.enumerated() {
            let node = step.output.node!
            let number = index + 1
            var stepLines: [String] = []
            let inputNames = node.inputs.map(names.callName)
            let operation = node.primitive.expression(of: inputNames, shapes: node.inputs.map(\.shape))
            let written = step.output === target && !targetNamed ? operation : "\(names.callName(step.output)) = \(operation)"
            var heading = "\(number). \(written)   (\(node.primitive.name)"
            if node.line > 0 { heading += ", line \(node.line)" }
            stepLines.append(heading + ")")
            // The rule is written with the inputs' own names (`x`, `#2`), never with stand-ins such as `a`
            // and `b`, which a user may have named values of their own.
            let rule = node.primitive.derivativeRule(inputs: inputNames)
            // Only the inputs that take a gradient: a constant's partial (`∂(x / 2)/∂2`) means nothing.
            stepLines.append("   rule  " + rule.symbols(expression: operation, inputs: inputNames,
                                                        shown: node.inputs.map(graph.needsGradient)))
            if case .custom(let c) = node.primitive, case .function(let f)? = lookup(c.name), let r = f.source.rangeOfText("grad(") {
                stepLines.append("         " + f.source[r.lowerBound...].split(separator: "\n").joined(separator: " ") + ", with \(f.customGradient?.cotangent ?? "dy") = g")
            } else {
                stepLines.append("         " + rule.words)
            }
            for input in node.inputs where input.node != nil && !graph.relevant.contains(ObjectIdentifier(input)) && names.name(input) == nil {
                let inner = input.node!
                stepLines.append("   where \(names.callName(input)) = " + inner.primitive.expression(of: inner.inputs.map(names.callName), shapes: inner.inputs.map(\.shape)))
            }
            let arrived = contributions[graph.key(step.output)] ?? []
            var incoming = "   in    g = \(partial(step.output)) = "
            let terms = arrived.map { inline($0.value.shape == step.output.shape ? $0.value : $0.value.sumToShape(step.output.shape)) }
            if arrived.count > 1 && !terms.contains(where: { $0.hasPrefix("shape") }) {
                incoming += Session.sum(terms) + " = \(inline(step.cotangent.tensor))   (\(arrived.count) paths add up)"
            } else if arrived.count > 1 {
                incoming += inline(step.cotangent.tensor) + "   (\(arrived.count) paths add up)"
            } else {
                incoming += inline(step.cotangent.tensor)
            }
            stepLines.append(incoming)
            var first = true
            for (i, input) in node.inputs.enumerated() where graph.needsGradient(input) {
                guard i < step.gradients.count, let sent = step.gradients[i] else { continue }
                let value = sent.shape == input.shape ? sent.tensor : sent.tensor.sumToShape(input.shape)
                let key = graph.key(input)
                contributions[key, default: []].append((number, value))
                var out = "\(first ? "   out   " : "         ")\(names.callName(input)) gets \((i < rule.pullbacks.count ? rule.pullbacks[i] : nil) ?? "g") = \(inline(value))"
                if sent.shape != input.shape { out += "   (summed back to \(Shape.describe(input.shape)))" }
                let paths = contributions[key]!.count
                if paths > 1 { out += "   (path \(paths) into \(names.callName(input)))" }
                if value.hasNonFinite && !step.cotangent.tensor.hasNonFinite && !node.inputs.contains(where: { $0.tensor.hasNonFinite }) {
                    out += "   ← the first " + (value.scalars.contains(where: \.isNaN) ? "NaN" : "Inf")
                    if let why = node.primitive.nonFiniteReason(node.inputs.map(\.tensor), pass: .backward) { out += ": " + why }
                }
                stepLines.append(out)
                first = false
            }
            if first { stepLines.append("   out   nothing: no input needs a gradient") }
            if shown.contains(index) {
                if skipped > 0 {
                    lines.append("")
                    lines.append("… \(skipped) more step\(skipped == 1 ? "" : "s") …")
                    skipped = 0
                }
                lines.append("")
                lines.append(contentsOf: stepLines)
            } else {
                skipped += 1
            }
        }

        lines.append("")
        for (i, source) in sources.enumerated() {
            let name = sourceNames[i]
            switch gradients[i] {
            case .value(let v):
                let arrived = contributions[source.accumulationKey] ?? []
                let terms = arrived.map { inline($0.value) }
                if arrived.count > 1 && arrived.count <= 6 && !terms.contains(where: { $0.hasPrefix("shape") }) {
                    lines.append("\(name): \(arrived.count) paths add up: \(Session.sum(terms)) = \(inline(v.tensor))")
                } else if arrived.count > 1 {
                    lines.append("\(name): \(arrived.count) paths add up")
                }
                lines.append("∂\(targetLabel)/∂\(name) = \(inline(v.tensor))   (the same as grad \(targetLabel) wrt \(name))")
            case .none(let reason):
                lines.append("∂\(targetLabel)/∂\(name) is None: " + describe(reason, target: targetLabel, source: name, tape: g.tape?.name))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Terms written as a sum: `0.5 - 0.319 + 2`.
    static func sum(_ terms: [String]) -> String {
        var text = terms.first ?? ""
        for t in terms.dropFirst() {
            text += t.hasPrefix("-") ? " - " + t.dropFirst() : " + " + t
        }
        return text
    }
}
