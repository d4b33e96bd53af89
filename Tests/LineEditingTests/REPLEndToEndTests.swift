import Foundation
import XCTest

/// The tapebook REPL at a (pseudo) terminal: what a user types and sees.
///
/// Runs the binary named by `TAPEBOOK_BIN` (e.g. `TAPEBOOK_BIN=$PWD/.build/debug/tapebook`);
/// each test skips when it is unset or not executable. Assumed conventions, adjust here if
/// the REPL changes: the banner `tapebook 0.1 · :help for help`, prompts ending in `]> `
/// (`[1]> `, `[2]> `, …), the continuation prompt `...> `, an assignment echoing `name = value`,
/// an interrupted statement printing `interrupted`, and a `repeat` running longer than half a
/// second drawing a progress bar (`count/total`, `it/s`) redrawn after `\r` and erased with `\r\e[K`.
final class REPLEndToEndTests: XCTestCase {
    static let banner = "tapebook 0.1 · :help for help"
    static let prompt = "]> "
    static let continuationPrompt = "...> "

    var stateHome: String!

    override func setUpWithError() throws {
        stateHome = NSTemporaryDirectory() + "tapebook-repl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: stateHome, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: stateHome)
    }

    /// Starts the REPL with colour off, an 80-column terminal, and history under `stateHome`,
    /// and waits for its banner and first prompt.
    func startREPL() throws -> PseudoTerminal {
        let binary = ProcessInfo.processInfo.environment["TAPEBOOK_BIN"] ?? ""
        try XCTSkipUnless(!binary.isEmpty && FileManager.default.isExecutableFile(atPath: binary),
                          "set TAPEBOOK_BIN to the tapebook executable")
        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = "xterm"
        environment["NO_COLOR"] = "1"
        environment["LC_ALL"] = "C.UTF-8"
        environment["XDG_STATE_HOME"] = stateHome
        environment["HOME"] = stateHome
        environment["EDITRC"] = nil
        let terminal = try PseudoTerminal(executable: binary, environment: environment, columns: 80, rows: 24)
        try terminal.expect(Self.banner)
        try terminal.expectPrompt(Self.prompt)
        return terminal
    }

    /// Types `line` and Enter, then returns what the REPL printed before the next prompt
    /// (the echoed line included).
    @discardableResult
    func enter(_ line: String, in terminal: PseudoTerminal, prompt: String = prompt) throws -> String {
        terminal.send(line + "\r")
        return try terminal.expectPrompt(prompt)
    }

    func testTypingAStatementEchoesTheAssignment() throws {
        let terminal = try startREPL()
        let output = try enter("x = [1, 2, 3]", in: terminal)
        // Once as typed, once as the REPL's echo of the assignment.
        XCTAssertEqual(output.components(separatedBy: "x = [1, 2, 3]").count - 1, 2, output)
    }

    // Out of the suite until it waits for readiness instead of sleeping or timing (issue 21).
    func pending_TabCompletesANameAndAFunction() throws {
        let terminal = try startREPL()
        try enter("longname = [4, 5]", in: terminal)
        let output = try enter("z = longn\t", in: terminal)
        XCTAssertTrue(output.contains("z = [4, 5]"), output)

        // A function completes with its opening parenthesis.
        terminal.send("s = su\t")
        usleep(200_000)
        let sum = try enter("longname)", in: terminal)
        XCTAssertTrue(sum.contains("s = 9"), sum)
    }

    func testThreeLineBlockUsesTheContinuationPrompt() throws {
        let terminal = try startREPL()
        try enter("f(x) = <", in: terminal, prompt: Self.continuationPrompt)
        try enter("  a = x^2", in: terminal, prompt: Self.continuationPrompt)
        try enter("  a + 1 >", in: terminal)
        let output = try enter("y = f(3)", in: terminal)
        XCTAssertTrue(output.contains("y = 10"), output)
    }

    // Out of the suite until it waits for readiness instead of sleeping or timing (issue 21).
    func pending_CtrlCStopsALongLoopAndKeepsTheSession() throws {
        let terminal = try startREPL()
        try enter("x = [1, 2, 3]", in: terminal)
        terminal.send("repeat 100000000 < y = x >\r")
        usleep(1_000_000)
        terminal.send("\u{03}")
        try terminal.expect("interrupted", timeout: 5)
        try terminal.expectPrompt(Self.prompt)
        let output = try enter("y = x", in: terminal)
        XCTAssertTrue(output.contains("y = [1, 2, 3]"), output)
    }

    // Out of the suite until it waits for readiness instead of sleeping or timing (issue 21).
    func pending_CtrlCAtThePromptClearsTheLine() throws {
        let terminal = try startREPL()
        terminal.send("x = [9")
        try terminal.expect("[9")
        // NOTE: a Ctrl-C sent the instant the echo arrives is sometimes lost by libedit (it was
        // seen once in three runs); a user never types that fast after a keystroke.
        usleep(100_000)
        terminal.send("\u{03}")
        try terminal.expectPrompt(Self.prompt)
        let output = try enter("x = [1]", in: terminal)
        XCTAssertTrue(output.contains("x = [1]"), output)
        XCTAssertTrue(terminal.isRunning)
    }

    // Out of the suite until it waits for readiness instead of sleeping or timing (issue 21).
    func pending_ThirdCtrlCInARowExits() throws {
        let terminal = try startREPL()
        for _ in 0..<2 {
            usleep(150_000)
            terminal.send("\u{03}")
            try terminal.expectPrompt(Self.prompt)
        }
        usleep(150_000)
        terminal.send("\u{03}")
        XCTAssertNotNil(terminal.waitForExit(timeout: 5), "the REPL should exit on the third Ctrl-C")
    }

    // Out of the suite until it waits for readiness instead of sleeping or timing (issue 21).
    func pending_HistoryIsRecalledAfterARestart() throws {
        do {
            let terminal = try startREPL()
            try enter("x = [1, 2, 3]", in: terminal)
            terminal.send("\u{04}")
            XCTAssertEqual(terminal.waitForExit(), 0)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: stateHome + "/tapebook/history"))

        let terminal = try startREPL()
        // Up then Enter: nothing typed, so any `x = [1, 2, 3]` came from the history.
        let output = try enter("\u{1B}[A", in: terminal)
        XCTAssertTrue(output.contains("x = [1, 2, 3]"), output)
        // Ctrl-R finds it too.
        terminal.send("\u{12}x = ")
        usleep(200_000)
        let searched = try enter("", in: terminal)
        XCTAssertTrue(searched.contains("x = [1, 2, 3]"), searched)
    }

    func testCtrlDOnAnEmptyLineExitsCleanly() throws {
        let terminal = try startREPL()
        terminal.send("\u{04}")
        XCTAssertEqual(terminal.waitForExit(), 0)
        // One line end after the prompt, not a blank line as well.
        let rest = terminal.drain()
        XCTAssertFalse(rest.contains("\n\r\n") || rest.contains("\n\n"), rest.debugDescription)
    }

    func testCtrlDOnAContinuationLineDropsTheBlock() throws {
        let terminal = try startREPL()
        try enter("y = [1,", in: terminal, prompt: Self.continuationPrompt)
        terminal.send("\u{04}")
        try terminal.expectPrompt(Self.prompt)
        let output = try enter("y = 2", in: terminal)
        XCTAssertTrue(output.contains("y = 2"), output)
        XCTAssertTrue(terminal.isRunning)
    }

    func testHelpTopic() throws {
        let terminal = try startREPL()
        let output = try enter(":help grad", in: terminal)
        XCTAssertTrue(output.contains("grad Y wrt X1, X2 [seed S] [unconnected zero] [using T]"), output)
        XCTAssertTrue(output.contains("example:"), output)
        let unknown = try enter(":help gard", in: terminal)
        XCTAssertTrue(unknown.contains("no help on 'gard'"), unknown)
        XCTAssertTrue(unknown.contains("did you mean 'grad'?"), unknown)
    }

    /// A `repeat` that runs longer than half a second draws a bar on the terminal, in place,
    /// and erases it when the loop ends.
    // Out of the suite until it waits for readiness instead of sleeping or timing (issue 21).
    func pending_LongRepeatShowsAProgressBar() throws {
        let terminal = try startREPL()
        try enter("x = 2", in: terminal)
        terminal.send("repeat 3000000 show y < y = x >\r")
        let bar = try terminal.expect("it/s", timeout: 10)
        XCTAssertTrue(bar.contains("/3000000"), bar)
        try terminal.expect(" y 2", timeout: 5)
        // Stop it rather than wait: the bar is erased before `interrupted` is printed.
        terminal.send("\u{03}")
        let end = try terminal.expect("interrupted", timeout: 10)
        XCTAssertTrue(end.contains("\r\u{1B}[K"), end.debugDescription)
        try terminal.expectPrompt(Self.prompt)
        // The workspace is as it was before the statement.
        let output = try enter("y", in: terminal)
        XCTAssertTrue(output.contains("unknown name 'y'"), output)
    }

    /// A short loop draws nothing.
    // Out of the suite until it waits for readiness instead of sleeping or timing (issue 21).
    func pending_ShortRepeatShowsNoBar() throws {
        let terminal = try startREPL()
        try enter("x = 2", in: terminal)
        let output = try enter("repeat 10 show y < y = x >", in: terminal)
        XCTAssertFalse(output.contains("it/s"), output)
        XCTAssertTrue(output.contains("y: 2 → 2"), output)
    }
}
