import TensorCore
import Portable

/// How `formatTensor` lays out numbers; NumPy's `set_printoptions` names where they exist.
public struct FormatOptions: Equatable, Sendable {
    /// The most digits after the decimal point (or after the mantissa's point in scientific form).
    public var precision: Int
    /// The width in columns that lines should fit in.
    public var lineWidth: Int
    /// Tensors with more elements than this are summarized with `…`.
    public var threshold: Int
    /// How many items are shown at each edge of a summarized axis.
    public var edgeItems: Int

    public init(precision: Int = 4, lineWidth: Int = 80, threshold: Int = 1000, edgeItems: Int = 3) {
        self.precision = precision
        self.lineWidth = lineWidth
        self.threshold = threshold
        self.edgeItems = edgeItems
    }
}

/// A tensor as text, in the notebook's house style.
///
/// Numbers follow NumPy's `floatmode='maxprec'`: each element shows the shortest digits that read back
/// to it, rounded to `precision` digits after the point where it has more (NumPy's `unique=True`, so
/// `0.1` is `0.1` at every precision, never `0.10000000000000001`), and trailing zeros are dropped;
/// a value that is not an integer gets the decimals past `precision` that show it is not
/// (`0.99995`, never `1`: see docs/DECISIONS.md); the array shares the largest count of decimals left, and
/// elements with fewer are padded with spaces on the right (`[0.5 , 0.25, 1   ]`). Unlike NumPy,
/// integral values print without a point (`[1, 2, 3]`, not `[1., 2., 3.]`).
///
/// Scientific notation is used exactly when NumPy uses it: among the nonzero finite magnitudes shown,
/// the largest is at least 1e8, or the smallest is below 1e-4, or their ratio exceeds 1e3. The
/// mantissas then share the largest count of decimals that one of them needs (its shortest digits,
/// at most `precision`: a lone `5e-324` needs none, so it is not `4.9407e-324`), each rounded to that
/// count (padded with zeros, as NumPy does), again without a point
/// when all are integral (`[1e-05, 1e+03]`, `[1.5e-05, 1.0e+03]`), and exponents share at least two
/// digits. Non-finite values print as `nan`, `inf`, `-inf`. All elements share one width.
///
/// Layout by rank:
/// - scalar: the number alone (`14`, `3.1416`).
/// - vector: `[2, 4, 6]`, wrapped before `lineWidth` with a one-space hanging indent, as NumPy does.
/// - matrix and higher: a header with the shape (`3×3`), then one line per row, elements
///   right-aligned in columns two spaces apart after a one-space margin, no brackets. For rank 3 and
///   up each matrix is a block after a blank line, labelled with its index (`[0, :, :]`). A row wider than
///   `lineWidth` is split into column groups, each after a blank line and labelled by its columns
///   (`[:, 0:8]`, `[1, :, 8:16]`), the way R prints wide matrices. Trailing spaces are trimmed from every line.
/// - more than `threshold` elements: every axis longer than `2 * edgeItems` shows `edgeItems` items at
///   each end with `…` between them: an element in a vector, a one-wide column, a row of `…` under
///   the columns, or a line `…` for skipped blocks. The number format is chosen from the shown elements only, as in NumPy.
/// - zero elements: `[]` for a vector, `0×3 []` for higher ranks.
public func formatTensor(_ t: Tensor, _ options: FormatOptions = FormatOptions()) -> String {
    TensorLayout(tensor: t, options: options).render()
}

/// The shortest text that reads back to the same float64, for JSON output.
///
/// Swift's shortest round-trip `description`, so integral values keep `.0` (`2.0`) and extreme ones
/// use an exponent (`1e-300`, `1e+16`). NaN and infinities, which JSON lacks, are the quoted strings
/// `"nan"`, `"inf"`, `"-inf"`.
public func jsonNumber(_ v: Double) -> String {
    if v.isNaN { return "\"nan\"" }
    if v.isInfinite { return v < 0 ? "\"-inf\"" : "\"inf\"" }
    return v.description
}

/// One number in the style of `formatTensor` for a scalar: `14`, `0.5`, `1e-05`, `nan`.
public func formatNumber(_ v: Double, precision: Int = 4) -> String {
    NumberFormat(values: [v], precision: precision).format(v)
}

// MARK: - Number format shared by the elements of one tensor

/// The format NumPy's `FloatingFormat` would pick for a set of values, minus the integral point.
struct NumberFormat {
    private enum Notation {
        case positional(decimals: Int, integerWidth: Int)
        case scientific(decimals: Int, exponentDigits: Int)
    }

    private let notation: Notation
    private let precision: Int
    /// The width every formatted element is padded to.
    let width: Int
    /// The positional text of each value given to `init`, by its bits: `format` would otherwise find the same
    /// digits again (a `description` and a few strings a value: 5% of replaying every lesson). A lone
    /// value's text is kept without a dictionary: most formats are of one number.
    private var positionalTexts: [UInt64: String] = [:]
    private var onlyPositionalText: (bits: UInt64, text: String)?

    init(values: [Double], precision: Int) {
        let precision = max(0, precision)
        self.precision = precision
        var finiteCount = 0
        var largest = 0.0, smallest = Double.infinity
        for v in values where v.isFinite {
            finiteCount += 1
            if v != 0 {
                largest = max(largest, abs(v))
                smallest = min(smallest, abs(v))
            }
        }
        // Among the nonzero finite magnitudes (none when `largest` is 0).
        let useScientific = largest > 0 && (largest >= 1e8 || smallest < 1e-4 || largest / smallest > 1e3)
        var finiteWidth = 0
        if useScientific {
            var decimals = 0
            var exponentDigits = 2
            for v in values where v.isFinite {
                let (needed, digits) = NumberFormat.scientificNeeds(v, precision: precision)
                decimals = max(decimals, needed)
                exponentDigits = max(exponentDigits, digits)
            }
            notation = .scientific(decimals: decimals, exponentDigits: exponentDigits)
            for v in values where v.isFinite {
                let (mantissa, _) = NumberFormat.splitScientific(v, decimals: decimals)
                finiteWidth = max(finiteWidth, mantissa.utf8.count + 2 + exponentDigits)
            }
        } else {
            var decimals = 0
            var integerWidth = 0
            if finiteCount > 1 { positionalTexts.reserveCapacity(finiteCount) }
            for v in values where v.isFinite {
                let text = NumberFormat.positional(v, precision: precision)
                if finiteCount == 1 {
                    onlyPositionalText = (v.bitPattern, text)
                } else {
                    positionalTexts[v.bitPattern] = text
                }
                decimals = max(decimals, NumberFormat.decimalCount(text))
                integerWidth = max(integerWidth, text.utf8.prefix { $0 != UInt8(ascii: ".") }.count)
            }
            notation = .positional(decimals: decimals, integerWidth: integerWidth)
            finiteWidth = integerWidth + (decimals > 0 ? decimals + 1 : 0)
        }
        let nonFiniteWidth = values.contains { $0.isInfinite && $0 < 0 } ? 4 : (values.contains { !$0.isFinite } ? 3 : 0)
        width = max(finiteWidth, nonFiniteWidth)
    }

    /// `v` padded on the left to `width`; positional decimals are padded with spaces on the right.
    func format(_ v: Double) -> String {
        let text: String
        if v.isNaN {
            text = "nan"
        } else if v.isInfinite {
            text = v < 0 ? "-inf" : "inf"
        } else {
            switch notation {
            case let .positional(decimals, _):
                let known = onlyPositionalText.flatMap { $0.bits == v.bitPattern ? $0.text : nil }
                    ?? (positionalTexts.isEmpty ? nil : positionalTexts[v.bitPattern])
                let trimmed = known ?? NumberFormat.positional(v, precision: precision)
                let own = NumberFormat.decimalCount(trimmed)
                let padding = decimals == 0 ? 0 : (own == 0 ? decimals + 1 : decimals - own)
                text = trimmed + String(repeating: " ", count: padding)
            case let .scientific(decimals, exponentDigits):
                let (mantissa, exponent) = NumberFormat.splitScientific(v, decimals: decimals)
                let sign = exponent.first == "-" ? "-" : "+"
                let digits = exponent.drop { $0 == "-" || $0 == "+" }
                text = mantissa + "e" + sign
                    + String(repeating: "0", count: max(0, exponentDigits - digits.count)) + digits
            }
        }
        // The texts are ASCII (digits, sign, point, `e`, `nan`, `inf`): bytes are characters.
        let padding = width - text.utf8.count
        return padding > 0 ? String(repeating: " ", count: padding) + text : text
    }

    /// `v` in positional notation as NumPy's `dragon4_positional(v, precision, unique=True, trim='.')`
    /// writes it, without the point of an integral value: the shortest digits that read back to `v`
    /// when they have at most `precision` decimals (`0.1`, `123.456`), else `v` correctly rounded to
    /// `precision` decimals with trailing zeros dropped (`0.3333`), or to the fewest decimals past that at
    /// which a value that is not an integer does not look like one (at precision 2, `1.005` → `1.005`; at 4, `0.9999546` → `0.99995`).
    static func positional(_ v: Double, precision: Int) -> String {
        let shortest = ShortestDigits(v)
        let digits = shortest.digits, point = shortest.point
        let decimals = max(0, digits.count - point)
        if decimals > precision {
            // NOTE: a value that is not an integer never prints as one: past `precision`, decimals are added
            // until the rounding shows that it is not (0.9999546 is 0.99995 at precision 4, not 1).
            var shown = precision
            var text = rounded(v, shortest, decimals: shown)
            while shown < decimals && !text.utf8.contains(UInt8(ascii: ".")) {
                shown += 1
                text = rounded(v, shortest, decimals: shown)
            }
            return text
        }
        // The text in one buffer of bytes (a string for each part cost more than finding the digits).
        let zero = UInt8(ascii: "0")
        var text: [UInt8] = []
        text.reserveCapacity(digits.count + max(0, point - digits.count) + max(0, -point) + 3)
        if shortest.negative { text.append(UInt8(ascii: "-")) }
        if point <= 0 {
            text.append(zero)
        } else {
            text += digits.prefix(point)
            for _ in 0..<max(0, point - digits.count) { text.append(zero) }
        }
        if decimals > 0 {
            text.append(UInt8(ascii: "."))
            for _ in 0..<max(0, -point) { text.append(zero) }
            text += digits.suffix(decimals - max(0, -point))
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `v` correctly rounded to `shown` decimals (at most as many as its shortest digits have), trailing zeros
    /// and a bare point dropped: `trimZeros(printf("%.*f", shown, v))`.
    ///
    /// NOTE: rounding the shortest digits again would round twice when they end exactly at the midpoint
    /// (0.15 is 0.1499999999999999944…, which NumPy rounds to 0.1, not 0.2): the C library rounds the exact
    /// binary value, as Dragon4 does. Anywhere else the shortest digits round as the exact value does: they
    /// are the closest of the shortest texts that read back to `v`, so a midpoint with no more digits than
    /// they have, being no closer to `v`, does not read back to `v` either, and `v` and its digits lie on
    /// the same side of it. The midpoint case goes to `printf`.
    static func rounded(_ v: Double, _ shortest: ShortestDigits, decimals shown: Int) -> String {
        let digits = shortest.digits
        let kept = shortest.point + shown
        let zero = UInt8(ascii: "0")
        // The digits of |v|·10^shown rounded to an integer, most significant first (none for 0).
        var whole: [UInt8] = []
        if kept >= digits.count {
            // As many decimals as the shortest digits have: nothing to round (they are the closest such text).
            whole = digits + [UInt8](repeating: zero, count: kept - digits.count)
        } else if kept >= 0 {
            if kept == digits.count - 1 && digits[kept] == UInt8(ascii: "5") {
                return trimZeros(String(cFormat: fixedFormat(decimals: shown), v))
            }
            whole.reserveCapacity(kept + 1)
            whole += digits.prefix(kept)
            if digits[kept] >= UInt8(ascii: "5") {
                var index = whole.count - 1
                while index >= 0 && whole[index] == UInt8(ascii: "9") { whole[index] = zero; index -= 1 }
                if index >= 0 { whole[index] += 1 } else { whole.insert(UInt8(ascii: "1"), at: 0) }
            }
        }
        // `printf` keeps the sign of a negative value that rounds to zero (`-0.00`).
        var text: [UInt8] = shortest.negative ? [UInt8(ascii: "-")] : []
        text.reserveCapacity(whole.count + shown + 3)
        let integerDigits = whole.count - shown
        if integerDigits > 0 { text += whole.prefix(integerDigits) } else { text.append(zero) }
        var fraction = integerDigits >= 0 ? Array(whole.suffix(shown)) : [UInt8](repeating: zero, count: -integerDigits) + whole
        while fraction.last == zero { fraction.removeLast() }
        if !fraction.isEmpty {
            text.append(UInt8(ascii: "."))
            text += fraction
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `%.Nf` and `%.Ne`, written once for the usual counts of decimals rather than at each number.
    private static func fixedFormat(decimals: Int) -> String {
        decimals < fixedFormats.count ? fixedFormats[decimals] : "%.\(decimals)f"
    }
    private static let fixedFormats = (0...20).map { "%.\($0)f" }
    private static let scientificFormats = (0...20).map { "%.\($0)e" }

    /// What NumPy's first pass over scientific notation finds for `v`: the decimals its mantissa needs
    /// (its shortest digits when they fit in `precision` decimals: `5e-324` needs none, where `%.4e`
    /// would give `4.9407e-324`; else `precision` less the trailing zeros) and the digits of its exponent
    /// as `splitScientific` writes it (at least two).
    private static func scientificNeeds(_ v: Double, precision: Int) -> (decimals: Int, exponentDigits: Int) {
        let shortest = ShortestDigits(v)
        if !shortest.digits.isEmpty && shortest.digits.count - 1 <= precision {
            var magnitude = abs(shortest.point - 1)
            var digits = 1
            while magnitude >= 10 { magnitude /= 10; digits += 1 }
            return (shortest.digits.count - 1, max(2, digits))
        }
        let (mantissa, exponent) = splitScientific(v, decimals: precision)
        return (decimalCount(trimZeros(mantissa)), exponent.utf8.count - (exponent.utf8.first == UInt8(ascii: "-") ? 1 : 0))
    }

    /// The mantissa (`1.5000`) and the exponent without leading zeros beyond two (`-05`, `+300`).
    ///
    /// NOTE: once the elements share a count of decimals, NumPy prints each with that many, correctly
    /// rounded (`min_digits`), not its shortest digits padded with zeros: `[5e-324, 0.5]` is
    /// `[4.9e-324, 5.0e-001]`, so only the count comes from the shortest digits.
    private static func splitScientific(_ v: Double, decimals: Int) -> (mantissa: String, exponent: String) {
        // `printf`'s text is ASCII, with one `e`: bytes are characters.
        let text = String(cFormat: decimals < scientificFormats.count ? scientificFormats[decimals] : "%.\(decimals)e", v)
        let utf8 = text.utf8
        guard let e = utf8.firstIndex(of: UInt8(ascii: "e")) else { return (text, "00") }
        var exponent = Substring(utf8[utf8.index(after: e)...])
        let sign = exponent.removeFirst()
        while exponent.utf8.count > 2 && exponent.utf8.first == UInt8(ascii: "0") { exponent.removeFirst() }
        return (String(Substring(utf8[..<e])), (sign == "-" ? "-" : "") + exponent)
    }

    /// `1.2500` → `1.25`, `2.0000` → `2`.
    static func trimZeros(_ text: String) -> String {
        // `printf`'s digits are ASCII: bytes are characters.
        var bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: ".")) else { return text }
        while bytes.last == UInt8(ascii: "0") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func decimalCount(_ text: String) -> Int {
        // The texts are ASCII (digits, sign, point): bytes are characters.
        let utf8 = text.utf8
        guard let dot = utf8.firstIndex(of: UInt8(ascii: ".")) else { return 0 }
        return utf8.distance(from: dot, to: utf8.endIndex) - 1
    }
}

/// The shortest decimal digits that read back to a finite double (Swift's `description` finds them,
/// as NumPy's Dragon4 does in its `unique` mode): the value is `0.digits × 10^point`, with no leading
/// or trailing zeros in `digits`, which are empty for zero.
struct ShortestDigits {
    var negative = false
    var digits: [UInt8] = []
    var point = 0

    init(_ v: Double) {
        // NOTE: an integer under 1e15 (most values shown) gives its digits by division, without `description`.
        if v == v.rounded(.towardZero) && abs(v) < 1e15 {
            negative = v.sign == .minus
            var whole = Int(abs(v))
            guard whole != 0 else { return }
            var wholeDigits = 0
            var scale = 1
            while whole / scale >= 10 { scale *= 10; wholeDigits += 1 }
            point = wholeDigits + 1
            while whole % 10 == 0 { whole /= 10; scale /= 10 }
            digits.reserveCapacity(point)
            while scale > 0 {
                digits.append(UInt8(ascii: "0") + UInt8(whole / scale))
                whole %= scale
                scale /= 10
            }
            return
        }
        // `description` is `123.456`, `0.001`, `1e-05`, `1.2345e+20`, `-0.0` or `5e-324`.
        let text = v.description.utf8
        var exponent = 0
        var afterPoint = false
        var index = text.startIndex
        digits.reserveCapacity(17)
        if text.first == UInt8(ascii: "-") { negative = true; index = text.index(after: index) }
        while index != text.endIndex {
            let c = text[index]
            if c == UInt8(ascii: "e") {
                exponent = Int(Substring(text[text.index(after: index)...])) ?? 0
                break
            }
            if c == UInt8(ascii: ".") {
                afterPoint = true
            } else if digits.isEmpty && c == UInt8(ascii: "0") {
                if afterPoint { point -= 1 }
            } else {
                digits.append(c)
                if !afterPoint { point += 1 }
            }
            index = text.index(after: index)
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { point = 0 }
        point += exponent
    }
}

// MARK: - Layout

private struct TensorLayout {
    let tensor: Tensor
    let options: FormatOptions
    /// For each axis, the indices shown, `nil` standing for the skipped run (`…`).
    let shownIndices: [[Int?]]
    let format: NumberFormat

    init(tensor: Tensor, options: FormatOptions) {
        self.tensor = tensor
        self.options = options
        let summarize = tensor.count > options.threshold
        let edge = max(1, options.edgeItems)
        // NOTE: a tensor with no elements shows none, whatever its other axes' lengths (`[0, 1e8, 1e8]`).
        let indices: [[Int?]] = tensor.shape.map { size in
            if tensor.count == 0 { return [] }
            if summarize && size > 2 * edge {
                return Array(0..<edge).map { Optional($0) } + [nil] + Array(size - edge..<size).map { Optional($0) }
            }
            return Array(0..<size).map { Optional($0) }
        }
        shownIndices = indices
        var shown: [Double] = []
        if tensor.count > 0 {
            let strides = Shape.strides(tensor.shape)
            func collect(_ axis: Int, _ offset: Int) {
                if axis == tensor.rank { shown.append(tensor.scalars[offset]); return }
                for case let i? in indices[axis] { collect(axis + 1, offset + i * strides[axis]) }
            }
            collect(0, 0)
        }
        format = NumberFormat(values: shown, precision: options.precision)
    }

    func render() -> String {
        let shape = tensor.shape
        if shape.isEmpty { return trimmingTrailingSpaces(format.format(tensor.firstScalar)).trimmingLeadingSpaces }
        if tensor.count == 0 {
            return shape.count == 1 ? "[]" : shape.map(String.init).joined(separator: "×") + " []"
        }
        if shape.count == 1 { return renderVector() }
        return renderBlocks()
    }

    private func cell(_ offset: Int) -> String { format.format(tensor.scalars[offset]) }

    /// NumPy's `_formatArray` for one axis: each element must end before the last column, which is
    /// kept for `,` or `]`.
    private func renderVector() -> String {
        let words = shownIndices[0].map { $0.map(cell) ?? "…" }
        let limit = options.lineWidth - 1
        var lines: [String] = []
        var line = "["
        // The line's length in characters, kept as it grows: counting the line at each word went over it again.
        var length = 1
        for (n, word) in words.enumerated() {
            let wordLength = word.count
            if length > 1 && length + wordLength > limit {
                lines.append(trimmingTrailingSpaces(line))
                line = " "
                length = 1
            }
            let last = n == words.count - 1
            line += word + (last ? "]" : ", ")
            length += wordLength + (last ? 1 : 2)
        }
        lines.append(line)
        return lines.joined(separator: "\n")
    }

    private func renderBlocks() -> String {
        let shape = tensor.shape
        let rank = shape.count
        let strides = Shape.strides(shape)
        var out = [shape.map(String.init).joined(separator: "×")]
        let columns = shownIndices[rank - 1]
        let cellWidth = max(format.width, 1)
        // Split the columns into groups whose rows fit in `lineWidth`; the `…` column is one wide.
        var groups: [[Int?]] = [[]]
        var used = 0
        for column in columns {
            let width = (column == nil ? 1 : cellWidth) + 2
            if !groups[groups.count - 1].isEmpty && used + width - 1 > options.lineWidth {
                groups.append([])
                used = 0
            }
            groups[groups.count - 1].append(column)
            used += width
        }

        // Every combination of the leading axes, `nil` marking a skipped run of blocks.
        var prefixes: [[Int?]] = [[]]
        for axis in 0..<(rank - 2) {
            prefixes = prefixes.flatMap { prefix -> [[Int?]] in
                if prefix.contains(where: { $0 == nil }) { return [prefix] }
                return shownIndices[axis].map { prefix + [$0] }
            }
        }
        var lastWasEllipsis = false
        for prefix in prefixes {
            if prefix.contains(where: { $0 == nil }) {
                if !lastWasEllipsis { out.append(""); out.append("…") }
                lastWasEllipsis = true
                continue
            }
            lastWasEllipsis = false
            let base = zip(prefix, strides).reduce(0) { $0 + $1.0! * $1.1 }
            for group in groups {
                if rank > 2 || groups.count > 1 {
                    out.append("")
                    out.append(label(prefix: prefix.map { $0! }, columns: group, total: columns.count))
                }
                for row in shownIndices[rank - 2] {
                    let cells = group.map { column -> String in
                        guard let column else { return "…" }
                        guard let row else { return pad("…", to: cellWidth, .right) }
                        return cell(base + row * strides[rank - 2] + column)
                    }
                    out.append(trimmingTrailingSpaces(" " + cells.joined(separator: "  ")))
                }
            }
        }
        return out.joined(separator: "\n")
    }

    /// `[0, :, :]` for a whole block, `[0, :, 8:16]` or `[:, 0:8]` for a group of its columns.
    private func label(prefix: [Int], columns: [Int?], total: Int) -> String {
        let shown = columns.compactMap { $0 }
        var last = "\(shown.first ?? 0):\((shown.last ?? 0) + 1)"
        if columns.count == total { last = ":" }
        return "[" + (prefix.map(String.init) + [":", last]).joined(separator: ", ") + "]"
    }
}

private extension String {
    var trimmingLeadingSpaces: String { String(drop { $0 == " " }) }
}
