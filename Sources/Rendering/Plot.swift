/// A line plot of one or more series, with axes, range labels and a legend:
/// ```
/// 1 ┤⠉⠒⠤⣀         ⣀⠤⠒⠉
///   │    ⠉⠒⠤⣀⣀⠤⠒⠉
/// 0 ┤
///   └──────────────────
///   -1               1
///   ⠤ f
/// ```
/// - `width` × `height` is the drawing area in character cells; the labels and axes come on top of it.
/// - The y axis is labelled with the smallest and largest finite y (on the bottom and top rows), the
///   x axis with `xRange` when given (the range the caller sampled), else with the smallest and largest
///   finite x, in the number style of `formatTensor`. A range with a single value is widened by 1 on
///   each side (by one step of the float64 grid where 1 is below its precision).
/// - Ranges as wide as float64 allows (-1e308 to 1e308) work: positions are computed from halved
///   values, so no difference overflows.
/// - Consecutive points are joined by lines; a NaN or infinite point is skipped and breaks the line.
/// - Series are told apart by marker, shown in the legend: with `unicode` the first series is drawn in
///   braille dots (legend `⠤`) and the next ones with `•`, `×`, `+`, `∘`, `#` at cell resolution;
///   without, `*`, `+`, `o`, `x`, `#`, `@`. Later series are drawn over earlier ones. No colour.
public func renderPlot(series: [(label: String, xs: [Double], ys: [Double])], width: Int, height: Int,
                       unicode: Bool, xRange: (lower: Double, upper: Double)? = nil) -> String {
    let width = max(2, width), height = max(2, height)
    let points = series.map { s in
        zip(s.xs, s.ys).map { (x: $0, y: $1) }
    }
    let finite = points.joined().filter { $0.x.isFinite && $0.y.isFinite }
    let (xLow, xHigh) = xRange.map { paddedRange([$0.lower, $0.upper]) } ?? paddedRange(finite.map(\.x))
    let (yLow, yHigh) = paddedRange(finite.map(\.y))

    var canvas = BrailleCanvas(width: width, height: height, unicode: unicode)
    let markers: [Character?] = unicode ? [nil, "•", "×", "+", "∘", "#"] : ["*", "+", "o", "x", "#", "@"]
    for (index, seriesPoints) in points.enumerated() {
        let marker = markers[index % markers.count]
        var run: [(x: Int, y: Int)] = []
        for point in seriesPoints + [(x: Double.nan, y: Double.nan)] {
            guard point.x.isFinite && point.y.isFinite else {
                canvas.plot(points: run, marker: marker)
                run = []
                continue
            }
            let x = fraction(point.x, from: xLow, to: xHigh) * Double(canvas.dotWidth - 1)
            let y = (1 - fraction(point.y, from: yLow, to: yHigh)) * Double(canvas.dotHeight - 1)
            run.append((x: Int(x.rounded()), y: Int(y.rounded())))
        }
    }

    let top = formatNumber(yHigh), bottom = formatNumber(yLow)
    let labelWidth = max(displayWidth(top), displayWidth(bottom))
    let (tick, axis, corner, rule) = unicode ? ("┤", "│", "└", "─") : ("|", "|", "+", "-")
    var lines: [String] = []
    for (row, text) in canvas.rows().enumerated() {
        let label = row == 0 ? top : (row == height - 1 ? bottom : "")
        let mark = label.isEmpty ? axis : tick
        lines.append(trimmingTrailingSpaces(pad(label, to: labelWidth, .right) + " " + mark + text))
    }
    let indent = String(repeating: " ", count: labelWidth + 1)
    lines.append(indent + corner + String(repeating: rule, count: width))
    let left = formatNumber(xLow), right = formatNumber(xHigh)
    let gap = max(1, width + 1 - displayWidth(left) - displayWidth(right))
    lines.append(indent + left + String(repeating: " ", count: gap) + right)
    let legend = series.enumerated().compactMap { index, s -> String? in
        guard !s.label.isEmpty else { return nil }
        return String(markers[index % markers.count] ?? "⠤") + " " + s.label
    }
    if !legend.isEmpty { lines.append(indent + legend.joined(separator: "   ")) }
    return lines.joined(separator: "\n")
}

/// Where `value` lies between `low` and `high` (below `high`), from 0 to 1, clamped.
// NOTE: `high - low` overflows to inf for -1e308...1e308 (and `value - low` with it), which put every
// point at 0; halved, both differences stay finite. Not always halved: halving loses subnormal ranges.
private func fraction(_ value: Double, from low: Double, to high: Double) -> Double {
    let f = (high - low).isFinite ? (value - low) / (high - low) : (value / 2 - low / 2) / (high / 2 - low / 2)
    return f.isFinite ? min(1, max(0, f)) : 0
}

/// The smallest and largest of `values`, widened by 1 each way when they coincide; `0...1` when empty.
private func paddedRange(_ values: [Double]) -> (Double, Double) {
    guard let low = values.min(), let high = values.max() else { return (0, 1) }
    guard low == high else { return (low, high) }
    // NOTE: from 2^53 on, ±1 is lost to rounding and the range stayed empty: 0/0 positions, and
    // `Int(.nan)` traps. One step of the float64 grid each way instead, never to infinity.
    var (widenedLow, widenedHigh) = (low - 1, high + 1)
    if widenedLow == widenedHigh { (widenedLow, widenedHigh) = (low.nextDown, high.nextUp) }
    if !widenedLow.isFinite { widenedLow = low }
    if !widenedHigh.isFinite { widenedHigh = high }
    return (widenedLow, widenedHigh)
}
