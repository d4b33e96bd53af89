import Foundation
import TestSupport
import XCTest

/// The tapebook REPL at a (pseudo) terminal: what a user types and sees.
///
/// Assumed conventions, adjust here if the REPL changes: the banner `tapebook 0.1 · :help for help`,
/// prompts ending in `]> ` (`[1]> `, `[2]> `, …), the continuation prompt `...> `, an assignment echoing
/// `name = value`, an interrupted statement printing `interrupted`, and a `repeat` that has run longer than
/// the progress delay (`TAPEBOOK_PROGRESS_DELAY`) drawing a bar (`count/total`, `it/s`) redrawn after `\r`
/// and erased with `\r\e[K`.
///
/// Every key is typed once the REPL is blocked reading keys (`expectPrompt`, `waitUntilReadingInput`); loops
/// that must be running when a key arrives are endless in practice and stopped with Ctrl-C once they show
/// that they have started.
final class REPLEndToEndTests: XCTestCase {
    static let banner = "tapebook 0.1 · :help for help"
    static let prompt = "]> "
    static let continuationPrompt = "...> "
    /// A loop no machine finishes within a test: it is stopped by Ctrl-C.
    static let endless = "repeat 1000000000000"

    var stateHome: String!

    override func setUpWithError() throws {
        stateHome = NSTemporaryDirectory() + "tapebook-repl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: stateHome, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: stateHome)
    }

    /// Starts the REPL with colour off, an 80-column terminal, history under `stateHome`, and the progress
    /// bar's delay `progressDelay` seconds (0: drawn from the first iteration), and waits for its banner
    /// and first prompt.
    func startREPL(progressDelay: String = "0") throws -> PseudoTerminal {
        try Tapebook.skipUnlessBuilt()
        let environment = Tapebook.environment([
            "TERM": "xterm", "LC_ALL": "C.UTF-8", "XDG_STATE_HOME": stateHome, "HOME": stateHome, "EDITRC": nil,
            "TAPEBOOK_PROGRESS_DELAY": progressDelay,
        ])
        let terminal = try PseudoTerminal(executable: Tapebook.binary, environment: environment, columns: 80, rows: 24)
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

    func testTabCompletesANameAndAFunction() throws {
        let terminal = try startREPL()
        try enter("longname = [4, 5]", in: terminal)
        let output = try enter("z = longn\t", in: terminal)
        XCTAssertTrue(output.contains("z = [4, 5]"), output)

        // A function completes with its opening parenthesis.
        terminal.send("s = su\t")
        // libedit redraws the word's end after moving the cursor: `m(` after an escape.
        try terminal.expect("m(")
        try terminal.waitUntilReadingInput()
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

    func testCtrlCStopsALongLoopAndKeepsTheSession() throws {
        let terminal = try startREPL()
        try enter("x = [1, 2, 3]", in: terminal)
        terminal.send("\(Self.endless) < y = x >\r")
        // The bar shows that the loop runs.
        try terminal.expect("it/s")
        terminal.send("\u{03}")
        // The loop stops as a Python training loop does: the finished iterations stay done.
        try terminal.expect("stopped after")
        try terminal.expectPrompt(Self.prompt)
        let output = try enter("y = x", in: terminal)
        XCTAssertTrue(output.contains("y = [1, 2, 3]"), output)
    }

    /// Ctrl-C in a `while true` loop, sent once the loop has printed that it runs: the iterations that
    /// finished are kept and the session goes on. The iteration that printed may be the one stopped, and
    /// is then undone: it is the second, so that one iteration at least has finished.
    func testCtrlCStopsAWhileLoopAndKeepsItsIterations() throws {
        let terminal = try startREPL()
        try enter("n = 0", in: terminal)
        terminal.send("while true < n += 1; if (n == 2) < print \"ready\", n > >\r")
        try terminal.expect("ready 2")
        terminal.send("\u{03}")
        try terminal.expect("stopped after")
        try terminal.expectPrompt(Self.prompt)
        let output = try enter("print \"count\", n >= 1", in: terminal)
        XCTAssertTrue(output.contains("count 1"), output)
    }

    func testCtrlCAtThePromptClearsTheLine() throws {
        let terminal = try startREPL()
        terminal.send("x = [9")
        try terminal.expect("[9")
        try terminal.waitUntilReadingInput()
        terminal.send("\u{03}")
        try terminal.expectPrompt(Self.prompt)
        let output = try enter("x = [1]", in: terminal)
        XCTAssertTrue(output.contains("x = [1]"), output)
        XCTAssertTrue(terminal.isRunning)
    }

    func testThirdCtrlCInARowExits() throws {
        let terminal = try startREPL()
        for _ in 0..<2 {
            terminal.send("\u{03}")
            try terminal.expectPrompt(Self.prompt)
        }
        terminal.send("\u{03}")
        XCTAssertEqual(terminal.waitForExit(), 0, "the REPL should exit on the third Ctrl-C")
    }

    /// A Ctrl-C between two others that runs a statement starts the count again.
    func testAStatementBetweenCtrlCsRestartsTheCount() throws {
        let terminal = try startREPL()
        for _ in 0..<2 {
            terminal.send("\u{03}")
            try terminal.expectPrompt(Self.prompt)
        }
        try enter("x = 1", in: terminal)
        for _ in 0..<2 {
            terminal.send("\u{03}")
            try terminal.expectPrompt(Self.prompt)
        }
        XCTAssertTrue(terminal.isRunning)
    }

    func testHistoryIsRecalledAfterARestart() throws {
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
        try terminal.expect("x = ")
        try terminal.waitUntilReadingInput()
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

    /// A `repeat` that has run longer than the delay draws a bar on the terminal, in place, and erases it
    /// when the loop ends.
    func testLongRepeatShowsAProgressBar() throws {
        let terminal = try startREPL()
        try enter("x = 2", in: terminal)
        terminal.send("\(Self.endless) show y < y = x >\r")
        let bar = try terminal.expect("it/s")
        XCTAssertTrue(bar.contains("/1000000000000"), bar)
        try terminal.expect(" y 2")
        // Stop it rather than wait: the bar is erased before the loop says how many iterations ran.
        terminal.send("\u{03}")
        let end = try terminal.expect("stopped after")
        XCTAssertTrue(end.contains("\r\u{1B}[K"), end.debugDescription)
        try terminal.expectPrompt(Self.prompt)
        // The iterations that finished stay done.
        let output = try enter("y", in: terminal)
        XCTAssertTrue(output.contains("2"), output)
    }

    /// A loop that ends before the delay draws nothing; the delay here is longer than any test runs.
    func testShortRepeatShowsNoBar() throws {
        let terminal = try startREPL(progressDelay: "1000000")
        try enter("x = 2", in: terminal)
        let output = try enter("repeat 10 show y < y = x >", in: terminal)
        XCTAssertFalse(output.contains("it/s"), output)
        XCTAssertTrue(output.contains("y: 2 → 2"), output)
    }
}
