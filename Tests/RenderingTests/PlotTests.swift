import XCTest
@testable import Rendering

final class PlotTests: XCTestCase {
    func testBrailleCanvasLine() {
        var canvas = BrailleCanvas(width: 3, height: 2)
        XCTAssertEqual(canvas.dotWidth, 6)
        XCTAssertEqual(canvas.dotHeight, 8)
        canvas.line(from: (x: 0, y: 0), to: (x: 5, y: 7))
        canvas.set(x: 99, y: -1)  // outside: ignored
        XCTAssertEqual(canvas.rows(), ["⠱⡀ ", " ⠈⢆"])
    }

    func testASCIICanvas() {
        var canvas = BrailleCanvas(width: 4, height: 3, unicode: false)
        canvas.plot(points: [(x: 0, y: 2), (x: 1, y: 1), (x: 3, y: 0)])
        XCTAssertEqual(canvas.render(), "  **\n *  \n*   ")
    }

    /// The SVG of a plot: a frame, ticks at round numbers, one polyline per run of finite points, a legend.
    func testPlotSVG() {
        let svg = renderPlotSVG(series: [(label: "a<b", xs: [0, 1, 2, 3], ys: [0, 2, .nan, 4])], width: 200, height: 120)
        XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"120\""), svg)
        XCTAssertTrue(svg.hasSuffix("</svg>"))
        let lines = svg.split(separator: "\n")
        // Plot area: x from 64 to 184, y from 16 (y = 4) to 58 (y = 0); the NaN breaks the line.
        XCTAssertEqual(lines.filter { $0.hasPrefix("<polyline") }, [
            "<polyline fill=\"none\" stroke=\"#0072B2\" stroke-width=\"1.5\" points=\"64.00,58.00 104.00,37.00\"/>",
        ])
        XCTAssertEqual(lines.filter { $0.hasPrefix("<circle") }, ["<circle cx=\"184.00\" cy=\"16.00\" r=\"2\" fill=\"#0072B2\"/>"])
        XCTAssertTrue(svg.contains(">a&lt;b</text>"))
        let xTicks = lines.filter { $0.contains("text-anchor=\"middle\"") }.map { $0.split(separator: ">")[1].split(separator: "<")[0] }
        XCTAssertEqual(xTicks, ["0", "0.5", "1", "1.5", "2", "2.5", "3"])
    }

    func testTicksAreRoundNumbers() {
        XCTAssertEqual(ticks(-3.1416, 3.1416), [-3, -2, -1, 0, 1, 2, 3])
        XCTAssertEqual(ticks(0, 1), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        XCTAssertEqual(ticks(5, 5), [5])
        XCTAssertEqual(ticks(-1e308, 1e308).count, 5)
    }

    func testSmallPlot() {
        let plot = renderPlot(series: [(label: "x", xs: [0, 1, 2, 3, 4], ys: [0, 1, 2, 3, 4])],
                              width: 10, height: 3, unicode: true)
        XCTAssertEqual(plot, """
            4 ┤       ⡠⠔⠊
              │   ⢀⡠⠔⠉
            0 ┤⡠⠔⠊⠁
              └──────────
              0         4
              ⠤ x
            """)
    }

    func testASCIIPlotWithTwoSeriesSkipsNonFinitePoints() {
        let plot = renderPlot(series: [(label: "up", xs: [0, 1, 2], ys: [0, 1, 2]),
                                       (label: "down", xs: [0, 1, .nan, 2], ys: [2, 1, 5, 0])],
                              width: 6, height: 3, unicode: false)
        XCTAssertEqual(plot, """
            2 |++  **
              |  ++
            0 |**   +
              +------
              0     2
              * up   + down
            """)
    }

    func testPlotOfAConstantTooLargeToWidenByOne() {
        // 1e308 ± 1 is 1e308: the y range stayed empty and 0/0 positions trapped in Int(_:).
        let plot = renderPlot(series: [(label: "c", xs: [0, 1], ys: [1e308, 1e308])], width: 4, height: 2, unicode: false)
        XCTAssertEqual(plot, """
            1e+308 |
            1e+308 |****
                   +----
                   0   1
                   * c
            """)
    }

    func testPlotLabelsTheGivenXRange() {
        let plot = renderPlot(series: [(label: "", xs: [-1, 0, 1], ys: [.nan, 0, 1])], width: 4, height: 2, unicode: false,
                              xRange: (lower: -1, upper: 1))
        XCTAssertEqual(plot, """
            1 |   *
            0 |  *
              +----
              -1  1
            """)
    }

    func testSparkline() {
        XCTAssertEqual(sparkline([1, 2, 3, 4, 5, 6, 7, 8], width: 20), "▁▂▃▄▅▆▇█")
        XCTAssertEqual(sparkline([8, 1, .nan, 4.5], width: 20), "█▁ ▅")
        XCTAssertEqual(sparkline((0..<100).map(Double.init), width: 8), "▁▂▃▄▅▆▇█")
        XCTAssertEqual(sparkline([3, 3, 3], width: 10), "▄▄▄")
        XCTAssertEqual(sparkline([], width: 10), "")
    }
}
