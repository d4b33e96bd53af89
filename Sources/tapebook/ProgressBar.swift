import Portable
import Rendering
import TapeLanguage
import LineEditing

extension ProgressReporter {
    /// The `repeat` progress bar, drawn on standard error, only when standard output and standard error
    /// are terminals. Returns the reporter the caller must tell when statements start and end.
    static func install(on session: Session) -> ProgressReporter? {
        guard isTerminal(1), isTerminal(2) else { session.progress = nil; return nil }
        let reporter = ProgressReporter()
        if let text = Environment.value("TAPEBOOK_PROGRESS_DELAY"), let seconds = Double(text), seconds >= 0 {
            reporter.delay = seconds
        }
        reporter.unicode = session.settings.unicode
        reporter.width = { terminalWidth() }
        session.progress = { [weak session] count, total, last in
            if let session { reporter.precision = session.settings.precision }
            reporter.report(count: count, total: total, last: last)
        }
        return reporter
    }
}
