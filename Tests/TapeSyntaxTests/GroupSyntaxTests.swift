import XCTest
import TapeSyntax

/// Groups, several targets and sources, and `apply` (spec sections 1, 4 and 7).
final class GroupSyntaxTests: XCTestCase {
    func testGroupLiterals() {
        XCTAssertEqual(parsed("(a, b)"), "(group a b)")
        XCTAssertEqual(parsed("(x,)"), "(group x)")
        XCTAssertEqual(parsed("(a, b,)"), "(group a b)")
        XCTAssertEqual(parsed("(x)"), "x")
        XCTAssertEqual(parsed("params = (w1, b1, w2, b2)"), "(= params (group w1 b1 w2 b2))")
        XCTAssertEqual(parsed("(a, 2 * b)[0]"), "(index (group a (* 2 b)) 0)")
        XCTAssertEqual(parsed("params - 0.1 * gs"), "(- params (* 0.1 gs))")
        XCTAssertEqual(parsed("f((a, b))"), "(f (group a b))")
        // A group literal may span lines: the parenthesis is open.
        XCTAssertEqual(parsed("g = (a,\n     b)"), "(= g (group a b))")
    }

    func testSeveralTargetsAndSources() {
        XCTAssertEqual(parsed("grad (y0, y1) wrt x"), "(grad (group y0 y1) wrt x)")
        XCTAssertEqual(parsed("gs = grad loss wrt w, b"), "(= gs (grad loss wrt w,b))")
        XCTAssertEqual(parsed("hessian loss wrt w, b"), "(hessian loss wrt w,b)")
        XCTAssertEqual(parsed("grad (y0, y1) wrt x seed (s0, s1)"), "(grad (group y0 y1) wrt x seed (group s0 s1))")
    }

    /// Whether a group can come from the syntax alone, whatever the names hold (`Expr.hasGroupForm`).
    func testGroupForms() throws {
        func form(_ source: String) throws -> Bool {
            let statement = try XCTUnwrap(Parser.parseAll(source).first)
            guard case .expression(let expr) = statement.kind else { XCTFail("not an expression: \(source)"); return false }
            return expr.hasGroupForm
        }
        for source in ["(a, b)", "2 * (a, b) - 1", "-(a, b)", "sin((a, b))", "grad y wrt a, b",
                       "clip_by_global_norm(1, a, b) * 2", "f(1, g((a, b)))"] {
            XCTAssertTrue(try form(source), source)
        }
        for source in ["a", "sin(y) * 0.9 + x * 0.1", "grad y wrt a", "f(axis=(a, b))", "(a, b)[0] + 1", "[1, 2]",
                       "a.T", "sum(a)"] {
            XCTAssertFalse(try form(source), source)
        }
        // Kept up to date when the tree is changed in place.
        var expr = try XCTUnwrap(Parser.parseAll("a").first.flatMap { s -> Expr? in
            if case .expression(let e) = s.kind { return e } else { return nil }
        })
        XCTAssertFalse(expr.hasGroupForm)
        expr.kind = .group([expr, expr])
        XCTAssertTrue(expr.hasGroupForm)
    }

    func testApply() {
        XCTAssertEqual(parsed("apply opt to w, b with gw, gb"), "(apply opt (w b) (gw gb))")
        XCTAssertEqual(parsed("apply opt to params with gs"), "(apply opt (params) (gs))")
        // The gradients may be computed in place; `grad` takes every `, name` that follows as a source.
        XCTAssertEqual(parsed("apply opt to w, b with grad loss wrt w, b"), "(apply opt (w b) ((grad loss wrt w,b)))")
        XCTAssertEqual(parsed("repeat 3 < apply opt to w with g >"), "(repeat 3 < (apply opt (w) (g)) >)")
    }

    func testGroupAndApplyErrors() {
        assertError("(a, b", "expected ')' to close '(' at 1:1", at: "1:6", incomplete: true)
        assertError("(,)", "expected an expression after '('", at: "1:2")
        assertError("(a, , b)", "expected an expression after ','", at: "1:5")
        assertError("apply opt w with g", "expected 'to' after 'apply …'", at: "1:11")
        assertError("apply opt to w g", "expected 'with' and the gradients after the variables of 'apply', as in 'apply opt to w, b with gw, gb'", at: "1:16")
        assertError("apply opt to 2 * w with g", "expected a name after 'to'", at: "1:14")
        assertError("apply opt to w with", "expected an expression after 'with'", at: "1:20")
        assertError("apply = 3", "expected an expression after 'apply'", at: "1:7")
        assertError("x = apply", "'apply' is a keyword and cannot be used as a name", at: "1:5")
    }
}
