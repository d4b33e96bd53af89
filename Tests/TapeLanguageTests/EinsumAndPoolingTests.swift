import XCTest
@testable import TapeLanguage

/// einsum's subscripts and pooling's padding: the errors that point at a bad call, in exact text.
final class EinsumAndPoolingTests: XCTestCase {
    func output(_ text: String) -> String { DiagnosticsTests.format(Session(), text) }

    func firstLine(_ text: String) -> String { String(output(text).split(separator: "\n").first ?? "") }

    func testEinsumRefusesWhatNumPyRefuses() {
        XCTAssertEqual(output("einsum(\"...i->i\", [[1, 2]])"), """
        error: einsum: the output needs ... where the operands' ... stand for axes (NumPy's rule), as in "...ij->...i"
         --> 1:8
          │
        1 │ einsum("...i->i", [[1, 2]])
          │        ^^^^^^^^^
        """)
        XCTAssertEqual(firstLine("einsum(\"ii\", [[1, 2, 3], [4, 5, 6]])"), "error: einsum: i names axes of sizes 2 and 3 in one operand, so they have no diagonal")
        XCTAssertEqual(firstLine("einsum(\"i...j...\", ones([2, 2, 2]))"), "error: einsum: the operand \"i...j...\" has more than one ...")
        XCTAssertEqual(firstLine("einsum(\"i1\", [[1]])"), "error: einsum: subscripts are letters (and one ... per operand), got '1' in \"i1\"")
        XCTAssertEqual(firstLine("einsum(\"...i,...i->...\", ones([2, 3, 2]), ones([3, 3, 2]))"), "error: einsum: the axes of ... do not broadcast: sizes 2 and 3")
        XCTAssertEqual(firstLine("einsum(\"ij,jk\", [[1, 2]], [[1], [2]], [1])"), "error: einsum: \"ij,jk\" names 2 operands, got 3")
        XCTAssertEqual(firstLine("einsum(\"ij->ii\", [[1]])"), "error: einsum: the output repeats a letter")
        XCTAssertEqual(firstLine("einsum(\"ij,jk->ik\", ones([2, 3]), ones([2, 3]))"), "error: einsum: j has size 3 in one operand and 2 in another")
        XCTAssertEqual(firstLine("einsum(\"ij->k\", ones([2, 3]))"), "error: einsum: the output letter k is not in any operand")
        XCTAssertEqual(firstLine("einsum(\"abc\", ones([2, 3]))"), "error: einsum: \"abc\" names 3 axes for an operand of shape [2, 3]")
    }

    /// Size-1 axes of ... broadcast, as NumPy's; an empty ... is no axis at all.
    func testEinsumEllipsisBroadcastsAndMayBeEmpty() {
        XCTAssertEqual(output("einsum(\"...i,...i->...\", ones([2, 1, 3]), ones([4, 3]))"), "2×4\n 3  3  3  3\n 3  3  3  3")
        XCTAssertEqual(output("einsum(\"...i,i\", [1, 2], [3, 4])"), "11")
        XCTAssertEqual(output("einsum(\"i,i\", [1, 2], [3, 4])"), "11")
    }

    func testPoolingPaddingErrors() {
        XCTAssertEqual(firstLine("max_pool2d(ones([1, 2, 2, 1]), 2, padding=\"full\")"), "error: 'padding' must be \"valid\" or \"same\", got \"full\"")
        XCTAssertEqual(firstLine("avg_pool2d(ones([1, 0, 2, 1]), 2, padding=\"same\")"), "error: avg_pool2d: the input has no rows or no columns, got shape [1, 0, 2, 1]")
        XCTAssertEqual(firstLine("max_pool2d(ones([1, 2, 2, 1]), 2, stride=0, padding=\"same\")"), "error: max_pool2d: stride must be at least 1, got 0")
        XCTAssertEqual(firstLine("max_pool2d(ones([1, 2, 2, 1]), 3)"),
                       "error: max_pool2d: the window (3×3) is larger than the input (2×2): padding \"valid\" has no window; \"same\" pads the input")
        XCTAssertEqual(firstLine("avg_pool2d(ones([1, 2, 2, 1]), 3)"),
                       "error: avg_pool2d: the window (3×3) is larger than the input (2×2): padding \"valid\" has no window; \"same\" pads the input")
        XCTAssertEqual(firstLine("max_pool2d(ones([1, 2, 2]), 2)"), "error: max_pool2d needs x of shape [batch, height, width, channels], got [1, 2, 2]")
        // A window larger than the input is fine with "same": ceil(2 / 5) = 1 window, of the real elements only.
        XCTAssertEqual(output("reshape(avg_pool2d(reshape([1, 2, 3, 4], [1, 2, 2, 1]), 5, padding=\"same\"), [-1])"), "[2.5]")
    }

    /// Hostile calls of conv2d and conv1d: a clear error that names the fault, or an empty result where the
    /// arithmetic has one (TensorFlow's), never a fault of the process.
    func testConvolutionErrors() {
        XCTAssertEqual(firstLine("conv2d(ones([1, 2, 2, 1]), ones([3, 3, 1, 1]))"),
                       "error: conv2d: the kernel (3×3) is larger than the input (2×2): padding \"valid\" has no window; \"same\" pads the input")
        XCTAssertEqual(firstLine("conv2d(ones([1, 4, 4, 1]), ones([3, 3, 1, 1]), stride=0)"), "error: conv2d: stride must be at least 1, got 0")
        XCTAssertEqual(firstLine("conv2d(ones([1, 4, 4, 1]), ones([3, 3, 1, 1]), stride=-2, padding=\"same\")"), "error: conv2d: stride must be at least 1, got -2")
        XCTAssertEqual(firstLine("conv2d(ones([1, 4, 4, 2]), ones([3, 3, 1, 1]))"), "error: conv2d: x has 2 input channels, k expects 1")
        XCTAssertEqual(firstLine("conv2d(ones([4, 4, 1]), ones([3, 3, 1, 1]))"),
                       "error: conv2d needs x of shape [batch, height, width, in] and k of shape [kh, kw, in, out], got [4, 4, 1] and [3, 3, 1, 1]")
        XCTAssertEqual(firstLine("conv2d(ones([1, 100, 100, 1]), ones([1, 1, 1, 20000]))"),
                       "error: a tensor of shape [1, 100, 100, 20000] has more than 100000000 elements (the limit)")
        XCTAssertEqual(firstLine("conv1d(ones([1, 2, 1]), ones([3, 1, 1]))"),
                       "error: conv1d: the kernel (width 3) is longer than the input (width 2): padding \"valid\" has no window; \"same\" pads the input")
        XCTAssertEqual(firstLine("conv1d(ones([1, 4, 2]), ones([3, 1, 1]))"), "error: conv1d: x has 2 input channels, k expects 1")
        // A kernel larger than the input is fine with "same"; a stride past the input gives one window per axis.
        XCTAssertEqual(output("reshape(conv1d(ones([1, 2, 1]), ones([3, 1, 1]), padding=\"same\"), [-1])"), "[2, 2]")
        XCTAssertEqual(output("shape(conv2d(ones([1, 3, 3, 1]), ones([2, 2, 1, 1]), stride=999999999999999, padding=\"same\"))"), "[1, 1, 1, 1]")
        // An empty batch gives an empty output and a zero filter gradient.
        XCTAssertEqual(output("shape(conv2d(zeros([0, 4, 4, 1]), ones([3, 3, 1, 2])))"), "[0, 2, 2, 2]")
        XCTAssertEqual(output("var k = ones([1, 2, 1, 1]);\nreshape(grad sum(conv2d(zeros([0, 4, 4, 1]), k)) wrt k, [-1])"), "[0, 0]")
    }
}
