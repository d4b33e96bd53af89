import XCTest
import TapeSyntax

final class ErrorTests: XCTestCase {
    func testMissingOperand() {
        assertError("x = 1 +", "expected an expression after '+'", at: "1:8")
        assertError("x = 1 +\ny = 2", "expected an expression after '+'", at: "1:8")
        // Something missing at the end of the input is reported just after the last token, not after
        // trailing spaces or on the line after the last line break.
        assertError("y = 2 * ", "expected an expression after '*'", at: "1:8")
        assertError("x = ", "expected an expression after '='", at: "1:4")
        assertError("x = 1\nwith stop <\n y = 2\n", "expected '>' to close '<' at 2:11", at: "3:7", incomplete: true)
        assertError("2 ^", "expected an expression after '^'", at: "1:4")
        assertError("f(1, )", "expected an expression after ','", at: "1:6")
    }

    func testAParameterNamedTwice() {
        assertError("f(x, x) = x", "parameter 'x' is named twice", at: "1:6")
        assertError("custom g(a, b, a) = a grad(dy) = dy, dy, dy", "parameter 'a' is named twice", at: "1:16")
    }

    func testUnclosedBrackets() {
        assertError("x = [1, 2", "expected ']' to close '[' at 1:5", at: "1:10", incomplete: true)
        assertError("x = [1 2]", "expected ']' to close '[' at 1:5", at: "1:8")
        assertError("f(1, 2]", "expected ')' to close '(' at 1:2", at: "1:7")
        assertError("(1 + 2", "expected ')' to close '(' at 1:1", at: "1:7", incomplete: true)
        assertError("a[1, 2", "expected ']' to close '[' at 1:2", at: "1:7", incomplete: true)
        assertError("repeat 3 < x = 1", "expected '>' to close '<' at 1:10", at: "1:17", incomplete: true)
    }

    func testGradientMistakes() {
        assertError("grad y x", "expected 'wrt' after the expression to differentiate in 'grad'", at: "1:8")
        assertError("grad y wrt", "expected a name after 'wrt'", at: "1:11")
        assertError("grad y wrt 2", "expected a name after 'wrt'", at: "1:12")
        assertError("jacobian y wrt x seed s", "'seed' cannot be used with 'jacobian'", at: "1:18")
        assertError("grad y wrt x using t using u", "'using' is given twice", at: "1:22")
        assertError("grad y wrt x unconnected none", "expected 'zero' after 'unconnected'", at: "1:26")
        assertError("jvp y wrt x", "expected 'along' and a direction after the sources of 'jvp'", at: "1:12")
        assertError("explain y wrt x", "expected 'grad' after 'explain'", at: "1:9")
    }

    func testStrayTokens() {
        assertError(">", SyntaxMessage.unexpected("'>'"), at: "1:1")
        assertError("x = 1 >", SyntaxMessage.unexpected("'>'"), at: "1:7")
        XCTAssertEqual(SyntaxMessage.unexpected("'>'"),
                       "unexpected '>': `<` and `>` compare only inside parentheses or brackets, as in (a > b); `<=`, `>=`, `==` and `!=` compare anywhere")
        assertError("x = 1 2", "unexpected '2'", at: "1:7")
        assertError(")", "unexpected ')'", at: "1:1")
        assertError("x = )", "expected an expression after '='", at: "1:5")
        assertError("x.foo", "there are no attributes: only '.T' (the transpose) follows a value", at: "1:3")
    }

    func testBadCharacters() {
        assertError("x = 1 $ 2", "unexpected character '$'", at: "1:7")
        assertError("y = x ! 2", "unexpected character '!'", at: "1:7")
        assertError("\n  x = \"abc", "unterminated string: expected '\"' before the end of the line", at: "2:7")
        assertError("x = \u{7}", "unexpected character U+7", at: "1:5")
        assertError("x = \u{200B}1", "unexpected character U+200B", at: "1:5")
    }

    func testEveryKeywordIsLexedAsOne() {
        for keyword in Keyword.allCases {
            XCTAssertEqual(Keyword.named(keyword.rawValue), keyword)
        }
        XCTAssertNil(Keyword.named("watches"))
        XCTAssertNil(Keyword.named("Watch"))
        for word in ["", "x", "a", "an", "applied", "grads", "Grad", "θ", "_", "rep", "whiles", "i", "ifs"] {
            XCTAssertNil(Keyword.named(word), word)
        }
    }

    func testKeywordsAsNames() {
        assertError("in = 3", "'in' is a keyword and cannot be used as a name", at: "1:1")
        assertError("x = wrt + 1", "'wrt' is a keyword and cannot be used as a name", at: "1:5")
        assertError("watch to", "'to' is a keyword and cannot be used as a name", at: "1:7")
        assertError("var = 3", "expected a name after 'var'", at: "1:5")
        assertError("f(x, seed) = x", "'seed' is a keyword and cannot be used as a name", at: "1:6")
    }

    func testStatementMistakes() {
        assertError("f(x + 1) = x", "expected a parameter name: a function definition takes names, as in 'f(x, y) = …'", at: "1:3")
        assertError("x + 1 = 2", "only a name or a subscript of a name can be assigned to (use 'name = …', 'x[i] = …' or 'f(x) = …')", at: "1:1")
        assertError("a, 2 = f(x)", "only names can be assigned to, as in 'a, b = …'", at: "1:4")
        assertError("f(axis=0, x)", "a positional argument cannot follow a keyword argument", at: "1:11")
        assertError("with x < >", "expected 'stop' or 'tape' after 'with'", at: "1:6")
        assertError("save x \"f.npy\"", "expected 'to' after 'save …'", at: "1:8")
        assertError("save x to f", "expected a file name in double quotes after 'to'", at: "1:11")
        assertError("repeat 3 x = 1", "expected '<' to open the block of 'repeat'", at: "1:10")
        assertError("plot x over x in 0 1", "expected '..' between the bounds of the plot range, as in 'over x in -1..1'", at: "1:20")
        assertError("custom f(x) = x\ny = 1", "expected 'grad(dy) = …' after the body of custom function 'f'", at: "2:1")
        assertError(":", "expected a command name after ':'", at: "1:2")
        assertError(": 42", "expected a command name after ':'", at: "1:2")
        assertError("a[0](x)", "only a function name can be called", at: "1:5")
        assertError("a[]", "expected an index or a slice", at: "1:3")
    }

    func testIncompleteInput() {
        XCTAssertFalse(Parser.isComplete("f(1,"))
        XCTAssertFalse(Parser.isComplete("with stop <"))
        XCTAssertFalse(Parser.isComplete("with stop"))
        XCTAssertFalse(Parser.isComplete("with tape t persistent"))
        XCTAssertFalse(Parser.isComplete("repeat 3 < x = 1"))
        XCTAssertFalse(Parser.isComplete("repeat 3 as i"))
        XCTAssertFalse(Parser.isComplete("x = [1, 2,\n 3"))
        XCTAssertFalse(Parser.isComplete("f(x) = <\n a = x"))
        XCTAssertFalse(Parser.isComplete("custom f(x) = x^2"))
        XCTAssertFalse(Parser.isComplete("repeat 3 < x = 1 +"), "the end inside an open block")
        XCTAssertFalse(Parser.isComplete("x = 1\nwith stop <"))
        // An operator at the end of a line does not continue the statement (spec §2: only
        // open brackets and blocks do), so the REPL reports the error at once.
        XCTAssertTrue(Parser.isComplete("1 +"))
        XCTAssertTrue(Parser.isComplete("x ="))
        XCTAssertTrue(Parser.isComplete("x = \"abc"))
        XCTAssertTrue(Parser.isComplete("x = 1 )"))
        XCTAssertTrue(Parser.isComplete("with stop < x = 1 >"))
        XCTAssertTrue(Parser.isComplete(""))
        XCTAssertTrue(Parser.isComplete("f(1,\n2)"))
        XCTAssertEqual(syntaxError("with stop <")?.message, "expected '>' to close '<' at 1:11")
        XCTAssertEqual(syntaxError("with stop")?.message, "expected '<' to open the block of 'with stop'")
        XCTAssertEqual(syntaxError("f(1,")?.isIncomplete, true)
    }

    func testDeepNestingIsAnErrorNotACrash() {
        let nested = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        assertError(nested, "expression is nested too deeply (more than 256 levels)", at: "1:257")
        assertError(String(repeating: "[", count: 100_000), "expression is nested too deeply (more than 256 levels)", at: "1:257")
        assertError(String(repeating: "-", count: 100_000) + "x", "expression is nested too deeply (more than 256 levels)", at: "1:257")
        assertError(String(repeating: "2^", count: 100_000) + "2", "expression is nested too deeply (more than 256 levels)", at: "1:514")
        assertError(String(repeating: "grad ", count: 100_000) + "y", "expression is nested too deeply (more than 256 levels)", at: "1:1281")
        assertError(String(repeating: "f(x) = <", count: 100_000), "expression is nested too deeply (more than 256 levels)", at: "1:2050")
        assertError(String(repeating: "with stop <", count: 100_000), "expression is nested too deeply (more than 256 levels)", at: "1:2827")
        XCTAssertEqual(parsed(String(repeating: "(", count: 200) + "1" + String(repeating: ")", count: 200)), "1")
    }

    /// A chain of operators is a tree as tall as it is long, evaluated by recursion: 7,000 terms overflowed
    /// the stack. Nesting and chains count together.
    func testLongChainsAreAnErrorNotACrash() {
        let tooLong = "expression is too long: more than 512 operations inside one another; split it into several statements"
        assertError("1" + String(repeating: "+1", count: 100_000), tooLong, at: "1:1026")
        assertError("1" + String(repeating: "*1", count: 600), tooLong, at: "1:1026")
        assertError("x" + String(repeating: ".T", count: 600), tooLong, at: "1:1026")
        assertError("x" + String(repeating: "[0]", count: 600), tooLong, at: "1:1535")
        assertError(String(repeating: "(", count: 200) + "1" + String(repeating: "*1", count: 400), tooLong, at: "1:826")
        XCTAssertTrue(parsed("1" + String(repeating: "+1", count: 500)).hasPrefix("(+ (+ "))
    }

    func testGarbageNeverCrashes() {
        var generator = SplitMix(seed: 42)
        let alphabet = Array("()[]<>+-*/^@=,;:.\"#\\ \n\tθx1e_graddwrt$!~\u{0}\u{7F}é🙂\r\n")
        for _ in 0..<500 {
            let length = Int(generator.next() % 60)
            let source = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            var parser = Parser(source: source)
            var steps = 0
            while steps < 200 {
                steps += 1
                do {
                    guard try parser.nextStatement() != nil else { break }
                } catch {
                    parser.skipToNextLine()
                }
            }
            XCTAssertLessThan(steps, 200, "parser must make progress on \(source.debugDescription)")
            _ = Parser.isComplete(source)
        }
        for bytes in [[0xFF, 0xFE, 0x00, 0x28], [0xC3, 0x28, 0x5B], [0x80, 0x3C, 0x0A, 0x3E]] as [[UInt8]] {
            let source = String(decoding: bytes, as: UTF8.self)
            _ = try? Parser.parseAll(source)
            _ = Parser.isComplete(source)
        }
    }
}

/// A small deterministic generator so the garbage test is reproducible.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class StackTests: XCTestCase {
    /// The deepest accepted nesting fits in an 8 MiB stack (the main thread's) even in a debug
    /// build, so a runner that parses off the main thread needs a thread with that stack size.
    func testDeepestNestingFitsASecondaryThreadStack() {
        let finished = expectation(description: "parsed")
        let thread = Thread {
            for source in [
                String(repeating: "(", count: 256) + "1" + String(repeating: ")", count: 256),
                String(repeating: "[", count: 256) + String(repeating: "]", count: 256),
                String(repeating: "f(", count: 256) + "1" + String(repeating: ")", count: 256),
                String(repeating: "grad ", count: 256) + "y" + String(repeating: " wrt x", count: 256),
                String(repeating: "(", count: 100_000),
                String(repeating: "with stop <", count: 100_000),
            ] {
                _ = try? Parser.parseAll(source)
            }
            finished.fulfill()
        }
        thread.stackSize = 8 * 1024 * 1024
        thread.start()
        wait(for: [finished], timeout: 30)
    }
}
