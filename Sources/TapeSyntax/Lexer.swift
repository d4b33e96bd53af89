/// A position in the source as the lexer walks it.
struct Cursor {
    /// Index into the lexer's characters (`codes`).
    var index: Int
    var location: SourceLocation
}

/// Turns source text into tokens, one at a time, so the parser can read a meta command's
/// raw line without tokenizing it.
struct Lexer {
    /// The source's characters when it is not ASCII without CR; otherwise empty, each character being its
    /// byte in `codes` (building an array of `Character`s was a twentieth of a replay's time).
    private let unicodeCharacters: [Character]
    /// Per character: its ASCII value, `Lexer.crlf` for "\r\n", or `Lexer.nonASCII`. The lexer's tests read
    /// these bytes: comparing `Character`s or reading their properties costs a string comparison or a
    /// Unicode look-up each, and parsing was a sixth of a replay's time.
    let codes: [UInt8]
    var cursor: Cursor

    static let crlf: UInt8 = 0xFE
    static let nonASCII: UInt8 = 0xFF

    init(source: String, firstLine: Int, firstColumn: Int = 1) {
        if source.utf8.allSatisfy({ $0 < 0x80 && $0 != 13 }) {
            // ASCII without CR: one character per byte.
            codes = Array(source.utf8)
            unicodeCharacters = []
        } else {
            unicodeCharacters = Array(source)
            codes = unicodeCharacters.map { c in
                guard let ascii = c.asciiValue else { return Lexer.nonASCII }
                return ascii == 10 && c.utf8.count == 2 ? Lexer.crlf : ascii
            }
        }
        cursor = Cursor(index: 0, location: SourceLocation(offset: 0, line: firstLine, column: firstColumn))
    }

    var isAtEnd: Bool { cursor.index >= codes.count }

    /// The character at `index` (in `codes`).
    func character(at index: Int) -> Character {
        unicodeCharacters.isEmpty ? Character(Unicode.Scalar(codes[index])) : unicodeCharacters[index]
    }

    /// The text from `index` to the end of its line, not including the line break.
    func lineText(from index: Int) -> String {
        var text = ""
        var i = index
        while i < codes.count, !Lexer.isLineBreak(code: codes[i]) { text.append(character(at: i)); i += 1 }
        return text
    }

    /// Lines end with "\n" or "\r\n" (one Character), as files are read (`SessionFile`, `SourceText`).
    // NOTE: not `Character.isNewline`, which is also true of a lone "\r", VT, FF, U+0085, U+2028 and
    // U+2029: those would end statements while line numbers, snippets and `#>` lines count only "\n".
    // They are spaces here.
    // `asciiValue` is 10 for both, and only for them (a fast check: comparing Characters is not).
    static func isLineBreak(_ character: Character) -> Bool { character.asciiValue == 10 }
    static func isLineBreak(code: UInt8) -> Bool { code == 10 || code == crlf }

    func character(_ lookahead: Int = 0) -> Character? {
        let index = cursor.index + lookahead
        return index < codes.count ? character(at: index) : nil
    }

    /// The code of the character `lookahead` places on (see `codes`), nil at the end.
    func code(_ lookahead: Int = 0) -> UInt8? {
        let index = cursor.index + lookahead
        return index < codes.count ? codes[index] : nil
    }

    private static func isDigit(_ code: UInt8?) -> Bool { code.map { $0 >= 48 && $0 <= 57 } ?? false }
    private static func isASCIILetter(_ code: UInt8) -> Bool { (code | 0x20) >= 97 && (code | 0x20) <= 122 }

    /// Whether the character may start a name: a letter or `_`.
    private func startsName(_ index: Int) -> Bool {
        let code = codes[index]
        if code == Lexer.nonASCII { return character(at: index).isLetter }
        return code < 0x80 && (Lexer.isASCIILetter(code) || code == 95)
    }

    /// Whether the character may continue a name: a letter, a number or `_`.
    private func continuesName(_ index: Int) -> Bool {
        let code = codes[index]
        if code == Lexer.nonASCII { let c = character(at: index); return c.isLetter || c.isNumber }
        return code < 0x80 && (Lexer.isASCIILetter(code) || (code >= 48 && code <= 57) || code == 95)
    }

    mutating func advanceCharacter() {
        let code = codes[cursor.index]
        if code < 0x80 {
            cursor.location.offset += 1
        } else {
            cursor.location.offset += code == Lexer.crlf ? 2 : character(at: cursor.index).utf8.count
        }
        cursor.index += 1
        if Lexer.isLineBreak(code: code) {
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
        guard let first = code() else {
            return Token(kind: .end, span: SourceSpan(at: start.location), text: "", start: start)
        }
        let kind: TokenKind
        if Lexer.isLineBreak(code: first) {
            advanceCharacter()
            kind = .newline
        } else if Lexer.isDigit(first) || (first == UInt8(ascii: ".") && Lexer.isDigit(code(1))) {
            kind = try lexNumber(start: start)
        } else if startsName(cursor.index) {
            advanceCharacter()
            while cursor.index < codes.count, continuesName(cursor.index) { advanceCharacter() }
            let word = text(from: start)
            kind = Keyword.named(word).map(TokenKind.keyword) ?? .name(word)
        } else if first == UInt8(ascii: "\"") {
            kind = .string(try lexString(start: start))
        } else if let symbol = lexSymbol() {
            kind = .symbol(symbol)
        } else {
            let unexpected = character(at: cursor.index)
            advanceCharacter()
            throw SyntaxError(message: SyntaxMessage.unexpectedCharacter(unexpected),
                              span: SourceSpan(start: start.location, end: cursor.location))
        }
        return Token(kind: kind, span: SourceSpan(start: start.location, end: cursor.location),
                     text: text(from: start), start: start)
    }

    // NOTE: ASCII text is made from its bytes; other text is appended one character at a time:
    // String(slice) goes through unspecialized generic code whose first call looks up protocol
    // conformances at run time, a noticeable share of a short session's time.
    private func text(from start: Cursor) -> String {
        let range = start.index..<cursor.index
        if codes[range].allSatisfy({ $0 < 0x80 }) {
            return codes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
        }
        var text = ""
        for i in range { text.append(character(at: i)) }
        return text
    }

    private mutating func skipSpacesAndComments() {
        while let code = code() {
            // Space, tab, VT, FF and a lone CR are spaces; so is any other Unicode white space.
            if code == UInt8(ascii: "#") {
                while let next = self.code(), !Lexer.isLineBreak(code: next) { advanceCharacter() }
            } else if code == 32 || (code >= 9 && code <= 13 && code != 10) {
                advanceCharacter()
            } else if code == Lexer.nonASCII, character(at: cursor.index).isWhitespace {
                advanceCharacter()
            } else {
                return
            }
        }
    }

    /// `3`, `3.0`, `.5`, `1e-3`, `2.5E+4`; `1..2` stops before `..`, and `2.T` before `.T`.
    private mutating func lexNumber(start: Cursor) throws -> TokenKind {
        let point = UInt8(ascii: "."), sign = { (c: UInt8?) in c == UInt8(ascii: "+") || c == UInt8(ascii: "-") }
        let isE = { (c: UInt8?) in c == UInt8(ascii: "e") || c == UInt8(ascii: "E") }
        while Lexer.isDigit(code()) { advanceCharacter() }
        // A point followed by a letter is `.T` (`2.T`), unless the letter starts an exponent (`1.e3`).
        let exponentAfterPoint = isE(code(1)) && (Lexer.isDigit(code(2)) || (sign(code(2)) && Lexer.isDigit(code(3))))
        if code() == point, code(1) != point, exponentAfterPoint || !(cursor.index + 1 < codes.count && startsName(cursor.index + 1)) {
            advanceCharacter()
            while Lexer.isDigit(code()) { advanceCharacter() }
        }
        if isE(code()) {
            let signLength = sign(code(1)) ? 1 : 0
            if Lexer.isDigit(code(1 + signLength)) {
                for _ in 0..<(1 + signLength) { advanceCharacter() }
                while Lexer.isDigit(code()) { advanceCharacter() }
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
    /// Switches over bytes, not sets: nothing to hash.
    private mutating func lexSymbol() -> String? {
        guard let first = code(), first < 0x80 else { return nil }
        if let second = code(1), second < 0x80 {
            switch (first, second) {
            case (UInt8(ascii: "*"), UInt8(ascii: "*")), (UInt8(ascii: "/"), UInt8(ascii: "/")), (UInt8(ascii: "+"), UInt8(ascii: "=")),
                 (UInt8(ascii: "-"), UInt8(ascii: "=")), (UInt8(ascii: "*"), UInt8(ascii: "=")), (UInt8(ascii: "/"), UInt8(ascii: "=")),
                 (UInt8(ascii: "."), UInt8(ascii: ".")), (UInt8(ascii: "="), UInt8(ascii: "=")), (UInt8(ascii: "!"), UInt8(ascii: "=")),
                 (UInt8(ascii: "<"), UInt8(ascii: "=")), (UInt8(ascii: ">"), UInt8(ascii: "=")):
                advanceCharacter()
                advanceCharacter()
                return String(decoding: [first, second], as: UTF8.self)
            default: break
            }
        }
        switch first {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "@"), UInt8(ascii: "^"),
             UInt8(ascii: "%"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "."):
            advanceCharacter()
            return String(UnicodeScalar(first))
        default:
            return nil
        }
    }
}
