import Foundation
import LineEditing
import XCTest

final class HistoryFileTests: XCTestCase {
    var directory: String!
    var path: String { directory + "/state/tapebook/history" }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "tapebook-history-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testDefaultPathPrefersXDGStateHome() {
        XCTAssertEqual(HistoryFile.defaultPath(environment: ["XDG_STATE_HOME": "/s", "HOME": "/h"]),
                       "/s/tapebook/history")
        XCTAssertEqual(HistoryFile.defaultPath(environment: ["HOME": "/h"]),
                       "/h/.local/state/tapebook/history")
        XCTAssertEqual(HistoryFile.defaultPath(environment: ["XDG_STATE_HOME": "relative", "HOME": "/h"]),
                       "/h/.local/state/tapebook/history")
        XCTAssertNil(HistoryFile.defaultPath(environment: [:]))
    }

    func testRecordCreatesDirectoriesAndReloads() {
        var history = HistoryFile(path: path)
        XCTAssertEqual(history.load(), [])
        XCTAssertTrue(history.record("x = [1, 2, 3]"))
        XCTAssertTrue(history.record("grad(θ)"))

        var restarted = HistoryFile(path: path)
        XCTAssertEqual(restarted.load(), ["x = [1, 2, 3]", "grad(θ)"])
    }

    func testSkipsEmptyLinesAndConsecutiveDuplicates() throws {
        var history = HistoryFile(path: path)
        XCTAssertTrue(history.record("a"))
        XCTAssertFalse(history.record("a"))
        XCTAssertFalse(history.record(""))
        XCTAssertFalse(history.record("   "))
        XCTAssertTrue(history.record("b"))
        XCTAssertTrue(history.record("a"))
        XCTAssertEqual(history.entries, ["a", "b", "a"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "a\nb\na\n")
    }

    func testLoadDedupesAFileWrittenByConcurrentSessions() throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "a\na\n\nb\nb\n".write(toFile: path, atomically: true, encoding: .utf8)
        var history = HistoryFile(path: path)
        XCTAssertEqual(history.load(), ["a", "b"])
        XCTAssertFalse(history.record("b"), "the newest loaded entry counts as previous")
    }

    func testLoadKeepsNewestAndCompactsAnOversizedFile() throws {
        var history = HistoryFile(path: path, maximumEntries: 3)
        for number in 1...7 { history.record("line \(number)") }
        var reloaded = HistoryFile(path: path, maximumEntries: 3)
        XCTAssertEqual(reloaded.load(), ["line 5", "line 6", "line 7"])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "line 5\nline 6\nline 7\n")
    }

    func testUnwritableLocationIsNotFatal() {
        var history = HistoryFile(path: "/proc/no-such-dir/history")
        XCTAssertTrue(history.record("still remembered in memory"))
        XCTAssertEqual(history.entries, ["still remembered in memory"])
    }
}

final class PromptMarkingTests: XCTestCase {
    func testPlainPromptIsUnchanged() {
        XCTAssertEqual(EditLineReader.markingInvisibleSequences(in: "[1]> "), "[1]> ")
    }

    func testEscapesAreWrapped() {
        XCTAssertEqual(EditLineReader.markingInvisibleSequences(in: "\u{1B}[1;32m[1]>\u{1B}[0m "),
                       "\u{1}\u{1B}[1;32m\u{2}[1]>\u{1}\u{1B}[0m\u{2} ")
    }

    func testTrailingEscapesMoveBeforeTrailingSpaces() {
        XCTAssertEqual(EditLineReader.markingInvisibleSequences(in: "\u{1B}[32m>> \u{1B}[0m"),
                       "\u{1}\u{1B}[32m\u{2}>>\u{1}\u{1B}[0m\u{2} ")
    }

    func testNonASCIIPrompt() {
        XCTAssertEqual(EditLineReader.markingInvisibleSequences(in: "θ> "), "θ> ")
    }
}
