import XCTest
import TapeSyntax

/// The lexer reads UTF-8 bytes; these check what it must keep from reading characters: non-ASCII text in
/// comments, strings and names, columns that count characters (grapheme clusters), CR LF as one line break.
final class UnicodeSourceTests: XCTestCase {
    func testNonASCIICommentsAreSkipped() {
        XCTAssertEqual(parsed("# ∂L/∂w → θ │ ──\nx = 1 # × 2 ∑ 🙂\n#> x = 1\ny = x"), "(= x 1)\n(= y x)")
        // The end of the line after a comment is at the column after its last character.
        assertError("x = 1 + # ∂θ→\n", "expected an expression after '+'", at: "1:14")
        assertError("x = 1 + # e\u{301}🙂\r\n", "expected an expression after '+'", at: "1:13")
    }

    /// A comment ends at LF or at the CR of CR LF; a lone CR inside it does not end it, and a comment may be
    /// empty or end the source.
    func testCommentsEndAtTheLineBreak() {
        XCTAssertEqual(parsed("#\nx = 1 #\r\ny = 2 # a\rb = 3\r\nz = 4 # ∂\r"), "(= x 1)\n(= y 2)\n(= z 4)")
        XCTAssertEqual(parsed("x = 1 #"), "(= x 1)")
        assertError("x = 1 + # a\rb\r\n", "expected an expression after '+'", at: "1:14")
        assertError("x = 1 + # ∂\r\r\n", "expected an expression after '+'", at: "1:13")
        assertError("# " + String(repeating: "a\r", count: 2_000) + "\r\nx = 1 +* 2", "expected an expression after '+'", at: "2:8")
    }

    func testNonASCIIStrings() throws {
        let statements = try Parser.parseAll("print(\"θ → ∂ \\\"q\\\" \\\\ é\")")
        XCTAssertEqual(statements.map(\.sExpression), ["(print \"θ → ∂ \\\"q\\\" \\\\ é\")"])
        guard case .print(let items)? = statements.first?.kind, case .string(let text)? = items.first?.kind else {
            return XCTFail("expected print of a string, got \(statements)")
        }
        XCTAssertEqual(text, "θ → ∂ \"q\" \\ é")
        // A quote that a combining mark extends is another character: it does not end the string.
        assertError("s = \"a\"\u{301}\n", "unterminated string: expected '\"' before the end of the line", at: "1:5")
    }

    func testNonASCIINames() {
        XCTAssertEqual(parsed("θ² = 2\nΔw = θ² * 3"), "(= θ² 2)\n(= Δw (* θ² 3))")
        // `e` and a combining acute accent are one character, a letter: a name of one column.
        XCTAssertEqual(parsed("e\u{301} = 1"), "(= e\u{301} 1)")
        assertError("e\u{301} +* 1", "expected an expression after '+'", at: "1:4")
        // An emoji is not a letter.
        assertError("x = 🙂", "unexpected character '🙂'", at: "1:5")
    }

    func testCaretColumnsCountCharactersAfterNonASCIIText() {
        assertError("θ = 1 +* 2", "expected an expression after '+'", at: "1:8")
        assertError("s = \"∂∂∂\" +* 1", "expected an expression after '+'", at: "1:12")
        assertError("x = 1\nθθ = \"🇫🇷👩‍👩‍👧\" +* 1", "expected an expression after '+'", at: "2:12")
        guard let error = syntaxError("αβγ = [1, 2 3]") else { return }
        XCTAssertEqual(error.span.start.offset, "αβγ = [1, 2 ".utf8.count, "offsets count bytes")
        XCTAssertEqual(error.span.start.column, 13)
    }

    /// Symbols, Greek and Latin letters are split into characters by their bytes; a combining mark or a
    /// variation selector after one still joins it, as `String` says.
    func testSymbolsCountOneColumnEachUnlessAMarkJoinsThem() {
        assertError("s = \"→\u{20D7}│\" +* 1", "expected an expression after '+'", at: "1:11")
        assertError("s = \"✅\u{FE0F}×\u{301}·\" +* 1", "expected an expression after '+'", at: "1:12")
        assertError("θ\u{301} +* 1", "expected an expression after '+'", at: "1:4")
        assertError("s = \"\u{AD}é\" +* 1", "expected an expression after '+'", at: "1:11")
        assertError("→", "unexpected character '→'", at: "1:1")
        // Long runs: one column a symbol.
        assertError("# " + String(repeating: "→│", count: 5_000) + "\nx = 1 +* 2", "expected an expression after '+'", at: "2:8")
        assertError("s = \"" + String(repeating: "×", count: 3_000) + "\" +* 1", "expected an expression after '+'", at: "1:3009")
    }

    func testCRLFEndsLinesAsOneBreak() {
        XCTAssertEqual(parsed("x = [1, 2]\r\ny = x\r\n"), "(= x [1 2])\n(= y x)")
        assertError("x = 1\r\ny = x +* 2\r\n", "expected an expression after '+'", at: "2:8")
        assertError("# ∂\r\nθ = 1 +* 2\r\n", "expected an expression after '+'", at: "2:8")
        // A lone CR is a space.
        XCTAssertEqual(parsed("x = 1\r+ 2"), "(= x (+ 1 2))")
    }

    /// Files and standard input are decoded with U+FFFD in place of each invalid byte: the lexer sees a
    /// character that is not a letter, and says so where it is.
    func testAnInvalidUTF8ByteIsAnErrorAtItsColumn() {
        let source = String(decoding: [0x78, 0x20, 0x3D, 0x20, 0xFF, 0x0A, 0x79, 0x20, 0x3D, 0x20, 0x31], as: UTF8.self)
        assertError(source, "unexpected character '\u{FFFD}'", at: "1:5")
        var parser = Parser(source: source)
        XCTAssertThrowsError(try parser.nextStatement())
        XCTAssertEqual((try? parser.nextStatement())??.sExpression, "(= y 1)", "the next line still parses")
        assertError(String(decoding: [0x23, 0xC3, 0x0A, 0x31, 0x20, 0x2B], as: UTF8.self),
                    "expected an expression after '+'", at: "2:4")
    }

    /// Every span's line and column agree with the characters before its offset, whatever the mix of
    /// ASCII, combining marks, flags, emoji sequences, CR LF and comments.
    func testSpansAgreeWithCharacterCounts() {
        var generator = SplitMix(seed: 7)
        let pieces = ["x", " = ", "1", " + ", "(", ")", "[", "]", ", ", "θ", "e\u{301}", "🇫🇷", "👩‍👩‍👧", "\"∂é\"",
                      "# ∂→│\n", "\n", "\r\n", "\r", " ", "\u{A0}", "²", "*", "क्ष", "#\u{301}", "\u{FFFD}",
                      "→", "│─", "×", "\u{20D7}", "\u{FE0F}", "✅", "\u{AD}", "θ\u{301}"]
        for _ in 0..<300 {
            let count = Int(generator.next() % 30)
            let source = (0..<count).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
            let utf8 = Array(source.utf8)
            func check(_ location: SourceLocation, _ what: String) {
                let before = String(decoding: utf8[..<location.offset], as: UTF8.self)
                XCTAssertEqual(before.utf8.count, location.offset, "\(what) inside a character in \(source.debugDescription)")
                let lines = before.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                XCTAssertEqual(location.line, lines.count, "\(what) line in \(source.debugDescription)")
                XCTAssertEqual(location.column, (lines.last?.count ?? 0) + 1, "\(what) column in \(source.debugDescription)")
            }
            var parser = Parser(source: source)
            for _ in 0..<100 {
                do {
                    guard let statement = try parser.nextStatement() else { break }
                    check(statement.span.start, "statement start")
                    check(statement.span.end, "statement end")
                } catch let error as SyntaxError {
                    check(error.span.start, "error start")
                    check(error.span.end, "error end")
                } catch {
                    XCTFail("unexpected \(error)")
                }
            }
        }
    }
}
