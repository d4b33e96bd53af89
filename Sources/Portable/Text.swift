// Trimming, searching and replacing text as Foundation's `StringProtocol` methods did, on Unicode
// scalars with the standard library only.

extension StringProtocol {
    /// Drops spaces and tabs at both ends, like Foundation's `trimmingCharacters(in: .whitespaces)`:
    /// tab, and the Unicode space separators (U+0020, U+00A0, U+1680, U+2000–U+200B, U+202F, U+205F,
    /// U+3000). Line breaks stay.
    public func trimmingWhitespace() -> String {
        trimmingScalars(where: TextScalars.isWhitespace)
    }

    /// Drops whitespace and line breaks at both ends, like Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`: `trimmingWhitespace()`'s set plus U+000A–U+000D,
    /// U+0085, U+2028 and U+2029.
    public func trimmingWhitespaceAndNewlines() -> String {
        trimmingScalars(where: TextScalars.isWhitespaceOrNewline)
    }

    private func trimmingScalars(where drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !drop($0) }),
              let last = scalars.lastIndex(where: { !drop($0) }) else { return "" }
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[first...last])
        return String(result)
    }

    /// Where `text` first occurs, as Foundation's `range(of:)` finds it: scalar by scalar, but not
    /// ending inside a character, i.e. not followed by a combining mark (`"` does not occur in `"\u{301}`).
    /// `\r\n` is two characters here, as it was for Foundation. Meant for ASCII `text`, which is all
    /// the project searches for. An empty `text` is never found.
    public func rangeOfText(_ text: String) -> Range<String.Index>? {
        TextScalars.firstMatch(of: Array(text.unicodeScalars), in: unicodeScalars, from: unicodeScalars.startIndex)
    }

    /// Whether `text` occurs, as Foundation's `contains(_:)` said for a string (see `rangeOfText`).
    public func containsText(_ text: String) -> Bool {
        rangeOfText(text) != nil
    }

    /// Every occurrence of `target`, left to right and not overlapping, replaced by `replacement`, as
    /// Foundation's `replacingOccurrences(of:with:)` did (occurrences found as `rangeOfText` finds them).
    public func replacingText(_ target: String, with replacement: String) -> String {
        let scalars = unicodeScalars
        let needle = Array(target.unicodeScalars)
        var result = String.UnicodeScalarView()
        var position = scalars.startIndex
        while let match = TextScalars.firstMatch(of: needle, in: scalars, from: position) {
            result.append(contentsOf: scalars[position..<match.lowerBound])
            result.append(contentsOf: replacement.unicodeScalars)
            position = match.upperBound
        }
        result.append(contentsOf: scalars[position...])
        return String(result)
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

    static func firstMatch<Scalars: BidirectionalCollection>(of needle: [Unicode.Scalar], in scalars: Scalars,
                                                             from start: String.Index) -> Range<String.Index>?
    where Scalars.Element == Unicode.Scalar, Scalars.Index == String.Index {
        guard let head = needle.first else { return nil }
        var i = start
        while let candidate = scalars[i...].firstIndex(of: head) {
            var end = scalars.index(after: candidate)
            var matched = 1
            while matched < needle.count, end < scalars.endIndex, scalars[end] == needle[matched] {
                matched += 1
                end = scalars.index(after: end)
            }
            if matched == needle.count && (end == scalars.endIndex || !continuesCharacter(scalars[end])) {
                return candidate..<end
            }
            i = scalars.index(after: candidate)
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
