// Trimming, searching and replacing text as Foundation's `StringProtocol` methods did, on Unicode
// scalars with the standard library only.

// NOTE: written for String and Substring concretely (String's methods go through Substring), not for
// StringProtocol: generic code from another module runs unspecialized, and the runtime then looks up
// type metadata and protocol conformances on first use, a search of the whole binary each (about 0.3 ms
// on every run of a file, which trims its lines).

extension String {
    /// Drops spaces and tabs at both ends, like Foundation's `trimmingCharacters(in: .whitespaces)`:
    /// tab, and the Unicode space separators (U+0020, U+00A0, U+1680, U+2000–U+200B, U+202F, U+205F,
    /// U+3000). Line breaks stay.
    public func trimmingWhitespace() -> String { self[...].trimmingWhitespace() }

    /// Drops whitespace and line breaks at both ends, like Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`: `trimmingWhitespace()`'s set plus U+000A–U+000D,
    /// U+0085, U+2028 and U+2029.
    public func trimmingWhitespaceAndNewlines() -> String { self[...].trimmingWhitespaceAndNewlines() }

    /// Where `text` first occurs, as Foundation's `range(of:)` finds it: scalar by scalar, but not
    /// ending inside a character, i.e. not followed by a combining mark (`"` does not occur in `"\u{301}`).
    /// `\r\n` is two characters here, as it was for Foundation. Meant for ASCII `text`, which is all
    /// the project searches for. An empty `text` is never found.
    public func rangeOfText(_ text: String) -> Range<String.Index>? { self[...].rangeOfText(text) }

    /// Whether `text` occurs, as Foundation's `contains(_:)` said for a string (see `rangeOfText`).
    public func containsText(_ text: String) -> Bool { self[...].containsText(text) }

    /// Every occurrence of `target`, left to right and not overlapping, replaced by `replacement`, as
    /// Foundation's `replacingOccurrences(of:with:)` did (occurrences found as `rangeOfText` finds them).
    public func replacingText(_ target: String, with replacement: String) -> String {
        self[...].replacingText(target, with: replacement)
    }
}

extension String {
    /// The lines of the text: split at each "\n", a "\r" before it dropped, and the text after the last one
    /// (empty if the text ends with a line break). Byte by byte: splitting by `Character` costs a grapheme
    /// break test per character, and it never splits "\r\n", which is one character.
    public func splitLines() -> [String] {
        var text = self
        return text.withUTF8 { bytes in
            var lines: [String] = []
            var start = 0
            for i in 0..<bytes.count where bytes[i] == 0x0A {
                let end = i > start && bytes[i - 1] == 0x0D ? i - 1 : i
                lines.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
                start = i + 1
            }
            lines.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start...]), as: UTF8.self))
            return lines
        }
    }
}

extension Substring {
    /// See `String.trimmingWhitespace()`.
    public func trimmingWhitespace() -> String { trimmingScalars(where: TextScalars.isWhitespace) }

    /// See `String.trimmingWhitespaceAndNewlines()`.
    public func trimmingWhitespaceAndNewlines() -> String { trimmingScalars(where: TextScalars.isWhitespaceOrNewline) }

    private func trimmingScalars(where drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, drop(scalars[start]) { start = scalars.index(after: start) }
        while end > start {
            let before = scalars.index(before: end)
            if !drop(scalars[before]) { break }
            end = before
        }
        return String(self[start..<end])
    }

    /// See `String.rangeOfText(_:)`.
    public func rangeOfText(_ text: String) -> Range<String.Index>? {
        TextScalars.firstMatch(of: Array(text.unicodeScalars), in: unicodeScalars, from: startIndex)
    }

    /// See `String.containsText(_:)`.
    public func containsText(_ text: String) -> Bool { rangeOfText(text) != nil }

    /// See `String.replacingText(_:with:)`.
    public func replacingText(_ target: String, with replacement: String) -> String {
        let needle = Array(target.unicodeScalars)
        var result = ""
        var position = startIndex
        while let match = TextScalars.firstMatch(of: needle, in: unicodeScalars, from: position) {
            result += self[position..<match.lowerBound]
            result += replacement
            position = match.upperBound
        }
        result += self[position...]
        return result
    }
}

enum TextScalars {
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    static func isWhitespaceOrNewline(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return true
        default: return isWhitespace(s)
        }
    }

    static func firstMatch(of needle: [Unicode.Scalar], in scalars: Substring.UnicodeScalarView,
                           from start: String.Index) -> Range<String.Index>? {
        guard let head = needle.first else { return nil }
        var i = start
        while i < scalars.endIndex {
            guard scalars[i] == head else { i = scalars.index(after: i); continue }
            var end = scalars.index(after: i)
            var matched = 1
            while matched < needle.count, end < scalars.endIndex, scalars[end] == needle[matched] {
                matched += 1
                end = scalars.index(after: end)
            }
            if matched == needle.count && (end == scalars.endIndex || !continuesCharacter(scalars[end])) {
                return i..<end
            }
            i = scalars.index(after: i)
        }
        return nil
    }

    /// Whether `s` belongs to the character before it, for Foundation's search: a grapheme extender
    /// (combining marks, variation selectors, ZWNJ, tags) or an emoji skin-tone modifier, as of
    /// Unicode 15, the tables Foundation's CoreFoundation uses. Unicode 16 made a few old spacing
    /// marks extenders and one extender a spacing mark; those keep their Unicode 15 standing here.
    static func continuesCharacter(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x300 { return false }
        if s.value == 0x1171E { return true }
        let properties = s.properties
        guard properties.isGraphemeExtend || properties.isEmojiModifier,
              let age = properties.age, age.major < 16 else { return false }
        return !extendersSinceUnicode16.contains(where: { $0.contains(s.value) })
    }

    private static let extendersSinceUnicode16: [ClosedRange<UInt32>] = [
        0x0CC0...0x0CC0, 0x0CC7...0x0CC8, 0x0CCA...0x0CCB, 0x1715...0x1715, 0x1734...0x1734,
        0x1B3B...0x1B3B, 0x1B3D...0x1B3D, 0x1B43...0x1B44, 0x1BAA...0x1BAA, 0x1BF2...0x1BF3,
        0xA953...0xA953, 0xA9C0...0xA9C0, 0x111C0...0x111C0, 0x11235...0x11235, 0x1134D...0x1134D,
        0x116B6...0x116B6, 0x1193D...0x1193D, 0x11F41...0x11F41, 0x16FF0...0x16FF1, 0x1D166...0x1D166,
        0x1D16D...0x1D16D,
    ]
}
