import XCTest
@testable import TapeLanguage

/// Groups and optimizers in exported scripts: an optimizer is the script's `_Optimizer` (Keras's formulas),
/// `apply` its step; a group of variables is the list of its members (ExportGroupTests has the rest of groups).
final class ExportRefusalTests: ExportTestCase {
    func refusal(_ text: String, _ target: ExportTarget) -> String {
        do {
            _ = try Exporter.export(text, to: target, origin: "t.tape")
            XCTFail("exported \(text)")
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testOptimizersAndGroupsExport() throws {
        let program = "var w = 1.0\nvar b = 2.0\nparams = (w, b)\nopt = adam(0.1, amsgrad=true)\nloss = w * b\napply opt to params with grad loss wrt params\n"
        XCTAssertEqual(try statements(of: program, .tf), """
        with tf.GradientTape(persistent=True) as tape:  # the session's implicit tape
            w = tf.Variable(1, dtype=tf.float64)
            show("w =", w)
            b = tf.Variable(2, dtype=tf.float64)
            show("b =", b)
            params = [w, b]  # a group: the script reads its members by their names
            show("params[0] =", params[0])
            show("params[1] =", params[1])
            opt = _Optimizer("adam", lr=0.1, amsgrad=1)
            print("opt =", opt)
            loss = w * b
            show("loss =", loss)
            _step1 = opt.apply(["w#0", "b#1"], [w, b], list(_dense(tape.gradient(loss, [w, b]))))
            w.assign(_step1[0])
            b.assign(_step1[1])
            show("w =", w)
            show("b =", b)
        """)
        XCTAssertEqual(try statements(of: program, .jax).split(separator: "\n").suffix(7).joined(separator: "\n"), """
        _step1 = opt.apply(["w#0", "b#1"], [w, b], list(jax.grad(lambda _d1_0, _d1_1: jnp.sum((w + _d1_0) * (b + _d1_1)), argnums=(0, 1))(jnp.zeros_like(T(w)), jnp.zeros_like(T(b)))))
        _w_2 = w
        w = _step1[0]
        _b_3 = b
        b = _step1[1]
        show("w =", w)
        show("b =", b)
        """)
        let script = try Exporter.export(program, to: .torch, origin: "t.tape")
        XCTAssertTrue(script.contains("class _Optimizer:"), script)
        XCTAssertTrue(script.contains("w = _var(\"w\", _step1[0].detach().requires_grad_())"), script)
    }
}
