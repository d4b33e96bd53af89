import XCTest
import TapeSyntax

final class StatementTests: XCTestCase {
    func testAssignments() {
        XCTAssertEqual(parsed("x = [1, 2, 3]"), "(= x [1 2 3])")
        XCTAssertEqual(parsed("a, b = f(x)"), "(= (a b) (f x))")
        XCTAssertEqual(parsed("var w = randn([2, 3])"), "(var w (randn [2 3]))")
        XCTAssertEqual(parsed("w -= 0.1 * g"), "(-= w (* 0.1 g))")
        XCTAssertEqual(parsed("w += g"), "(+= w g)")
    }

    func testFunctionDefinitions() {
        XCTAssertEqual(parsed("f(x, y) = x * y"), "(def f (x y) (* x y))")
        XCTAssertEqual(parsed("f() = 1"), "(def f () 1)")
        XCTAssertEqual(parsed("f(x) = < a = x^2; a + 1 >"), "(def f (x) < (= a (^ x 2)); (+ a 1) >)")
        XCTAssertEqual(parsed("f(x) = <\n  a = x^2\n  a + 1\n>"), "(def f (x) < (= a (^ x 2)) (+ a 1) >)")
        XCTAssertEqual(parsed("f(x) = x, 2 * x"), "(def f (x) x (* 2 x))")
    }

    func testCustomGradients() {
        XCTAssertEqual(parsed("custom f(x) = x^2 grad(dy) = 2 * x * dy"),
                       "(custom f (x) (^ x 2) grad (dy) (* (* 2 x) dy))")
        XCTAssertEqual(parsed("custom f(a, b) = a*b grad(dy) = dy * b, dy * a"),
                       "(custom f (a b) (* a b) grad (dy) (* dy b) (* dy a))")
        XCTAssertEqual(parsed("custom f(x) = < y = exp(x); y > grad(g) = < g * exp(x) >"),
                       "(custom f (x) < (= y (exp x)); y > grad (g) < (* g (exp x)) >)")
        XCTAssertEqual(parsed("custom f(x) = x\n  grad(dy) = dy"), "(custom f (x) x grad (dy) dy)")
        XCTAssertEqual(parsed("custom f(a, b) = a*b grad(dy) = < da = dy * b; da, dy * a >"),
                       "(custom f (a b) (* a b) grad (dy) < (= da (* dy b)); (list da (* dy a)) >)")
    }

    func testWatch() {
        XCTAssertEqual(parsed("watch x"), "(watch x)")
        XCTAssertEqual(parsed("watch x, y"), "(watch x y)")
        XCTAssertEqual(parsed("watch x on t"), "(watch x on t)")
    }

    func testWithBlocks() {
        XCTAssertEqual(parsed("with stop < z = 2 * x >"), "(with-stop < (= z (* 2 x)) >)")
        XCTAssertEqual(parsed("with stop t < z = 2 * x >"), "(with-stop t < (= z (* 2 x)) >)")
        XCTAssertEqual(parsed("with tape t < y = x^2 >"), "(with-tape t < (= y (^ x 2)) >)")
        XCTAssertEqual(parsed("with tape t persistent < y >"), "(with-tape t persistent < y >)")
        XCTAssertEqual(parsed("with tape t nowatch persistent < y >"), "(with-tape t persistent nowatch < y >)")
        XCTAssertEqual(parsed("with tape outer <\n  with tape inner <\n    y = x^3\n  >\n  g = grad y wrt x using inner\n>"),
                       "(with-tape outer < (with-tape inner < (= y (^ x 3)) >) (= g (grad y wrt x using inner)) >)")
        XCTAssertEqual(parsed("with stop\n< z = 1 >"), "(with-stop < (= z 1) >)")
        XCTAssertEqual(parsed("with stop <>"), "(with-stop < >)")
    }

    func testTape() {
        XCTAssertEqual(parsed("tape"), "(tape)")
        XCTAssertEqual(parsed("tape reset"), "(tape-reset)")
    }

    func testRepeat() {
        XCTAssertEqual(parsed("repeat 100 < w -= 0.1 * grad loss wrt w >"), "(repeat 100 < (-= w (* 0.1 (grad loss wrt w))) >)")
        XCTAssertEqual(parsed("repeat 3 as i < x = i >"), "(repeat 3 as i < (= x i) >)")
        XCTAssertEqual(parsed("repeat 3 show loss < loss = f(w) >"), "(repeat 3 show loss < (= loss (f w)) >)")
        XCTAssertEqual(parsed("repeat n * 2 as i show loss < >"), "(repeat (* n 2) as i show loss < >)")
        XCTAssertEqual(parsed("repeat 2 show loss as i < >"), "(repeat 2 as i show loss < >)")
    }

    func testLookingInside() {
        XCTAssertEqual(parsed("save x to \"x.npy\""), "(save x \"x.npy\")")
        XCTAssertEqual(parsed("save x * 2 to \"x.npy\""), "(save (* x 2) \"x.npy\")")
        XCTAssertEqual(parsed("explain grad y wrt x"), "(explain (grad y wrt x))")
        XCTAssertEqual(parsed("explain grad y wrt x, z using t"), "(explain (grad y wrt x,z using t))")
        XCTAssertEqual(parsed("graph y"), "(graph y)")
        XCTAssertEqual(parsed("graph y to \"g.dot\""), "(graph y \"g.dot\")")
        XCTAssertEqual(parsed("check grad sum(x^2) wrt x"), "(check (grad (sum (^ x 2)) wrt x))")
        XCTAssertEqual(parsed("plot f(x), g(x) over x in -1..1"), "(plot ((f x) (g x)) x (- 1) 1)")
        XCTAssertEqual(parsed("plot tanh(x) over x in -3..3 and grad"), "(plot ((tanh x)) x (- 3) 3 and-grad)")
    }

    func testMetaCommands() {
        XCTAssertEqual(parsed(":help grad"), "(:help \"grad\")")
        XCTAssertEqual(parsed(":vars"), "(:vars \"\")")
        XCTAssertEqual(parsed(":save \"f.tape\" without custom  "), "(:save \"\\\"f.tape\\\" without custom\")")
        XCTAssertEqual(parsed(":time y = x^2; z\nw"), "(:time \"y = x^2; z\")\nw")
        XCTAssertEqual(parsed("x = 1; :quit"), "(= x 1);\n(:quit \"\")")
        XCTAssertEqual(parsed("  :set precision 4"), "(:set \"precision 4\")")
        // The argument's column, for `:time` to point into its statement.
        var parser = Parser(source: "x = 1\n  : time \t y = 2 ")
        _ = try? parser.nextStatement()
        guard case .meta(_, let argument, let column)? = (try? parser.nextStatement())??.kind else { return XCTFail("no meta command") }
        XCTAssertEqual(argument, "y = 2")
        XCTAssertEqual(column, 12)
        // A parser started inside a line numbers its columns from there.
        var inner = Parser(source: "y = (", firstLine: 3, firstColumn: 7)
        XCTAssertThrowsError(try inner.nextStatement()) { error in
            XCTAssertEqual((error as? SyntaxError)?.span.start.line, 3)
            XCTAssertEqual((error as? SyntaxError)?.span.start.column, 12)
        }
    }

    func testSeparatorsSilencingAndComments() {
        XCTAssertEqual(parsed("x = 1; y = 2"), "(= x 1);\n(= y 2)")
        XCTAssertEqual(parsed("x = 1;"), "(= x 1);")
        XCTAssertEqual(parsed(";;\n\n;x;;y\n"), "x;\ny")
        XCTAssertEqual(parsed("# narration\nx = 1 # why\n#> x = 1\n"), "(= x 1)")
        XCTAssertEqual(parsed(""), "")
        XCTAssertEqual(parsed("x, 2 * x"), "(list x (* 2 x))")
        XCTAssertEqual(parsed("repeat 2 < a = 1; b = 2; >"), "(repeat 2 < (= a 1); (= b 2); >)")
    }

    /// Only "\n" and "\r\n" end lines (as files are split into lines); a lone "\r", VT, FF, U+0085,
    /// U+2028 and U+2029 are spaces. They ended statements while line numbers counted only "\n".
    func testOnlyLineFeedsEndLines() {
        XCTAssertEqual(parsed("x = 1\r+ 2\r\ny = 3"), "(= x (+ 1 2))\n(= y 3)")
        XCTAssertEqual(parsed("x =\u{0B}1\u{0C}+\u{85}2\u{2028}+\u{2029}3"), "(= x (+ (+ 1 2) 3))")
        var parser = Parser(source: "x = 1\u{2028}\ny = foo")
        _ = try? parser.nextStatement()
        XCTAssertEqual((try? parser.nextStatement())??.span.start.line, 2)
    }

    func testNewlinesInsideBracketsAreSpaces() {
        XCTAssertEqual(parsed("x = [1,\n     2,\n 3]"), "(= x [1 2 3])")
        XCTAssertEqual(parsed("y = f(a,\n  # comment\n  b)"), "(= y (f a b))")
        XCTAssertEqual(parsed("z = (1\n+ 2)"), "(= z (+ 1 2))")
    }

    func testStatementSpans() throws {
        let statements = try Parser.parseAll("x = 1;  y = 2\n\nwith stop <\n  z = 3\n>")
        XCTAssertEqual(statements.map(\.span.start.description), ["1:1", "1:9", "3:1"])
        XCTAssertEqual(statements[0].span.end.column, 6, "the ';' is not part of the span")
        XCTAssertEqual(statements[2].span.end.description, "5:2")
        guard case .withStop(_, let body) = statements[2].kind else { return XCTFail("shape") }
        XCTAssertEqual(body[0].span.start.description, "4:3")
    }

    func testOneStatementAtATime() throws {
        var parser = Parser(source: "x = 1\ny = 2\nz = )\nw = 4")
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= x 1)")
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= y 2)")
        XCTAssertThrowsError(try parser.nextStatement())
        parser.skipToNextLine()
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= w 4)")
        XCTAssertNil(try parser.nextStatement())
        XCTAssertNil(try parser.nextStatement())
    }

    func testSynchronizationSkipsTheWholeBlock() throws {
        var parser = Parser(source: "with stop <\n  a = 1 +\n  b = 2\n>\nc = 3")
        XCTAssertThrowsError(try parser.nextStatement()) { error in
            XCTAssertEqual((error as? SyntaxError)?.span.start.description, "2:10")
        }
        // nextStatement synchronizes by itself when skipToNextLine was not called.
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= c 3)")
    }

    func testSynchronizationAfterLexerError() throws {
        var parser = Parser(source: "x = $ + \"unterminated (\ny = 2")
        XCTAssertThrowsError(try parser.nextStatement())
        parser.skipToNextLine()
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= y 2)")
    }

    /// Brackets that never balance (a `<` that compares outside parentheses, a `(` left open) cannot say
    /// where the statement ends: the parser goes on at the line after the fault, not at the end of the input.
    func testSynchronizationAfterBracketsThatNeverBalance() throws {
        var parser = Parser(source: "y = 3 < 2\nx = 1\nwhile x < 3 < x = x + 1 >\nz = 2\nw = (2 +\nv = 5\nu = 6")
        XCTAssertThrowsError(try parser.nextStatement())
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= x 1)")
        XCTAssertThrowsError(try parser.nextStatement())
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= z 2)")
        XCTAssertThrowsError(try parser.nextStatement()) { error in
            XCTAssertEqual((error as? SyntaxError)?.span.start.description, "6:3", "the open ( joins the next line")
        }
        XCTAssertEqual(try parser.nextStatement()?.sExpression, "(= u 6)")
        XCTAssertNil(try parser.nextStatement())
    }
}
