import XCTest
@testable import TapeLanguage

/// Groups (spec section 1) and several targets and sources (section 4), as printed at width 80.
final class GroupTests: XCTestCase {
    func output(_ text: String) -> String {
        let session = Session()
        session.setSeed(0)
        return DiagnosticsTests.format(session, text)
    }

    /// A group of variables holds the variables: updating it updates every name that holds them.
    func testMemberwiseArithmeticAndGroupsOfVariables() {
        XCTAssertEqual(output("""
        var w = [3.0, 4.0]
        var b = 1.0
        p = (w, b)
        p - clip_by_global_norm(1, w, b)
        cos((w, 0))
        v = w
        p -= (1, 1)
        v
        b
        """), """
        w = [3, 4]
        b = 1
        p[0] = [3, 4]
        p[1] = 1
        [0] = [2.4117, 3.2155]
        [1] = 0.8039
        [0] = [-0.99  , -0.6536]
        [1] = 1
        v = [3, 4]
        p[0] = [2, 3]
        p[1] = 0
        [2, 3]
        0
        """)
    }

    /// Before any name holds a group, a group still comes from the syntax: a literal, a gradient with several
    /// sources, `clip_by_global_norm` inside arithmetic.
    func testGroupsBeforeAnyGroupIsBound() {
        XCTAssertEqual(output("""
        x = [3.0, 4.0]
        watch x
        y = sum(x^2)
        2 * clip_by_global_norm(1, x, [1.0])
        -(x, 1)
        2 * grad y wrt x, x
        """), """
        x = [3, 4]
        y = 25
        [0] = [1.1767, 1.5689]
        [1] = [0.3922]
        [0] = [-3, -4]
        [1] = -1
        [0] = [12, 16]
        [1] = [12, 16]
        """)
    }

    func testGroupErrors() {
        XCTAssertEqual(output("g = ([1, 2], 3)\ng[5]\n(g, 1)\ng + (1, 2, 3)\ng[0:1]"), """
        g[0] = [1, 2]
        g[1] = 3
        error: index 5 is out of range for a group of 2 members
         --> 2:3
          │
        2 │ g[5]
          │   ^
        error: groups do not nest: a member of a group must be one tensor
         --> 3:2
          │
        3 │ (g, 1)
          │  ^
          = note: write the members out one by one, as in (w1, b1, w2, b2)
        error: groups of 2 and 3 members cannot be combined
         --> 4:1
          │
        4 │ g + (1, 2, 3)
          │ ^^^^^^^^^^^^^
          = note: two groups combine member by member, so they must have the same length
        error: a group takes one index, its member's position
         --> 5:3
          │
        5 │ g[0:1]
          │   ^^^
          = note: take a member first, then index it: g[0][1:3]
        """)
    }

    /// TensorFlow: tape.gradient([x**2, tf.sin(x)], x) = [5.0100075, 7.3463564] at x = [3, 4]; JAX's
    /// hessian(f, argnums=(0, 1)) of mean((x @ w + b - y)**2) gives the blocks below.
    func testSeveralTargetsAndHessianBlocks() {
        XCTAssertEqual(output("""
        v = [3.0, 4.0]
        watch v
        grad (v^2, sin(v)) wrt v
        x = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]
        y = [1.0, 2.0, 0.0]
        w = [0.5, -0.65]
        b = 0.35
        watch w, b
        hessian mean((x @ w + b - y)^2) wrt w, b
        """), """
        v = [3, 4]
        ∂(v^2, sin(v))/∂v = [5.01  , 7.3464]
        x = 3×2
          1     2
          3    -1
          0.5   0.5
        y = [1, 2, 0]
        w = [ 0.5 , -0.65]
        b = 0.35
        ∂²mean((x @ w + b - y)^2)/∂w∂w = 2×2
          6.8333  -0.5
         -0.5      3.5
        ∂²mean((x @ w + b - y)^2)/∂w∂b = [3, 1]
        ∂²mean((x @ w + b - y)^2)/∂b∂w = [3, 1]
        ∂²mean((x @ w + b - y)^2)/∂b∂b = 2
        """)
    }

    func testGroupsInJSON() {
        let session = Session()
        let formatter = OutputFormatter(settings: session.settings)
        let lines = session.run("x = [1.0, 2.0]\nwatch x\ngs = grad sum(x^2) wrt x, x\nrepeat 3 < x = 2 * x >")
            .map { formatter.json($0) }
        XCTAssertEqual(lines[2], #"{"line": 3, "source": "gs = grad sum(x^2) wrt x, x", "result": {"name": "gs", "kind": "tensors", "items": [{"kind": "tensor", "shape": [2], "data": [2.0, 4.0]}, {"kind": "tensor", "shape": [2], "data": [2.0, 4.0]}]}}"#)
        XCTAssertTrue(lines[3].contains(#""notes": ["the tape grew with the loop: x carries every iteration's recordings into the next, 1 operation kept per iteration (3 after 3 iterations)."#), lines[3])
    }
}
