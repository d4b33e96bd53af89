/// A position in the source as the lexer walks it.
struct Cursor {
    /// Index into the source's UTF-8 bytes (`Lexer.bytes`): always the start of a character.
    var index: Int
    var location: SourceLocation
}

/// Turns source text into tokens, one at a time, so the parser can read a meta command's
/// raw line without tokenizing it.
///
/// The lexer reads the source's UTF-8 bytes. The language itself is ASCII; other characters appear in
/// comments, strings and names (a letter of any script), and there each character (grapheme cluster)
/// is taken whole, so that columns count characters as before.
// NOTE: building an array of `Character`s (and a code per character) for a source with any non-ASCII
// text was an eighth of a replay's instructions, and most lessons have some (`∂`, `→`, `│` in comments).
struct Lexer {
    /// The source's UTF-8 bytes.
    let bytes: [UInt8]
    /// Per byte, the length in bytes of the character that starts there (0 inside a character); empty when
    /// the source is ASCII without CR, where every character is one byte.
    private let lengths: [UInt32]
    var cursor: Cursor

    static let crlf: UInt8 = 0xFE
    static let nonASCII: UInt8 = 0xFF

    /// `bytes` are valid UTF-8 (a `String`'s).
    init(bytes: [UInt8], firstLine: Int, firstColumn: Int = 1) {
        self.bytes = bytes
        lengths = Lexer.characterLengths(bytes)
        cursor = Cursor(index: 0, location: SourceLocation(offset: 0, line: firstLine, column: firstColumn))
    }

    /// The byte length of each character, or nothing when each byte is a character.
    ///
    /// Two ASCII bytes always have a character break between them, except CR LF (Unicode's grapheme
    /// rules: only non-ASCII characters extend, join or prepend). So the bytes are cut at those breaks into
    /// stretches around each non-ASCII byte or CR, and each stretch is split into characters by `String`
    /// itself: its first and last breaks are true breaks of the whole source.
    private static func characterLengths(_ bytes: [UInt8]) -> [UInt32] {
        let count = bytes.count
        guard let first = bytes.firstIndex(where: { $0 >= 0x80 || $0 == 13 }) else { return [] }
        var lengths = [UInt32](repeating: 1, count: count)
        // Whether a character breaks before `index` for certain: both neighbours ASCII, and not CR LF.
        func certainBreak(_ index: Int) -> Bool {
            index == 0 || index == count
                || (bytes[index - 1] < 0x80 && bytes[index] < 0x80 && !(bytes[index - 1] == 13 && bytes[index] == 10))
        }
        var index = first
        while index < count {
            // ASCII runs are skipped on the buffer (no bounds check a byte): most of a lesson is ASCII.
            index = bytes.withUnsafeBufferPointer { buffer in
                var i = index
                while i < buffer.count && buffer[i] < 0x80 && buffer[i] != 13 { i += 1 }
                return i
            }
            if index == count { break }
            // The stretch starts at the certain break at or before `index` (at most one ASCII byte back: an
            // ASCII byte before it may be extended by a combining mark), and ends at the next certain break.
            var start = index
            while !certainBreak(start) { start -= 1 }
            var end = index + 1
            while !certainBreak(end) { end += 1 }
            if Lexer.breaksAtEveryScalar(bytes[start..<end]) {
                for at in start..<end where bytes[at] & 0xC0 == 0x80 { lengths[at] = 0 }
                for at in start..<end where bytes[at] >= 0xC0 { lengths[at] = UInt32(Lexer.scalarLength(lead: bytes[at])) }
                index = end
                continue
            }
            let stretch = String(decoding: bytes[start..<end], as: UTF8.self)
            var at = start
            for character in stretch {
                let length = character.utf8.count
                lengths[at] = UInt32(length)
                for inside in (at + 1)..<(at + length) { lengths[inside] = 0 }
                at += length
            }
            index = end
        }
        return lengths
    }

    /// The byte length of the UTF-8 scalar that starts with `lead`.
    static func scalarLength(lead: UInt8) -> Int { lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4 }

    /// Whether every scalar of `bytes` (valid UTF-8, no CR) is a character of its own: each is ASCII or in
    /// a block whose scalars all have the grapheme break property Other (Latin, Greek, Cyrillic letters,
    /// punctuation, arrows, mathematical operators, box drawing, symbols). Nothing then joins two scalars
    /// (only CR LF, Extend, ZWJ, SpacingMark, Prepend, regional indicators and Hangul jamo do).
    // NOTE: the lessons' non-ASCII text is such symbols (`∂`, `→`, `│`, `×`, `θ`): splitting it by
    // `String` was a tenth of parsing. Conservative: any other scalar takes `String`'s way.
    static func breaksAtEveryScalar(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let lead = bytes[index]
            if lead < 0x80 {
                if lead == 13 { return false }
                index += 1
                continue
            }
            let length = scalarLength(lead: lead)
            var scalar = UInt32(lead) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for next in (index + 1)..<(index + length) { scalar = scalar << 6 | UInt32(bytes[next] & 0x3F) }
            switch scalar {
            case 0xA0...0xAC, 0xAE...0x2FF,   // Latin-1 (not the soft hyphen, a control), Latin Extended, IPA, modifier letters
                 0x370...0x3FF, 0x400...0x482, 0x48A...0x4FF,   // Greek, Cyrillic (not its combining marks)
                 0x2000...0x200A, 0x2010...0x2027, 0x2030...0x205F,   // spaces, dashes, quotes, other punctuation
                 0x2070...0x20CF,   // superscripts, subscripts, currency signs
                 0x2100...0x2BFF:   // letterlike symbols, arrows, mathematical operators, technical, box drawing, shapes, symbols, dingbats
                index += length
            default:
                return false
            }
        }
        return true
    }

    var isAtEnd: Bool { cursor.index >= bytes.count }

    /// The length in bytes of the character at `index`.
    func length(at index: Int) -> Int { lengths.isEmpty ? 1 : Int(lengths[index]) }

    /// The code of the character at `index`: its ASCII value, `Lexer.crlf` for "\r\n", `Lexer.nonASCII`
    /// for any other character of more than one byte (a non-ASCII one, or an ASCII one that a combining
    /// mark extends: `e` + U+0301 is one character, not the letter e).
    func code(at index: Int) -> UInt8 {
        if lengths.isEmpty { return bytes[index] }
        switch lengths[index] {
        case 1: return bytes[index] < 0x80 ? bytes[index] : Lexer.nonASCII
        case 2 where bytes[index] == 13 && bytes[index + 1] == 10: return Lexer.crlf
        default: return Lexer.nonASCII
        }
    }

    /// The character at `index`.
    func character(at index: Int) -> Character {
        let length = length(at: index)
        if length == 1 && bytes[index] < 0x80 { return Character(Unicode.Scalar(bytes[index])) }
        return String(decoding: bytes[index..<(index + length)], as: UTF8.self).first!
    }

    /// The text of the bytes in `range`, which starts and ends at characters.
    func text(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range]), as: UTF8.self) }
    }

    /// Where the line that holds `index` ends: the index of its line break, or the end of the source.
    private func endOfLine(from index: Int) -> Int {
        var i = index
        while i < bytes.count, !Lexer.isLineBreak(code: code(at: i)) { i += length(at: i) }
        return i
    }

    /// The text from `index` to the end of its line, not including the line break.
    func lineText(from index: Int) -> String { text(index..<endOfLine(from: index)) }

    /// Lines end with "\n" or "\r\n" (one Character), as files are read (`SessionFile`, `SourceText`).
    // NOTE: not `Character.isNewline`, which is also true of a lone "\r", VT, FF, U+0085, U+2028 and
    // U+2029: those would end statements while line numbers, snippets and `#>` lines count only "\n".
    // They are spaces here.
    static func isLineBreak(code: UInt8) -> Bool { code == 10 || code == crlf }

    /// The code of the character `lookahead` characters on (see `code(at:)`), nil at the end.
    func code(_ lookahead: Int = 0) -> UInt8? {
        if lengths.isEmpty {
            let index = cursor.index + lookahead
            return index < bytes.count ? bytes[index] : nil
        }
        var index = cursor.index
        for _ in 0..<lookahead {
            guard index < bytes.count else { return nil }
            index += length(at: index)
        }
        return index < bytes.count ? code(at: index) : nil
    }

    private static func isDigit(_ code: UInt8?) -> Bool { code.map { $0 >= 48 && $0 <= 57 } ?? false }
    private static func isASCIILetter(_ code: UInt8) -> Bool { (code | 0x20) >= 97 && (code | 0x20) <= 122 }

    /// Whether the character may start a name: a letter or `_`.
    private func startsName(_ index: Int) -> Bool {
        let code = code(at: index)
        if code == Lexer.nonASCII { return character(at: index).isLetter }
        return code < 0x80 && (Lexer.isASCIILetter(code) || code == 95)
    }

    /// Whether the character may continue a name: a letter, a number or `_`.
    private func continuesName(_ index: Int) -> Bool {
        let code = code(at: index)
        if code == Lexer.nonASCII { let c = character(at: index); return c.isLetter || c.isNumber }
        return code < 0x80 && (Lexer.isASCIILetter(code) || (code >= 48 && code <= 57) || code == 95)
    }

    /// Moves past one character.
    mutating func advanceCharacter() {
        let index = cursor.index
        let length = length(at: index)
        cursor.index += length
        cursor.location.offset += length
        if bytes[index] == 10 || (length == 2 && bytes[index] == 13 && bytes[index + 1] == 10) {
            cursor.location.line += 1
            cursor.location.column = 1
        } else {
            cursor.location.column += 1
        }
    }

    /// The raw text from here to the end of the line, not including the line break.
    mutating func restOfLine() -> String {
        let start = cursor.index
        while let code = code(), !Lexer.isLineBreak(code: code) { advanceCharacter() }
        return text(start..<cursor.index)
    }

    /// Moves to `end`, a character's start on the same line.
    private mutating func advanceWithinLine(to end: Int) {
        let start = cursor.index
        var characters = end - start
        if !lengths.isEmpty {
            characters = lengths.withUnsafeBufferPointer { lengths in
                var count = 0
                for i in start..<end where lengths[i] != 0 { count &+= 1 }
                return count
            }
        }
        cursor.index = end
        cursor.location.offset += end - start
        cursor.location.column += characters
    }

    mutating func nextToken() throws -> Token {
        skipSpacesAndComments()
        let start = cursor
        guard let first = code() else {
            return Token(kind: .end, span: SourceSpan(at: start.location), start: start)
        }
        let kind: TokenKind
        if Lexer.isLineBreak(code: first) {
            advanceCharacter()
            kind = .newline
        } else if Lexer.isDigit(first) || (first == UInt8(ascii: ".") && Lexer.isDigit(code(1))) {
            kind = try lexNumber(start: start)
        } else if startsName(cursor.index) {
            advanceCharacter()
            while cursor.index < bytes.count, continuesName(cursor.index) { advanceCharacter() }
            let word = text(start.index..<cursor.index)
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
        let literal: String
        switch kind {
        case .number, .string: literal = text(start.index..<cursor.index)
        case .newline: literal = bytes[start.index] == 13 ? "\r\n" : "\n"
        default: literal = ""
        }
        return Token(kind: kind, span: SourceSpan(start: start.location, end: cursor.location), literal: literal, start: start)
    }

    private mutating func skipSpacesAndComments() {
        while let code = code() {
            // Space, tab, VT, FF and a lone CR are spaces; so is any other Unicode white space.
            if code == UInt8(ascii: "#") {
                advanceWithinLine(to: commentEnd(after: cursor.index))
            } else if code == 32 || (code >= 9 && code <= 13 && code != 10) {
                advanceCharacter()
            } else if code == Lexer.nonASCII, character(at: cursor.index).isWhitespace {
                advanceCharacter()
            } else {
                return
            }
        }
    }

    /// Where the comment whose `#` is at `index` ends: at the line break, LF or CR LF (always one character),
    /// or at the end of the source.
    // NOTE: on the buffer, the LF first: most of a lesson's bytes are comments and `#>` lines.
    func commentEnd(after index: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var end = index + 1
            while end < buffer.count && buffer[end] != 10 { end += 1 }
            return end < buffer.count && end - 1 > index && buffer[end - 1] == 13 ? end - 1 : end
        }
    }

    /// `3`, `3.0`, `.5`, `1e-3`, `2.5E+4`; `1..2` stops before `..`, and `2.T` before `.T`.
    private mutating func lexNumber(start: Cursor) throws -> TokenKind {
        let point = UInt8(ascii: "."), sign = { (c: UInt8?) in c == UInt8(ascii: "+") || c == UInt8(ascii: "-") }
        let isE = { (c: UInt8?) in c == UInt8(ascii: "e") || c == UInt8(ascii: "E") }
        while Lexer.isDigit(code()) { advanceCharacter() }
        // A point followed by a letter is `.T` (`2.T`), unless the letter starts an exponent (`1.e3`).
        let exponentAfterPoint = isE(code(1)) && (Lexer.isDigit(code(2)) || (sign(code(2)) && Lexer.isDigit(code(3))))
        // The point is one byte: the character after it starts at the next byte.
        if code() == point, code(1) != point, exponentAfterPoint || !(cursor.index + 1 < bytes.count && startsName(cursor.index + 1)) {
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
        let text = text(start.index..<cursor.index)
        guard let value = Double(text) else {
            throw SyntaxError(message: SyntaxMessage.unexpected("'\(text)'"),
                              span: SourceSpan(start: start.location, end: cursor.location))
        }
        return .number(value)
    }

    /// A double-quoted string on one line; `\"` and `\\` are escapes, any other backslash is kept.
    private mutating func lexString(start: Cursor) throws -> String {
        advanceCharacter()
        var value: [UInt8] = []
        while let code = code(), !Lexer.isLineBreak(code: code) {
            let index = cursor.index
            advanceCharacter()
            if code == UInt8(ascii: "\"") { return String(decoding: value, as: UTF8.self) }
            if code == UInt8(ascii: "\\"), let escaped = self.code(), escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") {
                advanceCharacter()
                value.append(escaped)
            } else {
                value.append(contentsOf: bytes[index..<cursor.index])
            }
        }
        throw SyntaxError(message: SyntaxMessage.unterminatedString,
                          span: SourceSpan(start: start.location, end: cursor.location))
    }

    /// The two-character symbols (`**`, `//`, `+=`, `==`, `<=`, `..`, …), then the one-character ones.
    /// Switches over bytes, not sets: nothing to hash.
    private mutating func lexSymbol() -> String? {
        guard let first = code(), first < 0x80 else { return nil }
        if let second = code(1), let pair = Lexer.symbol(first, second) {
            advanceCharacter()
            advanceCharacter()
            return pair
        }
        guard let single = Lexer.symbol(first) else { return nil }
        advanceCharacter()
        return single
    }

    // NOTE: symbols are string literals, which cost nothing to make (a string built from bytes for every
    // operator did) and compare with the parser's literals by their bits.
    private static func symbol(_ first: UInt8, _ second: UInt8) -> String? {
        switch (first, second) {
        case (UInt8(ascii: "*"), UInt8(ascii: "*")): return "**"
        case (UInt8(ascii: "/"), UInt8(ascii: "/")): return "//"
        case (UInt8(ascii: "+"), UInt8(ascii: "=")): return "+="
        case (UInt8(ascii: "-"), UInt8(ascii: "=")): return "-="
        case (UInt8(ascii: "*"), UInt8(ascii: "=")): return "*="
        case (UInt8(ascii: "/"), UInt8(ascii: "=")): return "/="
        case (UInt8(ascii: "."), UInt8(ascii: ".")): return ".."
        case (UInt8(ascii: "="), UInt8(ascii: "=")): return "=="
        case (UInt8(ascii: "!"), UInt8(ascii: "=")): return "!="
        case (UInt8(ascii: "<"), UInt8(ascii: "=")): return "<="
        case (UInt8(ascii: ">"), UInt8(ascii: "=")): return ">="
        default: return nil
        }
    }

    private static func symbol(_ first: UInt8) -> String? {
        switch first {
        case UInt8(ascii: "+"): return "+"
        case UInt8(ascii: "-"): return "-"
        case UInt8(ascii: "*"): return "*"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "@"): return "@"
        case UInt8(ascii: "^"): return "^"
        case UInt8(ascii: "%"): return "%"
        case UInt8(ascii: "="): return "="
        case UInt8(ascii: ","): return ","
        case UInt8(ascii: ";"): return ";"
        case UInt8(ascii: ":"): return ":"
        case UInt8(ascii: "("): return "("
        case UInt8(ascii: ")"): return ")"
        case UInt8(ascii: "["): return "["
        case UInt8(ascii: "]"): return "]"
        case UInt8(ascii: "<"): return "<"
        case UInt8(ascii: ">"): return ">"
        case UInt8(ascii: "."): return "."
        default: return nil
        }
    }
}
