/// Terminal column widths of text, so that `∂`, `×`, `…` count one column and CJK or emoji count two.
///
/// A simplified `wcwidth` over grapheme clusters: combining marks and zero-width characters take no
/// column, East Asian wide and fullwidth characters and emoji-presentation clusters take two, the
/// rest take one. Control characters (other than tab, which callers expand first) take none.
public func displayWidth(_ text: String) -> Int {
    // Printable ASCII is one column a byte: most text is, and each character otherwise costs a look-up of
    // its Unicode properties (tables of numbers: 2% of replaying every lesson).
    if isPrintableASCII(text) { return text.utf8.count }
    return text.reduce(0) { $0 + displayWidth(of: $1) }
}

/// Whether every byte of `text` is printable ASCII (space to `~`): one character and one column each, and
/// no line break among them.
func isPrintableASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } }

/// The number of terminal columns one character (grapheme cluster) occupies: 0, 1 or 2.
public func displayWidth(of character: Character) -> Int {
    let scalars = character.unicodeScalars
    guard let first = scalars.first else { return 0 }
    if scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }  // emoji presentation selector
    if first.properties.isEmojiPresentation { return 2 }
    return scalarWidth(first)
}

private func scalarWidth(_ scalar: Unicode.Scalar) -> Int {
    let v = scalar.value
    if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .enclosingMark, .format: return 0
    default: break
    }
    if (0x1160...0x11FF).contains(v) || v == 0x200B { return 0 }
    return isWide(v) ? 2 : 1
}

/// East Asian Wide (W) and Fullwidth (F) ranges, condensed.
private func isWide(_ v: UInt32) -> Bool {
    switch v {
    case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
         0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
         0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
         0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
        return true
    default:
        return false
    }
}

/// `text` padded with spaces to `width` display columns, on the side `alignment` asks for.
func pad(_ text: String, to width: Int, _ alignment: Alignment) -> String {
    let missing = max(0, width - displayWidth(text))
    switch alignment {
    case .left: return text + String(repeating: " ", count: missing)
    case .right: return String(repeating: " ", count: missing) + text
    case .center:
        let left = missing / 2
        return String(repeating: " ", count: left) + text + String(repeating: " ", count: missing - left)
    }
}

/// `line` without trailing spaces, so golden `#>` lines survive editors that strip them.
public func trimmingTrailingSpaces(_ line: String) -> String {
    // A last character that is a space ends with the byte of one: most lines end otherwise.
    guard line.utf8.last == UInt8(ascii: " ") else { return line }
    var result = Substring(line)
    while result.last == " " { result.removeLast() }
    return String(result)
}
