/// A position in the source as the lexer walks it.
struct Cursor {
    /// Index into the lexer's `characters`.
    var index: Int
    var location: SourceLocation
}

/// Turns source text into tokens, one at a time, so the parser can read a meta command's
/// raw line without tokenizing it.
struct Lexer {
    let characters: [Character]
    var cursor: Cursor

    init(source: String, firstLine: Int, firstColumn: Int = 1) {
        characters = Array(source)
        cursor = Cursor(index: 0, location: SourceLocation(offset: 0, line: firstLine, column: firstColumn))
    }

    var isAtEnd: Bool { cursor.index >= characters.count }

    /// Lines end with "\n" or "\r\n" (one Character), as files are read (`SessionFile`, `SourceText`).
    // NOTE: not `Character.isNewline`, which is also true of a lone "\r", VT, FF, U+0085, U+2028 and
    // U+2029: those would end statements while line numbers, snippets and `#>` lines count only "\n".
    // They are spaces here.
    // `asciiValue` is 10 for both, and only for them (a fast check: comparing Characters is not).
    static func isLineBreak(_ character: Character) -> Bool { character.asciiValue == 10 }

    func character(_ lookahead: Int = 0) -> Character? {
        let index = cursor.index + lookahead
        return index < characters.count ? characters[index] : nil
    }

    mutating func advanceCharacter() {
        let character = characters[cursor.index]
        cursor.index += 1
        cursor.location.offset += character.utf8.count
        if Lexer.isLineBreak(character) {
            cursor.location.line += 1
            cursor.location.column = 1
        } else {
            cursor.location.column += 1
        }
    }

    /// The raw text from here to the end of the line, not including the line break.
    mutating func restOfLine() -> String {
        var text = ""
        while let character = character(), !Lexer.isLineBreak(character) {
            text.append(character)
            advanceCharacter()
        }
        return text
    }

    mutating func nextToken() throws -> Token {
        skipSpacesAndComments()
        let start = cursor
        guard let first = character() else {
            return Token(kind: .end, span: SourceSpan(at: start.location), text: "", start: start)
        }
        let kind: TokenKind
        if Lexer.isLineBreak(first) {
            advanceCharacter()
            kind = .newline
        } else if isDigit(first) || (first == "." && character(1).map(isDigit) == true) {
            kind = try lexNumber(start: start)
        } else if first.isLetter || first == "_" {
            while let next = character(), next.isLetter || next.isNumber || next == "_" { advanceCharacter() }
            let word = text(from: start)
            kind = Keyword.named(word).map(TokenKind.keyword) ?? .name(word)
        } else if first == "\"" {
            kind = .string(try lexString(start: start))
        } else if let symbol = lexSymbol() {
            kind = .symbol(symbol)
        } else {
            advanceCharacter()
            throw SyntaxError(message: SyntaxMessage.unexpectedCharacter(first),
                              span: SourceSpan(start: start.location, end: cursor.location))
        }
        return Token(kind: kind, span: SourceSpan(start: start.location, end: cursor.location),
                     text: text(from: start), start: start)
    }

    private func isDigit(_ character: Character) -> Bool { character.isASCII && character.isNumber }

    // NOTE: appended one by one: String(slice) goes through unspecialized generic code whose first call
    // looks up protocol conformances at run time, a noticeable share of a short session's time.
    private func text(from start: Cursor) -> String {
        var text = ""
        for i in start.index..<cursor.index { text.append(characters[i]) }
        return text
    }

    private mutating func skipSpacesAndComments() {
        while let character = character() {
            if let ascii = character.asciiValue {
                // ASCII first, without Unicode property look-ups: space, tab, VT, FF and a lone CR are spaces.
                if ascii == UInt8(ascii: "#") {
                    while let next = self.character(), !Lexer.isLineBreak(next) { advanceCharacter() }
                } else if ascii == 32 || (ascii >= 9 && ascii <= 13 && ascii != 10) {
                    advanceCharacter()
                } else {
                    return
                }
            } else if character.isWhitespace {
                advanceCharacter()
            } else {
                return
            }
        }
    }

    /// `3`, `3.0`, `.5`, `1e-3`, `2.5E+4`; `1..2` stops before `..`, and `2.T` before `.T`.
    private mutating func lexNumber(start: Cursor) throws -> TokenKind {
        while let next = character(), isDigit(next) { advanceCharacter() }
        // A point followed by a letter is `.T` (`2.T`), unless the letter starts an exponent (`1.e3`).
        let exponentAfterPoint = (character(1) == "e" || character(1) == "E")
            && (character(2).map(isDigit) == true || ((character(2) == "+" || character(2) == "-") && character(3).map(isDigit) == true))
        if character() == ".", character(1) != ".", exponentAfterPoint || !(character(1).map { $0.isLetter || $0 == "_" } ?? false) {
            advanceCharacter()
            while let next = character(), isDigit(next) { advanceCharacter() }
        }
        if let e = character(), e == "e" || e == "E" {
            let signLength = (character(1) == "+" || character(1) == "-") ? 1 : 0
            if let digit = character(1 + signLength), isDigit(digit) {
                for _ in 0..<(1 + signLength) { advanceCharacter() }
                while let next = character(), isDigit(next) { advanceCharacter() }
            }
        }
        let text = text(from: start)
        guard let value = Double(text) else {
            throw SyntaxError(message: SyntaxMessage.unexpected("'\(text)'"),
                              span: SourceSpan(start: start.location, end: cursor.location))
        }
        return .number(value)
    }

    /// A double-quoted string on one line; `\"` and `\\` are escapes, any other backslash is kept.
    private mutating func lexString(start: Cursor) throws -> String {
        advanceCharacter()
        var value = ""
        while let character = character() {
            if Lexer.isLineBreak(character) { break }
            advanceCharacter()
            if character == "\"" { return value }
            if character == "\\", let escaped = self.character(), escaped == "\"" || escaped == "\\" {
                advanceCharacter()
                value.append(escaped)
            } else {
                value.append(character)
            }
        }
        throw SyntaxError(message: SyntaxMessage.unterminatedString,
                          span: SourceSpan(start: start.location, end: cursor.location))
    }

    /// The two-character symbols (`**`, `//`, `+=`, `==`, `<=`, `..`, …), then the one-character ones.
    /// Switches, not sets: nothing to hash.
    private mutating func lexSymbol() -> String? {
        guard let first = character() else { return nil }
        if let second = character(1) {
            switch (first, second) {
            case ("*", "*"), ("/", "/"), ("+", "="), ("-", "="), ("*", "="), ("/", "="), (".", "."),
                 ("=", "="), ("!", "="), ("<", "="), (">", "="):
                advanceCharacter()
                advanceCharacter()
                return String(first) + String(second)
            default: break
            }
        }
        switch first {
        case "+", "-", "*", "/", "@", "^", "%", "=", ",", ";", ":", "(", ")", "[", "]", "<", ">", ".":
            advanceCharacter()
            return String(first)
        default:
            return nil
        }
    }
}
