import Foundation
import XCTest
import Portable
import Rendering
@testable import TapeLanguage

/// The lessons in `sessions/` are executable documentation: every `#>` line must be what tapebook
/// prints today. These tests replay them in-process with `Checker`, the engine of `tapebook check`.
final class SessionsTests: XCTestCase {
    /// The repository root, found from this file's path (Tests/TapeLanguageTests/SessionsTests.swift).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // TapeLanguageTests
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // root

    static func lessonFiles() throws -> [URL] {
        let directory = repositoryRoot.appendingPathComponent("sessions")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.filter { $0.hasSuffix(".tape") }.sorted().map { directory.appendingPathComponent($0) }
    }

    func testEveryLessonMatchesItsExpectations() throws {
        let files = try Self.lessonFiles()
        XCTAssertGreaterThanOrEqual(files.count, 15, "expected the lessons in sessions/")
        for url in files {
            let text = try String(contentsOf: url, encoding: .utf8)
            let result = Checker.check(SessionFile(text: text), file: url.path)
            XCTAssertGreaterThan(result.checked, 0, "\(url.lastPathComponent): no statements ran")
            if let mismatch = result.firstMismatch {
                XCTFail("\(mismatch)\n(run `tapebook check --update \(url.path)` if the new output is right)")
            }
        }
    }

    func testEveryLessonHasExpectationsAndNarration() throws {
        for url in try Self.lessonFiles() {
            let file = SessionFile(text: try String(contentsOf: url, encoding: .utf8))
            let narration = file.items.filter { if case .narration = $0 { return true } else { return false } }
            XCTAssertFalse(narration.isEmpty, "\(url.lastPathComponent) has no narration")
            XCTAssertTrue(file.cells.contains { !$0.expectations.isEmpty }, "\(url.lastPathComponent) has no #> lines")
        }
    }

    /// `#>` and `# ` are found as `hasPrefix` finds them: by their bytes, then a character break.
    func testExpectationPrefixesAreCharacters() {
        XCTAssertEqual(SessionFile.characterPrefixLength("", "#>"), nil)
        XCTAssertEqual(SessionFile.characterPrefixLength("#", "#>"), nil)
        XCTAssertEqual(SessionFile.characterPrefixLength("#>", "#>"), 2)
        XCTAssertEqual(SessionFile.characterPrefixLength("#> 6", "#>"), 2)
        XCTAssertEqual(SessionFile.characterPrefixLength("#>│", "#>"), 2)
        // A combining mark makes `>` another character: not an expectation, as `hasPrefix` says.
        for line in ["#>\u{301} 6", "#>\u{338}", "#\u{301}> 6", "#>→\u{20D7}"] {
            XCTAssertEqual(SessionFile.characterPrefixLength(line[...], "#>") != nil, line.hasPrefix("#>"), line.debugDescription)
        }
        XCTAssertEqual(SessionFile.expectationText("#> ╰─ error"), "╰─ error")
        XCTAssertEqual(SessionFile.expectationText("#>  two"), " two")
        XCTAssertEqual(SessionFile.expectationText("#>"), "")
        XCTAssertEqual(SessionFile.expectationText("#> \u{301}x"), " \u{301}x")
        let long = "#> " + String(repeating: "│ ", count: 10_000)
        XCTAssertEqual(SessionFile.expectationText(long), String(repeating: "│ ", count: 10_000))
    }

    func testAWrongExpectationIsReported() {
        let text = """
        # narration
        x = [1, 2, 3]
        #> x = [1, 2, 3]
        sum(x)
        #> 7
        x * 2
        #> [2, 4, 6]
        """
        let result = Checker.check(SessionFile(text: text), file: "wrong.tape")
        let mismatch = try? XCTUnwrap(result.firstMismatch, "a wrong expectation must be reported")
        XCTAssertTrue(mismatch?.hasPrefix("wrong.tape:5: output differs") ?? false, mismatch ?? "")
        XCTAssertTrue(mismatch?.contains("expected: 7") ?? false, mismatch ?? "")
        XCTAssertTrue(mismatch?.contains("got:      6") ?? false, mismatch ?? "")
        XCTAssertEqual(result.checked, 3)
        // The updated text carries what was printed.
        XCTAssertTrue(result.updated.contains("sum(x)\n#> 6\n"), result.updated)
    }

    func testWindowsLineEndsCheckLikeUnixOnes() {
        let unix = "# narration\nx = [1, 2, 3]\n#> x = [1, 2, 3]\nsum(x)\n#> 6\n"
        let windows = unix.replacingText("\n", with: "\r\n")
        for text in [unix, windows] {
            let result = Checker.check(SessionFile(text: text), file: "lines.tape")
            XCTAssertNil(result.firstMismatch, result.firstMismatch ?? "")
            XCTAssertEqual(result.checked, 2)
        }
        let wrong = Checker.check(SessionFile(text: windows.replacingText("#> 6", with: "#> 7")), file: "lines.tape")
        XCTAssertTrue(wrong.firstMismatch?.hasPrefix("lines.tape:5: output differs") ?? false, wrong.firstMismatch ?? "")
    }

    func testAMissingAndAnExtraExpectationAreReported() {
        let missing = Checker.check(SessionFile(text: "x = [1, 2]\n"), file: "missing.tape")
        XCTAssertNotNil(missing.firstMismatch, "output without #> lines must not pass")
        XCTAssertTrue(missing.firstMismatch?.contains("(nothing more)") ?? false, missing.firstMismatch ?? "")

        let extra = Checker.check(SessionFile(text: "x = [1, 2];\n#> x = [1, 2]\n"), file: "extra.tape")
        XCTAssertNotNil(extra.firstMismatch, "an expectation for a silent statement must not pass")
    }

    func testAnExpectationWithNoStatementIsReported() {
        // A #> line before the first statement belonged to no cell and was never compared.
        let first = Checker.check(SessionFile(text: "#> 5\nx = 1\n#> x = 1\n"), file: "stray.tape")
        XCTAssertEqual(first.firstMismatch, """
            stray.tape:1: expected output with no statement before it
              expected: 5
              got:      (no statement)
            """)
        // After a blank or narration line too; the first difference in line order is the one reported.
        let text = "x = 1\n#> x = 1\n\n#> 7\n# narration\ny = 2\n#> y = 3\n#> 8\n\n#> 9\n"
        let later = Checker.check(SessionFile(text: text), file: "stray.tape")
        XCTAssertTrue(later.firstMismatch?.hasPrefix("stray.tape:4: expected output with no statement before it\n  expected: 7") ?? false,
                      later.firstMismatch ?? "")
        XCTAssertEqual(SessionFile(text: text).strayExpectations.map(\.line), [4, 10])
        // --update drops them, and the updated file checks clean.
        XCTAssertEqual(later.updated, "x = 1\n#> x = 1\n\n# narration\ny = 2\n#> y = 2\n\n")
        XCTAssertNil(Checker.check(SessionFile(text: later.updated), file: "stray.tape").firstMismatch)
        // A stray line after the last statement is reported once the cells all matched.
        let last = Checker.check(SessionFile(text: "x = 1\n#> x = 1\n\n#> 9"), file: "stray.tape")
        XCTAssertTrue(last.firstMismatch?.hasPrefix("stray.tape:4: expected output with no statement before it") ?? false,
                      last.firstMismatch ?? "")
    }

    func testAnErrorIsComparedLikeAnyOutput() {
        let text = "y = unknown_thing + 1\n#> error: unknown name 'unknown_thing'\n"
        let result = Checker.check(SessionFile(text: text), file: "error.tape")
        // The diagnostic has more lines than the one expected: a mismatch after the first line.
        XCTAssertNotNil(result.firstMismatch)
        XCTAssertTrue(result.firstMismatch?.hasPrefix("error.tape:2:") ?? false, result.firstMismatch ?? "")
        // Once updated, the file matches.
        let again = Checker.check(SessionFile(text: result.updated), file: "error.tape")
        XCTAssertNil(again.firstMismatch, again.firstMismatch ?? "")
    }

    func testUpdatedReplacesExpectationsAndKeepsEverythingElse() {
        let text = """
        # Lesson
        x = [1, 2]
        #> stale
        #> also stale

        # more narration
        watch x
        y = sum(x^2); z = 3
        #> old
        """
        let file = SessionFile(text: text)
        XCTAssertEqual(file.cells.count, 3)
        XCTAssertEqual(file.cells[0].expectations.map(\.text), ["stale", "also stale"])
        XCTAssertEqual(file.cells[2].statements.count, 2, "statements on one line form one cell")
        let updated = file.updated(outputs: [["x = [1, 2]"], [], ["y = 5", "", "z = 3"]])
        XCTAssertEqual(updated, """
        # Lesson
        x = [1, 2]
        #> x = [1, 2]

        # more narration
        watch x
        y = sum(x^2); z = 3
        #> y = 5
        #>
        #> z = 3
        """)
        // Updating with the outputs a file already has gives the file back.
        let reparsed = SessionFile(text: updated)
        XCTAssertEqual(reparsed.updated(outputs: reparsed.cells.map { $0.expectations.map(\.text) }), updated)
    }

    func testUpdatedPutsOutputAfterTheLastLineOfABlock() {
        let text = "with tape t <\n  x = [1, 2]\n  watch x\n>\n#> old\n"
        let file = SessionFile(text: text)
        XCTAssertEqual(file.cells.count, 1)
        XCTAssertEqual(file.updated(outputs: [["x = [1, 2]"]]), "with tape t <\n  x = [1, 2]\n  watch x\n>\n#> x = [1, 2]\n")
    }

    func testCheckingTwiceAfterUpdateIsStable() throws {
        // check --update must give a file that then checks clean (line numbers in diagnostics shift
        // when #> lines are inserted, so a second update may be needed; two must always suffice).
        let text = "x = [1, 2]\n[1, 2] + [1, 2, 3]\nsum(x)\n"
        var current = text
        for _ in 0..<2 { current = Checker.check(SessionFile(text: current), file: "stable.tape").updated }
        let final = Checker.check(SessionFile(text: current), file: "stable.tape")
        XCTAssertNil(final.firstMismatch, final.firstMismatch ?? "")
        XCTAssertEqual(final.updated, current)
    }

    /// A block left open at the end of a file is one failed statement, at its first line and with its text;
    /// the fault is at the end of its last line (it was on a line after the file's last).
    func testABlockLeftOpenIsReportedFromItsFirstLine() {
        let file = SessionFile(text: "x = 1\nwith stop <\n y = 2\n")
        XCTAssertEqual(file.cells.map(\.firstLine), [1, 2])
        var outcomes: [StatementOutcome] = []
        _ = Session().run(file.cells[1], in: file.source, keepGoing: true) { outcomes.append($0) }
        XCTAssertEqual(outcomes.count, 1)
        XCTAssertEqual(outcomes.first?.line, 2)
        XCTAssertEqual(outcomes.first?.source, "with stop <\n y = 2")
        guard case .error(let e)? = outcomes.first?.result else { return XCTFail("no error") }
        XCTAssertEqual("\(e.span.start)", "3:7")
    }

    /// `:save` keeps each statement's `;`, so a replay prints what the session printed (and no more).
    func testSaveKeepsSilencingSemicolons() throws {
        let path = NSTemporaryDirectory() + "tapebook-semicolons-\(getpid()).tape"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = Session()
        session.run("a = 1; b = 2\ncustom f(x) = x^2 grad(dy) = dy * 3;\nc = nope\nd = 4;", keepGoing: true)
        session.run(":save \"\(path)\" without custom")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "# saved by tapebook\na = 1;\nb = 2\nf(x) = x^2;\nd = 4;\n")
    }

    /// An output's lines as `check` compares them: split at "\n" characters ("\r\n" is one character and
    /// does not split), trailing spaces dropped.
    func testOutputLines() {
        XCTAssertEqual(Checker.outputLines(""), [""])
        XCTAssertEqual(Checker.outputLines("a\n"), ["a", ""])
        XCTAssertEqual(Checker.outputLines("a  \nb \n\n θ  "), ["a", "b", "", " θ"])
        XCTAssertEqual(Checker.outputLines("x\r\ny \nz"), ["x\r\ny", "z"])
        XCTAssertEqual(Checker.outputLines("e\u{301} \n"), ["e\u{301}", ""])
        XCTAssertEqual(trimmingTrailingSpaces(" \u{301}"), " \u{301}", "a space that a mark extends is not a space")
    }
}
