import XCTest
import Foundation

/// `tapebook run` goes on past an error that a cell's `#>` lines show (spec §10); only an unexpected error
/// stops a replay and exits 1.
extension CommandLineTests {
    static var sessionsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("sessions").path
    }

    /// Every lesson replays to the end with `run` and exits 0, showing every one of its statements.
    func testEveryLessonRunsToTheEnd() throws {
        let lessons = try FileManager.default.contentsOfDirectory(atPath: Self.sessionsDirectory)
            .filter { $0.hasSuffix(".tape") }.sorted()
        XCTAssertGreaterThan(lessons.count, 20)
        for lesson in lessons {
            let r = try tapebook(["run", lesson], in: Self.sessionsDirectory)
            XCTAssertEqual(r.status, 0, "\(lesson) exited with \(r.status):\n\(r.stdout.suffix(600))\(r.stderr)")
        }
    }

    /// Lessons 02 and 15 show deliberate errors; a replay shows all their statements.
    func testLessonsWithExpectedErrorsShowEveryStatement() throws {
        for (lesson, statements) in [("02-persistent-tape.tape", 18), ("15-errors.tape", 27)] {
            let r = try tapebook(["run", lesson], in: Self.sessionsDirectory)
            XCTAssertEqual(r.stdout.split(separator: "\n").filter { $0.hasPrefix(">>> ") }.count, statements, lesson)
            XCTAssertEqual(r.status, 0, lesson)
        }
    }

    func testRunGoesOnPastAnExpectedErrorAndStopsAtAnUnexpectedOne() throws {
        let expected = try temporaryFile("expected-error.tape", """
            x = 1 +
            #> error: expected an expression after '+'
            sqrt(-1) + nope
            #> error: unknown name 'nope'
            y = 2
            #> y = 2

            """)
        let r = try tapebook(["run", expected])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.hasSuffix(">>> y = 2\ny = 2\n"), r.stdout)

        // A different error than the one shown is unexpected: the replay stops there.
        let different = try temporaryFile("different-error.tape", """
            z = nope
            #> error: unknown name 'other'
            y = 2

            """)
        let d = try tapebook(["run", different])
        XCTAssertEqual(d.status, 1)
        XCTAssertFalse(d.stdout.contains("y = 2"), d.stdout)

        let unexpected = try temporaryFile("unexpected-error.tape", "z = nope\ny = 2\n")
        let u = try tapebook(["run", unexpected])
        XCTAssertEqual(u.status, 1)
        XCTAssertFalse(u.stdout.contains("y = 2"), u.stdout)
    }
}
