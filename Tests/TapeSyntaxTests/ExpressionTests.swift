import XCTest
import TapeSyntax

final class ExpressionTests: XCTestCase {
    func testAtoms() {
        XCTAssertEqual(parsed("3"), "3")
        XCTAssertEqual(parsed("3.25"), "3.25")
        XCTAssertEqual(parsed(".5"), "0.5")
        XCTAssertEqual(parsed("1e-3"), "0.001")
        XCTAssertEqual(parsed("2.5E+4"), "25000")
        // A point before an exponent, as Python writes it; a point before any other letter is a transpose.
        XCTAssertEqual(parsed("1.e3"), "1000")
        XCTAssertEqual(parsed("2.E-2"), "0.02")
        XCTAssertEqual(parsed("2.T"), "(T 2)")
        XCTAssertEqual(parsed("3."), "3")
        XCTAssertEqual(parsed("x_1"), "x_1")
        XCTAssertEqual(parsed("θ + _b2"), "(+ θ _b2)")
        XCTAssertEqual(parsed("\"a\\\"b\\\\c\""), "\"a\\\"b\\\\c\"")
        XCTAssertEqual(parsed("(x)"), "x")
    }

    func testPrecedence() {
        XCTAssertEqual(parsed("-x^2"), "(- (^ x 2))")
        XCTAssertEqual(parsed("2^-1"), "(^ 2 (- 1))")
        XCTAssertEqual(parsed("a-b-c"), "(- (- a b) c)")
        XCTAssertEqual(parsed("2^3^2"), "(^ 2 (^ 3 2))")
        XCTAssertEqual(parsed("2**3**2"), "(^ 2 (^ 3 2))")
        XCTAssertEqual(parsed("a@b*c"), "(* (@ a b) c)")
        XCTAssertEqual(parsed("a+b*c"), "(+ a (* b c))")
        XCTAssertEqual(parsed("a/b/c"), "(/ (/ a b) c)")
        XCTAssertEqual(parsed("-a*b"), "(* (- a) b)")
        XCTAssertEqual(parsed("--+a"), "(- (- (+ a)))")
        XCTAssertEqual(parsed("(a+b)*c"), "(* (+ a b) c)")
        XCTAssertEqual(parsed("x.T^2"), "(^ (T x) 2)")
        XCTAssertEqual(parsed("-a[0]"), "(- (index a 0))")
    }

    func testCallsAndKeywordArguments() {
        XCTAssertEqual(parsed("f()"), "(f)")
        XCTAssertEqual(parsed("f(a, b)"), "(f a b)")
        XCTAssertEqual(parsed("sum(x, axis=0)"), "(sum x axis=0)")
        XCTAssertEqual(parsed("mean(x, axis=[0, 1], keepdims=1)"), "(mean x axis=[0 1] keepdims=1)")
        XCTAssertEqual(parsed("sin(cos(x))^2"), "(^ (sin (cos x)) 2)")
    }

    func testIndexingAndSlices() {
        XCTAssertEqual(parsed("a[1]"), "(index a 1)")
        XCTAssertEqual(parsed("a[-1]"), "(index a (- 1))")
        XCTAssertEqual(parsed("a[1, 2]"), "(index a 1 2)")
        XCTAssertEqual(parsed("a[1:3]"), "(index a (: 1 3))")
        XCTAssertEqual(parsed("a[:, 0]"), "(index a (: _ _) 0)")
        XCTAssertEqual(parsed("a[::2]"), "(index a (: _ _ 2))")
        XCTAssertEqual(parsed("a[::-1]"), "(index a (: _ _ (- 1)))")
        XCTAssertEqual(parsed("a[1:]"), "(index a (: 1 _))")
        XCTAssertEqual(parsed("a[[0, 0, 2]]"), "(index a [0 0 2])")
        XCTAssertEqual(parsed("a[0][1]"), "(index (index a 0) 1)")
        XCTAssertEqual(parsed("a.T"), "(T a)")
        XCTAssertEqual(parsed("x.T.T"), "(T (T x))")
    }

    func testTensorLiterals() {
        XCTAssertEqual(parsed("[1, 2, 3]"), "[1 2 3]")
        XCTAssertEqual(parsed("[[1, 2], [3, 4]]"), "[[1 2] [3 4]]")
        XCTAssertEqual(parsed("[x, 2*x]"), "[x (* 2 x)]")
        XCTAssertEqual(parsed("[]"), "[]")
        XCTAssertEqual(parsed("[1, 2,]"), "[1 2]")
        XCTAssertEqual(parsed("[[1], [2, 3]]"), "[[1] [2 3]]", "raggedness is the evaluator's business")
    }

    func testRangeDotsAreNotDecimals() {
        XCTAssertEqual(parsed("plot x^2 over x in 1..2"), "(plot ((^ x 2)) x 1 2)")
        XCTAssertEqual(parsed("plot sin(x) over x in -1.5..2.5 and grad"), "(plot ((sin x)) x (- 1.5) 2.5 and-grad)")
    }

    func testGradientExpressions() {
        XCTAssertEqual(parsed("grad y wrt x"), "(grad y wrt x)")
        XCTAssertEqual(parsed("grad sin(x) wrt x"), "(grad (sin x) wrt x)")
        XCTAssertEqual(parsed("grad y wrt x1, x2"), "(grad y wrt x1,x2)")
        XCTAssertEqual(parsed("grad y wrt x seed s unconnected zero using t"),
                       "(grad y wrt x seed s unconnected zero using t)")
        XCTAssertEqual(parsed("grad y wrt x using t unconnected zero"), "(grad y wrt x unconnected zero using t)")
        XCTAssertEqual(parsed("jacobian x^2 wrt x unconnected zero using t"),
                       "(jacobian (^ x 2) wrt x unconnected zero using t)")
        XCTAssertEqual(parsed("batch_jacobian y wrt x using t"), "(batch_jacobian y wrt x using t)")
        XCTAssertEqual(parsed("hessian y wrt x"), "(hessian y wrt x)")
        XCTAssertEqual(parsed("jvp y wrt x along v"), "(jvp y wrt x along v)")
        XCTAssertEqual(parsed("grad y wrt x + 1"), "(+ (grad y wrt x) 1)")
        XCTAssertEqual(parsed("2 * (grad y wrt x)"), "(* 2 (grad y wrt x))")
        XCTAssertEqual(parsed("h = grad (grad y wrt x) wrt x"), "(= h (grad (grad y wrt x) wrt x))")
        XCTAssertEqual(parsed("g = grad grad y wrt x wrt x"), "(= g (grad (grad y wrt x) wrt x))")
        XCTAssertEqual(parsed("a, b = grad y wrt x, z"), "(= (a b) (grad y wrt x,z))")
        XCTAssertEqual(parsed("grad y wrt x, 2"), "(list (grad y wrt x) 2)")
        XCTAssertEqual(parsed("f((grad y wrt x), z)"), "(f (grad y wrt x) z)")
    }

    func testSpans() throws {
        let statements = try Parser.parseAll("x = 1\n  y = a + θθ * b\n")
        XCTAssertEqual(statements.count, 2)
        XCTAssertEqual(statements[1].span.start, SourceLocation(offset: 8, line: 2, column: 3))
        guard case .assignment(let target, let value) = statements[1].kind,
              case .binary(.add, let left, let right) = value.kind,
              case .binary(.multiply, let theta, _) = right.kind else { return XCTFail("shape") }
        XCTAssertEqual(target.span.start.column, 3)
        XCTAssertEqual(left.span.start.column, 7)
        XCTAssertEqual(theta.span.start.column, 11)
        XCTAssertEqual(theta.span.end.column, 13, "columns count Characters")
        XCTAssertEqual(theta.span.end.offset - theta.span.start.offset, 4, "offsets count UTF-8 bytes")
        XCTAssertEqual(value.span.start.column, 7)
        XCTAssertEqual(value.span.end.column, 17)
        XCTAssertEqual(statements[1].span.end.column, 17)
    }

    func testParenthesizedSpanIncludesParentheses() throws {
        let statement = try XCTUnwrap(Parser.parseAll("(a + b) * c").first)
        guard case .expression(let product) = statement.kind, case .binary(_, let sum, _) = product.kind else {
            return XCTFail("shape")
        }
        XCTAssertEqual(sum.span.start.column, 1)
        XCTAssertEqual(sum.span.end.column, 8)
    }

    func testFirstLine() throws {
        var parser = Parser(source: "x\ny", firstLine: 10)
        XCTAssertEqual(try parser.nextStatement()?.span.start.line, 10)
        XCTAssertEqual(try parser.nextStatement()?.span.start.line, 11)
    }
}

/// The expressions directly inside one, in source order: what the walks over the names an expression
/// reads (a branch's None reason, export's replays and function bodies) go through.
final class SubexpressionTests: XCTestCase {
    func children(_ source: String) throws -> [String] {
        guard case .expression(let e)? = try Parser.parseAll(source).first?.kind else { XCTFail("not an expression"); return [] }
        return e.subexpressions.map(\.sExpression)
    }

    func testEachKindListsWhatItHolds() throws {
        XCTAssertEqual(try children("x"), [])
        XCTAssertEqual(try children("-x"), ["x"])
        XCTAssertEqual(try children("a * b"), ["a", "b"])
        XCTAssertEqual(try children("f(a, axis=b)"), ["a", "b"])
        XCTAssertEqual(try children("m[i, 1:n:k, ::2]"), ["m", "i", "1", "n", "k", "2"])
        XCTAssertEqual(try children("[a, b]"), ["a", "b"])
        XCTAssertEqual(try children("(a, b)"), ["a", "b"])
        XCTAssertEqual(try children("grad y * 2 wrt x, z seed s"), ["(* y 2)", "s"])
    }
}
