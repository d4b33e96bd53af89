/// How a table column places text in its width.
public enum Alignment: Sendable {
    case left, right, center
}

/// A table of aligned columns, for `:vars`, `:grads` and `tape`.
///
/// Columns are two spaces apart, sized by display width (so `∂`, `×` and `…` count one column), and the
/// header is underlined with `─` across each column:
/// ```
/// name  shape  value
/// ────  ─────  ─────────
/// x     [3]    [1, 2, 3]
/// ```
/// A column with no alignment given is left-aligned; a short row is padded with empty cells; newlines
/// inside a cell become spaces. Trailing spaces are trimmed from every line.
public func renderTable(headers: [String], rows: [[String]], alignments: [Alignment]) -> String {
    let clean = { (cell: String) in cell.replacingNewlines }
    let columnCount = max(headers.count, rows.map(\.count).max() ?? 0)
    let header = (0..<columnCount).map { $0 < headers.count ? clean(headers[$0]) : "" }
    let body = rows.map { row in (0..<columnCount).map { $0 < row.count ? clean(row[$0]) : "" } }
    let widths = (0..<columnCount).map { column in
        ([header] + body).map { displayWidth($0[column]) }.max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        let padded = cells.enumerated().map { column, text in
            pad(text, to: widths[column], column < alignments.count ? alignments[column] : .left)
        }
        return trimmingTrailingSpaces(padded.joined(separator: "  "))
    }
    var lines: [String] = []
    if !headers.isEmpty {
        lines.append(line(header))
        lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
    }
    lines += body.map(line)
    return lines.joined(separator: "\n")
}

private extension String {
    var replacingNewlines: String {
        // Printable ASCII has no line break (`isNewline` is also true of VT, FF, CR, U+0085, U+2028, U+2029).
        if isPrintableASCII(self) { return self }
        return String(map { $0.isNewline ? " " : $0 })
    }
}
