import Foundation
import XCTest
@testable import TapeLanguage

/// Scoped tapes in PyTorch and JAX: a gradient from a tape that recorded no path from its sources is None,
/// as in TensorFlow.
final class ExportScopedTapeTests: XCTestCase {
    /// Values computed before a tape's block, under `with stop t`, or a target written after the block:
    /// TensorFlow's tape has no path, and PyTorch and JAX give None too (they used to refuse).
    func testScopedTapeWithoutAPathGivesNone() throws {
        let program = """
        var v = 2
        u = v * 3
        with tape t < y = u * u >
        grad y wrt v using t
        x = [1, 2]
        with tape p persistent < watch x; q = x^2 >
        jacobian x^2 wrt x using p
        with tape a < watch x; with stop a < s = sum(x^3) > >
        grad s wrt x using a
        """
        for target in [ExportTarget.torch, .jax] {
            let script = try Exporter.export(program, to: target, origin: "t.tape")
            XCTAssertTrue(script.contains(target == .torch ? "_grad(y, [v.detach()])[0]" : "show(\"∂y/∂v =\", None)"), script)
        }
        // Where tapebook finds a path, the export still computes it.
        let connected = "x = [1, 2]\nwith tape p persistent < watch x; q = x^2 >\ngrad q wrt x using p\n"
        XCTAssertTrue(try Exporter.export(connected, to: .jax, origin: "t.tape").contains("jax.grad("))
    }

    /// `tape reset t` (TensorFlow's `t.reset()`): in PyTorch and JAX, which record on one graph, what t
    /// recorded before is forgotten in the export's account of t: a gradient from t through it is None, a
    /// value recorded after gives its gradient, and a path that mixes the two is refused.
    func testTapeResetForgetsWhatTheTapeRecorded() throws {
        let program = """
        x = 3
        with tape t persistent <
          watch x
          y = x * x
          tape reset t
          watch x
          z = x * 4
        >
        grad y wrt x using t
        grad z wrt x using t
        """
        let torch = try Exporter.export(program, to: .torch, origin: "t.tape")
        XCTAssertTrue(torch.contains("# tape reset t: what t recorded and watched so far is forgotten; it goes on recording"), torch)
        XCTAssertTrue(torch.contains("show(\"∂y/∂x =\", _grad(y, [x.detach()])[0])"), torch)
        XCTAssertTrue(torch.contains("show(\"∂z/∂x =\", _grad(z, [x])[0])"), torch)
        let jax = try Exporter.export(program, to: .jax, origin: "t.tape")
        XCTAssertTrue(jax.contains("show(\"∂y/∂x =\", None)"), jax)
        XCTAssertTrue(jax.contains("show(\"∂z/∂x =\", jax.grad(lambda _d1_0: jnp.sum((x + _d1_0) * 4))(jnp.zeros_like(T(x))))"), jax)
        // u reads y, which t recorded before its reset: TensorFlow's t sees y as a constant; JAX holds it
        // constant too, one PyTorch graph cannot.
        let mixed = "x = 3\nwith tape t < watch x; y = x * x; tape reset t; watch x; u = y * x >\ngrad u wrt x using t\n"
        XCTAssertTrue(try Exporter.export(mixed, to: .jax, origin: "t.tape").contains("show(\"∂u/∂x =\", jax.grad(lambda _d1_0: jnp.sum(y * (x + _d1_0)))(jnp.zeros_like(T(x))))"))
        XCTAssertThrowsError(try Exporter.export(mixed, to: .torch, origin: "t.tape")) { error in
            XCTAssertTrue("\(error)".contains("line 3: cannot export `grad u wrt x using t`: PyTorch records on one graph: 'y' reaches the sources outside what tape t recorded, where TensorFlow's tape sees a constant or no path"), "\(error)")
        }
    }
}
