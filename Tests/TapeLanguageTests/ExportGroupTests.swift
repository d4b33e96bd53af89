import Foundation
import XCTest
@testable import TapeLanguage

/// Groups in exported scripts (issue 18, spec section 1): lists of tensors, arithmetic and elementwise
/// built-ins as one comprehension over the members, group updates (`assign_sub` in TensorFlow, in place
/// under `torch.no_grad()` in PyTorch, a functional update in JAX), several targets and hessian blocks.
final class ExportGroupTests: ExportTestCase {
    let program = """
    var w = [1.0, 2.0]
    var b = 0.5
    params = (w, b)
    loss = sum(w^2) * b
    gs = grad loss wrt params
    params - 0.1 * square(gs)
    params -= 0.1 * gs
    """

    func testTensorFlow() {
        XCTAssertEqual(body(program, .tf), """
        with tf.GradientTape(persistent=True) as tape:  # the session's implicit tape
            w = tf.Variable([1, 2], dtype=tf.float64)
            show("w =", w)
            b = tf.Variable(0.5, dtype=tf.float64)
            show("b =", b)
            params = [w, b]  # a group: the script reads its members by their names
            show("params[0] =", params[0])
            show("params[1] =", params[1])
            loss = tf.reduce_sum(w ** 2) * b
            show("loss =", loss)
            gs = list(_dense(tape.gradient(loss, [w, b])))
            show("gs[0] =", gs[0])
            show("gs[1] =", gs[1])
            _g1 = [_m0 - 0.1 * tf.math.square(_m1) for _m0, _m1 in zip([w, b], gs, strict=True)]
            show("[0] =", _g1[0])
            show("[1] =", _g1[1])
            _u2 = [0.1 * _m0 for _m0 in gs]
            for _v, _d in zip([w, b], _u2, strict=True):
                _v.assign_sub(tf.broadcast_to(_d, _v.shape))
            show("params[0] =", w)
            show("params[1] =", b)
        """)
    }

    func testTorchUpdatesInPlace() {
        XCTAssertEqual(body(program, .torch).split(separator: "\n").suffix(9).joined(separator: "\n"), """
        _g1 = [_m0 - 0.1 * torch.square(_m1) for _m0, _m1 in zip([w, b], gs, strict=True)]
        show("[0] =", _g1[0])
        show("[1] =", _g1[1])
        _u2 = [0.1 * _m0 for _m0 in gs]
        with torch.no_grad():
            for _v, _d in zip([w, b], _u2, strict=True):
                _v -= _d
        show("params[0] =", w)
        show("params[1] =", b)
        """)
    }

    /// A gradient through a graph that read the old values would fail after an in-place update (torch's
    /// version check): the export then gives each update a new leaf, as `w -= e` does.
    func testTorchWritesNewLeavesWhenALaterGradientReadsTheOldValues() {
        let later = "var w = [1.0, 2.0]\nvar b = 0.5\nparams = (w, b)\nloss = sum(w^2) * b\nparams -= 0.1 * grad loss wrt params\ngrad loss wrt w"
        XCTAssertEqual(body(later, .torch).split(separator: "\n").suffix(6).joined(separator: "\n"), """
        _u1 = [0.1 * _m0 for _m0 in _grad(loss, [_vs("w"), _vs("b")])]
        w = _var("w", (w - _u1[0]).detach().requires_grad_())
        b = _var("b", (b - _u1[1]).detach().requires_grad_())
        show("params[0] =", w)
        show("params[1] =", b)
        show("∂loss/∂w =", _grad(loss, [_vs("w")])[0])
        """)
    }

    func testJAXUpdatesFunctionally() {
        XCTAssertEqual(body(program, .jax).split(separator: "\n").suffix(6).joined(separator: "\n"), """
        show("[1] =", _g1[1])
        _u2 = [0.1 * _m0 for _m0 in gs]
        _w_3, _b_4 = w, b
        w, b = [_v - _d for _v, _d in zip([w, b], _u2, strict=True)]
        show("params[0] =", w)
        show("params[1] =", b)
        """)
    }

    func testGroupsOfTensorsSeveralResultsAndElementwiseBuiltins() {
        let tensors = "a = [1.0, -2.0]\nc = 0.5\ng = (a, c)\nh = maximum(-g, c) / 2\ng -= 1\nq = qr([[2.0, 1.0], [1.0, 3.0]])\nq * 2"
        XCTAssertEqual(body(tensors, .jax), """
        a = jnp.array([1, -2], jnp.float64)
        show("a =", a)
        c = T(0.5)
        show("c =", c)
        g = [a, c]
        show("g[0] =", g[0])
        show("g[1] =", g[1])
        h = [jnp.maximum(-_m0, c) / 2 for _m0 in g]
        show("h[0] =", h[0])
        show("h[1] =", h[1])
        g = [_m0 - 1 for _m0 in g]
        show("g[0] =", g[0])
        show("g[1] =", g[1])
        q = list(((lambda r: (r[0] * jnp.sign(jnp.diagonal(r[1])), r[1] * jnp.sign(jnp.diagonal(r[1]))[:, None]))(jnp.linalg.qr(jnp.array([[2, 1], [1, 3]], jnp.float64)))))
        show("q[0] =", q[0])
        show("q[1] =", q[1])
        _g1 = [_m0 * 2 for _m0 in q]
        show("[0] =", _g1[0])
        show("[1] =", _g1[1])
        """)
    }

    func testSeveralTargetsAndHessianBlocks() {
        let targets = "x = [1.0, 2.0]\nc = 3.0\nwatch x, c\ngrad (x^2, x * c) wrt x, c\nhessian sum(x^2) wrt x, c"
        XCTAssertEqual(body(targets, .jax).split(separator: "\n").suffix(8).joined(separator: "\n"), """
        _g1 = jax.grad(lambda _d1_0, _d1_1: jnp.sum(sum(jnp.sum(_t) for _t in [(x + _d1_0) ** 2, (x + _d1_0) * (c + _d1_1)])), argnums=(0, 1))(jnp.zeros_like(T(x)), jnp.zeros_like(T(c)))
        show("∂(x^2, x * c)/∂x =", _g1[0])
        show("∂(x^2, x * c)/∂c =", _g1[1])
        _g2 = (lambda _h: [_h[0][0], _h[0][1], None, None])(jax.hessian(lambda _d1_0, _d1_1: jnp.sum((x + _d1_0) ** 2), argnums=(0, 1))(jnp.zeros_like(T(x)), jnp.zeros_like(T(c))))
        show("∂²sum(x^2)/∂x∂x =", _g2[0])
        show("∂²sum(x^2)/∂x∂c =", _g2[1])
        show("∂²sum(x^2)/∂c∂x =", _g2[2])
        show("∂²sum(x^2)/∂c∂c =", _g2[3])
        """)
        XCTAssertTrue(body(targets, .tf).contains("_g1 = _dense(tape.gradient([x ** 2, x * c], [x, c]))"))
        XCTAssertTrue(body(targets, .torch).contains("_g1 = _grad(sum(torch.sum(_t) for _t in [x ** 2, x * c]), [x, c])"))
    }

    func testWhatIsRefusedSaysWhy() {
        for target in ExportTarget.allCases {
            for (text, line, message) in [
                ("var w = 1.0\nx = 2\np = (w, x)\n", 3, "a group of variables and other tensors is not exported; make them all variables, or none"),
                ("var w = 1.0\nvar b = 2.0\np = (w, b)\nvar w = 3\np -= 1\n", 5, "the group 'p' holds a variable whose name was bound again since"),
                ("x = 1\ng = (x, x)\ng, x\n", 3, "a group (g) among several values is not exported; show it on its own"),
                ("x = [1.0, 2.0]\nwatch x\ngrad (x, x) wrt x seed (1, 2)\n", 3, "several targets are exported for grad without a seed"),
            ] {
                do {
                    _ = try Exporter.export(text, to: target, origin: "t.tape")
                    XCTFail("\(target.library) exported \(text)")
                } catch let e as ExportError {
                    XCTAssertEqual(e.line, line, "\(e)")
                    XCTAssertTrue(e.message.contains(message), "\(target.library): \(e)")
                } catch {
                    XCTFail("\(error)")
                }
            }
        }
    }

    /// `w2 = w` holds the variable in tapebook: an update that a script would not pass on to w2 is refused.
    func testANameHoldingAVariableRefusesItsUpdate() throws {
        let program = "var w = 1.0\nw2 = w\nparams = (w,)\nparams -= 1\nw2"
        XCTAssertThrowsError(try Exporter.export(program, to: .jax, origin: "t.tape")) { error in
            XCTAssertEqual("\(error)", "line 4: cannot export `params -= 1`: 'w2' holds the variable w (w2 = w) and follows its updates in tapebook, but in JAX it would keep the old value; write w2 = w after the update, or read w")
        }
        XCTAssertThrowsError(try Exporter.export("var w = 1.0\nw2 = w\nw -= 1\nw2", to: .torch, origin: "t.tape"))
        // In place, PyTorch's w2 is w's leaf and follows; TensorFlow's is the tf.Variable.
        XCTAssertTrue(try Exporter.export(program, to: .torch, origin: "t.tape").contains("_v -= _d"))
        XCTAssertTrue(try Exporter.export(program, to: .tf, origin: "t.tape").contains("_v.assign_sub("))
    }

    /// Statements that fail in tapebook (groups of different lengths, nested groups, `*=` on a group) are
    /// comments; the rest still exports.
    func testHostileGroupsAreComments() {
        let hostile = "a = 1\ng = (a, a)\ng + (a, a, a)\n((a, a), a)\ng *= 2\ng[5]\n(g,)\ng[0, 1]\n()\nsum(g)\ng\n"
        for target in ExportTarget.allCases {
            let text = body(hostile, target)
            XCTAssertTrue(text.contains("# tapebook: error: groups of 2 and 3 members cannot be combined"), "\(target.library):\n\(text)")
            XCTAssertTrue(text.contains("# tapebook: error: groups do not nest: a member of a group must be one tensor"), "\(target.library):\n\(text)")
            XCTAssertTrue(text.hasSuffix("show(\"g[0] =\", g[0])\n\(target == .tf ? "    " : "")show(\"g[1] =\", g[1])"), "\(target.library):\n\(text)")
        }
    }

    /// The scripts print tapebook's numbers under the libraries (.peers/; skipped without it).
    func testExportedScriptsGiveTapebooksNumbers() throws {
        let expected = ["[0] = [0.9 1.6]", "[1] = -2.", "params[0] = [0.9 1.8]", "params[1] = 0."]
        try assertScriptsPrint(expected, for: program)
    }
}
