import XCTest
import Rendering

/// When the `repeat` progress bar is drawn and erased, on a clock the test sets.
final class ProgressReporterTests: XCTestCase {
    var time = 0.0
    var written: [String] = []

    func makeReporter() -> ProgressReporter {
        let reporter = ProgressReporter()
        reporter.now = { [unowned self] in time }
        reporter.write = { [unowned self] in written.append($0) }
        reporter.width = { 80 }
        reporter.unicode = false
        return reporter
    }

    func testNothingIsDrawnBeforeTheDelay() {
        let reporter = makeReporter()
        reporter.begin(shownName: nil)
        for count in 1...4 {
            time = 0.1 * Double(count)
            reporter.report(count: count, total: 10, last: nil)
        }
        XCTAssertEqual(written, [])
        time = 0.5
        reporter.report(count: 5, total: 10, last: nil)
        XCTAssertEqual(written, ["\r 5/10  [###############---------------]   50%  10 it/s  0.5s left\u{1B}[K"])
    }

    func testRedrawsAtMostOnceAnInterval() {
        let reporter = makeReporter()
        reporter.delay = 0
        reporter.begin(shownName: "y")
        time = 1
        reporter.report(count: 1, total: 100, last: 2)
        time = 1.05
        reporter.report(count: 2, total: 100, last: 3)
        XCTAssertEqual(written.count, 1)
        time = 1.1
        reporter.report(count: 3, total: 100, last: 4)
        XCTAssertEqual(written.count, 2)
        XCTAssertTrue(written[1].contains("y 4"), written[1])
    }

    func testTheBarIsErasedWhenTheLoopEnds() {
        let reporter = makeReporter()
        reporter.delay = 0
        reporter.begin(shownName: nil)
        time = 1
        reporter.report(count: 1, total: 2, last: nil)
        time = 2
        reporter.report(count: 2, total: 2, last: nil)
        XCTAssertEqual(written.last, "\r\u{1B}[K")
        reporter.clear()
        XCTAssertEqual(written.filter { $0 == "\r\u{1B}[K" }.count, 1, "erased once")
    }
}
