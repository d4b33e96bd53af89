import XCTest
import Portable

/// The text helpers that stand in for Foundation's: trimming, searching and replacing.
final class TextTests: XCTestCase {
    func testTrimmingWhitespaceKeepsLineBreaks() {
        XCTAssertEqual("  \tx = 1 \u{3000}".trimmingWhitespace(), "x = 1")
        XCTAssertEqual(" \nx\n ".trimmingWhitespace(), "\nx\n")
        XCTAssertEqual("   ".trimmingWhitespace(), "")
        XCTAssertEqual("".trimmingWhitespace(), "")
        XCTAssertEqual("a b".trimmingWhitespace(), "a b")
    }

    func testTrimmingWhitespaceAndNewlines() {
        XCTAssertEqual(" \r\n x \u{2028}\n".trimmingWhitespaceAndNewlines(), "x")
        XCTAssertEqual("\n\n".trimmingWhitespaceAndNewlines(), "")
    }

    func testSubstringsTrimWithinTheirBounds() {
        let text = "[  inner  ]"
        let inner = text.dropFirst().dropLast()
        XCTAssertEqual(inner.trimmingWhitespace(), "inner")
    }

    func testSearchingDoesNotEndInsideACharacter() {
        let s = "say \"e\u{301}\" and \"x\""
        let range = s.rangeOfText("\"")
        XCTAssertEqual(range.map { s.distance(from: s.startIndex, to: $0.lowerBound) }, 4)
        // "e" followed by a combining accent is not a match for "e".
        XCTAssertFalse("e\u{301}".containsText("e"))
        XCTAssertTrue("e\u{301}e".containsText("e"))
        XCTAssertNil("abc".rangeOfText(""))
        XCTAssertNil("abc".rangeOfText("abcd"))
        XCTAssertTrue("abcabd".containsText("abd"))
    }

    func testReplacingEveryOccurrence() {
        XCTAssertEqual("a-b-c".replacingText("-", with: " - "), "a - b - c")
        XCTAssertEqual("aaaa".replacingText("aa", with: "b"), "bb")
        XCTAssertEqual("none".replacingText("x", with: "y"), "none")
        XCTAssertEqual("é-e\u{301}".replacingText("e", with: "E"), "é-e\u{301}")
        XCTAssertEqual("ab".dropFirst().replacingText("b", with: "c"), "c")
    }

    func testSplittingLines() {
        XCTAssertEqual("a\nb\r\n\nc".splitLines(), ["a", "b", "", "c"])
        XCTAssertEqual("a\n".splitLines(), ["a", ""])
        XCTAssertEqual("".splitLines(), [""])
        XCTAssertEqual("\r\n".splitLines(), ["", ""])
        XCTAssertEqual("é\r🙂\n".splitLines(), ["é\r🙂", ""])
        // As split(separator:) gives them for "\n" line ends.
        let text = "x = 1\n\n# note\ny = x\n"
        XCTAssertEqual(text.splitLines(), text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }
}
