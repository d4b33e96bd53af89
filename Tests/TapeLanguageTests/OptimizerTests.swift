import XCTest
@testable import TapeLanguage
import TensorCore

/// Optimizers against Keras 3's formulas in float64 (to 1e-12 relative) and against tf.keras.optimizers
/// itself (to 1e-5: Keras rounds the learning rate and Adam's betas in its bias correction through
/// float32). The numbers come from tools/reference/optimizers.py: 100 steps on one least-squares problem.
final class OptimizerTests: XCTestCase {
    /// (optimizer, [w0, w1, w2, b] by the formulas in float64, the same by tf.keras)
    static let references: [(String, [Double], [Double])] = [
            ("sgd(0.05)", [0.1891300157708378, 1.3475930672170477, 0.4911943375937056, -0.23072179928407566], [0.18913001685105812, 1.3475930795590885, 0.49119435265518974, -0.23072181497142152]), // keras differs by 1.2e-08
            ("sgd(0.05, momentum=0.9)", [0.4414334225991943, 4.153737754199338, 3.9284385317194674, -3.8102545238447], [0.44143340219228583, 4.153737583275458, 3.928438298058526, -3.810254286475375]), // keras differs by 5.7e-08
            ("sgd(0.05, momentum=0.9, nesterov=1)", [0.43397367682188054, 4.144383740452102, 3.904271335295315, -3.78567857417286], [0.43397366082396704, 4.14438355779104, 3.9042711123790075, -3.785678341983955]), // keras differs by 5.6e-08
            ("adam(0.01)", [0.5865762791595539, -1.1082052348705682, -0.39283640626423155, 1.071198916742816], [0.5865789783168615, -1.1082101214390896, -0.39283155099492983, 1.0711956513219463]), // keras differs by 4.4e-06
            ("adam(0.05, amsgrad=1)", [0.11790503117693601, 0.10449561037061944, -0.9681539162352673, 1.1763977017016958], [0.11790439829154448, 0.10449251959383266, -0.9681591886912914, 1.1764025229072106]), // keras differs by 4.5e-06
            ("adam(0.05)", [0.1183192832233927, 0.10731781839236397, -0.9639971756847189, 1.17233398206972], [0.11831865056469597, 0.10731467383530946, -0.9640024756593346, 1.1723388309527816]), // keras differs by 4.5e-06
            ("rmsprop()", [1.021497390683508, -1.8913910905556124, 0.3913617856637572, 0.40795551473328373], [1.0214973875766256, -1.8913910854192946, 0.3913617805249194, 0.407955519816416]), // keras differs by 2.7e-09
            ("rmsprop(0.001, momentum=0.5)", [0.9590343839532355, -1.7857330158373532, 0.28562718982257296, 0.5119547638432972], [0.9590343780346101, -1.7857330057540333, 0.2856271797296693, 0.5119547737123203]), // keras differs by 5.7e-09
            ("adagrad(0.1)", [0.31442707023789257, -0.5791867179336114, -0.8806416886842776, 1.322955805346942], [0.3144270637151037, -0.5791867041217579, -0.8806416999938382, 1.3229558098210565]), // keras differs by 1.0e-08
    ]

    /// Runs 100 steps of `optimizer` on the reference problem; returns w and b.
    func train(_ optimizer: String, steps: Int = 100) throws -> [Double] {
        let session = Session()
        let text = """
        X = [[1.0, 2.0, -1.0], [0.5, -1.5, 2.0], [-2.0, 0.3, 1.0], [1.5, 1.0, 0.5]]
        Y = [1.0, -2.0, 0.5, 3.0]
        var w = [1, -2, 0.5]
        var b = 0.3
        opt = \(optimizer)
        repeat \(steps) < loss = mean((X @ w + b - Y)^2); gs = grad loss wrt w, b; apply opt to w, b with gs >
        """
        let outcomes = session.run(text)
        for o in outcomes { if case .error(let e) = o.result { XCTFail("\(optimizer): \(e.message)") } }
        let w = try XCTUnwrap(session.value(named: "w")), b = try XCTUnwrap(session.value(named: "b"))
        XCTAssertTrue(w.isVariable && b.isVariable, "apply keeps variables variables")
        XCTAssertFalse(w.node != nil || b.node != nil, "apply is not recorded")
        return w.tensor.scalars + b.tensor.scalars
    }

    func output(_ text: String) -> String {
        let session = Session()
        session.setSeed(0)
        return DiagnosticsTests.format(session, text)
    }

    func testEachOptimizerEqualsKerasFormulasInFloat64AndTfKeras() throws {
        for (optimizer, formulas, keras) in Self.references {
            let got = try train(optimizer)
            let scale = formulas.map(abs).max()!
            for (i, (g, f)) in zip(got, formulas).enumerated() {
                XCTAssertLessThanOrEqual(abs(g - f) / scale, 1e-12, "\(optimizer) [\(i)]: \(g) vs the formulas' \(f)")
            }
            for (i, (g, k)) in zip(got, keras).enumerated() {
                XCTAssertLessThanOrEqual(abs(g - k) / scale, 1e-5, "\(optimizer) [\(i)]: \(g) vs tf.keras's \(k)")
            }
        }
    }

    /// Adam's one-pass update of a large parameter (shared between two threads, in SIMD lanes from wherever a
    /// chunk starts) is the scalar formula, to the bit, at every element.
    func testLargeAdamUpdatesAreTheScalarFormulaToTheBit() throws {
        let n = 3 * SharedChunks.chunk + 5
        var random = RandomGenerator(seed: 9)
        let w = try random.tensor(shape: [n], normal: true), g = try random.tensor(shape: [n], normal: true)
        let m = try random.tensor(shape: [n], normal: true).scalars, v = try random.tensor(shape: [n], normal: true).scalars.map { $0 * $0 }
        let (alpha, keep1, keep2, epsilon) = (0.001, 0.1, 0.001, 1e-7)
        let next = Optimizer.adam(w: w, g: g, m: m, v: v, alpha: alpha, keep1: keep1, keep2: keep2, epsilon: epsilon)
        let ws = w.scalars, gs = g.scalars
        for i in 0..<n {
            let mi = m[i] + (gs[i] - m[i]) * keep1, vi = v[i] + (gs[i] * gs[i] - v[i]) * keep2
            let wi = ws[i] - mi * alpha / (vi.squareRoot() + epsilon)
            if (next.m[i].bitPattern, next.v[i].bitPattern, next.w[i].bitPattern) != (mi.bitPattern, vi.bitPattern, wi.bitPattern) {
                return XCTFail("element \(i): \((next.w[i], next.m[i], next.v[i])) against \((wi, mi, vi))")
            }
        }
    }

    /// A group of variables and a group of gradients do what the names do, and the optimizer's slots follow
    /// the variables, not the names: the same numbers either way.
    func testApplyToGroupsEqualsApplyToNames() throws {
        let session = Session()
        let text = """
        X = [[1.0, 2.0, -1.0], [0.5, -1.5, 2.0], [-2.0, 0.3, 1.0], [1.5, 1.0, 0.5]]
        Y = [1.0, -2.0, 0.5, 3.0]
        var w = [1, -2, 0.5]
        var b = 0.3
        params = (w, b)
        opt = adam(0.01)
        repeat 100 < loss = mean((X @ w + b - Y)^2); apply opt to params with grad loss wrt params >
        """
        for o in session.run(text) { if case .error(let e) = o.result { XCTFail(e.message) } }
        let got = session.value(named: "w")!.tensor.scalars + session.value(named: "b")!.tensor.scalars
        let formulas = Self.references.first { $0.0 == "adam(0.01)" }!.1
        for (g, f) in zip(got, formulas) { XCTAssertEqual(g, f, accuracy: 1e-12 * 2) }
    }

    func testOptimizerPrintsItsSettingsAndSteps() {
        XCTAssertEqual(output("opt = adam(0.01)\nvar w = 1.0\napply opt to w with 2\nopt\nsgd(momentum=0.9, nesterov=1)"), """
        opt = adam(lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-07, amsgrad=false), 0 steps, slots for 0 variables
        w = 1
        w = 0.99
        adam(lr=0.01, beta1=0.9, beta2=0.999, epsilon=1e-07, amsgrad=false), 1 step, slots for 1 variable
        sgd(lr=0.01, momentum=0.9, nesterov=true), 0 steps, slots for 0 variables
        """)
    }

    func testApplyDiagnostics() {
        XCTAssertEqual(output("opt = sgd()\nx = [1, 2]\napply opt to x with [1, 1]"), """
        opt = sgd(lr=0.01, momentum=0, nesterov=false), 0 steps, slots for 0 variables
        x = [1, 2]
        error: x is a plain tensor, not a variable: an optimizer updates variables in place
         --> 3:14
          │
        3 │ apply opt to x with [1, 1]
          │              ^
          = note: make it a variable: var x = ...
        """)
        XCTAssertEqual(output("var w = [1, 2]\nopt = sgd()\napply opt to w with [1, 2, 3]"), """
        w = [1, 2]
        opt = sgd(lr=0.01, momentum=0, nesterov=false), 0 steps, slots for 0 variables
        error: the gradient for w has shape [3] but w has shape [2]
         --> 3:21
          │
        3 │ apply opt to w with [1, 2, 3]
          │                     ^^^^^^^^^
        """)
        XCTAssertEqual(output("w = 1\napply w to w with 1"), """
        w = 1
        error: w is a tensor, expected an optimizer
         --> 2:7
          │
        2 │ apply w to w with 1
          │       ^
        """)
        XCTAssertEqual(output("var w = 1.0\nopt = sgd()\np = (w, w)\napply opt to p with (1, 1)"), """
        w = 1
        opt = sgd(lr=0.01, momentum=0, nesterov=false), 0 steps, slots for 0 variables
        p[0] = 1
        p[1] = 1
        error: p[1] is the same variable as p[0]: apply takes each variable once
         --> 4:14
          │
        4 │ apply opt to p with (1, 1)
          │              ^
        """)
        XCTAssertEqual(output("adam(beta1=1)"), """
        error: 'beta1' must be in [0, 1), got 1
         --> 1:12
          │
        1 │ adam(beta1=1)
          │            ^
        """)
        XCTAssertEqual(output("adam(0.1) + 1"), """
        error: adam(...) is an optimizer where one tensor is expected
         --> 1:1
          │
        1 │ adam(0.1) + 1
          │ ^^^^^^^^^
          = note: bind it to a name: opt = adam(...)
        """)
    }

    /// A failed statement leaves the optimizer as it was: its slots are part of the workspace.
    func testAFailedStatementLeavesTheOptimizerAsItWas() {
        let session = Session()
        session.run("var w = 1.0\nopt = adam(0.1)")
        session.run("repeat 3 < apply opt to w with 2 >\n")
        session.run("repeat 3 < apply opt to w with 2; nosuchname >")
        let out = DiagnosticsTests.format(session, "opt\nw")
        XCTAssertEqual(out, "adam(lr=0.1, beta1=0.9, beta2=0.999, epsilon=1e-07, amsgrad=false), 3 steps, slots for 1 variable\n0.7")
    }
}
