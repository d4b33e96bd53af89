import XCTest
import Rendering

final class DiagnosticRendererTests: XCTestCase {
    func testCaretInTheMiddleWithNote() {
        XCTAssertEqual(renderDiagnostic(message: "cannot broadcast [2, 3] with [4]", sourceLine: "y = a + b",
                                        line: 1, column: 7, note: "shapes must match or be 1"), """
            error: cannot broadcast [2, 3] with [4]
             --> 1:7
              │
            1 │ y = a + b
              │       ^
              = note: shapes must match or be 1
            """)
    }

    func testCaretAtColumnOne() {
        XCTAssertEqual(renderDiagnostic(message: "unknown name 'q'", sourceLine: "q + 1", line: 1, column: 1), """
            error: unknown name 'q'
             --> 1:1
              │
            1 │ q + 1
              │ ^
            """)
    }

    func testCaretAtEndAndPastTheEnd() {
        XCTAssertEqual(renderDiagnostic(message: "expected an expression", sourceLine: "y = x +", line: 2, column: 7), """
            error: expected an expression
             --> 2:7
              │
            2 │ y = x +
              │       ^
            """)
        XCTAssertEqual(renderDiagnostic(message: "unexpected end of input", sourceLine: "y = (a", line: 3, column: 7), """
            error: unexpected end of input
             --> 3:7
              │
            3 │ y = (a
              │       ^
            """)
    }

    func testSpanLongerThanOneWithFileAndWideLineNumber() {
        XCTAssertEqual(renderDiagnostic(message: "unknown function 'sinn'", sourceLine: "y = sinn(x)",
                                        line: 12, column: 5, length: 4, file: "intro.tape"), """
            error: unknown function 'sinn'
              --> intro.tape:12:5
               │
            12 │ y = sinn(x)
               │     ^^^^
            """)
    }

    func testColumnsCountCharactersAndWideCharactersAndTabs() {
        // `∂` is one column; `日本` two each; a tab goes to the next multiple of four.
        XCTAssertEqual(renderDiagnostic(message: "m", sourceLine: "∂y = 1 +", line: 1, column: 6), """
            error: m
             --> 1:6
              │
            1 │ ∂y = 1 +
              │      ^
            """)
        XCTAssertEqual(renderDiagnostic(message: "bad", sourceLine: "\tx = 日本 + b", line: 1, column: 6, length: 2), """
            error: bad
             --> 1:6
              │
            1 │     x = 日本 + b
              │         ^^^^
            """)
    }

    /// A lone carriage return or a line separator inside a line is a column of it, shown as a space.
    func testControlCharactersAndLineSeparatorsAreSpaces() {
        XCTAssertEqual(renderDiagnostic(message: "unknown name 'foo'", sourceLine: "x = 1\r+\u{2028}foo", line: 1, column: 9, length: 3), """
            error: unknown name 'foo'
             --> 1:9
              │
            1 │ x = 1 + foo
              │         ^^^
            """)
    }

    /// A line wider than 120 columns is cut to a window of 120 around the caret (a 600 KB generated line
    /// printed whole, with a caret line as long).
    func testALongLineIsCutAroundTheCaret() {
        let line = String(repeating: "x", count: 100) + "bad" + String(repeating: "y", count: 100)
        let shown = "…" + String(repeating: "x", count: 30) + "bad" + String(repeating: "y", count: 87) + "…"
        XCTAssertEqual(renderDiagnostic(message: "unknown name 'bad'", sourceLine: line, line: 1, column: 101, length: 3), """
            error: unknown name 'bad'
             --> 1:101
              │
            1 │ \(shown)
              │ \(String(repeating: " ", count: 31))^^^
            """)
        // At the start of the line there is nothing cut before it.
        let early = renderDiagnostic(message: "m", sourceLine: "bad" + String(repeating: "y", count: 200), line: 1, column: 1, length: 3)
        XCTAssertTrue(early.contains("1 │ bad" + String(repeating: "y", count: 117) + "…\n  │ ^^^"), early)
    }

    func testColorOnlyWhenAsked() {
        let plain = renderDiagnostic(message: "m", sourceLine: "ab", line: 1, column: 1)
        XCTAssertFalse(plain.contains("\u{1B}"))
        let colored = renderDiagnostic(message: "m", sourceLine: "ab", line: 1, column: 1, color: true)
        XCTAssertTrue(colored.hasPrefix("\u{1B}[1;31merror:\u{1B}[0m \u{1B}[1mm\u{1B}[0m\n"))
        XCTAssertTrue(colored.hasSuffix("\u{1B}[1;31m^\u{1B}[0m"))
    }
}
