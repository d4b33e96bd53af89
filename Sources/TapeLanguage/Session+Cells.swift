import TapeSyntax

extension Session {
    /// How one cell of a session file ran.
    public struct CellRun {
        /// Whether nothing failed (a syntax error in the cell counts as a failure).
        public var ok = true
        /// Whether a statement asked to stop (`:quit`).
        public var quit = false
        /// How many statements ran.
        public var statementsRun = 0
    }

    /// Runs a cell of a session file (for `run` and `check` alike): its syntax error first, reported as an
    /// error outcome, then its statements in order. Each outcome goes to `report` as it comes, so a setting
    /// that one statement changes applies to the next one's output. After a failure the rest of the cell
    /// runs only with `keepGoing`. `willRun` and `didRun` bracket each statement (for a progress bar).
    public func run(_ cell: SessionFile.Cell, in source: SourceText, keepGoing: Bool,
                    willRun: (Statement) -> Void = { _ in }, didRun: () -> Void = {},
                    report: (StatementOutcome) -> Void) -> CellRun {
        var run = CellRun()
        if let error = cell.syntaxError {
            run.ok = false
            // Reported at the statement's first line, with the text from there to the fault.
            let line = min(error.statementStart?.line ?? error.span.start.line, error.span.start.line)
            let text = (line...error.span.start.line).map { source.line($0) }.joined(separator: "\n")
            report(StatementOutcome(line: line, source: text, result: .error(EvaluationError(error.message, at: error.span))))
        }
        for statement in cell.statements {
            willRun(statement)
            let outcomes = execute(statement, in: source)
            didRun()
            run.statementsRun += 1
            for outcome in outcomes {
                if outcome.result.isError { run.ok = false }
                run.quit = run.quit || outcome.quit
                report(outcome)
            }
            if !run.ok && !keepGoing { break }
        }
        return run
    }
}
