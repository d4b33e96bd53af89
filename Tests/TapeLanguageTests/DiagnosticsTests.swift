import XCTest
@testable import TapeLanguage

/// Exact text of errors and printing at width 80, without colour.
final class DiagnosticsTests: XCTestCase {
    func output(_ text: String) -> String {
        let session = Session()
        session.setSeed(0)
        return Self.format(session, text)
    }

    /// What `session` prints for `text`, statement after statement, at width 80 without colour.
    static func format(_ session: Session, _ text: String) -> String {
        let source = SourceText(text, firstLine: 1)
        let formatter = OutputFormatter(settings: session.settings)
        return session.run(text, keepGoing: true).map { formatter.human($0, source: source) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    func testUnknownNameSuggests() {
        XCTAssertEqual(output("value = 1\nvalu + 1"), """
        value = 1
        error: unknown name 'valu'
         --> 2:1
          │
        2 │ valu + 1
          │ ^^^^
          = note: did you mean 'value'?
        """)
    }

    /// An error about the file of `graph ... to` points at the file, not at the value drawn.
    func testGraphFileErrorsPointAtTheFile() {
        XCTAssertEqual(output("x = 2\nwatch x\ny = x^2\ngraph y to \"g.txt\";  # a comment"), """
        x = 2
        y = 4
        error: graph writes .dot, .svg, .png or .pdf files, not g.txt
         --> 4:9
          │
        4 │ graph y to "g.txt";  # a comment
          │         ^^^^^^^^^^
        """)
    }

    /// A one-argument call of an elementwise built-in (`sin(y)`) is evaluated directly; any other call of
    /// it, and a name that hides it, take the general path with its errors.
    func testElementwiseCallsAndWhatHidesThem() {
        XCTAssertEqual(output("x = 0.5\nwatch x\ny = sin(x) * 2\ngrad y wrt x\ngrad grad y wrt x wrt x"), """
        x = 0.5
        y = 0.9589
        ∂y/∂x = 1.7552
        ∂(grad y wrt x)/∂x = -0.9589
        """)
        XCTAssertEqual(output("sin = 3\nsin(2)"), """
        sin = 3
        error: sin is a tensor, not a function
         --> 2:1
          │
        2 │ sin(2)
          │ ^^^^^^
          = note: to multiply, write sin * (...)
        """)
        XCTAssertEqual(output("sin(1, 2)"), """
        error: sin takes 1 argument, got 2
         --> 1:1
          │
        1 │ sin(1, 2)
          │ ^^^^^^^^^
          = note: usage: sin(x)
        """)
        XCTAssertEqual(output("exp(x=1)"), """
        error: unknown keyword argument 'x' for exp
         --> 1:5
          │
        1 │ exp(x=1)
          │     ^
          = note: exp takes no keyword arguments
        """)
        XCTAssertEqual(output("tanh(q)"), """
        error: unknown name 'q'
         --> 1:6
          │
        1 │ tanh(q)
          │      ^
          = note: did you mean 'eq'?
        """)
    }

    /// Counts, shapes, axes and indices share one check of whole numbers; the message names the argument.
    func testWholeNumbersNameWhatIsWrong() {
        func firstLine(_ text: String) -> String { String(output(text).split(separator: "\n").first { $0.hasPrefix("error") } ?? "") }
        XCTAssertEqual(firstLine("zeros([2.5])"), "error: 'shape' must be a whole number, got 2.5")
        XCTAssertEqual(firstLine("sum([1, 2], axis=0.5)"), "error: 'axis' must be a whole number, got 0.5")
        XCTAssertEqual(firstLine("x = [1, 2]\nx[1.5]"), "error: an index must be a whole number, got 1.5")
        XCTAssertEqual(firstLine("x = [1, 2]\nx[1e16]"), "error: an index is too large: 1e+16 (it must be under 10^15)")
        XCTAssertEqual(firstLine("repeat 2.5 < y = 1 >"), "error: the repeat count must be a whole number, got 2.5")
        XCTAssertEqual(firstLine("repeat 1e20 < y = 1 >"), "error: the repeat count is too large: 1e+20 (it must be under 10^15)")
        XCTAssertEqual(firstLine("zeros([inf])"), "error: 'shape' must be a whole number, got inf")
        // Numbers in messages are written as a user writes them, and nouns agree with them.
        XCTAssertEqual(firstLine("global_norm()"), "error: global_norm takes at least 1 argument, got 0")
        XCTAssertEqual(firstLine("arange(0, 1e12, 1)"), "error: arange(0, 1000000000000, 1) would have more than 100000000 elements (the limit)")
        XCTAssertEqual(firstLine("cross_entropy([[1, 2, 3]], [3])"), "error: cross_entropy: label 3 is not a class index in 0..<3")
    }

    /// Softmax and friends of empty tensors answer as TensorFlow does, without an internal error.
    func testSoftmaxFamilyOfEmptyTensors() {
        XCTAssertEqual(output("""
            softmax(zeros([0]))
            log_softmax(zeros([0]))
            logsumexp(zeros([0]))
            logsumexp(zeros([2, 0]), axis=1)
            cross_entropy(zeros([0]), zeros([0]))
            cross_entropy(zeros([2, 0]), zeros([2, 0]))
            x = zeros([0])
            watch x
            grad sum(softmax(x)) wrt x
            """), """
            []
            []
            -inf
            [-inf, -inf]
            0
            0
            x = []
            ∂sum(softmax(x))/∂x = []
            """)
        // An empty batch has no mean: NaN, as NumPy's mean, TensorFlow's reduce_mean and PyTorch give.
        XCTAssertTrue(output("cross_entropy(zeros([0, 3]), zeros([0]))").hasPrefix("nan\n"))
    }

    /// Several results bound to one name inside a loop (which prints nothing) make a group, as outside one.
    func testSeveralResultsInsideALoopMakeAGroupAsOutside() {
        let outside = output("x = [3, 4]\na = clip_by_global_norm(1, x, x)\na[1]")
        let inside = output("x = [3, 4]\nrepeat 2 < a = clip_by_global_norm(1, x, x) >\na[1]")
        XCTAssertTrue(outside.hasSuffix("\n[0.4243, 0.5657]"), outside)
        XCTAssertEqual(inside, "x = [3, 4]\n[0.4243, 0.5657]")
    }

    /// The statement of `:time` is parsed and run on its own, but its errors point into the whole line.
    func testTimedStatementErrorsPointIntoTheLine() {
        XCTAssertEqual(output("x = 1\n:time  y = foo(x)\n:time\tz = (x +"), """
        x = 1
        error: unknown name 'foo'
         --> 2:12
          │
        2 │ :time  y = foo(x)
          │            ^^^
        error: expected an expression after '+'
         --> 3:15
          │
        3 │ :time   z = (x +
          │                 ^
        """)
    }

    /// `:load` and `:time` inside one another are limited, so a file that loads itself is an error.
    func testAFileThatLoadsItselfIsStopped() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tapebook-loads-itself-\(getpid()).tape").path
        try ":load \"\(path)\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let statement = ":load \"\(path)\""
        XCTAssertEqual(output("x = 1\n\(statement)\nx + 1"), """
        x = 1
        error: :load and :time are nested too deeply (more than 32)
         --> 2:1
          │
        2 │ \(statement)
          │ \(String(repeating: "^", count: statement.count))
          = note: does the file load itself?
        2
        """)
    }

    /// Recursion stops with an error before the stack overflows, however deep each call's body is.
    func testRecursionThroughADeepBodyIsStopped() {
        let body = String(repeating: "sin(", count: 40) + "f(n)" + String(repeating: ")", count: 40)
        let text = output("f(n) = \(body)\nf(1)")
        XCTAssertTrue(text.contains("error: function calls are nested too deeply ("), text)
        XCTAssertTrue(text.contains("is f recursive?"), text)
    }

    /// "A statement followed by `;` prints nothing", whatever the statement: blocks and inspections too.
    func testATrailingSemicolonSilencesEveryStatement() {
        let silenced = ["with stop < a = 1 >;", "with tape t < b = x * 2 >;", "tape;", "explain grad sum(x^2) wrt x;",
                        "check grad sum(x^2) wrt x;", "graph x * 2;", "plot u^2 over u in 0..1;", "tape reset;"]
        for statement in silenced {
            XCTAssertEqual(output("x = [1, 2];\nwatch x\n" + statement), "", statement)
        }
        // What a silenced block binds stays bound.
        XCTAssertEqual(output("with stop < a = 1; b = a + 1 >;\nb"), "2")
    }

    /// `:reset x`, meant for one name, must not clear the workspace.
    func testCommandsWithoutArgumentsRefuseOne() {
        XCTAssertEqual(output("x = 1\n:reset x\nx"), """
        x = 1
        error: unexpected 'x' after :reset
         --> 2:1
          │
        2 │ :reset x
          │ ^^^^^^^^
          = note: :reset clears the whole workspace and takes no argument
        1
        """)
        XCTAssertTrue(output(":vars all").hasPrefix("error: unexpected 'all' after :vars"))
    }

    /// A built-in's name used as a value: it said "unknown name 'sin'", then "did you mean 'sin'?".
    func testABuiltInUsedAsAValueSaysHowToCallIt() {
        XCTAssertEqual(output("sin + 1"), """
        error: sin is a built-in function; call it as sin(...)
         --> 1:1
          │
        1 │ sin + 1
          │ ^^^
        """)
        XCTAssertTrue(output("x = [1]\nwatch sum").contains("error: sum is a built-in function; call it as sum(...)"))
    }

    /// `repeat … show NAME` says when there was nothing to show, rather than printing nothing.
    func testRepeatShowOfNoNumberSaysSo() {
        XCTAssertEqual(output("repeat 3 show nothere < a = 1 >"), "note: nothing to show: nothere was not a number after any step")
        XCTAssertEqual(output("x = 1\nrepeat 3 show x < x = x + 1 >"), "x = 1\nx: 2 → 4  ▁▅█")
    }

    /// An error in the body of a function defined in other text (a `:load`ed file, an earlier line of the
    /// REPL) points at the call and says where in the body; in the same text it points into the body.
    func testAnErrorInAFunctionDefinedElsewherePointsAtTheCall() {
        let session = Session()
        session.run("g(x) = x * undefined_name")
        let text = "\ny = g(1)"
        let formatter = OutputFormatter(settings: session.settings)
        let shown = session.run(text, firstLine: 1).map { formatter.human($0, source: SourceText(text, firstLine: 1)) }
        XCTAssertEqual(shown.joined(separator: "\n"), """
        error: unknown name 'undefined_name'
         --> 2:5
          │
        2 │ y = g(1)
          │     ^^^^
          = note: in g, at 1:12 of the text that defined it
        """)
        XCTAssertTrue(output("h(x) = x + nope\nh(2)").contains(" --> 1:12"))
    }

    /// A name bound to None prints like a name bound to a tensor: its value, without "name =".
    func testABareNoneNamePrintsItsValue() {
        XCTAssertEqual(output("x = [1]\nwatch x\nn = grad sum([2]) wrt x;\nn"), "x = [1]\nNone   (sum([2]) does not depend on x)")
    }

    /// `tape reset` forgets the scoped tapes with the recordings, and says which.
    func testTapeResetNamesTheScopedTapesItForgets() {
        XCTAssertEqual(output("x = [1];\nwatch x\nwith tape t persistent < q = sum(x^2); >\ntape reset"),
                       "tape reset: 2 recorded operations forgotten; every value is untracked, variables stay variables; scoped tape t forgotten")
    }

    func testShapeErrorPointsAtOperator() {
        XCTAssertEqual(output("[[1, 2, 3], [4, 5, 6]] @ [1, 2]"), """
        error: matmul: shapes [2, 3] and [2] are not aligned (3 vs 2)
         --> 1:24
          │
        1 │ [[1, 2, 3], [4, 5, 6]] @ [1, 2]
          │                        ^
        """)
    }

    func testArityError() {
        XCTAssertEqual(output("maximum(1)"), """
        error: maximum takes 2 arguments, got 1
         --> 1:1
          │
        1 │ maximum(1)
          │ ^^^^^^^^^^
          = note: usage: maximum(a, b)
        """)
    }

    func testUnknownKeyword() {
        XCTAssertEqual(output("sum([1, 2], axes=0)"), """
        error: unknown keyword argument 'axes' for sum
         --> 1:13
          │
        1 │ sum([1, 2], axes=0)
          │             ^^^^
          = note: sum accepts 'axis', 'keepdims'
        """)
    }

    func testRaggedLiteral() {
        XCTAssertEqual(output("[[1, 2], [3]]"), """
        error: ragged tensor literal: element 2 has shape [1] but element 1 has shape [2]
         --> 1:10
          │
        1 │ [[1, 2], [3]]
          │          ^^^
          = note: every element of a literal must have the same shape
        """)
    }

    func testFailedStatementLeavesWorkspace() {
        let session = Session()
        session.run("x = [1, 2]\nvar w = 1")
        session.run("x = [5, 6] + [1, 2, 3]")
        session.run("w -= [1, 2, 3]")
        XCTAssertEqual(session.value(named: "x")?.tensor.scalars, [1, 2])
        session.run("repeat 3 < w -= 1; q = undefined_name >")
        XCTAssertEqual(session.value(named: "w")?.tensor.scalars, [1])
        XCTAssertTrue(session.value(named: "w")?.isVariable ?? false)
    }

    func testGradientLabelsAndNone() {
        XCTAssertEqual(output("x = [1, 2]\nwatch x\ny = 3\ngrad y wrt x\ngrad sin(x) wrt x\ngrad x^2 wrt x unconnected zero"), """
        x = [1, 2]
        y = 3
        ∂y/∂x = None   (y does not depend on x)
        ∂sin(x)/∂x = [ 0.5403, -0.4161]
        ∂(x^2)/∂x = [2, 4]
        """)
    }

    func testVariableRebindNote() {
        XCTAssertEqual(output("var w = 2\nw -= 0.5\nw = 3"), """
        w = 2
        w = 1.5
        w = 3
        note: w is no longer a variable (use `w -= ...` to update it)
        """)
    }

    /// Several results bound to one name make a group (spec section 1); a group is not one tensor.
    func testSeveralResultsBindAsAGroup() {
        XCTAssertEqual(output("x = [1]\nwatch x\ng = grad x wrt x, x\ng + 1\nsum(g)"), """
        x = [1]
        g[0] = [1]
        g[1] = [1]
        [0] = [2]
        [1] = [2]
        error: g is a group of 2, not one tensor
         --> 5:5
          │
        5 │ sum(g)
          │     ^
          = note: take a member with g[0], or unpack it with m0, m1 = g
        """)
    }
}

/// The tape keeps only what live values can reach: a loop that rebinds its names holds constant memory.
final class MemoryTests: XCTestCase {
    func testTrainingLoopHoldsConstantMemory() {
        let session = Session()
        session.run("""
        set_seed(1)
        X = randn([8, 3]); Y = randn([8, 1])
        var w = randn([3, 1]); var b = 0
        """)
        let step = "repeat 50 < loss = mean((X @ w + b - Y)^2); gw, gb = grad loss wrt w, b; w -= 0.1 * gw; b -= 0.1 * gb >"
        session.run(step)
        let after50 = session.recordedNodes().count
        session.run(step)
        session.run(step)
        XCTAssertEqual(session.recordedNodes().count, after50)
        XCTAssertLessThan(after50, 100)
    }
}
