import Glibc
import Portable
import Rendering
import TapeLanguage
import TapeSyntax
import LineEditing

/// Runs statements from a string or a session file and prints what they give.
struct Runner {
    enum Mode { case transcript, markdown, json }

    let session: Session
    let output: OutputSettings

    /// Every line of output passes here: control characters from the session are shown as escapes
    /// (JSON escapes its own).
    func write(_ text: String) {
        print(output.json ? text : terminalText(text, keepingColors: session.settings.color))
    }

    /// `-e` and stdin: outputs only (or JSON). Returns false when a statement failed.
    func runPlain(_ text: String) -> Bool {
        let source = SourceText(text, firstLine: 1)
        var ok = true
        let formatter = OutputFormatter(settings: session.settings)
        // `print` in a loop writes as the loop goes.
        session.onPrint = { outcome in
            write(output.json ? formatter.json(outcome) : OutputFormatter(settings: session.settings).human(outcome, source: source))
            StandardStreams.synchronizeOutput()
            fflush(stdout)
        }
        defer { session.onPrint = nil }
        session.run(text, keepGoing: false) { outcome in
            if outcome.result.isError { ok = false }
            if output.json {
                write(formatter.json(outcome))
            } else {
                let text = OutputFormatter(settings: session.settings).human(outcome, source: source)
                if !text.isEmpty { write(text) }
            }
        }
        return ok
    }

    /// `run FILE`: narration, statements and outputs, in the chosen mode.
    /// What `runFile` reports: whether every statement went well, and the time of the last statement (its
    /// cell: running, printing), apart from reading input files, for `run --time`.
    struct FileRun {
        var ok: Bool
        /// The time the statements took, less the reading of input files (`run --time`); the file's parsing
        /// and the session's set-up happen before and are start-up.
        var statementSeconds: Double
        var lastStatementSeconds: Double
    }

    func runFile(_ file: SessionFile, file name: String, mode: Mode, keepGoing: Bool, step: Bool) -> FileRun {
        var ok = true
        var statementSeconds = 0.0, lastStatementSeconds = 0.0
        var formatter = OutputFormatter(settings: session.settings, file: name)
        let progress = mode == .transcript ? ProgressReporter.install(on: session) : nil
        // Ctrl-C stops the running statement and the replay, and what was printed is written out (`finish`).
        Interrupt.install()
        session.interruptCheck = { Interrupt.isRequested }
        // Nothing runs after Ctrl-C stops the replay: no need to undo the loop iteration it interrupted.
        session.undoesInterruptedIteration = false
        var prose: [String] = []
        // In Markdown, the file's first comment, when it comes before any statement, is its title.
        var titleAllowed = mode == .markdown
        func flushProse() {
            if mode == .markdown, !prose.isEmpty { write(prose.joined(separator: "\n") + "\n") }
            prose = []
        }
        itemLoop: for item in file.items {
            switch item {
            case .narration(_, let text):
                switch mode {
                case .transcript: write(text)
                case .markdown:
                    if titleAllowed {
                        titleAllowed = false
                        prose.append("# " + SessionFile.prose(text))
                        flushProse()
                    } else {
                        prose.append(SessionFile.prose(text))
                    }
                case .json: break
                }
            case .blank:
                if mode == .transcript { write("") }
                if mode == .markdown { flushProse() }
            case .cell(let cell):
                titleAllowed = false
                flushProse()
                let statementText = (cell.firstLine...cell.lastLine).map { file.source.line($0) }
                if mode == .transcript {
                    for (i, line) in statementText.enumerated() { write((i == 0 ? ">>> " : "... ") + line) }
                }
                if step {
                    if mode != .transcript { for line in statementText { write(line) } }
                    StandardStreams.synchronizeOutput()
                    fflush(stdout)
                    let answer = Swift.readLine() ?? "q"
                    if answer.trimmingWhitespace().lowercased() == "q" { break itemLoop }
                }
                let cellStart = monotonicNanoseconds(), readingBefore = session.fileReadingSeconds
                defer {
                    lastStatementSeconds = Double(monotonicNanoseconds() - cellStart) / 1e9
                        - (session.fileReadingSeconds - readingBefore)
                    statementSeconds += lastStatementSeconds
                }
                var outputs: [String] = []
                // An error that the cell's `#>` lines show is expected (a lesson showing what goes wrong): the
                // replay goes on past it. Only an unexpected error stops it and fails the run.
                var unexpectedError = false
                // Outputs go out as they come (a loop's `print` as it runs); Markdown gathers the cell's.
                func deliver(_ outcome: StatementOutcome) {
                    formatter.settings = session.settings
                    switch mode {
                    case .json: write(formatter.json(outcome))
                    case .transcript, .markdown:
                        let text = formatter.human(outcome, source: file.source)
                        if text.isEmpty { break }
                        if mode == .markdown { outputs.append(text) } else { write(text) }
                    }
                }
                session.onPrint = { outcome in
                    progress?.clear()
                    deliver(outcome)
                    StandardStreams.synchronizeOutput()
                    fflush(stdout)
                }
                defer { session.onPrint = nil }
                let run = session.run(cell, in: file.source, keepGoing: keepGoing || cell.expectsError, willRun: { statement in
                    progress?.begin(shownName: ProgressReporter.shownName(in: file.source.text(of: statement.span)))
                }, didRun: { progress?.clear() }, report: { outcome in
                    if case .error(let error) = outcome.result, !cell.expects(error) { unexpectedError = true }
                    deliver(outcome)
                })
                ok = ok && !unexpectedError
                let quit = run.quit
                switch mode {
                case .transcript: break
                case .markdown:
                    write("```\n" + statementText.joined(separator: "\n") + "\n```")
                    if !outputs.isEmpty { write("```text\n" + outputs.joined(separator: "\n") + "\n```") }
                    write("")
                case .json: break
                }
                // A replay that Ctrl-C stopped did not run to its end, even when a loop stopped cleanly.
                if Interrupt.isRequested { ok = false; break itemLoop }
                if quit || (!ok && !keepGoing) { break itemLoop }
                // An output that can no longer be written (a full disk, a closed pipe) ends the replay.
                if ferror(stdout) != 0 { ok = false; break itemLoop }
            }
        }
        flushProse()
        return FileRun(ok: ok, statementSeconds: statementSeconds, lastStatementSeconds: lastStatementSeconds)
    }
}
