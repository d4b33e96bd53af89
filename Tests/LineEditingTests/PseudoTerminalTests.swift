import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The test-support terminal itself, on programs whose behaviour is known.
final class PseudoTerminalTests: XCTestCase {
    func testChildSeesATerminal() throws {
        let python = try XCTUnwrap(which("python3"), "python3 not found")
        let terminal = try PseudoTerminal(
            executable: python,
            arguments: ["-c", "import sys; print(sys.stdin.isatty(), sys.stdout.isatty())"])
        try terminal.expect("True True")
        XCTAssertEqual(terminal.waitForExit(), 0)
    }

    func testKeystrokesRoundTripThroughCat() throws {
        let terminal = try PseudoTerminal(executable: "/bin/cat")
        terminal.send("hello θ\r")
        // Once echoed by the terminal, once written by cat.
        try terminal.expect("hello θ\r\nhello θ\r\n")
        terminal.send("\u{04}")
        XCTAssertEqual(terminal.waitForExit(), 0)
    }

    func testCtrlCDeliversSIGINT() throws {
        let terminal = try PseudoTerminal(executable: "/bin/cat")
        terminal.send("\u{03}")
        XCTAssertEqual(terminal.waitForExit(), 128 + SIGINT)
    }

    func testTerminalSizeIsPinned() throws {
        let terminal = try PseudoTerminal(executable: "/bin/sh", arguments: ["-c", "stty size"],
                                          columns: 100, rows: 30)
        try terminal.expect("30 100")
    }
}
