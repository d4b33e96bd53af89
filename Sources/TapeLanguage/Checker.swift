import Portable
import Rendering

/// `tapebook check`: replays a session file and compares each cell's output with its `#>` lines.
public enum Checker {
    public struct Result {
        /// `FILE:LINE: ...` for the first difference, nil when everything matched.
        public var firstMismatch: String?
        /// The file with its `#>` lines rewritten from what was printed (for `--update`).
        // NOTE: made when asked for: a plain check does not need it (it was 2% of replaying every lesson).
        public var updated: String { file.updated(outputs: outputs) }
        /// How many statements ran.
        public var checked: Int
        let file: SessionFile
        let outputs: [[String]]
    }

    /// Runs every cell in a fresh session (a failing statement does not stop the replay: its
    /// diagnostic is its output) and compares outputs in plain mode at width 80.
    /// The file's writes are confined to its folder unless `trusted` (see `Session.beginReplay`).
    public static func check(_ file: SessionFile, file name: String, trusted: Bool = false) -> Result {
        let session = Session()
        session.settings.lineWidth = 80
        session.beginReplay(of: name, trusted: trusted)
        session.setSeed(0)
        var outputs: [[String]] = []
        var mismatch: String?
        var checked = 0
        // NOTE: a `#>` line that follows no statement belongs to no cell, so the cells' comparison never
        // sees it; it is reported here, in line order with the cells' differences.
        var strays = file.strayExpectations[...]
        var stopped = false
        func reportStrays(before line: Int) {
            while let stray = strays.first, stray.line < line {
                strays.removeFirst()
                if mismatch == nil { mismatch = strayExpectation(file: name, stray.line, stray.text) }
            }
        }
        for cell in file.cells {
            reportStrays(before: cell.firstLine)
            var lines: [String] = []
            let run = session.run(cell, in: file.source, keepGoing: true) { outcome in
                let text = OutputFormatter(settings: session.settings).human(outcome, source: file.source)
                if !text.isEmpty || isShown(outcome) { lines += outputLines(text) }
            }
            checked += run.statementsRun
            let quit = run.quit
            outputs.append(lines)
            if mismatch == nil {
                let expected = cell.expectations.map { trimmingTrailingSpaces($0.text) }
                if expected != lines {
                    let index = zip(expected, lines).prefix { $0 == $1 }.count
                    let line = index < cell.expectations.count ? cell.expectations[index].line : (cell.expectations.last?.line ?? cell.lastLine)
                    let want = index < expected.count ? expected[index] : "(nothing more)"
                    let got = index < lines.count ? lines[index] : "(nothing more)"
                    mismatch = "\(name):\(line): output differs\n  expected: \(want)\n  got:      \(got)"
                }
            }
            if quit { stopped = true; break }
        }
        // Cells after a `:quit` are not compared, and neither are the stray lines among them.
        if !stopped { reportStrays(before: Int.max) }
        return Result(firstMismatch: mismatch, checked: checked, file: file, outputs: outputs)
    }

    /// The report of an expected output line with no statement before it.
    static func strayExpectation(file: String, _ line: Int, _ text: String) -> String {
        "\(file):\(line): expected output with no statement before it\n  expected: \(trimmingTrailingSpaces(text))\n  got:      (no statement)"
    }

    static func isShown(_ outcome: StatementOutcome) -> Bool {
        if case .silent = outcome.result { return false }
        return true
    }

    /// The lines of an output, each without trailing spaces: split at each "\n" character (not inside
    /// "\r\n", which is one character).
    static func outputLines(_ text: String) -> [String] {
        // NOTE: split by bytes when there is no CR: every LF byte is then a "\n" character (splitting
        // characters was 4% of replaying every lesson). One pass over the contiguous bytes: the generic
        // `contains` and `split` over the UTF-8 view cost more than the lines they made.
        var text = text
        let lines: [String]? = text.withUTF8 { bytes in
            var lines: [String] = []
            var start = 0
            for index in 0..<bytes.count {
                if bytes[index] == 13 { return nil }
                if bytes[index] == 10 {
                    lines.append(trimmingTrailingSpaces(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)))
                    start = index + 1
                }
            }
            lines.append(trimmingTrailingSpaces(String(decoding: UnsafeBufferPointer(rebasing: bytes[start...]), as: UTF8.self)))
            return lines
        }
        return lines ?? text.split(separator: "\n", omittingEmptySubsequences: false).map { trimmingTrailingSpaces(String($0)) }
    }
}
