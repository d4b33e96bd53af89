import LineEditing
import XCTest

final class ColorPolicyTests: XCTestCase {
    func testAutoFollowsTheTerminal() {
        XCTAssertTrue(ColorPolicy.resolve(flag: nil, isTerminal: true, environment: [:]))
        XCTAssertTrue(ColorPolicy.resolve(flag: "auto", isTerminal: true, environment: ["TERM": "xterm-256color"]))
        XCTAssertFalse(ColorPolicy.resolve(flag: "auto", isTerminal: false, environment: [:]))
    }

    func testNonEmptyNoColorDisables() {
        XCTAssertFalse(ColorPolicy.resolve(flag: nil, isTerminal: true, environment: ["NO_COLOR": "1"]))
        XCTAssertFalse(ColorPolicy.resolve(flag: "auto", isTerminal: true, environment: ["NO_COLOR": "no"]))
    }

    func testEmptyNoColorIsIgnored() {
        XCTAssertTrue(ColorPolicy.resolve(flag: nil, isTerminal: true, environment: ["NO_COLOR": ""]))
    }

    func testDumbTerminalDisables() {
        XCTAssertFalse(ColorPolicy.resolve(flag: nil, isTerminal: true, environment: ["TERM": "dumb"]))
    }

    func testFlagWinsOverEnvironment() {
        let hostile = ["NO_COLOR": "1", "TERM": "dumb"]
        XCTAssertTrue(ColorPolicy.resolve(flag: "always", isTerminal: false, environment: hostile))
        XCTAssertFalse(ColorPolicy.resolve(flag: "never", isTerminal: true, environment: ["TERM": "xterm"]))
    }
}

final class TerminalTests: XCTestCase {
    func testWidthIsPositive() {
        // Under `swift test` stdout is usually a pipe: the fallback is 80.
        if !isTerminal(1) { XCTAssertEqual(terminalWidth(), 80) }
        XCTAssertGreaterThan(terminalWidth(), 0)
    }

    func testPipeIsNotATerminal() {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        XCTAssertFalse(isTerminal(fds[0]))
    }
}
