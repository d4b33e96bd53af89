import Foundation
import LineEditing
import TestSupport
import XCTest

/// The program under the pseudo-terminal in `EditLineReaderTests`: this same test binary,
/// re-run on this one test with `variable` set. Without the variable it skips.
///
/// It reads lines with the prompt `edit> ` and reports each result on its own line:
/// `LINE<text>`, `INTERRUPTED<consecutive count>`, `EOF`, and after a Tab the arguments
/// the completer received as `COMPLETER<line|wordStart|word>`. The line `busy` spins
/// (as a long statement would) until Ctrl-C, then prints `STOPPED<consecutive count>`.
final class EditLineReaderDriver: XCTestCase {
    static let variable = "TAPEBOOK_LINE_EDITING_DRIVER"

    func testDriveReader() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment[Self.variable] != nil,
                          "only runs as the child of EditLineReaderTests")
        var lastCompletion: String?
        let reader = try XCTUnwrap(EditLineReader(completer: { line, wordStart, word in
            lastCompletion = "COMPLETER<\(line)|\(wordStart)|\(word)>"
            let insideQuotes = line.prefix(wordStart).filter { $0 == "\"" }.count % 2 == 1
            if insideQuotes { return completeFilePath(word) }
            return ["sigmoid(", "sin(", "softmax(", "softplus(", "repeat "].filter { $0.hasPrefix(word) }
        }))
        func report(_ text: String) {
            print(text)
            fflush(stdout)
        }
        // A prompt to try by hand, e.g. a coloured one: TAPEBOOK_LINE_EDITING_PROMPT=$'\e[1;32medit>\e[0m '
        let prompt = ProcessInfo.processInfo.environment["TAPEBOOK_LINE_EDITING_PROMPT"] ?? "edit> "
        while true {
            let result = reader.readLine(prompt: prompt)
            if let completion = lastCompletion {
                report(completion)
                lastCompletion = nil
            }
            switch result {
            case .line("busy"):
                Interrupt.clear()
                report("BUSY")
                // Until Ctrl-C; the test that typed `busy` sends it, and kills this process if it fails.
                while !Interrupt.isRequested { usleep(1000) }
                report("STOPPED<\(Interrupt.consecutiveCount)>")
            case .line(let line):
                report("LINE<\(line)>")
            case .interrupted:
                report("INTERRUPTED<\(Interrupt.consecutiveCount)>")
            case .endOfInput:
                report("EOF")
                exit(0)
            }
        }
    }
}

/// `EditLineReader` at a real (pseudo) terminal: keys, Ctrl-C, Tab, history, `~/.editrc`.
final class EditLineReaderTests: XCTestCase {
    var home: String!

    override func setUpWithError() throws {
        home = NSTemporaryDirectory() + "tapebook-edit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: home)
    }

    /// Starts the driver with `HOME` in the temporary directory and no `XDG_STATE_HOME`,
    /// so the history lives in `home/.local/state/tapebook/history`.
    func startReader() throws -> PseudoTerminal {
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_STATE_HOME"] = nil
        environment["EDITRC"] = nil
        environment["HOME"] = home
        environment["TERM"] = "xterm"
        environment["LC_ALL"] = "C.UTF-8"
        environment[EditLineReaderDriver.variable] = "1"
        let terminal = try PseudoTerminal(
            executable: testBinary,
            arguments: ["LineEditingTests.EditLineReaderDriver/testDriveReader"],
            environment: environment)
        try terminal.expectPrompt("edit> ")
        return terminal
    }

    func testTypedLinesIncludingNonASCII() throws {
        let terminal = try startReader()
        terminal.send("x = [1, 2, 3]\r")
        try terminal.expect("LINE<x = [1, 2, 3]>")
        try terminal.expectPrompt("edit> ")
        terminal.send("∂θ = grad(θ)\r")
        try terminal.expect("LINE<∂θ = grad(θ)>")
    }

    func testEmacsKeys() throws {
        let terminal = try startReader()
        // Ctrl-A to the start, Ctrl-E to the end, Ctrl-B back one, Ctrl-D deletes under it.
        terminal.send("bc\u{01}a\u{05}d!\u{02}\u{04}\r")
        try terminal.expect("LINE<abcd>")
    }

    func testCtrlCAtThePromptDiscardsTheLineAndCounts() throws {
        let terminal = try startReader()
        terminal.send("half typed")
        try terminal.expect("half typed")
        try terminal.waitUntilReadingInput()
        terminal.send("\u{03}")
        try terminal.expect("INTERRUPTED<1>")
        try terminal.expectPrompt("edit> ")
        terminal.send("\u{03}")
        try terminal.expect("INTERRUPTED<2>")
        try terminal.expectPrompt("edit> ")
        terminal.send("\r")
        try terminal.expect("LINE<>")
        try terminal.expectPrompt("edit> ")
        terminal.send("\u{03}")
        try terminal.expect("INTERRUPTED<1>")
    }

    func testCtrlCWhileBusySetsTheFlag() throws {
        let terminal = try startReader()
        terminal.send("busy\r")
        // Printed once the reader has returned the line and the flag is clear: the spin is next.
        try terminal.expect("BUSY")
        terminal.send("\u{03}")
        try terminal.expect("STOPPED<1>")
        try terminal.expectPrompt("edit> ")
        terminal.send("\u{03}")
        try terminal.expect("INTERRUPTED<2>")
    }

    func testCtrlDEndsInputOnlyOnAnEmptyLine() throws {
        let terminal = try startReader()
        terminal.send("ab\u{02}\u{04}\r")
        try terminal.expect("LINE<a>")
        try terminal.expectPrompt("edit> ")
        terminal.send("\u{04}")
        try terminal.expect("EOF")
        XCTAssertEqual(terminal.waitForExit(), 0)
    }

    func testTabCompletesThroughTheClosure() throws {
        let terminal = try startReader()
        terminal.send("y = sig\t\r")
        try terminal.expect("COMPLETER<y = sig|4|sig>")
        try terminal.expect("LINE<y = sigmoid(>")
    }

    func testTabWithSeveralCandidatesExtendsToTheCommonPrefix() throws {
        let terminal = try startReader()
        // "sof" extends to "soft" (softmax, softplus); the screen redraw is not contiguous
        // text, so the extension shows in the line: only "m" is typed after it.
        terminal.send("θ = sof\t")
        try terminal.expect("t")
        try terminal.waitUntilReadingInput()
        terminal.send("m\t\r")
        // wordStart counts Characters, so θ is one.
        try terminal.expect("COMPLETER<θ = softm|4|softm>")
        try terminal.expect("LINE<θ = softmax(>")
        try terminal.expectPrompt("edit> ")
        terminal.send("θ = si\t\t")
        try terminal.expect("sin(")
        try terminal.waitUntilReadingInput()
        terminal.send("\u{15}\r")  // Ctrl-U: kill the line
        try terminal.expect("LINE<>")
    }

    func testTabCompletesPathsInsideQuotes() throws {
        try FileManager.default.createDirectory(atPath: home + "/sessions", withIntermediateDirectories: true)
        let terminal = try startReader()
        terminal.send(":load \"\(home!)/ses\t\r")
        try terminal.expect("LINE<:load \"\(home!)/sessions/>")
    }

    func testHistoryIsRecalledAfterARestart() throws {
        do {
            let terminal = try startReader()
            for line in ["first entry", "second entry", "second entry", "", "third entry"] {
                terminal.send(line + "\r")
                try terminal.expect("LINE<\(line)>")
                try terminal.expectPrompt("edit> ")
            }
            terminal.send("\u{04}")
            XCTAssertEqual(terminal.waitForExit(), 0)
        }
        let path = home + "/.local/state/tapebook/history"
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8),
                       "first entry\nsecond entry\nthird entry\n")

        let terminal = try startReader()
        terminal.send("\u{1B}[A\u{1B}[A\r")  // Up, Up
        try terminal.expect("LINE<second entry>")
        try terminal.expectPrompt("edit> ")
        terminal.send("\u{12}first\r")  // Ctrl-R incremental search
        try terminal.expect("LINE<first entry>")
    }

    func testEditrcIsHonoured() throws {
        try "tapebook:bind -s ^X hello\n".write(toFile: home + "/.editrc", atomically: true, encoding: .utf8)
        let terminal = try startReader()
        terminal.send("\u{18}\r")
        try terminal.expect("LINE<hello>")
    }
}
