import Portable
import Rendering

/// The `repeat` progress bar in a notebook: one display_data output with a display_id, redrawn in place by
/// update_display_data (as tqdm's notebook bar is), at most every `reporter.interval` seconds of the
/// reporter's clock; when the loop ends, the output keeps its last state (where a stopped loop stopped).
final class ProgressDisplay {
    let reporter = ProgressReporter()
    /// Sends one IOPub message (type, content) on behalf of the running cell; nil between cells.
    var publish: ((String, JSON) -> Void)?
    private let makeID: () -> String
    /// The display_id of the shown loop's output, from its first drawing to its end.
    private var displayID: String?

    init(makeID: @escaping () -> String = uuid) {
        self.makeID = makeID
        reporter.draw = { [unowned self] state in show(state) }
        reporter.finish = { [unowned self] state in
            show(state)
            displayID = nil
        }
        reporter.erase = {}
    }

    /// Before a cell runs.
    func begin(shownName: String?) {
        displayID = nil
        reporter.begin(shownName: shownName)
    }

    /// After a cell: a loop still shown was stopped, and its output says where.
    func end() {
        reporter.endStatement()
        displayID = nil
    }

    private func show(_ state: ProgressState) {
        let text = ProgressBar.line(state, width: 80, unicode: reporter.unicode, precision: reporter.precision)
        let type = displayID == nil ? "display_data" : "update_display_data"
        if displayID == nil { displayID = makeID() }
        publish?(type, .object([
            ("data", .object([("text/plain", .string(text))])),
            ("metadata", .object([])),
            ("transient", .object([("display_id", .string(displayID!))])),
        ]))
    }
}
