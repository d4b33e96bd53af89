import XCTest
import TapeSyntax

/// Comparisons, `%` and `//`, compound and element assignment, `if`, `while`, `print`, `tape t` (spec §3, §4, §5, §7).
final class ControlFlowSyntaxTests: XCTestCase {
    func testComparisonsBindLoosestAndDoNotChain() {
        XCTAssertEqual(parsed("x + 1 == 2"), "(== (+ x 1) 2)")
        XCTAssertEqual(parsed("a != b"), "(!= a b)")
        XCTAssertEqual(parsed("a <= b * 2"), "(<= a (* b 2))")
        XCTAssertEqual(parsed("y = a >= -1"), "(= y (>= a (- 1)))")
        XCTAssertEqual(parsed("(x < 0)"), "(< x 0)")
        XCTAssertEqual(parsed("where(x > 0, log(x), x)"), "(where (> x 0) (log x) x)")
        XCTAssertEqual(parsed("x[x < 0]"), "(index x (< x 0))")
        XCTAssertEqual(parsed("[x > 1, x <= 2]"), "[(> x 1) (<= x 2)]")
        assertError("(a < b < c)", "comparisons do not chain: '<' then '<'; compare twice and multiply, as in (a < b) * (b < c)",
                    at: "1:8")
        assertError("a == b == c", "comparisons do not chain: '==' then '=='; compare twice and multiply, as in (a < b) * (b < c)",
                    at: "1:8")
    }

    func testLessAndGreaterOutsideBracketsAreBlocksNotComparisons() {
        assertError("x > 0", "unexpected '>': `<` and `>` compare only inside parentheses or brackets, as in (a > b); `<=`, `>=`, `==` and `!=` compare anywhere", at: "1:3")
        assertError("x < 0", "unexpected '<': `<` and `>` compare only inside parentheses or brackets, as in (a < b); `<=`, `>=`, `==` and `!=` compare anywhere", at: "1:3")
    }

    func testModuloAndFloorDivideAreMultiplicative() {
        XCTAssertEqual(parsed("a % b * c"), "(* (% a b) c)")
        XCTAssertEqual(parsed("a + b // c"), "(+ a (// b c))")
        XCTAssertEqual(parsed("-a % 2^3"), "(% (- a) (^ 2 3))")
    }

    func testCompoundAndElementAssignment() {
        XCTAssertEqual(parsed("x *= 2"), "(*= x 2)")
        XCTAssertEqual(parsed("x /= y + 1"), "(/= x (+ y 1))")
        XCTAssertEqual(parsed("x[0] = 5"), "(= (index x 0) 5)")
        XCTAssertEqual(parsed("x[1:3] = e"), "(= (index x (: 1 3)) e)")
        XCTAssertEqual(parsed("x[[0, 2]] = e"), "(= (index x [0 2]) e)")
        XCTAssertEqual(parsed("x[x < 0] = 0"), "(= (index x (< x 0)) 0)")
        XCTAssertEqual(parsed("x[i, 1] += e"), "(+= (index x i 1) e)")
        assertError("x[0][1] = 2", "only a name or a subscript of a name can be assigned to (use 'name = …', 'x[i] = …' or 'f(x) = …')", at: "1:1")
        assertError("f(x) += 1", "only a name or a subscript of a name can be assigned to (use 'name = …', 'x[i] = …' or 'f(x) = …')", at: "1:1")
    }

    func testConditionals() {
        XCTAssertEqual(parsed("if (x > 0) < y = 1 >"), "(if (> x 0) < (= y 1) >)")
        XCTAssertEqual(parsed("if x == 0 < y = 1 > elif x >= 2 < y = 2 > else < y = 3 >"),
                       "(if (== x 0) < (= y 1) > elif (>= x 2) < (= y 2) > else < (= y 3) >)")
        XCTAssertEqual(parsed("if c <\n  y = 1\n> else <\n  y = 2\n>"), "(if c < (= y 1) > else < (= y 2) >)")
        assertError("else < y = 1 >", "'else' must follow the closing '>' of an 'if' block, on the same line", at: "1:1")
        assertError("if c < y = 1 >\nelif d < y = 2 >", "'elif' must follow the closing '>' of an 'if' block, on the same line", at: "2:1")
        assertError("if x", "expected '<' to open the block of 'if'", at: "1:5", incomplete: true)
        assertError("if c < y = 1 > else", "expected '<' to open the block of 'else'", at: "1:20", incomplete: true)
    }

    func testWhileAndPrint() {
        XCTAssertEqual(parsed("while (i < 10) < i += 1 >"), "(while (< i 10) < (+= i 1) >)")
        XCTAssertEqual(parsed("print i, loss"), "(print i loss)")
        XCTAssertEqual(parsed("print \"step\", i;"), "(print \"step\" i);")
        XCTAssertEqual(parsed("repeat 3 as i < if (i % 2 == 0) < print i > >"),
                       "(repeat 3 as i < (if (== (% i 2) 0) < (print i) >) >)")
        assertError("print", "expected an expression after 'print'", at: "1:6")
        assertError("while < >", "expected an expression after 'while'", at: "1:7")
    }

    func testScopedTapeStatements() {
        XCTAssertEqual(parsed("tape"), "(tape)")
        XCTAssertEqual(parsed("tape t"), "(tape t)")
        XCTAssertEqual(parsed("tape reset"), "(tape-reset)")
        XCTAssertEqual(parsed("tape reset t"), "(tape-reset t)")
    }

    func testNewKeywordsAreNotNames() {
        assertError("if = 1", "expected an expression after 'if'", at: "1:4")
        assertError("print = 2", "expected an expression after 'print'", at: "1:7")
        assertError("x = while", "'while' is a keyword and cannot be used as a name", at: "1:5")
    }
}
