/// A recursive-descent parser that reads one statement at a time.
///
/// Newlines end statements, except inside `(` and `[`, where they are spaces. Inside a `< … >`
/// block they separate the block's statements. An operator at the end of a line does not
/// continue the statement: `1 +` followed by a newline is an error, not an incomplete input.
///
/// After an error, `skipToNextLine()` (called automatically by the next `nextStatement()`)
/// resumes at the first line that starts outside every bracket the failed statement opened.
public struct Parser {
    /// Deepest nesting of parentheses, brackets, unary operators, powers, gradients and blocks.
    /// NOTE: the deepest accepted input needs up to about 6 MiB of stack in a debug build
    /// (about 2 MiB in release): parse on the main thread or on a thread with an 8 MiB stack.
    public static let maximumNestingDepth = 256
    /// The tallest expression tree: nesting plus operators chained in a row (`1 + 1 + … + 1` is a tree as
    /// tall as it is long, though parsed by a loop). Evaluating it recurses once a level.
    public static let maximumExpressionHeight = 512

    var lexer: Lexer
    /// Tokens read ahead, newlines included, from `bufferStart` on; `peek()` drops newlines where they are spaces.
    // NOTE: consumed tokens are skipped by an index, not removed: `removeFirst` moved the rest every time.
    var buffer: [Token] = []
    var bufferStart = 0
    /// One entry per open bracket: true for `(` and `[` (newlines are spaces), false for `<`.
    var newlinesAreSpaces: [Bool] = []
    var depth = 0
    /// Operators of the chains being parsed (`+` in `a + b + c`, `[0]` in `x[0][1]`), each a level of the tree.
    var chainLinks = 0
    /// The end of the last consumed token, to close spans.
    var lastEnd: SourceLocation
    /// The end of the last consumed token that is not a line break: where something missing at the end of
    /// the input is reported.
    var lastTokenEnd = SourceLocation(offset: 0, line: 1, column: 1)
    /// Where the statement being parsed at the top level started, to synchronize after an error.
    var statementStart: Cursor?
    var pendingError: SyntaxError?

    /// `source` starts at `firstColumn` of line `firstLine`; offsets count from its start.
    public init(source: String, firstLine: Int = 1, firstColumn: Int = 1) {
        // NOTE: the lexer holds up to 5 bytes a byte and a tensor literal a node a number: a 100 MB line would
        // take gigabytes. The input is read up to the first line longer than the limit, which is an error.
        var bytes = Array(source.utf8)
        let count = bytes.count
        let oversized: (line: Int, start: Int, end: Int)? = bytes.withUnsafeBufferPointer { utf8 in
            var line = firstLine, lineStart = 0
            for offset in 0..<count {
                if utf8[offset] == UInt8(ascii: "\n") {
                    line += 1
                    lineStart = offset + 1
                } else if offset - lineStart >= Parser.maximumLineBytes {
                    var end = offset
                    while end < count && utf8[end] != UInt8(ascii: "\n") { end += 1 }
                    return (line, lineStart, end)
                }
            }
            return nil
        }
        if let (line, lineStart, end) = oversized {
            bytes.removeSubrange(lineStart...)
            let location = SourceLocation(offset: lineStart, line: line, column: 1)
            oversizedLine = SyntaxError(message: SyntaxMessage.lineTooLong(bytes: end - lineStart),
                                        span: SourceSpan(start: location, end: location))
        }
        lexer = Lexer(bytes: bytes, firstLine: firstLine, firstColumn: firstColumn)
        lastEnd = lexer.cursor.location
    }

    /// The longest line read, in bytes: data that large belongs in a `.npy` or `.csv` file.
    public static let maximumLineBytes = 4 << 20
    /// The error for the first line past `maximumLineBytes`, given once the lines before it are parsed.
    var oversizedLine: SyntaxError?

    /// Parses the next statement, or returns nil at the end of the input.
    public mutating func nextStatement() throws -> Statement? {
        if pendingError != nil { skipToNextLine() }
        do {
            while true {
                let token = try peek()
                guard token.kind == .newline || token.isSymbol(";") else { break }
                try advance()
            }
            let first = try peek()
            if first.kind == .end {
                if let error = oversizedLine {
                    oversizedLine = nil
                    throw error
                }
                return nil
            }
            statementStart = first.start
            var statement = try parseStatement()
            try finish(&statement, insideBlock: false)
            statementStart = nil
            return statement
        } catch var error as SyntaxError {
            if error.statementStart == nil { error.statementStart = statementStart?.location }
            // A statement written as in Python, TensorFlow or PyTorch gets the tapebook way instead.
            if !error.isIncomplete, let start = statementStart,
               let hint = ForeignHabit.hint(for: lexer.lineText(from: start.index)) {
                error.message = hint
            }
            pendingError = error
            throw error
        }
    }

    /// Skips to the start of the next line that is outside the brackets of the current statement.
    public mutating func skipToNextLine() {
        let resumeFrom = statementStart ?? (bufferStart < buffer.count ? buffer[bufferStart].start : lexer.cursor)
        let errorOffset = pendingError?.span.start.offset ?? resumeFrom.location.offset
        var scanner = lexer
        scanner.cursor = resumeFrom
        var open = 0
        while let code = scanner.code() {
            let offset = scanner.cursor.location.offset
            if code == UInt8(ascii: "#") {
                _ = scanner.restOfLine()
                continue
            }
            scanner.advanceCharacter()
            switch code {
            case UInt8(ascii: "\""):
                while let next = scanner.code(), !Lexer.isLineBreak(code: next) {
                    scanner.advanceCharacter()
                    if next == UInt8(ascii: "\"") { break }
                    if next == UInt8(ascii: "\\"), scanner.code() == UInt8(ascii: "\"") || scanner.code() == UInt8(ascii: "\\") {
                        scanner.advanceCharacter()
                    }
                }
            case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "<"): open += 1
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: ">"): open = max(0, open - 1)
            default:
                if Lexer.isLineBreak(code: code) && open == 0 && offset >= errorOffset {
                    lexer.cursor = scanner.cursor
                    resetState()
                    return
                }
            }
        }
        // The brackets never balanced (a `<` that compares, a `(` left open): rather than lose the rest of
        // the input, resume on the line after the fault.
        scanner.cursor = resumeFrom
        while let code = scanner.code() {
            let offset = scanner.cursor.location.offset
            scanner.advanceCharacter()
            if Lexer.isLineBreak(code: code) && offset >= errorOffset { break }
        }
        lexer.cursor = scanner.cursor
        resetState()
    }

    private mutating func resetState() {
        buffer = []
        bufferStart = 0
        newlinesAreSpaces = []
        depth = 0
        chainLinks = 0
        statementStart = nil
        pendingError = nil
        lastEnd = lexer.cursor.location
    }

    /// Parses the whole source; throws the first syntax error.
    public static func parseAll(_ source: String, firstLine: Int = 1) throws -> [Statement] {
        var parser = Parser(source: source, firstLine: firstLine)
        var statements: [Statement] = []
        while let statement = try parser.nextStatement() { statements.append(statement) }
        return statements
    }

    /// False when the source stops in the middle of a statement (an open bracket or block, or
    /// a statement waiting for its block): the REPL should read a continuation line.
    /// Sources with other syntax errors count as complete, so that the error gets reported.
    public static func isComplete(_ source: String) -> Bool {
        do {
            _ = try parseAll(source)
            return true
        } catch let error as SyntaxError {
            return !error.isIncomplete
        } catch {
            return true
        }
    }

    // MARK: Tokens

    mutating func peek() throws -> Token {
        while true {
            if bufferStart == buffer.count { buffer.append(try lexer.nextToken()) }
            let token = buffer[bufferStart]
            if token.kind == .newline && newlinesAreSpaces.last == true {
                dropFirstBuffered()
                continue
            }
            return token
        }
    }

    /// Consumes the first token read ahead.
    private mutating func dropFirstBuffered() {
        if buffer.count == 1 {
            buffer.removeLast()
            return
        }
        bufferStart += 1
        if bufferStart == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            bufferStart = 0
        }
    }

    /// The token after `peek()`.
    mutating func peekSecond() throws -> Token {
        _ = try peek()
        var index = bufferStart + 1
        while true {
            if index >= buffer.count {
                if buffer[buffer.count - 1].kind == .end { return buffer[buffer.count - 1] }
                buffer.append(try lexer.nextToken())
                continue
            }
            if buffer[index].kind == .newline && newlinesAreSpaces.last == true {
                index += 1
                continue
            }
            return buffer[index]
        }
    }

    @discardableResult
    mutating func advance() throws -> Token {
        let token = try peek()
        dropFirstBuffered()
        lastEnd = token.span.end
        if token.kind != .newline { lastTokenEnd = token.span.end }
        return token
    }

    /// Consumes the token if it is `symbol`.
    mutating func consume(symbol: String) throws -> Token? {
        try peek().isSymbol(symbol) ? try advance() : nil
    }

    mutating func consume(keyword: Keyword) throws -> Token? {
        try peek().isKeyword(keyword) ? try advance() : nil
    }

    func span(from start: Token) -> SourceSpan {
        SourceSpan(start: start.span.start, end: lastEnd)
    }

    /// An error at `token`; incomplete when the input ended inside a bracket or block, or
    /// (with `waiting`) while a statement waited for more.
    func failure(_ message: String, at token: Token, waiting: Bool = false) -> SyntaxError {
        let incomplete = token.kind == .end && (waiting || !newlinesAreSpaces.isEmpty)
        // NOTE: the end of the input is after its last line break, on a line that does not exist: what is
        // missing is reported just after the last token instead.
        let span = token.kind == .end && lastTokenEnd.offset > 0 ? SourceSpan(at: lastTokenEnd) : token.span
        return SyntaxError(message: message, span: span, isIncomplete: incomplete)
    }

    /// Enters one level of nesting; callers pair it with `depth -= 1`.
    mutating func descend(at token: Token) throws {
        depth += 1
        if depth > Parser.maximumNestingDepth {
            throw failure(SyntaxMessage.nestedTooDeeply, at: token)
        }
        if depth + chainLinks > Parser.maximumExpressionHeight {
            throw failure(SyntaxMessage.expressionTooTall, at: token)
        }
    }

    /// Adds one operator to a chain; the chain's loop takes its links off when it ends.
    mutating func link(at token: Token) throws {
        chainLinks += 1
        if depth + chainLinks > Parser.maximumExpressionHeight {
            throw failure(SyntaxMessage.expressionTooTall, at: token)
        }
    }

    /// Opens a bracket: `(` and `[` make newlines spaces, `<` keeps them as separators.
    mutating func open(_ opener: Token) throws {
        try descend(at: opener)
        newlinesAreSpaces.append(!opener.isSymbol("<"))
    }

    /// Consumes the closer of `opener`, or fails with "expected ')' to close '(' at 1:5".
    mutating func close(_ closer: String, opener: Token) throws {
        let token = try peek()
        guard token.isSymbol(closer) else {
            throw failure(SyntaxMessage.expectedClosing(closer, opener: opener.text, at: opener.span.start), at: token)
        }
        try advance()
        newlinesAreSpaces.removeLast()
        depth -= 1
    }

    mutating func expectName(after context: String) throws -> Identifier {
        let token = try peek()
        switch token.kind {
        case .name(let name):
            try advance()
            return Identifier(name: name, span: token.span)
        case .keyword(let keyword):
            throw failure(SyntaxMessage.keywordUsedAsName(keyword.rawValue), at: token)
        default:
            throw failure(SyntaxMessage.expectedName(after: context), at: token)
        }
    }

    mutating func expect(symbol: String, after context: String) throws {
        let token = try peek()
        guard token.isSymbol(symbol) else { throw failure(SyntaxMessage.expected(symbol, after: context), at: token) }
        try advance()
    }

    mutating func expectFileName(after context: String) throws -> String {
        let token = try peek()
        guard case .string(let path) = token.kind else {
            throw failure(SyntaxMessage.expectedFileName(after: context), at: token)
        }
        try advance()
        return path
    }
}
