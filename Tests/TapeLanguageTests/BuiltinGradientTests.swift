import Foundation
import XCTest
import TensorCore
import Autodiff
@testable import TapeLanguage

/// Every built-in, through the language: its gradients against central finite differences at orders 1
/// and 2 (the method and tolerances of `AutodiffTests/GradientCheck`), TensorFlow's answers at kinks and
/// ties, JAX's and TensorFlow's values and gradients where a row keeps them, and the completeness checks:
/// a built-in without a row here, help, an export spelling (or a declared reason) or its place in the
/// README fails.
final class BuiltinGradientTests: XCTestCase {
    enum Expectation {
        /// Gradients agree with finite differences at orders 1 and 2.
        case finiteDifferences
        /// Only order 1 (the function's second derivative is not defined where the row looks).
        case firstOrder
        /// The gradient of `sum(f)` is exactly this, per input (TensorFlow's rule at a kink or a tie).
        case exact([[Double]])
        /// No gradient: `grad` gives None for every input (TensorFlow registers none).
        case none
        /// A zero gradient for every input (TensorFlow's rule for `sign`).
        case zero
        /// No tensor input to differentiate (constructors): the call evaluates, untracked.
        case constant
    }

    struct Row {
        var name: String
        var expression: String
        var inputs: [(String, Tensor)]
        var expect: Expectation = .finiteDifferences
        /// Statements run before (a file to load).
        var setup: String = ""
        /// JAX's or TensorFlow's value of the expression, and the gradients of its sum (in input order).
        var reference: (value: [Double], gradients: [[Double]])? = nil
    }

    static func v(_ s: [Double]) -> Tensor { Tensor(vector: s) }
    static func m(_ rows: [[Double]]) -> Tensor { Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 }) }
    static func s(_ x: Double) -> Tensor { Tensor(x) }

    /// Fixed points (hand-picked rather than drawn, so a reader sees them): random-looking values, and
    /// the awkward ones each rule is about.
    static let a23 = m([[0.3, -1.2, 0.8], [1.7, -0.4, 2.1]])
    static let b23 = m([[-0.7, 0.5, 1.3], [0.9, -1.6, 0.2]])
    static let pos23 = m([[0.4, 1.3, 2.2], [0.7, 1.9, 0.25]])
    static let unit23 = m([[0.3, -0.6, 0.8], [-0.1, 0.5, -0.85]])
    static let well22 = m([[2.1, 0.4], [-0.7, 1.8]])
    static let well33 = m([[3.0, 0.5, -0.4], [0.2, 2.5, 0.7], [-0.6, 0.3, 2.8]])

    static let table: [Row] = {
        var rows: [Row] = []
        func row(_ name: String, _ expression: String, _ inputs: [(String, Tensor)], _ expect: Expectation = .finiteDifferences,
                 setup: String = "", reference: (value: [Double], gradients: [[Double]])? = nil) {
            rows.append(Row(name: name, expression: expression, inputs: inputs, expect: expect, setup: setup, reference: reference))
        }
        // Elementwise functions of one input.
        for name in ["sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "exp", "expm1", "square", "sigmoid", "softplus", "erf"] {
            row(name, "\(name)(a)", [("a", a23)])
        }
        for name in ["asin", "acos"] { row(name, "\(name)(a)", [("a", unit23)]) }
        for name in ["log", "sqrt", "log1p"] { row(name, "\(name)(a)", [("a", pos23)]) }
        row("abs", "abs(a)", [("a", a23)])
        row("abs", "abs(a)", [("a", v([0, -0.0, 2]))], .exact([[0, 0, 1]]))
        row("relu", "relu(a)", [("a", a23)])
        row("relu", "relu(a)", [("a", v([0, -1, 2]))], .exact([[0, 0, 1]]))
        row("sign", "sign(a)", [("a", v([-1.5, 0, 2]))], .zero)
        // TensorFlow registers no gradient for Floor, Ceil and Round (None); Sign's is zero.
        for name in ["floor", "ceil", "round"] { row(name, "\(name)(a)", [("a", v([-1.5, 0.5, 2.5, 0.2]))], .none) }
        row("floor", "a * floor(a)", [("a", v([-1.5, 0.5, 2.5, 0.2]))], .exact([[-2, 0, 2, 0]]))
        for name in ["lt", "gt", "le", "ge", "eq", "ne"] { row(name, "\(name)(a, b)", [("a", a23), ("b", b23)], .none) }
        row("pow", "pow(a, b)", [("a", pos23), ("b", b23)])
        row("maximum", "maximum(a, b)", [("a", a23), ("b", b23)])
        row("maximum", "maximum(a, b)", [("a", v([1, 2])), ("b", v([1, 3]))], .exact([[1, 0], [0, 1]]))
        row("minimum", "minimum(a, b)", [("a", a23), ("b", b23)])
        row("where", "where(gt(a, 0), a * b, b)", [("a", a23), ("b", b23)])
        row("clip", "clip(a, -0.5, b)", [("a", a23), ("b", pos23)])
        row("clip_by_value", "clip_by_value(a, -0.5, 1)", [("a", a23)])

        // Reductions.
        for name in ["sum", "mean", "prod", "max", "min", "norm", "logsumexp"] {
            row(name, "\(name)(a, axis=1)", [("a", a23)])
        }
        for name in ["argmax", "argmin"] { row(name, "\(name)(a, axis=1)", [("a", a23)], .none) }
        row("softmax", "softmax(a)", [("a", a23)])
        row("log_softmax", "log_softmax(a, axis=0)", [("a", a23)])

        // Shapes.
        row("reshape", "sin(reshape(a, [3, 2]))", [("a", a23)])
        row("transpose", "sin(transpose(a))", [("a", a23)])
        row("expand_dims", "sin(expand_dims(a, 0))", [("a", a23)])
        row("squeeze", "sin(squeeze(a))", [("a", Tensor(shape: [1, 3], scalars: [0.3, -1.2, 0.8]))])
        row("flatten", "sin(flatten(a))", [("a", a23)])
        row("concat", "sin(concat(a, b, axis=1))", [("a", a23), ("b", b23)])
        row("stack", "sin(stack(a, b, axis=1))", [("a", a23), ("b", b23)])
        for name in ["shape", "size", "rank"] { row(name, "\(name)(a)", [("a", a23)], .none) }

        // Linear algebra.
        row("matmul", "matmul(a, transpose(b))", [("a", a23), ("b", b23)])
        row("dot", "sin(dot(a, b))", [("a", v([0.3, -1.2])), ("b", v([0.8, 1.7]))])
        row("outer", "outer(a, b)", [("a", v([0.3, -1.2])), ("b", v([0.8, 1.7, -0.4]))])
        row("trace", "trace(a) * trace(a)", [("a", well33)])
        row("inv", "inv(a)", [("a", well22)])
        row("det", "det(a)", [("a", well33)])

        // Constructors.
        row("zeros", "zeros([2, 3])", [], .constant)
        row("ones", "ones([2, 3])", [], .constant)
        row("fill", "fill([2, 3], 7)", [], .constant)
        // TensorFlow's tf.fill([2, 3], 0.5) and its gradient.
        row("fill", "fill([2, 3], a)", [("a", s(0.5))], reference: ([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [[6]]))
        row("fill", "sin(fill([2, 2], a) * b)", [("a", s(0.5)), ("b", m([[1, 2], [3, -1]]))])
        row("eye", "eye(3)", [], .constant)
        row("arange", "arange(0, 1, 0.25)", [], .constant)
        row("linspace", "linspace(-1, 1, 5)", [], .constant)
        // TensorFlow's tf.linspace(-1, 2, 4) and its gradients.
        row("linspace", "linspace(a, b, 4)", [("a", s(-1)), ("b", s(2))], reference: ([-1, 0, 1, 2], [[2], [2]]))
        row("linspace", "sin(linspace(a, b, 5) * b)", [("a", s(-1.5)), ("b", s(0.7))])
        row("linspace", "linspace(a, b, 1)", [("a", s(0.3)), ("b", s(2))], .exact([[1], [0]]))
        row("randn", "randn([2, 3])", [], .constant)
        row("rand", "rand([2, 3])", [], .constant)
        row("set_seed", "set_seed(3)", [], .constant)
        row("load", "load(\"x.npy\")", [], .constant, setup: "x = [1, 2]\nsave x to \"x.npy\"")

        // Gradient management and losses.
        row("stop_gradient", "a * stop_gradient(a)", [("a", a23)], .exact([[0.3, -1.2, 0.8, 1.7, -0.4, 2.1]]))
        row("clip_by_norm", "clip_by_norm(a, 1.5)", [("a", a23)])
        row("global_norm", "global_norm(a, b)", [("a", a23), ("b", b23)])
        row("clip_by_global_norm", "clip_by_global_norm(2, a)", [("a", a23)])
        row("mse", "mse(a, b)", [("a", a23), ("b", b23)])
        row("cross_entropy", "cross_entropy(a, softmax(b))", [("a", a23), ("b", b23)])

        // Declared built-ins.
        // atan2: JAX's jnp.arctan2 and its gradients at the four quadrants.
        row("atan2", "atan2(a, b)", [("a", v([0.5, 0.5, -0.5, -0.5])), ("b", v([2, -2, 2, -2]))],
            reference: ([0.24497866312686414, 2.896613990462929, -0.24497866312686414, -2.896613990462929],
                        [[0.47058823529411764, -0.47058823529411764, 0.47058823529411764, -0.47058823529411764],
                         [-0.11764705882352941, -0.11764705882352941, 0.11764705882352941, 0.11764705882352941]]))
        row("atan2", "atan2(a, b)", [("a", a23), ("b", b23)])
        // mod: negative operands (NumPy's sign of the divisor), TensorFlow's floormod gradient.
        row("mod", "mod(a, b)", [("a", v([5, -5, 5.5, -5.5, 7.25])), ("b", v([3, 3, -2, -2, 0.5]))],
            reference: ([2, 1, -0.5, -1.5, 0.25], [[1, 1, 1, 1, 1], [-1, 2, 3, -2, -14]]))
        row("mod", "mod(a, b)", [("a", a23), ("b", pos23)])
        row("floor_divide", "floor_divide(a, b)", [("a", v([5, -5, 5.5, -5.5])), ("b", v([3, 3, -2, -2]))], .none,
            reference: ([1, -2, -3, 2], []))
        return rows
    }()

    // MARK: Checking one row

    /// A fresh session with the row's inputs bound (and watched when `watch`).
    func session(_ row: Row, at inputs: [Tensor], watch: Bool) throws -> Session {
        let session = Session()
        session.setSeed(0)
        session.directory = directory
        for ((name, _), t) in zip(row.inputs, inputs) {
            let v = session.context.constant(t)
            if watch { session.context.watch(v) }
            session.bind(name, .value(v))
        }
        if !row.setup.isEmpty { _ = try results(session, row.setup) }
        return session
    }

    /// Runs statements; the last one's result items (nil for a None).
    func results(_ session: Session, _ text: String) throws -> [Tensor?] {
        let outcomes = session.run(text, keepGoing: false)
        guard let last = outcomes.last else { throw GradientError("nothing ran") }
        for o in outcomes { if case .error(let e) = o.result { throw GradientError("`\(text)`: \(e.message)") } }
        switch last.result {
        case .tensor(_, let v): return [v.tensor]
        case .none: return [nil]
        case .several(let items):
            return items.map { if case .value(let v) = $0.item { return v.tensor } else { return nil } }
        default: return []
        }
    }

    var directory: String = NSTemporaryDirectory()

    /// Deterministic weights in [-1, 1] (no session random numbers: the table must not depend on them).
    static func weights(_ count: Int, seed: Int) -> [Double] {
        var state = UInt64(truncatingIfNeeded: seed &* 2654435761 &+ 12345)
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    static func literal(_ t: Tensor) -> String {
        if t.shape.isEmpty { return "\(t.scalars[0])" }
        func nested(_ offset: Int, _ axis: Int) -> String {
            if axis == t.shape.count - 1 { return "[" + (0..<t.shape[axis]).map { "\(t.scalars[offset + $0])" }.joined(separator: ", ") + "]" }
            let stride = t.shape[(axis + 1)...].reduce(1, *)
            return "[" + (0..<t.shape[axis]).map { nested(offset + $0 * stride, axis + 1) }.joined(separator: ", ") + "]"
        }
        return nested(0, 0)
    }

    /// `sum((f) * W)` with fixed weights of the output's shape.
    func objective(_ row: Row) throws -> String {
        let s = try session(row, at: row.inputs.map(\.1), watch: false)
        guard let y = try results(s, "__y = \(row.expression)").first, let y else { throw GradientError("no value") }
        let w = Tensor(shape: y.shape, scalars: Self.weights(y.count, seed: row.expression.count))
        return "sum((\(row.expression)) * \(Self.literal(w)))"
    }

    func evaluate(_ row: Row, _ statements: String, at inputs: [Tensor], watch: Bool) throws -> [Tensor?] {
        try results(try session(row, at: inputs, watch: watch), statements)
    }

    /// Central differences of the scalar that `statements` computes, per coordinate and along one direction,
    /// against the gradient `g`.
    func compare(_ row: Row, _ statements: String, gradient g: [Tensor], tolerance: (relative: Double, absolute: Double),
                 order: Int) throws -> [String] {
        let x = row.inputs.map(\.1)
        func value(_ xs: [Tensor]) throws -> Double {
            guard let r = try evaluate(row, statements, at: xs, watch: order == 2).first, let r else { throw GradientError("no value") }
            return r.scalars[0]
        }
        func accepts(_ a: Double, _ n: Double, _ scale: Double) -> Bool {
            a.isFinite && n.isFinite && abs(a - n) <= tolerance.absolute + tolerance.relative * max(abs(a), abs(n), scale)
        }
        var failures: [String] = []
        func moved(_ i: Int, _ j: Int, _ delta: Double) -> [Tensor] {
            var xs = x
            var s = xs[i].scalars
            s[j] += delta
            xs[i] = Tensor(shape: xs[i].shape, scalars: s)
            return xs
        }
        for i in x.indices {
            for j in 0..<x[i].count {
                let h = 1e-6 * max(1, abs(x[i].scalars[j]))
                let n = (try value(moved(i, j, h)) - value(moved(i, j, -h))) / (2 * h)
                let a = g[i].scalars[j]
                if !accepts(a, n, 0) { failures.append("order \(order): ∂/∂\(row.inputs[i].0)[\(j)] is \(a), finite differences \(n)") }
            }
        }
        return failures
    }

    func check(_ row: Row) throws -> [String] {
        let x = row.inputs.map(\.1)
        let names = row.inputs.map(\.0).joined(separator: ", ")
        switch row.expect {
        case .constant:
            let s = try session(row, at: [], watch: false)
            let outcomes = s.run(row.expression, keepGoing: false)
            for o in outcomes { if case .error(let e) = o.result { return ["\(row.expression): \(e.message)"] } }
            if case .tensor(_, let value)? = outcomes.last?.result, value.isTracked { return ["\(row.expression) is tracked"] }
            return []
        case .none:
            let gs = try evaluate(row, "grad \(row.expression) wrt \(names)", at: x, watch: true)
            return gs.contains { $0 != nil } ? ["expected None, got \(gs)"] : []
        case .zero, .exact:
            let gs = try evaluate(row, "grad \(row.expression) wrt \(names)", at: x, watch: true)
            let expected: [[Double]]
            if case .exact(let e) = row.expect { expected = e } else { expected = x.map { [Double](repeating: 0, count: $0.count) } }
            let got = gs.map { $0?.scalars ?? [] }
            return got == expected ? [] : ["expected gradients \(expected), got \(got)"]
        case .finiteDifferences, .firstOrder:
            let objective = try objective(row)
            var failures: [String] = []
            let g1 = try evaluate(row, "grad \(objective) wrt \(names) unconnected zero", at: x, watch: true)
            guard g1.count == x.count, g1.allSatisfy({ $0 != nil }) else { return ["no first-order gradient: \(g1)"] }
            failures += try compare(row, objective, gradient: g1.map { $0! }, tolerance: (1e-5, 1e-7), order: 1)
            guard case .finiteDifferences = row.expect else { return failures }
            // Order 2: S = Σ ∇L·u for a fixed u; its gradient Hᵀu, by the tape, against differences of S.
            let grads = row.inputs.indices.map { "__g\($0)" }
            let u = x.enumerated().map { i, t in Self.literal(Tensor(shape: t.shape, scalars: Self.weights(t.count, seed: 97 + i))) }
            let assignment = (grads.count == 1 ? "__g0" : grads.joined(separator: ", ")) + " = grad \(objective) wrt \(names) unconnected zero"
            let s = assignment + "\n" + zip(grads, u).map { "sum(\($0) * \($1))" }.joined(separator: " + ")
            let g2 = try evaluate(row, s.replacingOccurrences(of: "\nsum", with: "\n__s = sum") + "\ngrad __s wrt \(names) unconnected zero",
                                  at: x, watch: true)
            guard g2.count == x.count, g2.allSatisfy({ $0 != nil }) else { return failures + ["no second-order gradient: \(g2)"] }
            failures += try compare(row, s, gradient: g2.map { $0! }, tolerance: (1e-4, 1e-7), order: 2)
            return failures
        }
    }

    // MARK: Tests

    func testEveryRow() throws {
        directory = NSTemporaryDirectory() + "tapebook-builtins-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for row in Self.table {
            do {
                for failure in try check(row) { XCTFail("\(row.name) `\(row.expression)`: \(failure)") }
            } catch {
                XCTFail("\(row.name) `\(row.expression)`: \(error)")
            }
        }
    }

    /// The rows that keep JAX's or TensorFlow's numbers: tapebook's value and gradients agree to 1e-12.
    func testReferenceNumbers() throws {
        for row in Self.table {
            guard let reference = row.reference else { continue }
            let y = try evaluate(row, row.expression, at: row.inputs.map(\.1), watch: false)
            assertClose(y.first??.scalars ?? [], reference.value, "\(row.name) value")
            guard !reference.gradients.isEmpty else { continue }
            let names = row.inputs.map(\.0).joined(separator: ", ")
            let gs = try evaluate(row, "grad \(row.expression) wrt \(names)", at: row.inputs.map(\.1), watch: true)
            for (g, r) in zip(gs, reference.gradients) { assertClose(g?.scalars ?? [], r, "\(row.name) gradient") }
        }
    }

    func assertClose(_ a: [Double], _ b: [Double], _ what: String) {
        guard a.count == b.count, zip(a, b).allSatisfy({ abs($0 - $1) <= 1e-12 * max(1, abs($1)) }) else {
            XCTFail("\(what): \(a), reference \(b)")
            return
        }
    }

    func testEveryBuiltinHasARow() {
        let covered = Set(Self.table.map(\.name))
        for name in Builtins.names.sorted() {
            XCTAssertTrue(covered.contains(name), "the built-in \(name) has no row in BuiltinGradientTests.table")
        }
        for name in covered { XCTAssertNotNil(Builtins.table[name], "a row names \(name), which is not a built-in") }
    }

    func testEveryBuiltinHasHelp() {
        for name in Builtins.names.sorted() {
            let b = Builtins.table[name]!
            XCTAssertFalse(b.summary.isEmpty, "\(name) has no help text")
            XCTAssertTrue(b.usage.hasPrefix(name) || b.usage.contains(" = \(name)(") || b.usage.contains("\(name)("), "\(name)'s usage \(b.usage)")
            guard case .found(let text) = Help.lookup(name, width: 80) else { XCTFail("no :help \(name)"); continue }
            // A topic of its own (`:help load`) may explain more than the summary.
            XCTAssertTrue(text.contains(b.summary) || Help.topics[name] != nil || Help.aliases[name] != nil, ":help \(name) does not show its summary")
        }
    }

    /// Every built-in is in the README's list of built-ins (the paragraph that starts "Built-ins:").
    func testEveryBuiltinIsInTheReadme() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "Built-ins:") else { return XCTFail("README has no Built-ins: paragraph") }
        let paragraph = readme[start.lowerBound...].prefix { _ in true }.components(separatedBy: "\n\n")[0]
        var words: Set<String> = []
        for quoted in paragraph.components(separatedBy: "`").enumerated() where quoted.offset % 2 == 1 {
            for w in quoted.element.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }) { words.insert(String(w)) }
        }
        for name in Builtins.names.sorted() { XCTAssertTrue(words.contains(name), "the README's Built-ins paragraph does not list \(name)") }
    }

    /// Every row's expression exports to each library, or its built-in declares why it cannot.
    func testEveryBuiltinExports() {
        for row in Self.table {
            let program = row.inputs.map { "\($0.0) = \(Self.literal($0.1))" }.joined(separator: "\n") + (row.setup.isEmpty ? "" : "\n" + row.setup)
                + "\ny = \(row.expression)"
            for target in ExportTarget.allCases {
                do {
                    let script = try Exporter.export(program, to: target, origin: "test.tape")
                    if case .notExported = Builtins.table[row.name]!.export { XCTFail("\(row.name) declares no export but exported:\n\(script)") }
                } catch let e as ExportError {
                    if case .notExported(let reason) = Builtins.table[row.name]!.export, e.message.contains(reason) { continue }
                    XCTFail("\(row.name) does not export to \(target.library): \(e.message)")
                } catch {
                    XCTFail("\(row.name): \(error)")
                }
            }
        }
    }
}
