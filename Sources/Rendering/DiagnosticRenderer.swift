/// An error with its source line and a caret under the fault, in the style of swift-syntax and rustc:
/// ```
/// error: cannot broadcast [2, 3] with [4]
///  --> 1:7
///   │
/// 1 │ y = a + b
///   │       ^
///   = note: expected shapes that match or are 1
/// ```
/// - `line` and `column` are 1-based; `column` counts Characters (grapheme clusters), as the lexer does.
/// - The carets span `length` characters (at least one caret), under their display width, so a wide
///   character gets `^^`. A column just past the end of the line (end of input) gets one caret there.
/// - Tabs in the source line are expanded to the next multiple of 4 columns, in the source line and
///   under it, so the caret stays aligned whatever the terminal's tab stops. Other control characters
///   and line separators other than "\n" are shown as a space.
/// - A line wider than 120 columns is shown as a window of 120 around the caret, `…` marking the cuts.
/// - `file`, when given, prefixes the location (` --> intro.tape:3:5`).
/// - `note` adds a `= note:` line (use it for `help:`-like hints or what was expected).
/// - `color` wraps the parts in ANSI escapes (bold red `error:` and carets, blue gutter); off by default.
/// The widest source line a diagnostic shows whole, in display columns; a longer one is cut to a window.
let maximumSnippetWidth = 120

public func renderDiagnostic(message: String, sourceLine: String, line: Int, column: Int, length: Int = 1,
                             file: String? = nil, note: String? = nil, color: Bool = false) -> String {
    let paint = Painter(enabled: color)
    let lineNumber = String(line)
    let gutter = String(repeating: " ", count: lineNumber.count)
    let bar = paint.gutter("│")

    // Expand tabs and measure where the span starts and how wide it is, in display columns.
    var cells: [(text: String, width: Int)] = []
    var displayColumn = 0
    var caretStart: Int?
    var caretEnd: Int?
    let firstIndex = max(1, column)
    let lastIndex = firstIndex + max(1, length) - 1
    for (offset, character) in sourceLine.enumerated() {
        let index = offset + 1
        if character == "\n" || character == "\r\n" { break }
        if index == firstIndex { caretStart = displayColumn }
        let width: Int
        if character == "\t" {
            width = 4 - displayColumn % 4
            cells.append((String(repeating: " ", count: width), width))
        } else if character.isNewline || character.unicodeScalars.allSatisfy({ $0.value < 0x20 || $0.value == 0x7F }) {
            // A lone "\r", VT, FF, U+2028 or another control character is a column of the line (the lexer
            // reads it as a space); shown raw it would move the cursor or vanish.
            width = 1
            cells.append((" ", 1))
        } else {
            width = displayWidth(of: character)
            cells.append((String(character), width))
        }
        displayColumn += width
        if index <= lastIndex && index >= firstIndex { caretEnd = displayColumn }
    }
    var start = caretStart ?? displayColumn
    var caretCount = max(1, (caretEnd ?? start) - start)
    // A line too long to show (a generated statement of thousands of terms) is cut to a window around the
    // caret, with `…` where text is left out; the caret is cut to the window too.
    var shown = ""
    if displayColumn <= maximumSnippetWidth {
        shown = cells.map(\.text).joined()
    } else {
        let from = max(0, min(start - maximumSnippetWidth / 4, displayColumn - maximumSnippetWidth))
        let to = from + maximumSnippetWidth
        var column = 0
        for cell in cells {
            defer { column += cell.width }
            if column >= from && column + cell.width <= to { shown += cell.text }
        }
        let leading = from > 0 ? 1 : 0
        if from > 0 { shown = "…" + shown }
        if to < displayColumn { shown += "…" }
        caretCount = max(1, min(start + caretCount, to) - max(start, from))
        start = max(start, from) - from + leading
    }

    var lines = [paint.error("error:") + " " + paint.bold(message)]
    let location = (file.map { $0 + ":" } ?? "") + "\(line):\(column)"
    lines.append(gutter + paint.gutter("-->") + " " + location)
    lines.append(gutter + " " + bar)
    lines.append(trimmingTrailingSpaces(paint.gutter(lineNumber) + " " + bar + " " + shown))
    lines.append(gutter + " " + bar + " " + String(repeating: " ", count: start)
                 + paint.error(String(repeating: "^", count: caretCount)))
    if let note {
        lines.append(gutter + " " + paint.gutter("=") + " " + paint.bold("note:") + " " + note)
    }
    return lines.joined(separator: "\n")
}

/// ANSI escapes when enabled, the plain text otherwise.
private struct Painter {
    let enabled: Bool
    private func wrap(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m" + text + "\u{1B}[0m" : text
    }
    func error(_ text: String) -> String { wrap(text, "1;31") }
    func bold(_ text: String) -> String { wrap(text, "1") }
    func gutter(_ text: String) -> String { wrap(text, "34") }
}
