import XCTest
@testable import TapeLanguage

/// `+=` and element assignment, comparisons, `if`, `while`, `print`, Ctrl-C in loops and scoped tapes, end to end
/// through a session, as exact text at width 80. Reference numbers are TensorFlow 2's.
final class ControlFlowTests: XCTestCase {
    func output(_ text: String, session: Session = Session()) -> String {
        let source = SourceText(text, firstLine: 1)
        let formatter = OutputFormatter(settings: session.settings)
        return session.run(text, keepGoing: true).map { formatter.human($0, source: source) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    // MARK: Assignment

    /// micrograd's README and TensorFlow record `y += 1` on a plain tensor (tf gives 2).
    func testCompoundAssignmentOnAPlainTensorIsRecorded() {
        XCTAssertEqual(output("x = 1.0; watch x; y = x * 2; y += 1; grad y wrt x"), "∂y/∂x = 2")
        XCTAssertEqual(output("x = 3; watch x; y = x; y *= x; y /= 2; y -= x; y\ngrad y wrt x"), "1.5\n∂y/∂x = 2")
        // It may change the shape, as `x = x + e` does.
        XCTAssertEqual(output("x = 1; x += [1, 2]"), "x = [2, 3]")
    }

    /// On a variable, `+=` and its kind update in place, unrecorded (assign_add).
    func testCompoundAssignmentOnAVariableIsInPlace() {
        XCTAssertEqual(output("var w = [1, 2]\nw *= 3\ny = sum(w * w)\ngrad y wrt w\nw /= 3\n:vars"), """
        w = [1, 2]
        w = [3, 6]
        y = 45
        ∂y/∂w = [ 6, 12]
        w = [1, 2]
        name  kind      shape  tracking  value
        ────  ────────  ─────  ────────  ──────
        w     variable  [2]    watched   [1, 2]
        y     tensor    []     tracked   45
        """)
    }

    /// tf.tensor_scatter_nd_update(x * x, [[0], [2]], [e, e * e]): the gradient reaches e at those places
    /// and the old x elsewhere (TensorFlow: [0, 8, 0, 32] and 31).
    func testElementAssignmentIsRecordedLikeTensorScatterNdUpdate() {
        XCTAssertEqual(output("""
            x = [1, 2, 3, 4]; e = 5; watch x, e
            y = x * x
            y[[0, 2]] = [e, e * e]
            grad sum(y * [1, 2, 3, 4]) wrt x, e
            """), """
            y = [ 1,  4,  9, 16]
            y = [ 5,  4, 25, 16]
            ∂sum(y * [1, 2, 3, 4])/∂x = [ 0,  8,  0, 32]
            ∂sum(y * [1, 2, 3, 4])/∂e = 31
            """)
        XCTAssertEqual(output("x = [1, 2, 3, 4]; watch x; y = 2 * x; y[1:3] += 10; y\ngrad sum(y^2) wrt x"),
                       "[ 2, 14, 16,  8]\n∂sum(y^2)/∂x = [ 8, 56, 64, 32]")
        XCTAssertEqual(output("x = [-1, 2, -3]; watch x; y = x * 1; y[y < 0] = 0; y\ngrad sum(y) wrt x"), "[0, 2, 0]\n∂sum(y)/∂x = [0, 1, 0]")
        XCTAssertEqual(output("m = [[1, 2], [3, 4]]; m[:, 0] = [7, 8]; m[-1, -1] = 0; m"), "2×2\n 7  2\n 8  0")
        // An Inf that is replaced does not leak into the result.
        XCTAssertEqual(output("x = [inf, 1]; x[0] = 0; x"), "[0, 1]")
    }

    func testElementAssignmentErrors() {
        XCTAssertEqual(output("x = [1, 2, 3]\nx[[0, 0]] = 1"), """
        x = [1, 2, 3]
        error: the subscript selects an element of x more than once: which value it gets is undefined
         --> 2:3
          │
        2 │ x[[0, 0]] = 1
          │   ^^^^^^
          = note: TensorFlow's tensor_scatter_nd_update does not define it either; assign each element once
        """)
        XCTAssertEqual(output("x = [1, 2, 3]\nx[0:2] = [1, 2, 3]"), """
        x = [1, 2, 3]
        error: cannot assign a value of shape [3] to the elements of x it selects, of shape [2]
         --> 2:10
          │
        2 │ x[0:2] = [1, 2, 3]
          │          ^^^^^^^^^
        """)
        XCTAssertEqual(output("x = [1, 2, 3]\nx[5] = 1\nx"), """
        x = [1, 2, 3]
        error: index 5 is out of bounds for axis 0 with size 3
         --> 2:1
          │
        2 │ x[5] = 1
          │ ^^^
        [1, 2, 3]
        """)
    }

    /// On a variable, element assignment is in place and unrecorded; a repeated index takes the last value, as NumPy.
    func testElementAssignmentOnAVariableIsInPlace() {
        XCTAssertEqual(output("var w = [1, 2, 3]\nw[[0, 0]] = [5, 6]\nw[1] += 1\ny = sum(w * w)\ngrad y wrt w"), """
        w = [1, 2, 3]
        w = [6, 2, 3]
        w = [6, 3, 3]
        y = 54
        ∂y/∂w = [12,  6,  6]
        """)
    }

    // MARK: Comparisons

    func testComparisonOperatorsAreUntrackedZeroOneTensors() {
        XCTAssertEqual(output("x = [-1, 0, 2]; watch x\nx >= 0\n(x < 1) * 2\nx[x > -1]\nwhere(x > 0, x, 0)\ntrue + true, false\ngrad sum(x == 0) wrt x"), """
        [0, 1, 1]
        [2, 2, 0]
        [0, 2]
        [0, 0, 2]
        2
        0
        ∂sum(x == 0)/∂x = None   (sum(x == 0) comes from eq, which has no gradient)
        """)
    }

    /// NumPy's mod and floor_divide; TensorFlow's gradients: floormod gives 1 and -floor(x / y), floordiv None.
    func testModuloAndFloorDivide() {
        XCTAssertEqual(output("x = [-7, 7, 5.5]; y = [3, -3, 2]; watch x, y\nx % y\nx // y\ngrad sum(x % y) wrt x, y\ngrad sum(x // y) wrt x\n2 + 7 % 4 * 2"), """
        [ 2  , -2  ,  1.5]
        [-3, -3,  2]
        ∂sum(x % y)/∂x = [1, 1, 1]
        ∂sum(x % y)/∂y = [ 3,  3, -2]
        ∂sum(x // y)/∂x = None   (sum(x // y) comes from floor_divide, which has no gradient)
        8
        """)
        XCTAssertEqual(output("[1, 2] % [1, 2, 3]"), """
        error: cannot broadcast [2] with [3]
         --> 1:8
          │
        1 │ [1, 2] % [1, 2, 3]
          │        ^
        """)
    }

    // MARK: if and while

    /// TensorFlow's guide, "control flow": the variable of the branch that did not run gets None.
    func testOnlyTheTakenBranchIsRecorded() {
        XCTAssertEqual(output("""
            x = 1; var v0 = 2; var v1 = 2
            if (x > 0) < result = v0 > else < result = v1^2 >
            grad result wrt v0, v1
            x = -1
            if (x > 0) < result = v0 > else < result = v1^2 >
            grad result wrt v0, v1
            """), """
            v1 = 2
            result = 2
            ∂result/∂v0 = 1
            ∂result/∂v1 = None   (result does not depend on v1; v1 is used in a branch that did not run (line 2))
            x = -1
            result = 4
            note: result is no longer a variable (use `result -= ...` to update it)
            ∂result/∂v0 = None   (result does not depend on v0; v0 is used in a branch that did not run (line 5))
            ∂result/∂v1 = 4
            """)
        XCTAssertEqual(output("x = 2\nif x == 0 < y = 0 > elif x == 2 < y = 20 > else < y = 30 >\nif x <= 0 < z = 1 >\ny"), "x = 2\ny = 20\n20")
    }

    func testConditionErrors() {
        XCTAssertEqual(output("x = [1, 2]\nif (x > 0) < y = 1 >"), """
        x = [1, 2]
        error: a condition must have one element, got a tensor of shape [2]
         --> 2:4
          │
        2 │ if (x > 0) < y = 1 >
          │    ^^^^^^^
          = note: use any(...) or all(...) to ask about every element
        """)
        XCTAssertEqual(output("while [] < y = 1 >"), """
        error: a condition must have one element, got an empty tensor of shape [0]
         --> 1:7
          │
        1 │ while [] < y = 1 >
          │       ^^
        """)
        XCTAssertEqual(output("if nan < y = 1 >"), """
        error: the condition is NaN, neither true nor false
         --> 1:4
          │
        1 │ if nan < y = 1 >
          │    ^^^
        """)
    }

    func testWhileRecordsEachIteration() {
        // TensorFlow: y = 243, dy/dx = 243.
        // The note says y carries the loop's history: here on purpose, to differentiate through the loop.
        XCTAssertEqual(output("x = 1; watch x; y = x\nwhile (y < 100) < y = y * 3 >\ny\ngrad y wrt x"), """
        y = 1
        note: the tape grew with the loop: y carries every iteration's recordings into the next, 1 operation kept per iteration (5 after 5 iterations). Unless y is meant to be differentiated through the whole loop, keep it off the tape: y = stop_gradient(...), a var updated with -= or +=, or an optimizer (apply opt to w with g)
        243
        ∂y/∂x = 243
        """)
    }

    /// PyTorch's `total_loss += loss` in a `while` loop: the note names total, as after `repeat`; adding
    /// stop_gradient(loss) keeps the tape flat.
    func testWhileNamesTheNameThatCarriesItsHistory() {
        let leak = output("var w = 1.0; total = 0; k = 0\nwhile (k < 4) < loss = (w - 3)^2; total += loss; w -= 0.1 * grad loss wrt w; k += 1 >")
        XCTAssertTrue(leak.hasSuffix("note: the tape grew with the loop: total carries every iteration's recordings into the next, 3 operations kept per iteration (12 after 4 iterations). Unless total is meant to be differentiated through the whole loop, keep it off the tape: total = stop_gradient(...), a var updated with -= or +=, or an optimizer (apply opt to w with g)"), leak)
        let cured = output("var w = 1.0; total = 0; k = 0\nwhile (k < 4) < loss = (w - 3)^2; total += stop_gradient(loss); w -= 0.1 * grad loss wrt w; k += 1 >")
        XCTAssertFalse(cured.contains("note:"), cured)
    }

    // MARK: print

    func testPrintPrintsInsideLoopsAndAfterSemicolon() {
        XCTAssertEqual(output("w = 1\nrepeat 3 as i < w = w * 2; if (i % 2 == 0) < print \"step\", i, w > >\nprint w, [1, 2];"), """
        w = 1
        step 0 2
        step 2 8
        8 [1, 2]
        """)
        // Each print is an outcome of its own, before its statement's.
        let session = Session()
        let outcomes = session.run("repeat 2 as i < print i >")
        XCTAssertEqual(outcomes.map(\.source), ["print i", "print i", "repeat 2 as i < print i >"])
        // A statement that fails after printing keeps what it printed.
        XCTAssertEqual(output("repeat 3 as i < print i; if (i == 1) < nope > >"), """
        0
        1
        error: unknown name 'nope'
         --> 1:40
          │
        1 │ repeat 3 as i < print i; if (i == 1) < nope > >
          │                                        ^^^^
        """)
    }

    // MARK: Ctrl-C

    /// Ctrl-C keeps the iterations that finished and undoes the one it interrupted: here it arrives in the
    /// middle of the iteration where `i` is 3, after `w` was updated.
    func testInterruptKeepsFinishedIterations() {
        let session = Session()
        session.interruptCheck = { session.value(named: "marker")?.tensor.firstScalar == 3 }
        XCTAssertEqual(output("var w = 0; marker = -1\nrepeat 100 as i < w += 1; marker = i; z = 0 >\nw\nmarker", session: session), """
        marker = -1
        note: stopped after 3 of 100 iterations
        3
        2
        """)
        session.interruptCheck = { session.value(named: "n")?.tensor.firstScalar == 5 }
        XCTAssertEqual(output("n = 0\nwhile true < n += 1; m = n >\nn", session: session), """
        n = 0
        note: stopped after 4 iterations
        4
        """)
        // An inner loop passes the interruption to the outermost one, which stops.
        session.interruptCheck = { session.value(named: "k")?.tensor.firstScalar == 7 }
        XCTAssertEqual(output("k = 0\nrepeat 10 < repeat 3 < k += 1 > >\nk", session: session), """
        k = 0
        note: stopped after 2 of 10 iterations
        6
        """)
    }

    /// A replay that ends at Ctrl-C (`tapebook run`) keeps no copy of the workspace at each iteration, so the
    /// iteration Ctrl-C interrupts is not undone: here `w` and `marker` were updated in it.
    func testInterruptWithoutUndoKeepsTheInterruptedIteration() {
        let session = Session()
        session.undoesInterruptedIteration = false
        session.interruptCheck = { session.value(named: "marker")?.tensor.firstScalar == 3 }
        XCTAssertEqual(output("var w = 0; marker = -1\nrepeat 100 as i < w += 1; marker = i; z = 0 >\nw\nmarker", session: session), """
        marker = -1
        note: stopped after 3 of 100 iterations
        4
        3
        """)
    }

    // MARK: Scoped tapes

    func testScopedTapeListingAndReset() {
        XCTAssertEqual(output("""
            x = 3
            with tape t persistent <
              watch x; y = x * x
              tape t
              tape reset t
              z = x * 4; watch x on t; q = x * 5
              tape t
            >
            grad z wrt x using t
            grad q wrt x using t
            """), """
            x = 3
            y = 9
             #  operation  inputs  shape  name  line
            ──  ─────────  ──────  ─────  ────  ────
            #1  multiply   x, x    []     y        3
            watched: x
            memory: 1 operation, 16 B of tensors
            tape t reset: 1 recorded operation and its watches forgotten; t goes on recording
            q = 15
             #  operation  inputs  shape  name  line
            ──  ─────────  ──────  ─────  ────  ────
            #1  multiply   x, 5    []     q        6
            watched: x
            memory: 1 operation, 24 B of tensors
            ∂z/∂x = None   (z does not depend on x on tape t)
            ∂q/∂x = 5
            """)
    }

    /// `tape reset` inside `with tape t` empties t too, but t stays bound and goes on recording.
    func testTapeResetInsideAnOpenTapeKeepsIt() {
        XCTAssertEqual(output("x = 3\nwith tape t < tape reset\nwatch x; y = x * x >\ngrad y wrt x using t"), """
        x = 3
        tape reset: 0 recorded operations forgotten; every value is untracked, variables stay variables
        y = 9
        ∂y/∂x = 6
        """)
    }

    func testWithStopOnOneTapeSaysSo() {
        XCTAssertEqual(output("x = 3\nwith tape t persistent < watch x; with stop t < y = x * x >; z = y + 1 >\ngrad y wrt x using t\ngrad z wrt x using t\ngrad z wrt x"), """
        x = 3
        z = 10
        ∂y/∂x = None   (the path from y to x was computed while tape t was stopped)
        ∂z/∂x = None   (the path from z to x was computed while tape t was stopped)
        ∂z/∂x = 6
        """)
    }
}
