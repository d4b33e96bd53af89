#if canImport(Glibc)
import Glibc
#endif
import Portable

/// The same plot as `renderPlot`, as a standalone SVG image (for notebooks that show pictures):
/// a frame with tick marks at round numbers, one polyline per series in its own colour, a legend.
/// - Ranges follow `renderPlot`: `xRange` when given, else the finite points'; a single value is widened.
/// - A NaN or infinite point breaks its line, as in the terminal.
/// - Labels are XML-escaped; the image has no script and no external reference.
public func renderPlotSVG(series: [(label: String, xs: [Double], ys: [Double])], width: Int = 640, height: Int = 360,
                          xRange: (lower: Double, upper: Double)? = nil) -> String {
    let finite = series.flatMap { zip($0.xs, $0.ys) }.filter { $0.0.isFinite && $0.1.isFinite }
    let (xLow, xHigh) = xRange.map { widened($0.lower, $0.upper) } ?? widened(finite.map(\.0).min(), finite.map(\.0).max())
    let (yLow, yHigh) = widened(finite.map(\.1).min(), finite.map(\.1).max())
    let left = 64.0, right = 16.0, top = 16.0
    let legendRows = series.filter { !$0.label.isEmpty }.isEmpty ? 0 : 1
    let bottom = 40.0 + Double(legendRows) * 22
    let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
    func px(_ x: Double) -> Double { left + position(x, xLow, xHigh) * plotWidth }
    func py(_ y: Double) -> Double { top + (1 - position(y, yLow, yHigh)) * plotHeight }

    var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">",
               "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>"]
    // Grid and ticks at round numbers.
    for t in ticks(xLow, xHigh) {
        let x = coordinate(px(t))
        out.append("<line x1=\"\(x)\" y1=\"\(coordinate(top))\" x2=\"\(x)\" y2=\"\(coordinate(top + plotHeight))\" stroke=\"#e5e5e5\"/>")
        out.append("<text x=\"\(x)\" y=\"\(coordinate(top + plotHeight + 16))\" text-anchor=\"middle\" fill=\"#444\">\(escapeXML(formatNumber(t)))</text>")
    }
    for t in ticks(yLow, yHigh) {
        let y = coordinate(py(t))
        out.append("<line x1=\"\(coordinate(left))\" y1=\"\(y)\" x2=\"\(coordinate(left + plotWidth))\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>")
        out.append("<text x=\"\(coordinate(left - 6))\" y=\"\(y)\" dy=\"0.35em\" text-anchor=\"end\" fill=\"#444\">\(escapeXML(formatNumber(t)))</text>")
    }
    out.append("<rect x=\"\(coordinate(left))\" y=\"\(coordinate(top))\" width=\"\(coordinate(plotWidth))\" height=\"\(coordinate(plotHeight))\" fill=\"none\" stroke=\"#888\"/>")
    for (index, s) in series.enumerated() {
        let colour = plotColours[index % plotColours.count]
        var runs: [[String]] = [[]]
        for (x, y) in zip(s.xs, s.ys) {
            guard x.isFinite && y.isFinite else { runs.append([]); continue }
            runs[runs.count - 1].append(coordinate(px(x)) + "," + coordinate(py(y)))
        }
        for run in runs where !run.isEmpty {
            if run.count == 1 {
                let xy = run[0].split(separator: ",")
                out.append("<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2\" fill=\"\(colour)\"/>")
            } else {
                out.append("<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(run.joined(separator: " "))\"/>")
            }
        }
    }
    var legendX = left
    let legendY = Double(height) - 12
    for (index, s) in series.enumerated() where !s.label.isEmpty {
        let colour = plotColours[index % plotColours.count]
        out.append("<line x1=\"\(coordinate(legendX))\" y1=\"\(coordinate(legendY - 4))\" x2=\"\(coordinate(legendX + 18))\" y2=\"\(coordinate(legendY - 4))\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
        out.append("<text x=\"\(coordinate(legendX + 24))\" y=\"\(coordinate(legendY))\" fill=\"#222\">\(escapeXML(s.label))</text>")
        legendX += 40 + 6.5 * Double(s.label.count)
    }
    out.append("</svg>")
    return out.joined(separator: "\n")
}

/// Colours told apart by most readers, colour-blind ones included (Okabe and Ito's palette).
private let plotColours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]

/// Text made safe inside an XML element or attribute.
public func escapeXML(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}

/// A pixel coordinate with two decimals.
private func coordinate(_ v: Double) -> String { String(cFormat: "%.2f", v.isFinite ? v : 0) }

/// Where `v` lies from `low` to `high`, 0 to 1, clamped; halved differences where the full ones overflow.
private func position(_ v: Double, _ low: Double, _ high: Double) -> Double {
    let f = (high - low).isFinite ? (v - low) / (high - low) : (v / 2 - low / 2) / (high / 2 - low / 2)
    return f.isFinite ? min(1, max(0, f)) : 0
}

/// The range of the points, widened when it is a single value; 0...1 when there is none.
private func widened(_ low: Double?, _ high: Double?) -> (Double, Double) {
    guard let low, let high else { return (0, 1) }
    guard low == high else { return (low, high) }
    let a = low - 1 == low ? low.nextDown : low - 1, b = high + 1 == high ? high.nextUp : high + 1
    return (a.isFinite ? a : low, b.isFinite ? b : high)
}

/// Round numbers from `low` to `high`, four to eight of them: steps of 1, 2 or 5 times a power of ten.
func ticks(_ low: Double, _ high: Double) -> [Double] {
    let span = high / 2 - low / 2
    guard span.isFinite, span > 0 else { return [low] }
    let raw = span / 4
    let magnitude = pow10(floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    guard step > 0, step.isFinite else { return [low, high] }
    var values: [Double] = []
    var k = (low / step).rounded(.up)
    while k * step <= high && values.count < 12 {
        let t = k * step
        values.append(abs(t) < step * 1e-9 ? 0 : t)
        k += 1
    }
    return values.isEmpty ? [low, high] : values
}

private func pow10(_ e: Double) -> Double {
    var result = 1.0
    let n = Int(max(-320, min(308, e)))
    if n >= 0 { for _ in 0..<n { result *= 10 } } else { for _ in 0..<(-n) { result /= 10 } }
    return result
}
