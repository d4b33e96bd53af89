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
}
