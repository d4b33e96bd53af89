import XCTest
import TensorCore
@testable import TapeLanguage

/// Exact text of explain, check, graph, plot and the gradient health monitor, on small fixed examples.
final class InspectionTests: XCTestCase {
    /// The human output of every statement of `text`, at width 80, without colour.
    func output(_ text: String, configure: (Session) -> Void = { _ in }) -> String {
        let session = Session()
        session.setSeed(0)
        configure(session)
        let source = SourceText(text, firstLine: 1)
        let formatter = OutputFormatter(settings: session.settings)
        return session.run(text, keepGoing: true).map { formatter.human($0, source: source) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// The output of the last statement only.
    func last(_ text: String, configure: (Session) -> Void = { _ in }) -> String {
        let session = Session()
        configure(session)
        let source = SourceText(text, firstLine: 1)
        let formatter = OutputFormatter(settings: session.settings)
        guard let outcome = session.run(text, keepGoing: true).last else { return "" }
        return formatter.human(outcome, source: source)
    }

    let polynomial = "x = 3\nwatch x\ny = x * x + 2 * x\n"

    // MARK: explain

    func testExplainWalksBackAndAddsPaths() {
        XCTAssertEqual(last(polynomial + "explain grad y wrt x"), """
        explain grad y wrt x: 3 operations, from y back to x
        start  ∂y/∂y = 1

        1. y = #1 + #2   (add, line 3)
           rule  ∂(#1 + #2)/∂#1 = 1,  ∂(#1 + #2)/∂#2 = 1
                 the gradient flows through unchanged to both inputs
           in    g = ∂y/∂y = 1
           out   #1 gets g · 1 = 1
                 #2 gets g · 1 = 1

        2. #2 = 2 * x   (multiply, line 3)
           rule  ∂(2 * x)/∂x = 2
                 each input gets the gradient times the other input
           in    g = ∂y/∂#2 = 1
           out   x gets g · 2 = 2

        3. #1 = x * x   (multiply, line 3)
           rule  ∂(x * x)/∂x = x at each of its 2 places (they add up)
                 each input gets the gradient times the other input
           in    g = ∂y/∂#1 = 1
           out   x gets g · x = 3   (path 2 into x)
                 x gets g · x = 3   (path 3 into x)

        x: 3 paths add up: 2 + 3 + 3 = 8
        ∂y/∂x = 8   (the same as grad y wrt x)
        """)
    }

    func testExplainSumsBroadcastGradientBack() {
        XCTAssertEqual(last("v = [1, 2]\nb = 0.5\nwatch b\ns = sum(v + b)\nexplain grad s wrt b"), """
        explain grad s wrt b: 2 operations, from s back to b
        start  ∂s/∂s = 1

        1. s = sum(#1)   (sum, line 4)
           rule  #1 gets g broadcast to the shape of #1
                 every element gets the gradient of the sum
           in    g = ∂s/∂s = 1
           out   #1 gets g broadcast to the shape of #1 = [1, 1]

        2. #1 = v + b   (add, line 4)
           rule  ∂(v + b)/∂b = 1
                 the gradient flows through unchanged to both inputs
           in    g = ∂s/∂#1 = [1, 1]
           out   b gets g · 1 = 2   (summed back to [])

        ∂s/∂b = 2   (the same as grad s wrt b)
        """)
    }

    func testExplainQuotesCustomGradient() {
        XCTAssertEqual(last("x = 3\nwatch x\ncustom twice(a) = 2 * a grad(dy) = dy * 2\nz = twice(x)\nexplain grad z wrt x"), """
        explain grad z wrt x: 1 operation, from z back to x
        start  ∂z/∂z = 1

        1. z = twice(x)   (twice, line 4)
           rule  x gets the custom gradient
                 grad(dy) = dy * 2, with dy = g
           in    g = ∂z/∂z = 1
           out   x gets the custom gradient = 2

        ∂z/∂x = 2   (the same as grad z wrt x)
        """)
    }

    func testExplainSummarizesLongTapes() {
        let text = last("x = 1\nwatch x\nh = x\nrepeat 40 < h = h * 1 >\nexplain grad h wrt x")
        XCTAssertTrue(text.hasPrefix("explain grad h wrt x: 40 operations, from h back to x"), text)
        XCTAssertTrue(text.contains("\n… 30 more steps …\n"), text)
        XCTAssertTrue(text.contains("\n5. #36 = #35 * 1   (multiply, line 4)\n"), text)
        XCTAssertTrue(text.contains("\n36. #5 = #4 * 1   (multiply, line 4)\n"), text)
        XCTAssertFalse(text.contains("\n6. "), text)
        XCTAssertTrue(text.hasSuffix("∂h/∂x = 1   (the same as grad h wrt x)"), text)
    }

    func testExplainOfUnconnectedSourceSaysNone() {
        XCTAssertEqual(last("x = 1\nwatch x\nw = 2\nwatch w\ny = x * 3\nexplain grad y wrt w"), """
        explain grad y wrt w: 0 operations, from y back to w
        start  ∂y/∂y = 1

        ∂y/∂w is None: y does not depend on w
        """)
    }

    func testExplainMarksFirstNaN() {
        let text = last("u = [0, 1]\nwatch u\nsafe = where(gt(u, 0), log(u), 0)\nexplain grad sum(safe) wrt u")
        XCTAssertTrue(text.contains("   out   u gets g · 1/u = [nan, 1]   ← the first NaN: log at 0"), text)
        XCTAssertTrue(text.contains("\n1. sum(safe)   (sum, line 4)\n"), text)
    }

    func testExplainNeedsGrad() {
        XCTAssertTrue(output(polynomial + "explain jacobian y wrt x").contains("error: expected 'grad' after 'explain'"))
    }

    func testExplainIsJSONText() {
        let session = Session()
        let outcome = session.run(polynomial + "explain grad y wrt x").last!
        let json = OutputFormatter(settings: session.settings).json(outcome)
        XCTAssertTrue(json.hasPrefix("{\"line\": 4, \"source\": \"explain grad y wrt x\", \"result\": {\"kind\": \"text\", \"text\": \"explain grad y wrt x: 3 operations"), json)
    }

    func testExplainLeavesNothingOnTheTape() {
        let session = Session()
        session.run(polynomial)
        let before = session.recordedNodes().count
        session.run("explain grad y wrt x")
        XCTAssertEqual(session.recordedNodes().count, before)
    }

    // MARK: check

    func testCheckAgrees() {
        let text = last(polynomial + "check grad y wrt x")
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 7, text)
        XCTAssertEqual(Array(lines[0..<4]), [
            "check grad y wrt x: the tape's gradient against central differences",
            "step 1e-5·max(1, |element|); tolerance |tape − differences| ≤ 1e-6 + 1e-5·|differences|",
            "element  tape   differences  abs error",
            "───────  ────  ────────────  ─────────",
        ])
        // Differences are not exact: the last digits show it.
        XCTAssertTrue(lines[4].hasPrefix("x           8  8.0000000001    "), lines[4])
        XCTAssertTrue(lines[5].hasPrefix("max abs error "), lines[5])
        XCTAssertEqual(lines[6], "verdict: ok, within tolerance")
    }

    func testCheckCatchesWrongCustomGradient() {
        XCTAssertEqual(last("x = 3\nwatch x\ncustom twice(a) = 2 * a grad(dy) = dy\nz = twice(x)\ncheck grad z wrt x"), """
        check grad z wrt x: the tape's gradient against central differences
        step 1e-5·max(1, |element|); tolerance |tape − differences| ≤ 1e-6 + 1e-5·|differences|
        element  tape    differences      abs error
        ───────  ────  ─────────────  ─────────────
        x           1  2.00000000001  1.00000000001
        max abs error 1.00000000001, max rel error 0.5
        verdict: MISMATCH, 1 of 1 beyond tolerance; worst x: 1 on the tape, 2.00000000001 by differences
        custom twice: its gradient DISAGREES with its forward: for a, grad(dy) gives 1 but differences of twice give 2.00000000001 (max abs error 1.00000000001)
        """)
    }

    func testCheckExplainsKinks() {
        XCTAssertEqual(last("k = 0\nwatch k\nr = relu(k)\ncheck grad r wrt k"), """
        check grad r wrt k: the tape's gradient against central differences
        step 1e-5·max(1, |element|); tolerance |tape − differences| ≤ 1e-6 + 1e-5·|differences|
        element  tape  differences  abs error
        ───────  ────  ───────────  ─────────
        k           0          0.5        0.5
        max abs error 0.5, max rel error 1
        verdict: MISMATCH, 1 of 1 beyond tolerance; worst k: 0 on the tape, 0.5 by differences
        note: the path goes through relu; at a kink finite differences average both sides, so a mismatch there is expected
        """)
    }

    func testCheckLargeSourceUsesDirections() {
        let text = last("v = linspace(-1, 1, 100)\nwatch v\nq = sum(v^2)\ncheck grad q wrt v")
        XCTAssertTrue(text.contains("\nv along direction 3 "), text)
        XCTAssertTrue(text.hasSuffix("verdict: ok, all 3 within tolerance"), text)
    }

    func testCheckVariableAfterUpdateUsesRecordedValue() {
        // The loss was computed before the update: the check is at the value the tape saw.
        let text = last("var w = 2\nloss = w^3\nw -= 1\ncheck grad loss wrt w")
        XCTAssertTrue(text.contains("\nw          12  12.0000000002 "), text)
        XCTAssertTrue(text.hasSuffix("verdict: ok, within tolerance"), text)
    }

    func testCheckNone() {
        XCTAssertEqual(last("x = 1\nwatch x\ny = 2\ncheck grad y wrt x"), """
        check grad y wrt x: the tape's gradient against central differences
        step 1e-5·max(1, |element|); tolerance |tape − differences| ≤ 1e-6 + 1e-5·|differences|
        ∂y/∂x is None (y does not depend on x): nothing to check
        """)
    }

    // MARK: graph

    func testGraphInTerminal() {
        XCTAssertEqual(last(polynomial + "graph y"), """
        y = #1 + #2    add       []  15
        ┝━ #1 = x * x  multiply  []  9
        │  ┝━ x        watched   []  3
        │  ┕━ x        watched   []  3
        ┕━ #2 = 2 * x  multiply  []  6
           ┕━ x        watched   []  3
        ━ path to a watched value: gradients flow back along it
        """)
    }

    func testGraphInASCIIWithSharedValuesAndCuts() {
        XCTAssertEqual(last("x = 2\nwatch x\nu = exp(x)\ns = stop_gradient(u * 3)\nc = [1, 2]\nv = u * u * c + s\ngraph v",
                            configure: { $0.settings.unicode = false }), """
        v = #3 + s           add                            [2]  [76.7653, 131.3635]
        += #3 = #2 * c       multiply                       [2]  [54.5982, 109.1963]
        |  += #2 = u * u     multiply                       []   54.5982
        |  |  += u = exp(x)  exp                            []   7.3891
        |  |  |  `= x        watched                        []   2
        |  |  `= u           (above)
        |  `- c              constant                       [2]  [1, 2]
        `- s                 stop_gradient, cut from u * 3  []   22.1672
        = path to a watched value: gradients flow back along it
        """)
    }

    /// A loop's chain is drawn to the line limit and the rest counted: 20,000 steps made rows indented
    /// 60,000 columns deep (gigabytes) and overflowed the stack.
    func testGraphOfALongChainIsCutShort() {
        let text = last("x = 1\nwatch x\ny = x\nrepeat 20000 < y = sin(y) + 0.5 * y >\ngraph y")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, Session.graphLineLimit + 2)
        // Each step draws four rows (the sum, sin, the product, and y again as "above"), less the 60 shown.
        XCTAssertEqual(lines[Session.graphLineLimit], "… 79941 more lines")
        XCTAssertLessThan(text.utf8.count, 20_000)
    }

    func testGraphDOT() throws {
        let file = NSTemporaryDirectory() + "tapebook-inspection-\(getpid()).dot"
        defer { unlink(file) }
        XCTAssertEqual(last("x = 2\nwatch x\nc = [1, 2]\nwith stop < k = x * 5 >\ns = stop_gradient(x * 3)\ny = sum(x * c + s + k)\ngraph y to \"\(file)\""),
                       "wrote the graph of y (5 operations) to \(file)")
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), #"""
        digraph "y" {
          rankdir=BT;
          node [shape=box, fontname="Helvetica", fontsize=11];
          edge [fontname="Helvetica", fontsize=9];
          v1 [label="x\nwatched  []\nvalue 2", style=bold];
          v2 [label="c\nconstant  [2]\nvalue [1, 2]"];
          v3 [label="k\nstopped: computed while recording was stopped  []\nvalue 10", style=filled, fillcolor=grey92, color=grey60, fontcolor=grey45];
          v4 [label="#1 = x * 3\nmultiply  []\nvalue 6", style=filled, fillcolor=grey92, color=grey60, fontcolor=grey45];
          v5 [label="s\nstop_gradient, cut from x * 3  []\nvalue 6", style=filled, fillcolor=grey92, color=grey60, fontcolor=grey45];
          v6 [label="#2 = x * c\nmultiply  [2]\nvalue [2, 4]"];
          v7 [label="#3 = #2 + s\nadd  [2]\nvalue [8, 10]"];
          v8 [label="#4 = #3 + k\nadd  [2]\nvalue [18, 20]"];
          v9 [label="y = sum(#4)\nsum  []\nvalue 38", peripheries=2];
          v1 -> v4 [label="3", color=grey60, fontcolor=grey45];
          v4 -> v5 [label="stop_gradient", style=dashed, color=grey60, fontcolor=grey45];
          v1 -> v6 [label="c", penwidth=2];
          v2 -> v6 [label="x"];
          v6 -> v7 [label="1", penwidth=2];
          v5 -> v7 [label="1"];
          v7 -> v8 [label="1", penwidth=2];
          v3 -> v8 [label="1"];
          v8 -> v9 [label="g broadcast to the shape of #4", penwidth=2];
        }

        """#)
    }

    func testGraphGradInTerminal() {
        XCTAssertEqual(last("x = [1, 2]\nwatch x\nc = [3, 4]\nk = c * 2\ny = sum(x * x + k) * 3\ngraph grad y wrt x"), """
        y = #3 * 3           multiply  []   57       grad 1
        ┕━ #3 = sum(#2)      sum       []   19       grad 3
           ┕━ #2 = #1 + k    add       [2]  [7, 12]  grad [3, 3]
              ┝━ #1 = x * x  multiply  [2]  [1, 4]   grad [3, 3]
              │  ┝━ x        watched   [2]  [1, 2]   grad [6, 12]
              │  ┕━ x        watched   [2]  [1, 2]   grad [6, 12]
              └─ k           constant  [2]  [6, 8]   grad —
        grad: the gradient of y with respect to each value; — where the backward pass does not reach it
        ━ path to a watched value: gradients flow back along it
        """)
    }

    func testGraphGradLeavesNothingOnTheTapeAndNeedsGrad() {
        let session = Session()
        session.run("x = 2\nwatch x\ny = x * x")
        let before = session.recordedNodes().count
        XCTAssertFalse(session.run("graph grad y wrt x").last!.result.isError)
        XCTAssertEqual(session.recordedNodes().count, before)
        XCTAssertTrue(output("x = 2\nwatch x\ngraph grad x wrt y").contains("error: unknown name 'y'"))
    }

    /// A DOT file of `graph grad` holds each node's value and gradient, and Graphviz draws it.
    func testGraphGradDOTRendersWithGraphviz() throws {
        let file = NSTemporaryDirectory() + "tapebook-inspection-grad-\(getpid()).dot"
        defer { unlink(file) }
        XCTAssertEqual(last("x = [1.0, 2]\nwatch x\nc = 3\ny = sum(x * x) * c\ngraph grad y wrt x to \"\(file)\""),
                       "wrote the graph of grad y wrt x (3 operations) to \(file)")
        let dot = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertEqual(dot, #"""
        digraph "grad y wrt x" {
          rankdir=BT;
          node [shape=box, fontname="Helvetica", fontsize=11];
          edge [fontname="Helvetica", fontsize=9];
          v1 [label="x\nwatched  [2]\nvalue [1, 2]\ngrad [6, 12]", style=bold];
          v2 [label="#1 = x * x\nmultiply  [2]\nvalue [1, 4]\ngrad [3, 3]"];
          v3 [label="#2 = sum(#1)\nsum  []\nvalue 5\ngrad 3"];
          v4 [label="y = #2 * c\nmultiply  []\nvalue 15\ngrad 1", peripheries=2];
          v1 -> v2 [label="x", penwidth=2];
          v1 -> v2 [label="x", penwidth=2];
          v2 -> v3 [label="g broadcast to the shape of #1", penwidth=2];
          v3 -> v4 [label="c", penwidth=2];
        }

        """#)
        guard let dotProgram = Session.findExecutable("dot") else {
            throw XCTSkip("Graphviz's dot is not installed (apt-get install graphviz): the DOT text was checked, not its drawing")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dotProgram)
        process.arguments = ["-Tsvg", file]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let svg = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        for text in ["value [1, 2]", "grad [6, 12]", "value [1, 4]", "grad [3, 3]", "value 5", "grad 3", "value 15", "grad 1"] {
            XCTAssertTrue(svg.contains(">\(text)</text>"), text)
        }
    }

    func testGraphFigureIsTheDOTText() {
        let session = Session()
        let outcome = session.run("x = 2\nwatch x\ngraph grad x * x wrt x").last!
        guard case .graph(let dot)? = outcome.figure else { return XCTFail("no graph figure") }
        XCTAssertTrue(dot.hasPrefix("digraph \"grad x * x wrt x\" {"), dot)
        XCTAssertTrue(dot.contains("grad 4"), dot)
    }

    func testGraphRejectsOtherFormats() {
        XCTAssertTrue(output(polynomial + "graph y to \"g.txt\"").contains("error: graph writes .dot, .svg, .png or .pdf files, not g.txt"))
    }

    func testGraphSVGWithoutGraphvizSaysHowToInstall() throws {
        try XCTSkipIf(Session.findExecutable("dot") != nil, "Graphviz is installed")
        let text = output(polynomial + "graph y to \"g.svg\"")
        XCTAssertTrue(text.contains("error: Graphviz's `dot` is not installed, so g.svg cannot be drawn"), text)
        XCTAssertTrue(text.contains("note: install Graphviz (apt-get install graphviz, brew install graphviz), or write the text with graph ... to \"g.dot\""), text)
    }

    func testGraphSVGWithGraphviz() throws {
        try XCTSkipIf(Session.findExecutable("dot") == nil, "Graphviz is not installed")
        let file = NSTemporaryDirectory() + "tapebook-inspection-\(getpid()).svg"
        defer { unlink(file) }
        XCTAssertEqual(last(polynomial + "graph y to \"\(file)\""), "drew the graph of y (3 operations) to \(file)")
        XCTAssertTrue(try String(contentsOfFile: file, encoding: .utf8).contains("<svg"))
    }

    // MARK: plot

    func testPlotVectorAgainstIndexInASCII() {
        XCTAssertEqual(last("plot [4, 1, 0, 1, 4]", configure: { $0.settings.unicode = false; $0.settings.lineWidth = 32 }), """
        4 |*                  *
          | *                *
          | *                *
          |  *              *
          |   *             *
          |   *            *
          |    *          *
          |    *          *
          |     *        *
          |      **    **
          |        ** *
        0 |          *
          +--------------------
          0                   4
          * [4, 1, 0, 1, 4]
        """)
    }

    func testPlotAgainstChecksLengthsAndShapes() {
        XCTAssertEqual(last("xs = [1, 2, 3]\nplot xs^2 against [1, 2]"), """
        error: xs^2 has 3 elements but [1, 2] has 2
         --> 2:6
          │
        2 │ plot xs^2 against [1, 2]
          │      ^^^^^^^^^^^^^^^^^^^
          = note: plot ys against xs pairs the elements of two vectors of the same length
        """)
        XCTAssertTrue(output("plot eye(2)").contains("error: plot draws vectors, but eye(2) has shape [2, 2]"))
        XCTAssertTrue(output("plot []").contains("error: nothing to draw: [] is empty"))
        XCTAssertTrue(output("plot [nan, 1/0]").contains("error: nothing to draw: [nan, 1/0] has no finite point"))
        XCTAssertTrue(output("plot [1, nan, 2]").contains("note: 1 of the 3 points of [1, nan, 2] are NaN or infinite: they are left out"))
        XCTAssertTrue(output("x = 1\nplot exp(x)").contains("note: to plot a function, write plot exp(x) over x in A..B"))
    }

    func testPlotFigureCarriesTheSeries() {
        let outcome = Session().run("plot [3, 1] against [0, 2]").last!
        guard case .plot(let series, let range)? = outcome.figure else { return XCTFail("no plot figure") }
        XCTAssertEqual(series.map(\.label), ["[3, 1]"])
        XCTAssertEqual(series[0].xs, [0, 2])
        XCTAssertEqual(series[0].ys, [3, 1])
        XCTAssertNil(range)
    }

    func testPlotInASCIIWithGradient() {
        XCTAssertEqual(last("plot x^2 over x in -1..1 and grad", configure: {
            $0.settings.unicode = false
            $0.settings.lineWidth = 32
        }), """
         2 |                   +
           |                 ++
           |               ++
           |**           ++   **
           |  **       ++   **
           |    ******+*****
           |         ++
           |       ++
           |     ++
           |   ++
           | ++
        -2 |+
           +--------------------
           -1                  1
           * x^2   + d/dx (x^2)
        """)
    }

    func testPlotSeveralCurvesInBraille() {
        let text = last("plot sin(x), cos(x) over x in -pi..pi")
        XCTAssertTrue(text.hasSuffix("⠤ sin(x)   • cos(x)"), text)
        XCTAssertTrue(text.contains("-3.1416"), text)
        XCTAssertEqual(text.split(separator: "\n").count, Session.plotHeight + 3)
    }

    func testPlotNeedsOneNumberPerPoint() {
        XCTAssertTrue(output("plot [x, x] over x in 0..1").contains("error: plot needs one number for each x, but [x, x] has shape [2]"))
    }

    func testPlotRangeMustNotBeEmpty() {
        XCTAssertTrue(output("plot x over x in 1..0").contains("error: the plot range is empty: 1 is not below 0"))
    }

    func ascii(_ session: Session) {
        session.settings.unicode = false
        session.settings.lineWidth = 32
    }

    func testPlotOverARangeWhoseWidthOverflows() {
        // 1e308 - (-1e308) is inf in float64: every point was put at 0 and the axis labelled 0..1.
        XCTAssertEqual(last("plot x over x in -1e308..1e308", configure: ascii), """
             1e+308 |                   *
                    |                 **
                    |               **
                    |             **
                    |           **
                    |          *
                    |         **
                    |       **
                    |     **
                    |   **
                    | **
            -1e+308 |*
                    +--------------------
                    -1e+308        1e+308
                    * x
            """)
    }

    func testPlotSaysHowManyPointsItLeftOut() {
        XCTAssertEqual(last("plot log(x) over x in -1..1", configure: ascii), """
                  0 |                   *
                    |                 **
                    |               **
                    |              *
                    |             *
                    |             *
                    |            *
                    |            *
                    |           *
                    |           *
                    |          *
            -2.3026 |          *
                    +--------------------
                    -1                  1
                    * log(x)
            note: log(x) is NaN or infinite at 11 of 21 points: they are left out
            """)
        // A second curve is still drawn when the first has no finite point.
        XCTAssertTrue(last("plot 1/0, x over x in 0..1", configure: ascii)
            .hasSuffix("\nnote: 1/0 is NaN or infinite at every point from 0 to 1: nothing drawn for it"))
    }

    func testPlotWithNothingFiniteIsAnError() {
        XCTAssertEqual(last("plot 1/0 over x in 0..1", configure: ascii), """
            error: nothing to draw: 1/0 is NaN or infinite at every point from 0 to 1
             --> 1:6
              │
            1 │ plot 1/0 over x in 0..1
              │      ^^^
            """)
        XCTAssertTrue(output("plot log(-x), sqrt(-x) over x in 1..2").contains(
            "error: nothing to draw: every curve is NaN or infinite at every point from 1 to 2"))
    }

    func testPlotLeavesWorkspaceAlone() {
        let session = Session()
        session.run("x = 5\nplot x^2 over x in 0..1")
        XCTAssertEqual(session.value(named: "x")?.tensor.scalars, [5])
    }

    func testUnicodeFromEnvironment() {
        XCTAssertTrue(Settings.unicodeSupported(environment: ["LANG": "en_US.UTF-8", "TERM": "xterm"]))
        XCTAssertFalse(Settings.unicodeSupported(environment: ["LANG": "en_US.UTF-8", "TERM": "dumb"]))
        XCTAssertFalse(Settings.unicodeSupported(environment: ["LC_ALL": "C", "LANG": "en_US.UTF-8"]))
        XCTAssertTrue(Settings.unicodeSupported(environment: ["LC_CTYPE": "C.utf8"]))
        XCTAssertFalse(Settings.unicodeSupported(environment: [:]))
    }

    // MARK: Gradient health

    func testGradsMinAndMaxKeepInfinitiesAndLeaveOutNaN() {
        // The max left out inf (15811.3883 beside an Inf count of 1); NaN is counted, not ordered.
        XCTAssertEqual(last("x = [0, 1e-9, -1]\nwatch x\ngrad sum(sqrt(x)) wrt x;\n:grads"), """
            gradient          shape  norm         min  max  nan  inf  flag
            ────────────────  ─────  ────  ──────────  ───  ───  ───  ──────────
            ∂sum(sqrt(x))/∂x  [3]     nan  15811.3883  inf    1    1  non-finite
            """)
        XCTAssertTrue(last("x = [1, 2]\nwatch x\ngrad sum(sqrt(-x)) wrt x;\n:grads")
            .hasSuffix("∂sum(sqrt(-x))/∂x  [2]     nan    -    -    2    0  non-finite"))
    }

    // MARK: Gradient health in loops

    func testHealthMonitorReportsEachFlaggedStretchOnce() {
        let session = Session()
        session.run("var w = 2000\nsmall = 1e-9\nwatch small")
        var monitor = session.startGradientHealth()
        for step in 1...6 {
            if step <= 3 {
                session.run("g = grad w^2 wrt w")
            } else if step == 5 {
                session.run("g = grad small * 0.5 wrt small")
            }
            session.observeGradientHealth(&monitor, step: step)
        }
        XCTAssertEqual(session.gradientHealthReport(monitor), [
            "∂(w^2)/∂w exploding at steps 1–3 (3 steps), norm 4000 → 4000",
        ])
        session.run("tiny = 1e-12\nwatch tiny\ng = grad tiny * tiny wrt tiny")
        session.observeGradientHealth(&monitor, step: 7)
        session.run("z = 0\nwatch z\ng = grad sqrt(z) wrt z")
        session.observeGradientHealth(&monitor, step: 8)
        XCTAssertEqual(session.gradientHealthReport(monitor), [
            "∂(w^2)/∂w exploding at steps 1–3 (3 steps), norm 4000 → 4000",
            "∂(tiny * tiny)/∂tiny vanishing at step 7, norm 2.0e-12",
            "∂sqrt(z)/∂z non-finite at step 8: 1 Inf; it traces back to sqrt in the backward pass (line 3): sqrt at 0",
        ])
    }

    func testHealthMonitorIgnoresGradientsFromBeforeTheLoop() {
        let session = Session()
        session.run("var w = 2000\ng = grad w^2 wrt w")
        var monitor = session.startGradientHealth()
        for step in 1...3 { session.observeGradientHealth(&monitor, step: step) }
        XCTAssertEqual(session.gradientHealthReport(monitor), [])
    }
}
