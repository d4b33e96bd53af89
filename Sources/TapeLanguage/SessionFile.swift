import Portable
import TapeSyntax

/// A `.tape` file read as a lesson: narration, statements grouped into cells, and `#>` expectations.
public struct SessionFile {
    public enum Item {
        /// A comment line that is not an expectation.
        case narration(line: Int, text: String)
        case blank(line: Int)
        /// Statements that end on the same line, with the `#>` lines right after it.
        case cell(Cell)
    }

    public struct Cell {
        public var statements: [Statement]
        /// A syntax error in place of statements.
        public var syntaxError: SyntaxError?
        public var firstLine: Int
        public var lastLine: Int
        /// (line number, text after `#> ` or `#>`).
        public var expectations: [(line: Int, text: String)]

        /// Whether the `#>` lines show an error: a lesson showing what goes wrong, which a replay goes on past
        /// (spec §10, Jupyter's `raises-exception` cells).
        public var expectsError: Bool { expectations.contains { $0.text.hasPrefix("error: ") } }

        /// Whether a `#>` line shows this error (its first line, as printed).
        public func expects(_ error: EvaluationError) -> Bool {
            let first = "error: " + (error.message.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            return expectations.contains { $0.text == first }
        }
    }

    public let text: String
    public let source: SourceText
    public private(set) var items: [Item] = []
    /// `#>` lines that follow no statement (before the first one, or after a blank or narration line):
    /// they stay narration in transcripts, `check` reports them and `check --update` drops them.
    public private(set) var strayExpectations: [(line: Int, text: String)] = []

    public init(text: String) {
        self.text = text
        self.source = SourceText(text, firstLine: 1)
        let lines = source.lines
        var parser = Parser(source: text)
        var cells: [Cell] = []
        while true {
            do {
                guard let s = try parser.nextStatement() else { break }
                let last = s.span.end.column == 1 && s.span.end.line > s.span.start.line ? s.span.end.line - 1 : s.span.end.line
                if var previous = cells.last, previous.syntaxError == nil, previous.lastLine == s.span.start.line {
                    previous.statements.append(s)
                    previous.lastLine = max(previous.lastLine, last)
                    cells[cells.count - 1] = previous
                } else {
                    cells.append(Cell(statements: [s], syntaxError: nil, firstLine: s.span.start.line, lastLine: last, expectations: []))
                }
            } catch let e as SyntaxError {
                let first = min(e.statementStart?.line ?? e.span.start.line, e.span.start.line)
                cells.append(Cell(statements: [], syntaxError: e, firstLine: first, lastLine: e.span.start.line, expectations: []))
            } catch { break }
        }
        // Attach expectations and lay out narration between cells.
        // Line flags (1-based), not sets: a short file should not pay for hashing.
        var covered = [Bool](repeating: false, count: lines.count + 2)
        for i in cells.indices {
            for l in cells[i].firstLine...max(cells[i].firstLine, cells[i].lastLine) where l < covered.count { covered[l] = true }
            var l = cells[i].lastLine + 1
            while l <= lines.count, SessionFile.isExpectation(lines[l - 1]) {
                cells[i].expectations.append((l, SessionFile.expectationText(lines[l - 1])))
                covered[l] = true
                l += 1
            }
        }
        // The first cell that starts on each line (an array indexed by line, like the flags above).
        var byLine = [Int](repeating: -1, count: lines.count + 2)
        for (i, c) in cells.enumerated() where byLine.indices.contains(c.firstLine) && byLine[c.firstLine] < 0 { byLine[c.firstLine] = i }
        var emitted = [Bool](repeating: false, count: lines.count + 2)
        for (index, raw) in lines.enumerated() {
            let n = index + 1
            if byLine[n] >= 0, !emitted[n] {
                let c = cells[byLine[n]]
                emitted[n] = true
                items.append(.cell(c))
                continue
            }
            if covered[n] { continue }
            let trimmed = raw.trimmingWhitespace()
            if trimmed.isEmpty {
                if n < lines.count || !raw.isEmpty { items.append(.blank(line: n)) }
            } else if SessionFile.characterPrefixLength(trimmed[...], "#") != nil {
                if SessionFile.isExpectation(raw) { strayExpectations.append((n, SessionFile.expectationText(raw))) }
                items.append(.narration(line: n, text: trimmed))
            }
        }
    }

    static func isExpectation(_ line: String) -> Bool { characterPrefixLength(line[...], "#>") != nil }

    static func expectationText(_ line: String) -> String {
        guard let length = characterPrefixLength(line[...], "#>") else { return String(droppingOneSpace(line.dropFirst(2))) }
        return String(droppingOneSpace(Substring(line.utf8.dropFirst(length))))
    }

    /// Narration as prose: the comment text without `# `.
    public static func prose(_ narration: String) -> String {
        String(droppingOneSpace(narration.dropFirst()))
    }

    private static func droppingOneSpace(_ text: Substring) -> Substring {
        guard let length = characterPrefixLength(text, " ") else { return text }
        return Substring(text.utf8.dropFirst(length))
    }

    /// The byte length of `prefix` (ASCII) when `text` starts with its characters, as `hasPrefix` tells:
    /// the same bytes, then a character break; nil otherwise.
    // NOTE: on bytes (comparing characters for each of the lessons' lines was a tenth of reading them).
    // Two ASCII bytes always have a character break between them, but CR LF, which the prefixes do not end
    // with; when a non-ASCII byte follows, the prefix's characters must be its bytes.
    // The bytes are read through `withUTF8` (a pointer to the line's own storage): indexing the UTF-8 view
    // of a `Substring` cost about 200 instructions a line.
    static func characterPrefixLength(_ text: Substring, _ prefix: StaticString) -> Int? {
        let count = prefix.utf8CodeUnitCount
        var text = text
        // nil: other bytes; true: the prefix's bytes, then the end or an ASCII byte; false: then a non-ASCII byte.
        let bytesMatch: Bool? = text.withUTF8 { utf8 in
            guard utf8.count >= count else { return nil }
            for offset in 0..<count where utf8[offset] != prefix.utf8Start[offset] { return nil }
            return utf8.count == count || utf8[count] < 0x80
        }
        guard let bytesMatch else { return nil }
        if bytesMatch { return count }
        return text.prefix(count).utf8.count == count ? count : nil
    }

    public var cells: [Cell] {
        items.compactMap { if case .cell(let c) = $0 { return c } else { return nil } }
    }

    /// The file with each cell's `#>` lines replaced by `outputs[cell index]`.
    public func updated(outputs: [[String]]) -> String {
        let lines = text.splitLines()
        var drop = Set(strayExpectations.map(\.line))
        var insertAfter: [Int: [String]] = [:]
        for (i, c) in cells.enumerated() {
            for e in c.expectations { drop.insert(e.line) }
            let out = i < outputs.count ? outputs[i] : []
            insertAfter[c.lastLine, default: []] += out.map { $0.isEmpty ? "#>" : "#> " + $0 }
        }
        var result: [String] = []
        for (index, line) in lines.enumerated() {
            let n = index + 1
            if drop.contains(n) { continue }
            result.append(line)
            if let extra = insertAfter[n] { result.append(contentsOf: extra) }
        }
        return result.joined(separator: "\n")
    }
}
