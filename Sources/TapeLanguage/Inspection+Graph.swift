import FoundationEssentials
import Portable
import TensorCore
import Autodiff
import TapeSyntax
import Rendering

/// Sees the backward pass of `graph grad`.
private final class GraphStepRecorder: BackwardObserver {
    var steps: [(output: Value, cotangent: Value, gradients: [Value?])] = []
    func pulledBack(_ output: Value, cotangent: Value, gradients: [Value?]) { steps.append((output, cotangent, gradients)) }
    func accumulated(into value: Value) {}
}

/// The computation graph behind a value: every value it was computed from through recorded
/// operations, and, for values cut by `stop_gradient`, what they were cut from.
struct ComputationGraph {
    /// Every value of the graph, oldest first.
    var values: [Value] = []
    /// Values reached only through a `stop_gradient` cut, by identity.
    var cutOff = Set<ObjectIdentifier>()

    init(root: Value) {
        var seen = Set<ObjectIdentifier>()
        var reachedDirectly = Set<ObjectIdentifier>()
        var pending: [(Value, Bool)] = [(root, true)]
        while let (v, direct) = pending.popLast() {
            let id = ObjectIdentifier(v)
            if direct && !reachedDirectly.insert(id).inserted { continue }
            if !direct && seen.contains(id) { continue }
            if seen.insert(id).inserted { values.append(v) }
            for input in v.node.map({ Array($0.inputs) }) ?? [] { pending.append((input, direct)) }
            if let cut = v.stopGradientSource { pending.append((cut, false)) }
        }
        values.sort { $0.serial < $1.serial }
        cutOff = seen.subtracting(reachedDirectly)
    }

    /// Whether a graph shows `v` as a node of its own: not for scalar constants, which are written
    /// into the expressions that use them.
    static func isDrawn(_ v: Value) -> Bool {
        v.node != nil || v.isTracked || v.tensor.count != 1 || (v.untrackedReason != nil && v.untrackedReason != .noTrackedInputs)
    }
}

extension Session {
    /// Lines of the terminal drawing before it is cut short.
    static let graphLineLimit = 60

    /// `graph Y`: the computation graph drawn in the terminal; `graph Y to "g.dot"` (or `.svg`, `.png`) writes it.
    /// `graph grad Y wrt X` also shows, on every node, the gradient of Y with respect to it.
    /// Returns the text to print and the graph in DOT (for front ends that draw it, such as the Jupyter kernel).
    func graph(_ expr: Expr, file: String?, fileSpan: SourceSpan) throws -> (text: String, dot: String) {
        let root: Value
        var gradients: GraphGradients?
        if case .gradient(let g) = expr.kind, g.kind == .grad {
            (root, gradients) = try graphGradients(g)
        } else {
            root = try evaluate(expr)
        }
        let graph = ComputationGraph(root: root)
        let names = ValueNames(session: self, numbering: graph.values.filter { $0.node != nil })
        let dot = graphvizText(root, graph: graph, names: names, title: sourceText.text(of: expr.span), gradients: gradients)
        guard let file else { return (drawGraph(root, graph: graph, names: names, gradients: gradients), dot) }
        let operations = graph.values.filter { $0.node != nil }.count
        let summary = "\(operations) operation\(operations == 1 ? "" : "s")"
        let what = gradients == nil ? label(of: expr) : sourceText.text(of: expr.span)
        let lower = file.lowercased()
        if lower.hasSuffix(".dot") || lower.hasSuffix(".gv") {
            try writeFile(Array((dot + "\n").utf8), to: file, kind: .graph, span: fileSpan)
            return ("wrote the graph of \(what) (\(summary)) to \(file)", dot)
        }
        guard let format = ["svg", "png", "pdf"].first(where: { lower.hasSuffix("." + $0) }) else {
            throw EvaluationError("graph writes .dot, .svg, .png or .pdf files, not \(file)", at: fileSpan)
        }
        guard let dotProgram = Session.findExecutable("dot") else {
            throw EvaluationError("Graphviz's `dot` is not installed, so \(file) cannot be drawn", at: fileSpan,
                                  note: "install Graphviz (apt-get install graphviz, brew install graphviz), or write the text with graph ... to \"\(file.dropLast(format.count))dot\"")
        }
        let image = try runDot(dotProgram, format: format, input: dot, span: fileSpan)
        try writeFile(image, to: file, kind: .graph, span: fileSpan)
        return ("drew the graph of \(what) (\(summary)) to \(file)", dot)
    }

    /// The gradient of a target with respect to each value of its graph, as `graph grad` shows them.
    struct GraphGradients {
        /// `y` in `∂y/∂·`.
        var target: String
        /// Gradients by value identity; a value the backward pass does not reach has none.
        var byValue: [ObjectIdentifier: Tensor] = [:]
    }

    /// Runs the backward pass of `grad Y wrt X` (recording stopped: nothing is left on the tape) and keeps
    /// the gradient that reached each value: the cotangent of each operation as it is pulled back, the sum of
    /// what its users sent for each leaf.
    private func graphGradients(_ g: TapeSyntax.Gradient) throws -> (Value, GraphGradients) {
        let (target, sources, tape, seed) = try gradientOperands(g, command: "graph")
        let recorder = GraphStepRecorder()
        _ = try at(g.target.span) {
            try context.withRecordingStopped {
                try context.gradient(of: target, wrt: sources, seed: seed, tape: tape, unconnectedZero: g.unconnectedZero, observer: recorder)
            }
        }
        // NOTE: a pullback may compute a gradient for an input that needs none (add's constant term); only
        // values on a path to a source are shown with one, as the pass delivers them.
        let recorded = RecordedGraph(target: target, sources: sources, tape: tape)
        var result = GraphGradients(target: label(of: g.target))
        let start = try seed.map { $0.tensor.shape == target.shape ? $0.tensor : try $0.tensor.broadcast(to: target.shape) }
            ?? (try Tensor(shape: target.shape, repeating: 1))
        result.byValue[ObjectIdentifier(target)] = start
        for step in recorder.steps {
            let output = step.output
            result.byValue[ObjectIdentifier(output)] = output.shape == step.cotangent.shape ? step.cotangent.tensor : step.cotangent.tensor.sumToShape(output.shape)
            guard let node = output.node else { continue }
            for (i, input) in node.inputs.enumerated() where input.node == nil && i < step.gradients.count && recorded.needsGradient(input) {
                guard let sent = step.gradients[i] else { continue }
                let value = sent.shape == input.shape ? sent.tensor : sent.tensor.sumToShape(input.shape)
                let key = ObjectIdentifier(input)
                result.byValue[key] = try result.byValue[key].map { try $0 + value } ?? value
            }
        }
        return (target, result)
    }

    // MARK: Terminal

    /// What kind of value a leaf is, in words.
    func leafKind(_ v: Value, names: ValueNames) -> String {
        if v.isTracked { return v.isVariable ? "variable" : "watched" }
        switch v.untrackedReason {
        case .recordingStopped?: return "stopped: computed while recording was stopped"
        case .stopGradient?:
            guard let source = v.stopGradientSource else { return "stop_gradient" }
            if names.name(source) == nil, let node = source.node {
                return "stop_gradient, cut from " + node.primitive.expression(of: node.inputs.map(names.callName), shapes: node.inputs.map(\.shape))
            }
            return "stop_gradient, cut from " + names.callName(source)
        case .notDifferentiable(let op)?: return "no gradient: from \(op)"
        default: return v.isVariable ? "variable" : "constant"
        }
    }

    func drawGraph(_ root: Value, graph: ComputationGraph, names: ValueNames, gradients: GraphGradients? = nil) -> String {
        let unicode = settings.unicode
        var rows: [(left: String, columns: [String])] = []
        var shown = Set<ObjectIdentifier>()
        var anyPath = false
        func describe(_ v: Value) -> (label: String, kind: String) {
            guard let node = v.node else { return (names.callName(v), leafKind(v, names: names)) }
            let expression = node.primitive.expression(of: node.inputs.map(names.callName), shapes: node.inputs.map(\.shape))
            return ("\(names.callName(v)) = \(expression)", node.primitive.name)
        }
        // NOTE: a walk with a stack of its own, not recursion: a loop's chain is as deep as it is long. Past
        // the line limit rows are only counted, so a long chain costs no rows (each indented further).
        var stack: [(value: Value, prefix: String, connector: String, childPrefix: String)] = [(root, "", "", "")]
        var more = 0
        while let (v, prefix, connector, childPrefix) = stack.popLast() {
            let counting = rows.count >= Session.graphLineLimit
            guard shown.insert(ObjectIdentifier(v)).inserted || v.node == nil else {
                if counting { more += 1 } else { rows.append((prefix + connector + names.callName(v), [unicode ? "↑ above" : "(above)"])) }
                continue
            }
            if counting {
                more += 1
            } else {
                let (label, kind) = describe(v)
                var columns = [kind, Shape.describe(v.shape), preview(v.tensor)]
                if let gradients { columns.append(gradients.byValue[ObjectIdentifier(v)].map { "grad " + preview($0) } ?? (unicode ? "grad —" : "grad -")) }
                rows.append((prefix + connector + label, columns))
            }
            guard let node = v.node else { continue }
            let children = node.inputs.filter(ComputationGraph.isDrawn)
            for (i, child) in children.enumerated().reversed() {
                let last = i == children.count - 1
                let path = child.isTracked
                anyPath = anyPath || path
                if counting { stack.append((child, "", "", "")); continue }
                let mark: String
                if unicode {
                    mark = path ? (last ? "┕━ " : "┝━ ") : (last ? "└─ " : "├─ ")
                } else {
                    mark = path ? (last ? "`= " : "+= ") : (last ? "`- " : "+- ")
                }
                stack.append((child, childPrefix, mark, childPrefix + (last ? "   " : (unicode ? "│  " : "|  "))))
            }
        }
        var text = renderTable(headers: [], rows: rows.map { [$0.left] + $0.columns }, alignments: [.left, .left, .left, .left, .left])
        if more > 0 { text += "\n… \(more) more line\(more == 1 ? "" : "s")" }
        if let gradients {
            text += "\ngrad: the gradient of \(gradients.target) with respect to each value"
            if rows.contains(where: { $0.columns.last == (unicode ? "grad —" : "grad -") }) {
                text += (unicode ? "; —" : "; -") + " where the backward pass does not reach it"
            }
        }
        if anyPath { text += "\n" + (unicode ? "━" : "=") + " path to a watched value: gradients flow back along it" }
        return text
    }

    // MARK: Graphviz

    /// The graph in Graphviz's DOT language: values as boxes with their operation and shape, edges
    /// from inputs to outputs labelled with the local derivative, the path to watched values drawn bold,
    /// what `stop_gradient` or `with stop` cut off in grey.
    /// Each box also shows the value (its first elements) and, for `graph grad`, the gradient.
    func graphvizText(_ root: Value, graph: ComputationGraph, names: ValueNames, title: String, gradients: GraphGradients? = nil) -> String {
        let drawn = graph.values.filter(ComputationGraph.isDrawn)
        var id: [ObjectIdentifier: String] = [:]
        for (i, v) in drawn.enumerated() { id[ObjectIdentifier(v)] = "v\(i + 1)" }
        let grey = "style=filled, fillcolor=grey92, color=grey60, fontcolor=grey45"
        var lines = ["digraph \(Session.dotString(title)) {",
                     "  rankdir=BT;",
                     "  node [shape=box, fontname=\"Helvetica\", fontsize=11];",
                     "  edge [fontname=\"Helvetica\", fontsize=9];"]
        for v in drawn {
            var label: String
            var attributes: [String] = []
            if let node = v.node {
                label = names.callName(v) + " = " + node.primitive.expression(of: node.inputs.map(names.callName), shapes: node.inputs.map(\.shape))
                label += "\n" + node.primitive.name + "  " + Shape.describe(v.shape)
            } else {
                label = names.callName(v) + "\n" + leafKind(v, names: names) + "  " + Shape.describe(v.shape)
                if v.isTracked { attributes.append("style=bold") }
            }
            label += "\nvalue " + preview(v.tensor)
            if let gradients {
                label += "\ngrad " + (gradients.byValue[ObjectIdentifier(v)].map(preview) ?? "none: not on a path to the sources")
            }
            let cut = v.untrackedReason == .recordingStopped || v.untrackedReason == .stopGradient
            if cut || graph.cutOff.contains(ObjectIdentifier(v)) { attributes.append(grey) }
            if v === root { attributes.append("peripheries=2") }
            lines.append("  \(id[ObjectIdentifier(v)]!) [" + (["label=" + Session.dotString(label)] + attributes).joined(separator: ", ") + "];")
        }
        for v in drawn {
            if let node = v.node {
                let inputNames = node.inputs.map(names.callName)
                let rule = node.primitive.derivativeRule(inputs: inputNames)
                for (i, input) in node.inputs.enumerated() {
                    guard let from = id[ObjectIdentifier(input)] else { continue }
                    var attributes: [String] = []
                    let local = (i < rule.partials.count ? rule.partials[i] : nil) ?? (i < rule.pullbacks.count ? rule.pullbacks[i] : nil)
                    attributes.append("label=" + Session.dotString(local ?? "no gradient"))
                    if input.isTracked && v.isTracked && !graph.cutOff.contains(ObjectIdentifier(v)) { attributes.append("penwidth=2") }
                    if graph.cutOff.contains(ObjectIdentifier(v)) { attributes.append("color=grey60, fontcolor=grey45") }
                    lines.append("  \(from) -> \(id[ObjectIdentifier(v)]!) [" + attributes.joined(separator: ", ") + "];")
                }
            }
            if let source = v.stopGradientSource, let from = id[ObjectIdentifier(source)] {
                lines.append("  \(from) -> \(id[ObjectIdentifier(v)]!) [label=\"stop_gradient\", style=dashed, color=grey60, fontcolor=grey45];")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n")
    }

    /// A DOT string literal.
    static func dotString(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// The first executable called `name` on the PATH.
    public static func findExecutable(_ name: String) -> String? {
        let path = Environment.value("PATH") ?? "/usr/bin:/bin:/usr/local/bin"
        for directory in path.split(separator: ":") {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// How long `dot` may run (`TAPEBOOK_DOT_SECONDS` changes it), in seconds.
    static var dotTimeLimit: Double {
        Environment.value("TAPEBOOK_DOT_SECONDS").flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 60
    }

    /// Runs Graphviz's `dot` on `input` and returns the drawing it prints. `dot` is given no file name at
    /// all (so none can read as an option); tapebook writes the file, under the same rules as any other.
    func runDot(_ program: String, format: String, input: String, span: SourceSpan) throws -> [UInt8] {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(program, arguments: ["-T" + format], input: Array(input.utf8),
                                        timeLimit: Session.dotTimeLimit, interrupted: interruptCheck)
        } catch {
            throw EvaluationError("cannot run \(visibleText(program)): \(errorDescription(error))", at: span)
        }
        if result.interrupted { throw GradientError("interrupted") }
        if result.timedOut {
            throw EvaluationError("dot did not finish in \(formatNumber(Session.dotTimeLimit, precision: 0)) s and was stopped", at: span)
        }
        guard result.status == 0 else {
            let message = String(decoding: result.errorOutput, as: UTF8.self)
            throw EvaluationError("dot failed: " + visibleText(message.trimmingWhitespaceAndNewlines()), at: span)
        }
        return result.output
    }

    /// A graph's DOT text drawn as SVG by Graphviz (for front ends that show pictures), or nil where `dot`
    /// is not installed or fails: the terminal drawing then stands alone.
    public func graphSVG(_ dot: String) -> String? {
        guard let program = Session.findExecutable("dot"),
              let image = try? runDot(program, format: "svg", input: dot, span: SourceSpan(at: SourceLocation(offset: 0, line: 1, column: 1))) else { return nil }
        let svg = String(decoding: image, as: UTF8.self)
        // The XML declaration and DOCTYPE are dropped: the image goes inside a page.
        guard let start = svg.rangeOfText("<svg") else { return nil }
        return String(svg[start.lowerBound...])
    }
}
