import Foundation
import XCTest
import TapeSyntax
@testable import TapeLanguage

/// `:help` and `:vars`: every topic's example runs, and the exact text at width 80 without colour.
final class HelpAndVarsTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "tapebook-help-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func makeSession() -> Session {
        let session = Session()
        session.setSeed(0)
        session.settings.lineWidth = 80
        session.settings.color = false
        session.directory = directory
        return session
    }

    func output(_ text: String) -> String {
        let session = makeSession()
        let source = SourceText(text, firstLine: 1)
        let formatter = OutputFormatter(settings: session.settings)
        return session.run(text, keepGoing: true).map { formatter.human($0, source: source) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    // MARK: Every topic

    func testEveryTopicsExampleRunsInAFreshSession() {
        XCTAssertGreaterThan(Help.topicNames.count, 25)
        for name in Help.topicNames {
            let example = Help.topics[name]!.example
            let session = makeSession()
            let source = SourceText(example, firstLine: 1)
            let outcomes = session.run(example, keepGoing: true)
            XCTAssertFalse(outcomes.isEmpty, "\(name): the example ran nothing")
            for outcome in outcomes where outcome.result.isError {
                XCTFail("the example of :help \(name) failed:\n" + OutputFormatter(settings: session.settings).human(outcome, source: source))
            }
        }
    }

    func testEveryStatementKeywordAndCommandHasATopic() {
        let statements = ["grad", "jacobian", "batch_jacobian", "hessian", "jvp", "watch", "var", "with", "stop", "tape",
                          "stop_gradient", "custom", "def", "function", "repeat", "save", "load", "explain", "graph",
                          "check", "plot", "groups", "apply", "sgd", "adam", "rmsprop", "adagrad"]
        let commands = [":help", ":vars", ":grads", ":save", ":load", ":set", ":time", ":reset", ":quit",
                        "vars", "grads", "set", "time", "quit"]
        for topic in statements + commands + Session.keywords + Session.builtinNames {
            guard case .found(let text) = Help.lookup(topic, width: 80) else { XCTFail("no help on '\(topic)'"); continue }
            XCTAssertFalse(text.isEmpty, topic)
        }
        // Statements and commands have the full form: syntax, paragraph, example.
        for topic in statements + commands {
            guard case .found(let text) = Help.lookup(topic, width: 80) else { continue }
            XCTAssertTrue(text.contains("\nexample:\n"), "\(topic) has no example")
        }
    }

    func testEveryTopicFitsEightyColumns() {
        for name in Help.topicNames {
            guard case .found(let text) = Help.lookup(name, width: 80) else { XCTFail(name); continue }
            for line in text.split(separator: "\n") {
                XCTAssertLessThanOrEqual(line.count, 80, "\(name): \(line)")
            }
        }
        for line in Help.overview.split(separator: "\n") { XCTAssertLessThan(line.count, 80, String(line)) }
    }

    func testColonIsOptionalForCommandsAndKeywordsLeadToTheirStatement() {
        XCTAssertEqual(Help.lookup("vars", width: 80), Help.lookup(":vars", width: 80))
        XCTAssertEqual(Help.lookup("using", width: 80), Help.lookup("with", width: 80))
        XCTAssertEqual(Help.lookup("function", width: 80), Help.lookup("def", width: 80))
        // `save` is the statement; `:save` the session.
        XCTAssertNotEqual(Help.lookup("save", width: 80), Help.lookup(":save", width: 80))
    }

    func testBuiltinFallsBackToUsageAndSummary() {
        XCTAssertEqual(Help.lookup("softmax", width: 80), .found("softmax(x, axis=-1)\n  exp(x) / sum(exp(x)) along an axis"))
    }

    func testUnknownTopicSuggests() {
        XCTAssertEqual(Help.lookup("gard", width: 80), .failure("no help on 'gard'", note: "did you mean 'grad'?"))
        XCTAssertEqual(Help.lookup("jacobain", width: 80), .failure("no help on 'jacobain'", note: "did you mean 'jacobian'?"))
        XCTAssertEqual(Help.lookup("batch", width: 80), .failure("no help on 'batch'", note: "did you mean 'batch_jacobian'?"))
        XCTAssertEqual(Help.lookup("zzzz", width: 80), .failure("no help on 'zzzz'", note: "see :help"))
        // The error points where it is given.
        let span = SourceSpan(at: SourceLocation(offset: 0, line: 7, column: 1))
        XCTAssertThrowsError(try Help.lookup("gard", width: 80).text(at: span)) { error in
            let e = error as! EvaluationError
            XCTAssertEqual(e.span.start.line, 7)
            XCTAssertEqual(e.note, "did you mean 'grad'?")
        }
    }

    // MARK: Exact text

    func testHelpOverview() {
        XCTAssertEqual(output(":help"), """
        statements                                     :help TOPIC for any of them
          x = [1, 2, 3]              bind a name (a, b = ... binds several)
          watch x                    track x on the tape (watch x on t: one tape)
          var w = randn([3])         a trainable variable; w -= lr * g updates it
          grad y wrt x               ∂sum(y)/∂x [seed S] [unconnected zero] [using t]
          jacobian y wrt x           also batch_jacobian, hessian, jvp y wrt x along v
          stop_gradient(x)           the value of x, cut from the tape
          with stop < ... >          run a block with recording stopped
          with tape t [persistent] [nowatch] < ... >
          tape [t], tape reset [t]   list or empty the implicit tape, or tape t
          f(x) = x^2 + 1             a function; f(x) = < a = x^2; a + 1 > with a block
          custom f(x) = ... grad(dy) = ...   a function with its own gradient
          repeat N [as i] [show loss] < ... >
          while (x < 10) < ... >     also if C < ... > elif C < ... > else < ... >
          print i, loss              prints inside loops too
          x += 1; x[0] = 5           recorded on a plain tensor; x[x < 0] = 0 masks
          params = (w, b)            a group; gs = grad loss wrt w, b is one too
          opt = adam(0.01)           also sgd, rmsprop, adagrad (Keras's formulas)
          apply opt to w, b with gw, gb   one optimizer step, in place
          save x to "x.npy"          load("x.npy") reads .npy and .csv
        looking inside
          explain grad y wrt x       the backward pass step by step
          check grad y wrt x         the tape's gradient against finite differences
          graph y [to "g.dot"]       the computation graph
          graph grad y wrt x         the same, with the gradient of y on every value
          plot f(x) over x in a..b [and grad]
          plot v [against xs]        a vector against its index, or against xs
        commands
          :help [topic]  :vars  :grads  :save "f.tape" [without custom]  :load "f.tape"
          :export tf|jax|torch "f.py"
          :set precision N | color on|off | anomaly on|off | width N | limit N
          :set memory MiB|auto
          :time STATEMENT  :reset  :quit
        built-ins: :help sum, :help softmax, ... (Tab completes their names)
        """)
    }

    func testHelpGrad() {
        XCTAssertEqual(output(":help grad"), """
        grad Y wrt X
        grad Y wrt X1, X2 [seed S] [unconnected zero] [using T]
        grad (Y1, Y2) wrt X

          The gradient of sum(Y) with respect to the value bound to each source X,
          computed by reverse mode over the recorded operations (GradientTape.gradient).
          Y may be any expression; sources are names, and may be intermediate values.
          seed S supplies the output gradient (TensorFlow's output_gradients, a
          vector-Jacobian product); a source Y does not reach gives None with the
          reason, or zeros with unconnected zero (UnconnectedGradients.ZERO). using T
          reads the scoped tape T instead of the implicit one. grad is an expression, so
          gradients of gradients work to any order. Several targets, grad (Y1, Y2) wrt
          X, give the gradient of their sum (tape.gradient([y1, y2], x)); several
          sources bound to one name make a group, and a group source (wrt params) takes
          every member.

        example:
          x = [1, 2, 3]
          watch x
          y = sum(x^2)
          grad y wrt x
          grad (grad x^3 wrt x) wrt x

        see also: watch, jacobian, explain, check, with
        """)
    }

    func testVars() {
        let text = output("""
        x = [1, 2, 3]
        watch x
        y = sum(x^2);
        var w = [0.5, -1, 2]
        f(t) = t^2 + 1
        custom g(t) = t grad(dy) = clip(dy, -1, 1)
        with tape tp persistent < z = sum(w * x) >
        n = grad z wrt w using tp
        big = arange(0, 10);
        :vars
        """)
        XCTAssertEqual(text, """
        x = [1, 2, 3]
        w = [ 0.5, -1  ,  2  ]
        z = 4.5
        n = [1, 2, 3]
        name  kind      shape  tracking    value
        ────  ────────  ─────  ──────────  ────────────────────────────────────────
        big   tensor    [10]   -           [0, 1, 2, 3, …]
        f     function  (t)                f(t) = t^2 + 1
        g     custom    (t)                custom g(t) = t grad(dy) = clip(dy, -1,…
        n     tensor    [3]    tracked     [1, 2, 3]
        tp    tape             persistent
        w     variable  [3]    watched     [0.5, -1, 2]
        x     tensor    [3]    watched     [1, 2, 3]
        y     tensor    []     tracked     14
        z     tensor    []     tracked     4.5
        """)
    }

    func testVarsWhenEmpty() {
        XCTAssertEqual(output(":vars"), "no names bound yet")
    }
}
