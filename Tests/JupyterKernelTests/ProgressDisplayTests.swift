import XCTest
import Portable
@testable import JupyterKernel

/// The notebook's progress output for `repeat`: when it is drawn, updated in place and ended, on a clock
/// the test sets.
final class ProgressDisplayTests: XCTestCase {
    var time = 0.0
    var sent: [(type: String, content: JSON)] = []

    func makeDisplay() -> ProgressDisplay {
        var made = 0
        let display = ProgressDisplay(makeID: { made += 1; return "progress-\(made)" })
        display.reporter.now = { [unowned self] in time }
        display.publish = { [unowned self] type, content in sent.append((type, content)) }
        return display
    }

    func text(_ i: Int) -> String { sent[i].content["data"]?["text/plain"]?.string ?? "" }
    func id(_ i: Int) -> String { sent[i].content["transient"]?["display_id"]?.string ?? "" }

    func testDrawnAfterTheDelayThenUpdatedInPlaceAtMostOnceAnInterval() {
        let display = makeDisplay()
        display.begin(shownName: nil)
        for count in 1...4 {
            time = 0.1 * Double(count)
            display.reporter.report(count: count, total: 10, last: nil)
        }
        XCTAssertTrue(sent.isEmpty, "nothing before the delay (0.5 s)")
        time = 0.5
        display.reporter.report(count: 5, total: 10, last: nil)
        time = 0.55
        display.reporter.report(count: 6, total: 10, last: nil)
        time = 0.65
        display.reporter.report(count: 7, total: 10, last: nil)
        XCTAssertEqual(sent.map { $0.type }, ["display_data", "update_display_data"])
        XCTAssertEqual([id(0), id(1)], ["progress-1", "progress-1"])
        XCTAssertTrue(text(0).hasPrefix(" 5/10  ["), text(0))
        XCTAssertTrue(text(1).hasPrefix(" 7/10  ["), text(1))
        // The last iteration is drawn however soon it comes: the output ends at 100%.
        time = 0.66
        for count in 8...10 { display.reporter.report(count: count, total: 10, last: nil) }
        XCTAssertEqual(sent.map { $0.type }, ["display_data", "update_display_data", "update_display_data"])
        XCTAssertTrue(text(2).hasPrefix("10/10  [") && text(2).contains("100%"), text(2))
        display.end()
        XCTAssertEqual(sent.count, 3, "a finished loop's output is left as it is")
    }

    func testTheNextLoopGetsAnOutputOfItsOwn() {
        let display = makeDisplay()
        display.reporter.delay = 0
        for _ in 0..<2 {
            display.begin(shownName: nil)
            time += 1
            display.reporter.report(count: 1, total: 2, last: nil)
            time += 1
            display.reporter.report(count: 2, total: 2, last: nil)
            display.end()
        }
        XCTAssertEqual(sent.map { $0.type }, ["display_data", "update_display_data", "display_data", "update_display_data"])
        XCTAssertEqual(sent.map { $0.content["transient"]?["display_id"]?.string ?? "" }, ["progress-1", "progress-1", "progress-2", "progress-2"])
    }

    func testAStoppedLoopShowsWhereItStoppedWithoutTimeLeft() {
        let display = makeDisplay()
        display.reporter.delay = 0
        display.begin(shownName: "loss")
        time = 1
        display.reporter.report(count: 1, total: 100, last: 0.5)
        time = 2
        display.reporter.report(count: 2, total: 100, last: 0.25)
        XCTAssertTrue(text(1).contains("left"), text(1))
        display.end()
        XCTAssertEqual(sent.map { $0.type }, ["display_data", "update_display_data", "update_display_data"])
        XCTAssertTrue(text(2).hasPrefix("  2/100  [") && !text(2).contains("left") && text(2).contains("loss 0.25"), text(2))
    }

    func testNothingIsSentForALoopShorterThanTheDelay() {
        let display = makeDisplay()
        display.begin(shownName: nil)
        time = 0.1
        display.reporter.report(count: 1, total: 1, last: nil)
        display.end()
        XCTAssertTrue(sent.isEmpty)
    }
}
