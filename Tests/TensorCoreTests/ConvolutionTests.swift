import XCTest
@testable import TensorCore

/// The three convolution kernels (forward, input gradient, filter gradient) against one direct loop over
/// every output pixel, tap and channel, at strides 1 to 3, padding "valid" and "same", one input channel
/// and several, and shapes whose im2col runs over several chunks.
final class ConvolutionTests: XCTestCase {
    struct Case {
        var input: [Int], filter: [Int], stride: Int, padding: WindowPadding
    }

    static let cases: [Case] = [
        Case(input: [2, 5, 6, 1], filter: [3, 3, 1, 4], stride: 1, padding: .valid),
        Case(input: [2, 5, 6, 1], filter: [3, 3, 1, 4], stride: 2, padding: .same),
        Case(input: [1, 7, 7, 1], filter: [2, 3, 1, 1], stride: 2, padding: .valid),
        Case(input: [1, 4, 5, 1], filter: [5, 5, 1, 2], stride: 1, padding: .same),
        Case(input: [2, 5, 4, 3], filter: [3, 2, 3, 5], stride: 1, padding: .valid),
        Case(input: [2, 5, 4, 3], filter: [3, 2, 3, 5], stride: 2, padding: .same),
        Case(input: [1, 6, 6, 2], filter: [1, 1, 2, 3], stride: 3, padding: .valid),
        Case(input: [1, 3, 3, 2], filter: [4, 4, 2, 2], stride: 1, padding: .same),
        Case(input: [1, 8, 8, 2], filter: [3, 3, 2, 2], stride: 3, padding: .same),
        // More rows than one chunk of the im2col buffer (the product accumulates over chunks).
        Case(input: [3, 20, 20, 8], filter: [3, 3, 8, 5], stride: 1, padding: .valid),
        Case(input: [3, 20, 20, 8], filter: [3, 3, 8, 5], stride: 2, padding: .same),
        Case(input: [4, 40, 40, 1], filter: [3, 3, 1, 6], stride: 1, padding: .same),
        // The direct kernels' lanes: 16 output channels (W9's first layer), 16 + 4 + 1, and 3 (one lane each),
        // at strides 1 to 3, "valid" and "same".
        Case(input: [3, 11, 10, 1], filter: [3, 3, 1, 16], stride: 1, padding: .valid),
        Case(input: [3, 11, 10, 1], filter: [3, 3, 1, 16], stride: 1, padding: .same),
        Case(input: [2, 11, 10, 1], filter: [3, 3, 1, 21], stride: 2, padding: .same),
        Case(input: [2, 11, 10, 1], filter: [3, 3, 1, 21], stride: 3, padding: .valid),
        Case(input: [2, 9, 12, 2], filter: [3, 2, 2, 3], stride: 3, padding: .same),
        Case(input: [2, 9, 12, 3], filter: [3, 3, 3, 32], stride: 2, padding: .valid),
        // Either side of the crossovers between the direct kernels and im2col with `dgemm`: 64 taps, and a
        // filter of 2,048 elements.
        Case(input: [2, 9, 9, 4], filter: [4, 4, 4, 8], stride: 1, padding: .same),
        Case(input: [2, 9, 15, 1], filter: [5, 13, 1, 8], stride: 2, padding: .same),
        Case(input: [1, 6, 7, 4], filter: [3, 3, 4, 56], stride: 1, padding: .same),
        Case(input: [1, 6, 7, 4], filter: [3, 3, 4, 57], stride: 2, padding: .valid),
    ]

    /// TensorFlow's "same" padding before the input: half the total, rounded down.
    static func padBefore(_ n: Int, _ k: Int, _ stride: Int, _ padding: WindowPadding) -> (out: Int, before: Int) {
        guard padding == .same else { return ((n - k) / stride + 1, 0) }
        let out = (n + stride - 1) / stride
        return (out, max((out - 1) * stride + k - n, 0) / 2)
    }

    /// y, dx and dk for the cotangent dy, by the definition: y[n, i, j, o] = Σ x[n, i·s + a − top, j·s + b − left, c]·k[a, b, c, o].
    static func direct(_ x: Tensor, _ k: Tensor, _ dy: Tensor, _ c: Case) -> (y: [Double], dx: [Double], dk: [Double]) {
        let (batch, height, width, cin) = (c.input[0], c.input[1], c.input[2], c.input[3])
        let (kh, kw, cout) = (c.filter[0], c.filter[1], c.filter[3])
        let (oh, top) = padBefore(height, kh, c.stride, c.padding), (ow, left) = padBefore(width, kw, c.stride, c.padding)
        var y = [Double](repeating: 0, count: batch * oh * ow * cout)
        var dx = [Double](repeating: 0, count: x.count), dk = [Double](repeating: 0, count: k.count)
        let xs = x.scalars, ks = k.scalars, ds = dy.scalars
        for n in 0..<batch { for i in 0..<oh { for j in 0..<ow { for a in 0..<kh { for b in 0..<kw { for ci in 0..<cin { for o in 0..<cout {
            let r = i * c.stride + a - top, col = j * c.stride + b - left
            guard r >= 0, r < height, col >= 0, col < width else { continue }
            let xi = ((n * height + r) * width + col) * cin + ci, ki = ((a * kw + b) * cin + ci) * cout + o
            let yi = ((n * oh + i) * ow + j) * cout + o
            y[yi] += xs[xi] * ks[ki]
            dx[xi] += ds[yi] * ks[ki]
            dk[ki] += xs[xi] * ds[yi]
        } } } } } } }
        return (y, dx, dk)
    }

    func assertClose(_ got: Tensor, _ expected: [Double], _ shape: [Int], _ what: String) {
        XCTAssertEqual(got.shape, shape, what)
        XCTAssertEqual(got.count, expected.count, what)
        for (a, b) in zip(got.scalars, expected) where abs(a - b) > 1e-12 * max(1, abs(b)) {
            return XCTFail("\(what): \(a) against \(b)")
        }
    }

    /// Both methods at every case, whichever one the geometry would choose.
    func testKernelsMatchTheDefinition() throws {
        var random = RandomGenerator(seed: 11)
        var chunked = false, chosen: Set<String> = []
        for c in Self.cases {
            let g = try Conv2DGeometry(input: c.input, filter: c.filter, stride: c.stride, padding: c.padding)
            if g.chunkPixels < g.pixels { chunked = true }
            chosen.insert("\(g.method)")
            let x = try random.tensor(shape: c.input, normal: true), k = try random.tensor(shape: c.filter, normal: true)
            let dy = try random.tensor(shape: g.outputShape, normal: true)
            let (y, dx, dk) = Self.direct(x, k, dy, c)
            for method in [Conv2DMethod.direct, .im2col] {
                let what = "\(c.input) * \(c.filter), stride \(c.stride), \(c.padding), \(method)"
                assertClose(try Tensor.conv2d(x, k, g, method: method), y, g.outputShape, "conv2d " + what)
                assertClose(try Tensor.conv2dBackpropInput(k, dy, g, method: method), dx, c.input, "backprop input " + what)
                assertClose(try Tensor.conv2dBackpropFilter(x, dy, g, method: method), dk, c.filter, "backprop filter " + what)
            }
        }
        XCTAssertTrue(chunked, "a case runs im2col over more than one chunk")
        XCTAssertEqual(chosen, ["direct", "im2col"], "the cases take both methods by default")
    }

    /// The rule: the direct kernels up to 64 taps (kh·kw·in) and 2,048 filter elements, im2col and `dgemm` past either.
    func testMethodFollowsTheTapsAndTheFilter() throws {
        for (filter, method) in [([3, 3, 1, 16], Conv2DMethod.direct), ([3, 3, 3, 64], .direct), ([4, 4, 4, 8], .direct), ([7, 7, 1, 8], .direct),
                                 ([8, 8, 1, 32], .direct), ([3, 3, 4, 56], .direct), ([3, 3, 4, 57], .im2col), ([8, 8, 1, 33], .im2col),
                                 ([5, 13, 1, 8], .im2col), ([3, 3, 8, 16], .im2col), ([3, 3, 16, 32], .im2col)] {
            let g = try Conv2DGeometry(input: [1, 16, 16, filter[2]], filter: filter, stride: 1, padding: .valid)
            XCTAssertEqual(g.method, method, "\(filter)")
        }
    }

    /// max_pool2d's kernel against a search of each window by the definition: the first largest element in
    /// the window's row-major order (ties from rounded values), padding no element, strides 1 to 3.
    func testMaxPoolMatchesTheDefinition() throws {
        var random = RandomGenerator(seed: 5)
        for (input, size, stride, padding) in [([2, 6, 7, 3], 2, 2, WindowPadding.valid), ([2, 6, 7, 3], 3, 2, .same),
                                               ([1, 5, 5, 16], 2, 1, .valid), ([1, 7, 5, 2], 3, 3, .same), ([1, 4, 4, 1], 4, 1, .same)] {
            let g = try Conv2DGeometry(input: input, filter: [size, size, input[3], input[3]], stride: stride, padding: padding)
            // Rounded to halves, and shifted below zero, so windows hold ties and all-negative windows meet the padding.
            let x = try random.tensor(shape: input, normal: true).scalars.map { ($0 * 2).rounded() / 2 - 3 }
            let (values, indices) = try Tensor.maxPool2d(Tensor(shape: input, scalars: x), g)
            let (height, width, c) = (input[1], input[2], input[3])
            var expected: [Int] = []
            for n in 0..<input[0] { for i in 0..<g.outHeight { for j in 0..<g.outWidth { for ch in 0..<c {
                var best: Int?
                for a in 0..<size { for b in 0..<size {
                    let r = i * stride + a - g.padTop, col = j * stride + b - g.padLeft
                    guard r >= 0, r < height, col >= 0, col < width else { continue }
                    let at = ((n * height + r) * width + col) * c + ch
                    if best == nil || x[at] > x[best!] { best = at }
                } }
                expected.append(best!)
            } } } }
            let what = "\(input), size \(size), stride \(stride), \(padding)"
            XCTAssertEqual(indices, expected, what)
            XCTAssertEqual(values.scalars, expected.map { x[$0] }, what)
            XCTAssertEqual(values.shape, g.outputShape, what)
        }
    }

    /// max_pool2d's gradient against the scatter-add into zeros that it replaces, to the bit: disjoint windows
    /// (stride ≥ size, written in x's order, rows and columns outside every window zero) and overlapping ones,
    /// with -0 (which the scatter turned into +0), NaN and infinities among the gradients.
    func testMaxPoolGradMatchesTheScatterAdd() throws {
        var random = RandomGenerator(seed: 6)
        for (input, size, stride, padding) in [([2, 7, 7, 16], 2, 2, WindowPadding.valid), ([2, 6, 7, 3], 2, 3, .same),
                                               ([1, 5, 5, 5], 2, 2, .same), ([1, 5, 5, 2], 3, 2, .valid), ([1, 4, 4, 1], 4, 1, .same),
                                               ([1, 1, 1, 1], 1, 1, .valid), ([0, 4, 4, 2], 2, 2, .valid), ([1, 4, 4, 0], 2, 2, .valid)] {
            let g = try Conv2DGeometry(input: input, filter: [size, size, input[3], input[3]], stride: stride, padding: padding)
            let x = try random.tensor(shape: input, normal: true)
            let places = try Tensor.maxPool2d(x, g).indices
            var gradients = try random.tensor(shape: g.outputShape, normal: true).scalars
            for (k, special) in [-0.0, .nan, .infinity, -.infinity].enumerated() where k < gradients.count { gradients[k * 3 % gradients.count] = special }
            let dy = Tensor(shape: g.outputShape, scalars: gradients)
            let expected = dy.scatterAdd(axis: 0, indices: places, into: [Shape.count(input)])
            let dx = try Tensor.maxPool2dGrad(dy, places: places, g)
            let what = "\(input), size \(size), stride \(stride), \(padding)"
            XCTAssertEqual(dx.shape, input, what)
            XCTAssertEqual(dx.scalars.map(\.bitPattern), expected.scalars.map(\.bitPattern), what)
            XCTAssertEqual(g.windowsAreDisjoint, stride >= size, what)
        }
    }

    /// scatterAdd's same-pass anomaly note: set by a NaN or an infinity, or by finite sums that overflow.
    func testScatterAddNotesNonFiniteSums() {
        let finite = Tensor(shape: [3], scalars: [1, 2, 3]).scatterAddNotingNonFinite(axis: 0, indices: [0, 2, 0], into: [3])
        XCTAssertEqual(finite.tensor.scalars, [4, 0, 2])
        XCTAssertFalse(finite.hasNonFinite)
        XCTAssertTrue(Tensor(shape: [2], scalars: [1, .nan]).scatterAddNotingNonFinite(axis: 0, indices: [1, 0], into: [2]).hasNonFinite)
        let overflow = Tensor(shape: [2], scalars: [1e308, 1e308]).scatterAddNotingNonFinite(axis: 0, indices: [0, 0], into: [1])
        XCTAssertEqual(overflow.tensor.scalars, [.infinity])
        XCTAssertTrue(overflow.hasNonFinite)
        let cancelled = Tensor(shape: [3], scalars: [.infinity, -.infinity, 1]).scatterAddNotingNonFinite(axis: 0, indices: [0, 0, 0], into: [1])
        XCTAssertTrue(cancelled.tensor.scalars[0].isNaN)
        XCTAssertTrue(cancelled.hasNonFinite)
    }

    /// TensorFlow's output sizes: "valid" floor((n − k) / s) + 1, "same" ceil(n / s), the padding's extra after.
    func testGeometry() throws {
        let g = try Conv2DGeometry(input: [1, 4, 5, 1], filter: [2, 4, 1, 1], stride: 2, padding: .same)
        XCTAssertEqual([g.outHeight, g.outWidth, g.padTop, g.padLeft], [2, 3, 0, 1])
        let v = try Conv2DGeometry(input: [1, 7, 7, 1], filter: [3, 2, 1, 1], stride: 3, padding: .valid)
        XCTAssertEqual([v.outHeight, v.outWidth, v.padTop, v.padLeft], [2, 2, 0, 0])
    }

    /// Empty batches, channels and outputs give empty or zero results, never a fault.
    func testEmptySizes() throws {
        for (input, filter, shape) in [([0, 4, 4, 2], [3, 3, 2, 5], [0, 2, 2, 5]), ([2, 4, 4, 0], [3, 3, 0, 5], [2, 2, 2, 5]),
                                       ([2, 4, 4, 1], [3, 3, 1, 0], [2, 2, 2, 0]), ([1, 3, 3, 1], [0, 2, 1, 2], [1, 4, 2, 2])] {
            let g = try Conv2DGeometry(input: input, filter: filter, stride: 1, padding: .valid)
            let x = try Tensor(shape: input, repeating: 1), k = try Tensor(shape: filter, repeating: 1)
            let y = try Tensor.conv2d(x, k, g)
            XCTAssertEqual(y.shape, shape)
            XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 }, "\(input) * \(filter)")
            let dy = try Tensor(shape: shape, repeating: 1)
            XCTAssertEqual(try Tensor.conv2dBackpropInput(k, dy, g).shape, input)
            XCTAssertEqual(try Tensor.conv2dBackpropFilter(x, dy, g).shape, filter)
        }
        let same = try Conv2DGeometry(input: [1, 0, 3, 1], filter: [2, 2, 1, 1], stride: 1, padding: .same)
        XCTAssertEqual(same.outputShape, [1, 0, 3, 1])
    }

    func testBadShapesAreRefused() {
        func message(_ input: [Int], _ filter: [Int], stride: Int = 1, _ padding: WindowPadding = .valid) -> String {
            do { _ = try Conv2DGeometry(input: input, filter: filter, stride: stride, padding: padding); return "no error" } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(message([1, 2, 2, 1], [3, 3, 1, 1]), "conv2d: the kernel (3×3) is larger than the input (2×2): padding \"valid\" has no window; \"same\" pads the input")
        XCTAssertEqual(message([1, 2, 2, 1], [3, 3, 1, 1], .same), "no error")
        XCTAssertEqual(message([1, 4, 4, 1], [3, 3, 1, 1], stride: 0), "conv2d: stride must be at least 1, got 0")
        XCTAssertEqual(message([1, 4, 4, 2], [3, 3, 1, 1]), "conv2d: x has 2 input channels, k expects 1")
        XCTAssertEqual(message([4, 4, 1], [3, 3, 1, 1]), "conv2d needs x of shape [batch, height, width, in] and k of shape [kh, kw, in, out], got [4, 4, 1] and [3, 3, 1, 1]")
        XCTAssertEqual(message([1, 100_000, 100_000, 1], [1, 1, 1, 100_000]),
                       "a tensor of shape [1, 100000, 100000, 100000] has more than 100000000 elements (the limit)")
    }
}
