import Foundation
import XCTest
@testable import TapeLanguage

/// Export of `if`, `while`, `print`, `+=` and element assignment (issue 18): exact text, and the scripts run
/// under the real libraries (.peers/, as in the export fidelity test) give tapebook's numbers.
final class ExportControlFlowTests: ExportTestCase {
    let program = """
    x = [1, 2, 3, 4]
    watch x
    y = x * x;
    y += 1;
    y[[0, 2]] = [5, 6];
    y[1:3] *= 2;
    y[y > 20] = 0;
    if (sum(y) > 10) < z = y * 2; > else < z = y >
    n = 0;
    while (n < 3) < n += 1; print "n", n >
    var w = [1, 2]
    w[0] = 5;
    w *= 2
    grad sum(z) wrt x
    """

    func testTorch() {
        XCTAssertEqual(body(program, .torch), """
        x = torch.tensor([1, 2, 3, 4], dtype=torch.float64)
        show("x =", x)
        x.requires_grad_()
        y = x * x
        y = y + 1
        y = y.clone()
        y[torch.tensor([0, 2])] = torch.tensor([5, 6], dtype=torch.float64)
        y = y.clone()
        y[1:3] = y[1:3] * T(2)
        y = torch.where((y > T(20)).double() != 0, T(0), y)
        if bool((torch.sum(y) > T(10)).double() != 0):
            z = y * 2
        else:
            z = y
            show("z =", z)
        n = T(0)
        while bool((n < T(3)).double() != 0):
            n = n + 1
            _print("n", n)
        w = _var("w", torch.tensor([1, 2], dtype=torch.float64, requires_grad=True), new=True)
        show("w =", w)
        with torch.no_grad(): w[0] = T(5)
        w = _var("w", (w * T(2)).detach().requires_grad_())
        show("w =", w)
        show("∂sum(z)/∂x =", _grad(torch.sum(z), [x])[0])
        """)
    }

    func testTensorFlow() {
        XCTAssertEqual(body(program, .tf), """
        with tf.GradientTape(persistent=True) as tape:  # the session's implicit tape
            x = tf.constant([1, 2, 3, 4], tf.float64)
            show("x =", x)
            tape.watch(x)
            y = x * x
            y = y + 1
            y = _scatter_update(y, lambda a: a[np.array([0, 2])], tf.constant([5, 6], tf.float64))
            y = _scatter_update(y, lambda a: a[1:3], y[1:3] * T(2))
            y = tf.where(tf.cast(y > T(20), tf.float64) != 0, T(0), y)
            if bool(tf.cast(tf.reduce_sum(y) > T(10), tf.float64) != 0):
                z = y * 2
            else:
                z = y
                show("z =", z)
            n = T(0)
            while bool(tf.cast(n < T(3), tf.float64) != 0):
                n = n + 1
                _print("n", n)
            w = tf.Variable([1, 2], dtype=tf.float64)
            show("w =", w)
            w.assign(_scatter_update(w, lambda a: a[0], T(5)))
            w.assign(w * 2)
            show("w =", w)
            show("∂sum(z)/∂x =", _dense(tape.gradient(tf.reduce_sum(z), x)))
        """)
        let script = (try? Exporter.export(program, to: .tf, origin: "test.tape")) ?? ""
        XCTAssertTrue(script.contains("def _scatter_update(x, select, value):"), script)
        XCTAssertTrue(script.contains("def _print(*values):"), script)
        XCTAssertEqual(body("with tape t < x = 1; tape reset t >", .tf), """
        with tf.GradientTape(persistent=True) as tape:  # the session's implicit tape
            with tf.GradientTape() as t:
                x = T(1)
                t.reset()
        """)
    }

    /// JAX differentiates functions: a loop is replayed as a Python function of what it reads, a function
    /// that reads a source from outside is written in place; what a replay cannot repeat is refused.
    func testJAXReplaysLoopsAndRefusesWhatItCannotRepeat() {
        XCTAssertEqual(body("x = 3\nwatch x\ny = x\nrepeat 2 < y = y * x >\nvar w = 2\nf(a) = a * w\ngrad y + f(1) wrt x, w", .jax), """
        x = T(3)
        show("x =", x)
        # watch x: x is a source of the jax.grad calls below
        y = x
        show("y =", y)
        for _ in range(2):
            y = y * x
        w = T(2)  # a variable: a source of the jax.grad calls below
        show("w =", w)
        def f(a):
            return a * w
        def _replay1(y, x):
            \"\"\"line 4, replayed for jax.grad: repeat 2 < y = y * x >\"\"\"
            for _ in range(2):
                y = y * x
            return y
        _g2 = jax.grad(lambda _d1_0, _d1_1: jnp.sum(_replay1((x + _d1_0), (x + _d1_0)) + (T(1) * (w + _d1_1))), argnums=(0, 1))(jnp.zeros_like(T(x)), jnp.zeros_like(T(w)))
        show("∂(y + f(1))/∂x =", _g2[0])
        show("∂(y + f(1))/∂w =", _g2[1])
        """)
        for (program, message) in [
            ("var w = 2\ny = w\nrepeat 2 < y = y * w; w *= 2 >\ngrad y wrt w",
             "JAX: the statement that computed 'y' (line 3) updates the variable 'w', a source of this gradient"),
            ("x = 3\nwatch x\ny = x\nrepeat 2 < y = y * x; g = grad y wrt x >\ngrad g wrt x",
             "the loop's gradients depend on the iteration; JAX needs one function per gradient"),
        ] {
            XCTAssertThrowsError(try Exporter.export(program, to: .jax, origin: "test.tape")) { error in
                XCTAssertEqual((error as? ExportError)?.message, message)
            }
        }
        XCTAssertEqual(body("x = [1, 2]\nx[0] = 5\nx += 1\nprint x", .jax), """
        x = jnp.array([1, 2], jnp.float64)
        show("x =", x)
        x = x.at[0].set(T(5))
        show("x =", x)
        x = x + 1
        show("x =", x)
        _print(x)
        """)
    }

    /// The exported scripts print tapebook's numbers, run in the export fidelity test's environment (.peers/,
    /// which `make test` and `make peers` make; without it the test skips, or fails under CI=true).
    func testExportedScriptsGiveTapebooksNumbers() throws {
        let expected = ["n 1.", "n 2.", "n 3.", "w = [10.  4.]", "∂sum(z)/∂x = [ 0. 16.  0. 16.]"]
        try assertScriptsPrint(expected, for: program, in: [.torch, .tf])
    }
}

/// JAX evaluates what a gradient reaches again inside jax.grad's function: a statement that drew random
/// numbers draws them again from the generator's state saved where it ran; a gradient inside a replayed
/// statement is a jax.grad inside the one that differentiates it.
final class ExportRandomReplayTests: ExportTestCase {
    func testRandomNumbersAreDrawnAgainFromTheSavedState() {
        XCTAssertEqual(body("set_seed(1)\nx = [1.0, 2.0]\nwatch x\ny = x * randn([2]);\ngrad sum(y) wrt x", .jax), """
        set_seed(1)
        x = jnp.array([1, 2], jnp.float64)
        show("x =", x)
        # watch x: x is a source of the jax.grad calls below
        _rng1 = _rng.copy()  # the generator before line 4, which jax.grad evaluates again
        y = x * T(_rng.tensor([2], True))
        show("∂sum(y)/∂x =", jax.grad(lambda _d1_0: jnp.sum(jnp.sum(_redraw(_rng1, lambda: (x + _d1_0) * T(_rng.tensor([2], True))))))(jnp.zeros_like(T(x))))
        """)
        let script = (try? Exporter.export("set_seed(1)\nx = 3\nwatch x\ny = x\nrepeat 2 < y = y * grad x^2 wrt x >\ngrad y wrt x", to: .jax, origin: "t.tape")) ?? ""
        XCTAssertTrue(script.contains("""
            def _replay1(y, x):
                \"\"\"line 5, replayed for jax.grad: repeat 2 < y = y * grad x^2 wrt x >\"\"\"
                for _ in range(2):
                    y = y * jax.grad(lambda _d2_0: jnp.sum((x + _d2_0) ** 2))(jnp.zeros_like(T(x)))
                return y
            """), script)
    }
}
