import XCTest
import TapeSyntax

/// Statements written as in Python, TensorFlow or PyTorch: the error shows the tapebook way, at the place
/// where the parser stopped.
final class ForeignHabitTests: XCTestCase {
    func testGradientCalls() {
        assertError("grad(y, x)", "'grad' is a statement, not a function: write 'grad y wrt x'", at: "1:11")
        assertError("g = grad(loss, w)", "'grad' is a statement, not a function: write 'grad loss wrt w'", at: "1:18")
        assertError("torch.autograd.grad(y, x)", "'grad' is a statement, not a function: write 'grad y wrt x'", at: "1:7")
        assertError("y.backward()", "PyTorch's 'y.backward()' is 'grad y wrt x': it gives ∂y/∂x, and nothing is stored on x", at: "1:3")
        assertError("x.grad", "gradients are not stored on values: 'grad y wrt x' gives ∂y/∂x, and ':grads' lists the last ones", at: "1:3")
        assertError("tape.gradient(y, x)", "TensorFlow's 'tape.gradient(y, x)' is 'grad y wrt x' (with 'using t' for a tape of your own)", at: "1:5")
        assertError("tape.watch(x)", "'tape.watch(x)' is 'watch x' (or 'watch x on t' for a tape of your own)", at: "1:5")
        assertError("x.requires_grad_()", "values have no attributes: write 'watch x' to record gradients with respect to it", at: "1:3")
        assertError("x.detach()", "values have no methods: write 'stop_gradient(x)'", at: "1:3")
    }

    func testTapesAndRecording() {
        assertError("with tf.GradientTape() as t:", "every statement is already recorded on the implicit tape; for a tape of your own, "
                    + "TensorFlow's 'with tf.GradientTape() as t:' is 'with tape t < … >'", at: "1:6")
        assertError("with tf.GradientTape(persistent=True) as t:", "every statement is already recorded on the implicit tape; for a tape "
                    + "of your own, TensorFlow's 'with tf.GradientTape() as t:' is 'with tape t persistent < … >'", at: "1:6")
        assertError("with torch.no_grad():", "'with stop < … >' runs its block without recording", at: "1:6")
    }

    func testValuesHaveNoAttributes() {
        assertError("x.shape", "values have no attributes: write 'shape(x)'", at: "1:3")
        assertError("x.numpy()", "values are plain numbers already: write 'x' to see it", at: "1:3")
        assertError("loss.item()", "values are plain numbers already: write 'loss' to see it", at: "1:6")
        assertError("x.sum()", "there are no methods: write 'sum(x)'", at: "1:3")
        assertError("x.mean(axis=0)", "there are no methods: write 'mean(x, axis=0)'", at: "1:3")
        assertError("np.sin(x)", "the built-ins need no module: write 'sin(…)'", at: "1:4")
        assertError("w = tf.Variable(3.0)", "a variable is declared as 'var w = …'", at: "1:8")
        assertError("x = torch.tensor([1.0], requires_grad=True)",
                    "a tensor is written as a literal: 'x = [1, 2, 3]' ('watch x' to record gradients with respect to it)", at: "1:11")
    }

    func testPythonStatements() {
        assertError("for i in range(10):", "a loop is written 'repeat 10 as i < … >' (i counts from 0)", at: "1:5")
        assertError("for step in data:", "a loop is written 'repeat N as i < … >': N times, with i counting from 0", at: "1:5")
        assertError("def f(x):", "a function is defined as 'f(x) = expression', or 'f(x) = < …; value >' for a block whose last line is its value", at: "1:5")
        assertError("import numpy as np", "there is nothing to import: the built-ins (sin, sum, matmul, …) are always there; ':help' lists them", at: "1:8")
        assertError("from torch import nn", "there is nothing to import: the built-ins (sin, sum, matmul, …) are always there; ':help' lists them", at: "1:6")
        assertError("return x", "a block's value is its last line, without 'return': 'f(x) = < a = x^2; a + 1 >'", at: "1:8")
    }

    /// Inside a block the habit is found too; a habit in a later statement of the line is not this one's.
    func testWhereHintsApply() {
        assertError("repeat 3 < y.backward() >", "PyTorch's 'y.backward()' is 'grad y wrt x': it gives ∂y/∂x, and nothing is stored on x", at: "1:14")
        assertError("x = [1 2]; z.shape", "expected ']' to close '[' at 1:5", at: "1:8")
        // `.T` is tapebook's own; what parses is left alone.
        XCTAssertEqual(parsed("x.T"), "(T x)")
        // tapebook's own grad(dy) and strings with dots in them are not habits.
        assertError("custom g(a, b, a) = a grad(dy) = dy, dy, dy", "parameter 'a' is named twice", at: "1:16")
        assertError("save x \"f.npy\"", "expected 'to' after 'save …'", at: "1:8")
    }
}
