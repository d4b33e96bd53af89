import Foundation
import XCTest
@testable import TapeLanguage

/// `tapebook export` replays the session to learn what it computes, and only reads: the files the session
/// saves are kept in memory (a later `load` finds them), never written.
final class ExportReaderTests: XCTestCase {
    func testExportWritesNoneOfTheSessionsFiles() throws {
        let dir = NSTemporaryDirectory() + "tapebook-export-reader-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let program = "x = [1, 2]\nsave x to \"m.csv\"\nsave x to \"m.npy\"\ny = load(\"m.csv\") + load(\"m.npy\")\n:save \"s.tape\"\n:load \"s.tape\"\n"
        try program.write(toFile: dir + "/session.tape", atomically: true, encoding: .utf8)
        for target in ExportTarget.allCases {
            for trusted in [false, true] {
                let script = try Exporter.export(program, to: target, origin: "session.tape", replaying: dir + "/session.tape", trusted: trusted)
                // The loads ran in the exporter's session (else they would be comments saying they failed).
                XCTAssertTrue(script.contains("y = _load(\"m.csv\") + _load(\"m.npy\")"), script)
                XCTAssertFalse(script.contains("# tapebook: error"), script)
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["session.tape"])
            }
        }
        // A save that a replay refuses is still refused (and becomes a comment), and keeps nothing: a later
        // load of it fails as in the replay.
        let refused = try Exporter.export("x = 1\nsave x to \"../out.csv\"\ny = load(\"../out.csv\")\n", to: .tf, origin: "session.tape",
                                          replaying: dir + "/session.tape", trusted: false)
        XCTAssertFalse(refused.contains("y = _load("), refused)
        XCTAssertTrue(refused.contains("# tapebook: error: refused to write ../out.csv: outside the replayed file's folder"), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/../out.csv"))
    }
}
