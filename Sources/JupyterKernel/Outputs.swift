import Portable
import TensorCore
import Rendering
import TapeLanguage
import Autodiff

/// The MIME bundle of one statement's output: its text always; a matrix also as an HTML table; a graph
/// as SVG drawn by Graphviz (where installed); a plot as SVG drawn by tapebook.
enum Outputs {
    static func bundle(for outcome: StatementOutcome, text: String, session: Session) -> JSON {
        let settings = session.settings
        var data: [(String, JSON)] = [("text/plain", .string(text))]
        switch outcome.figure {
        case .graph(let dot)?:
            if let svg = session.graphSVG(dot) { data.append(("image/svg+xml", .string(svg))) }
        case .plot(let series, let range)?:
            data.append(("image/svg+xml", .string(renderPlotSVG(series: series, xRange: range))))
        case nil:
            if case .tensor(let label, let value) = outcome.result, value.tensor.rank == 2 {
                data.append(("text/html", .string(htmlTable(label: label, value.tensor, precision: settings.precision))))
            }
        }
        return .object(data)
    }

    /// Rows and columns shown in an HTML table before the rest is left out.
    static let htmlEdge = 20

    /// A matrix as an HTML table, its label as a caption; a large one shows its first rows and columns.
    static func htmlTable(label: String?, _ t: Tensor, precision: Int) -> String {
        let rows = t.shape[0], columns = t.shape[1]
        var html = "<table class=\"tapebook-matrix\">"
        if let label { html += "<caption style=\"text-align:left\">\(escapeXML(label)) (\(rows)×\(columns))</caption>" }
        let scalars = t.scalars
        for r in 0..<min(rows, htmlEdge) {
            html += "<tr>"
            for c in 0..<min(columns, htmlEdge) {
                html += "<td style=\"text-align:right\">\(escapeXML(formatNumber(scalars[r * columns + c], precision: precision)))</td>"
            }
            if columns > htmlEdge { html += "<td>…</td>" }
            html += "</tr>"
        }
        if rows > htmlEdge { html += "<tr><td>⋮</td></tr>" }
        return html + "</table>"
    }
}
