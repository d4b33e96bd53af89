import XCTest
@testable import TapeLanguage

/// Output reaching a terminal: control characters from a session become visible escapes; tapebook's own
/// colour sequences stay when colour is on.
final class TerminalTextTests: XCTestCase {
    func testControlCharactersBecomeEscapes() {
        XCTAssertEqual(terminalText("a\u{1B}]0;title\u{07}b\rc\u{2028}d\u{9B}2J\te\nf", keepingColors: false),
                       "a\\u{1b}]0;title\\u{7}b\\rc\\u{2028}d\\u{9b}2J\te\nf")
    }

    func testOwnColoursStayOnlyWhenColourIsOn() {
        let red = "\u{1B}[31merror\u{1B}[0m"
        XCTAssertEqual(terminalText(red, keepingColors: true), red)
        XCTAssertEqual(terminalText(red, keepingColors: false), "\\u{1b}[31merror\\u{1b}[0m")
        // Only colour: a sequence that moves the cursor or clears the screen is shown, never sent.
        XCTAssertEqual(terminalText("\u{1B}[2J\u{1B}[1;1H", keepingColors: true), "\\u{1b}[2J\\u{1b}[1;1H")
    }
}
