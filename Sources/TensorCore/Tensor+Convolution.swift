import CBLAS

/// TensorFlow's two ways of placing windows: "valid" (only the windows that fit) and "same" (ceil(n / stride)
/// windows per axis, the input padded with zeros, the extra row or column of padding after).
public enum WindowPadding: String, Sendable, CaseIterable {
    case valid, same
}

/// Where the windows of a 2-D convolution lie, in TensorFlow's layout: input [batch, height, width, in],
/// filter [kh, kw, in, out], output [batch, outHeight, outWidth, out], one stride for both axes.
///
/// The kernels below see the convolution as one matrix product: the im2col matrix has a row per output
/// pixel (n, i, j) and a column per tap (a, b, c), which is also the row order of the filter read as a
/// [kh·kw·in, out] matrix, so no tensor is ever transposed.
public struct Conv2DGeometry: Equatable, Sendable {
    public let batch, height, width, inChannels: Int
    public let kernelHeight, kernelWidth, outChannels: Int
    public let stride: Int
    public let padding: WindowPadding
    /// Zero rows above the input and zero columns left of it ("same" only).
    public let padTop, padLeft: Int
    public let outHeight, outWidth: Int

    /// Checks the shapes; `name` and `window` ("kernel", or pooling's "window") are the caller's words for its errors.
    public init(input: [Int], filter: [Int], stride: Int, padding: WindowPadding, name: String = "conv2d", window: String = "kernel") throws {
        guard input.count == 4, filter.count == 4 else {
            throw TensorError("\(name) needs x of shape [batch, height, width, in] and k of shape [kh, kw, in, out], got \(Shape.describe(input)) and \(Shape.describe(filter))")
        }
        guard input[3] == filter[2] else { throw TensorError("\(name): x has \(input[3]) input channels, k expects \(filter[2])") }
        guard stride >= 1 else { throw TensorError("\(name): stride must be at least 1, got \(stride)") }
        (batch, height, width, inChannels) = (input[0], input[1], input[2], input[3])
        (kernelHeight, kernelWidth, outChannels) = (filter[0], filter[1], filter[3])
        self.stride = stride
        self.padding = padding
        switch padding {
        case .valid:
            guard height >= kernelHeight, width >= kernelWidth else {
                throw TensorError("\(name): the \(window) (\(kernelHeight)×\(kernelWidth)) is larger than the input (\(height)×\(width)): padding \"valid\" has no window; \"same\" pads the input")
            }
            (padTop, padLeft) = (0, 0)
            outHeight = (height - kernelHeight) / stride + 1
            outWidth = (width - kernelWidth) / stride + 1
        case .same:
            // ceil(n / stride), written so that a huge stride cannot overflow.
            outHeight = height == 0 ? 0 : (height - 1) / stride + 1
            outWidth = width == 0 ? 0 : (width - 1) / stride + 1
            padTop = max((outHeight - 1) * stride + kernelHeight - height, 0) / 2
            padLeft = max((outWidth - 1) * stride + kernelWidth - width, 0) / 2
        }
        try Shape.checkAllocation(outputShape)
    }

    public var inputShape: [Int] { [batch, height, width, inChannels] }
    public var filterShape: [Int] { [kernelHeight, kernelWidth, inChannels, outChannels] }
    public var outputShape: [Int] { [batch, outHeight, outWidth, outChannels] }
    /// Elements of one window: the columns of the im2col matrix.
    var taps: Int { kernelHeight * kernelWidth * inChannels }
    /// Output pixels: the rows of the im2col matrix.
    var pixels: Int { batch * outHeight * outWidth }

    /// Rows of the im2col matrix built at a time: about 16 Ki elements (128 KiB), so the buffer stays in the
    /// cache between its writing and the product that reads it, and memory stays bounded whatever the batch.
    var chunkPixels: Int { max(1, min(pixels, (1 << 14) / max(taps, 1))) }

    func check(_ t: Tensor, _ shape: [Int], _ what: String) throws {
        guard t.shape == shape else {
            throw TensorError("conv2d kernel: \(what) has shape \(Shape.describe(t.shape)), expected \(Shape.describe(shape))")
        }
    }

    /// Walks `count` output pixels from `first`, each with its window's top-left corner in the input (it may
    /// lie in the padding) and the range of window columns b that are inside the input.
    @inline(__always)
    func forEachPixel(from first: Int, count: Int, _ body: (_ row: Int, _ image: Int, _ top: Int, _ left: Int, _ columns: Range<Int>) -> Void) {
        let perImage = outHeight * outWidth
        var n = first / perImage, i = (first % perImage) / outWidth, j = first % outWidth
        for row in 0..<count {
            let top = i * stride - padTop, left = j * stride - padLeft
            let lo = max(0, -left), hi = min(kernelWidth, width - left)
            body(row, n, top, left, lo..<max(lo, hi))
            j += 1
            if j == outWidth {
                j = 0
                i += 1
                if i == outHeight { i = 0; n += 1 }
            }
        }
    }

    /// Writes the windows of `count` pixels from `first` as rows of `columns` (zeros where a window reads the padding).
    func im2col(_ x: UnsafePointer<Double>, first: Int, count: Int, into columns: UnsafeMutablePointer<Double>) {
        let (kw, cin, rowLength) = (kernelWidth, inChannels, kernelWidth * inChannels)
        forEachPixel(from: first, count: count) { row, n, top, left, inside in
            var destination = columns + row * taps
            for a in 0..<kernelHeight {
                let r = top + a
                if r < 0 || r >= height || inside.isEmpty {
                    destination.update(repeating: 0, count: rowLength)
                } else {
                    if inside.lowerBound > 0 { destination.update(repeating: 0, count: inside.lowerBound * cin) }
                    let source = x + ((n * height + r) * width + left + inside.lowerBound) * cin
                    let run = inside.count * cin
                    let target = destination + inside.lowerBound * cin
                    for e in 0..<run { target[e] = source[e] }
                    if inside.upperBound < kw { (destination + inside.upperBound * cin).update(repeating: 0, count: (kw - inside.upperBound) * cin) }
                }
                destination += rowLength
            }
        }
    }

    /// Adds the rows of `columns` back where their windows were read (the adjoint of `im2col`; padding dropped).
    func col2im(_ columns: UnsafePointer<Double>, first: Int, count: Int, into x: UnsafeMutablePointer<Double>) {
        let (cin, rowLength) = (inChannels, kernelWidth * inChannels)
        forEachPixel(from: first, count: count) { row, n, top, left, inside in
            var source = columns + row * taps
            for a in 0..<kernelHeight {
                let r = top + a
                if r >= 0 && r < height && !inside.isEmpty {
                    let target = x + ((n * height + r) * width + left + inside.lowerBound) * cin
                    let from = source + inside.lowerBound * cin
                    for e in 0..<(inside.count * cin) { target[e] += from[e] }
                }
                source += rowLength
            }
        }
    }

    /// The chunks of output pixels, each with the scratch buffer for its im2col rows.
    func forEachChunk(_ body: (_ first: Int, _ count: Int, _ columns: UnsafeMutablePointer<Double>) -> Void) throws {
        let rows = chunkPixels
        try Shape.checkAllocation([rows, taps])
        let columns = UnsafeMutablePointer<Double>.allocate(capacity: max(rows * taps, 1))
        defer { columns.deallocate() }
        var first = 0
        while first < pixels {
            let count = min(rows, pixels - first)
            body(first, count, columns)
            first += count
        }
    }
}

/// How the three convolution kernels compute: loops over the windows with the output channels in SIMD lanes,
/// or im2col and `dgemm`.
enum Conv2DMethod {
    case direct, im2col
}

extension Conv2DGeometry {
    /// The direct kernels take windows of at most 64 taps (kh·kw·in) and filters of at most 2,048 elements
    /// (taps · out): there `dgemm`'s inner dimension or its filter is too small for it to gain back what im2col
    /// copies; past either bound `dgemm` wins (measurements: docs/DECISIONS.md, "conv2d: direct kernels").
    var method: Conv2DMethod { taps <= 64 && taps * outChannels <= 2048 ? .direct : .im2col }

    /// The rows a of the window of a pixel whose window starts at row `top` that lie inside the input.
    @inline(__always)
    func windowRows(top: Int) -> Range<Int> {
        let lo = max(0, -top), hi = min(kernelHeight, height - top)
        return lo..<max(lo, hi)
    }

    /// The pixels j of an output row whose window column b lies inside the input: j·stride + b − left in [0, width).
    @inline(__always)
    func pixelsReading(column b: Int) -> Range<Int> {
        let before = padLeft - b, last = width - 1 + padLeft - b
        let lo = before <= 0 ? 0 : (before + stride - 1) / stride
        let hi = last < 0 ? 0 : min(outWidth, last / stride + 1)
        return lo..<max(lo, hi)
    }

    /// y[pixel, o] = Σ over the window's taps inside x of x·k[tap, o], sixteen output channels at a time; two
    /// neighbouring pixels whose windows lie wholly inside x share each read of k.
    /// Returns the NaN check's carry of y (`Tensor.nonFiniteCarry`), read a row at a time as it is written.
    func directForward(x: UnsafePointer<Double>, k: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) -> UInt64 {
        let (cin, cout, run) = (inChannels, outChannels, kernelWidth * inChannels)
        let whole = pixelsReading(column: 0).lowerBound..<pixelsReading(column: kernelWidth - 1).upperBound
        var carry: UInt64 = 0
        for n in 0..<batch {
            for i in 0..<outHeight {
                let top = i * stride - padTop
                let rows = windowRows(top: top)
                let output = y + (n * outHeight + i) * outWidth * cout
                @inline(__always)
                func one<L: ChannelLanes>(_: L.Type, _ j: Int, _ o: Int) {
                    let left = j * stride - padLeft
                    let lo = max(0, -left), hi = min(kernelWidth, width - left)
                    var sum = L.zero
                    if lo < hi {
                        for a in rows {
                            let source = x + ((n * height + top + a) * width + left + lo) * cin
                            let taps = k + (a * kernelWidth + lo) * cin * cout + o
                            for e in 0..<((hi - lo) * cin) { sum = sum + L(taps + e * cout) * source[e] }
                        }
                    }
                    sum.store(to: output + j * cout + o)
                }
                @inline(__always)
                func two<L: ChannelLanes>(_: L.Type, _ j: Int, _ o: Int) {
                    let next = stride * cin
                    var first = L.zero, second = L.zero
                    for a in rows {
                        let source = x + ((n * height + top + a) * width + j * stride - padLeft) * cin
                        let taps = k + a * run * cout + o
                        for e in 0..<run {
                            let tap = L(taps + e * cout)
                            first = first + tap * source[e]
                            second = second + tap * source[e + next]
                        }
                    }
                    first.store(to: output + j * cout + o)
                    second.store(to: output + (j + 1) * cout + o)
                }
                var j = 0
                while j < outWidth {
                    var o = 0
                    if j >= whole.lowerBound && j + 1 < whole.upperBound {
                        while o + 16 <= cout { two(SIMD16<Double>.self, j, o); o += 16 }
                        while o + 4 <= cout { two(SIMD4<Double>.self, j, o); o += 4 }
                        while o < cout { two(Double.self, j, o); o += 1 }
                        j += 2
                    } else {
                        while o + 16 <= cout { one(SIMD16<Double>.self, j, o); o += 16 }
                        while o + 4 <= cout { one(SIMD4<Double>.self, j, o); o += 4 }
                        while o < cout { one(Double.self, j, o); o += 1 }
                        j += 1
                    }
                }
                carry |= Tensor.nonFiniteCarry(output, count: outWidth * cout)
            }
        }
        return carry
    }

    /// dk[tap, o] = Σ over the pixels whose window reads inside x at that tap of x·dy[pixel, o]: for each row of
    /// output pixels and each tap, one pass along the row, sixteen output channels at a time; two neighbouring
    /// taps read by the same pixels share each read of dy.
    func directBackpropFilter(x: UnsafePointer<Double>, dy: UnsafePointer<Double>, dk: UnsafeMutablePointer<Double>) {
        let (cin, cout, step) = (inChannels, outChannels, stride * inChannels)
        for n in 0..<batch {
            for i in 0..<outHeight {
                let top = i * stride - padTop
                let gradients = dy + (n * outHeight + i) * outWidth * cout
                for a in windowRows(top: top) {
                    let input = x + (n * height + top + a) * width * cin
                    var b = 0
                    while b < kernelWidth {
                        let pixels = pixelsReading(column: b)
                        let paired = b + 1 < kernelWidth && pixelsReading(column: b + 1) == pixels
                        for c in 0..<cin where !pixels.isEmpty {
                            let source = input + (pixels.lowerBound * stride + b - padLeft) * cin + c
                            let tap = dk + ((a * kernelWidth + b) * cin + c) * cout
                            @inline(__always)
                            func one<L: ChannelLanes>(_: L.Type, _ o: Int) {
                                var sum = L.zero
                                var read = gradients + pixels.lowerBound * cout + o
                                for j in 0..<pixels.count {
                                    sum = sum + L(read) * source[j * step]
                                    read += cout
                                }
                                (L(tap + o) + sum).store(to: tap + o)
                            }
                            @inline(__always)
                            func two<L: ChannelLanes>(_: L.Type, _ o: Int) {
                                var first = L.zero, second = L.zero
                                var read = gradients + pixels.lowerBound * cout + o
                                for j in 0..<pixels.count {
                                    let gradient = L(read)
                                    first = first + gradient * source[j * step]
                                    second = second + gradient * source[j * step + cin]
                                    read += cout
                                }
                                (L(tap + o) + first).store(to: tap + o)
                                (L(tap + cin * cout + o) + second).store(to: tap + cin * cout + o)
                            }
                            var o = 0
                            if paired {
                                while o + 16 <= cout { two(SIMD16<Double>.self, o); o += 16 }
                                while o + 4 <= cout { two(SIMD4<Double>.self, o); o += 4 }
                                while o < cout { two(Double.self, o); o += 1 }
                            } else {
                                while o + 16 <= cout { one(SIMD16<Double>.self, o); o += 16 }
                                while o + 4 <= cout { one(SIMD4<Double>.self, o); o += 4 }
                                while o < cout { one(Double.self, o); o += 1 }
                            }
                        }
                        b += paired ? 2 : 1
                    }
                }
            }
        }
    }

    /// dx: for each row of output pixels, Z[j, tap] = Σ_o dy[j, o]·k[tap, o] into a small buffer (the taps in
    /// SIMD lanes, from a transposed copy of k; two pixels share each read of it), then each tap's column of Z
    /// added along the input row it read, one pass per tap. No col2im buffer: its per-pixel walk spent its time
    /// on runs as short as one window row (3 elements with one channel).
    func directBackpropInput(k: UnsafePointer<Double>, dy: UnsafePointer<Double>, dx: UnsafeMutablePointer<Double>) throws {
        let (cin, cout, step) = (inChannels, outChannels, stride * inChannels)
        // The taps padded to four lanes, or to sixteen past four: 9 taps in three blocks of four summed one after
        // another waited on each block's additions; in one block of sixteen they run side by side.
        let lanes = taps <= 4 ? 4 : (taps + 15) / 16 * 16
        try Shape.checkAllocation([cout, lanes])
        try Shape.checkAllocation([outWidth, lanes])
        // kᵀ, [out, lanes], zero past the last tap.
        let transposed = UnsafeMutablePointer<Double>.allocate(capacity: cout * lanes)
        defer { transposed.deallocate() }
        transposed.initialize(repeating: 0, count: cout * lanes)
        for t in 0..<taps { for o in 0..<cout { transposed[o * lanes + t] = k[t * cout + o] } }
        let z = UnsafeMutablePointer<Double>.allocate(capacity: outWidth * lanes)
        defer { z.deallocate() }
        for n in 0..<batch {
            for i in 0..<outHeight {
                let gradients = dy + (n * outHeight + i) * outWidth * cout
                @inline(__always)
                func one<L: ChannelLanes>(_: L.Type, _ j: Int, _ t: Int) {
                    var sum = L.zero
                    for o in 0..<cout { sum = sum + L(transposed + o * lanes + t) * gradients[j * cout + o] }
                    sum.store(to: z + j * lanes + t)
                }
                @inline(__always)
                func two<L: ChannelLanes>(_: L.Type, _ j: Int, _ t: Int) {
                    var first = L.zero, second = L.zero
                    for o in 0..<cout {
                        let tap = L(transposed + o * lanes + t)
                        first = first + tap * gradients[j * cout + o]
                        second = second + tap * gradients[(j + 1) * cout + o]
                    }
                    first.store(to: z + j * lanes + t)
                    second.store(to: z + (j + 1) * lanes + t)
                }
                var j = 0
                while j + 1 < outWidth {
                    var t = 0
                    while t + 16 <= lanes { two(SIMD16<Double>.self, j, t); t += 16 }
                    while t < lanes { two(SIMD4<Double>.self, j, t); t += 4 }
                    j += 2
                }
                if j < outWidth {
                    var t = 0
                    while t + 16 <= lanes { one(SIMD16<Double>.self, j, t); t += 16 }
                    while t < lanes { one(SIMD4<Double>.self, j, t); t += 4 }
                }
                let top = i * stride - padTop
                for a in windowRows(top: top) {
                    let target = dx + (n * height + top + a) * width * cin
                    for b in 0..<kernelWidth {
                        let pixels = pixelsReading(column: b)
                        for c in 0..<cin where !pixels.isEmpty {
                            let into = target + (pixels.lowerBound * stride + b - padLeft) * cin + c
                            let from = z + pixels.lowerBound * lanes + (a * kernelWidth + b) * cin + c
                            for j in 0..<pixels.count { into[j * step] += from[j * lanes] }
                        }
                    }
                }
            }
        }
    }
}

/// Output channels computed together in the direct kernels (and a bias's sums in `sumRows`): sixteen (four
/// AVX2 registers), four, or one.
protocol ChannelLanes {
    static var zero: Self { get }
    init(_ from: UnsafePointer<Double>)
    func store(to: UnsafeMutablePointer<Double>)
    static func + (a: Self, b: Self) -> Self
    static func * (a: Self, b: Double) -> Self
}

extension SIMD16: ChannelLanes where Scalar == Double {
    @inline(__always) init(_ from: UnsafePointer<Double>) { self = UnsafeRawPointer(from).loadUnaligned(as: Self.self) }
    @inline(__always) func store(to: UnsafeMutablePointer<Double>) { UnsafeMutableRawPointer(to).storeBytes(of: self, as: Self.self) }
}

extension SIMD4: ChannelLanes where Scalar == Double {
    @inline(__always) init(_ from: UnsafePointer<Double>) { self = UnsafeRawPointer(from).loadUnaligned(as: Self.self) }
    @inline(__always) func store(to: UnsafeMutablePointer<Double>) { UnsafeMutableRawPointer(to).storeBytes(of: self, as: Self.self) }
}

extension Double: ChannelLanes {
    @inline(__always) init(_ from: UnsafePointer<Double>) { self = from.pointee }
    @inline(__always) func store(to: UnsafeMutablePointer<Double>) { to.pointee = self }
}

extension Tensor {
    /// TensorFlow's Conv2D (a cross-correlation): y[n, i, j, o] = Σ_{a, b, c} x[n, i·s + a − top, j·s + b − left, c]·k[a, b, c, o],
    /// zero outside x. Few taps: the direct kernel; otherwise each chunk of output pixels is im2col into one
    /// buffer and one `dgemm` by the filter.
    public static func conv2d(_ x: Tensor, _ k: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
        try conv2d(x, k, g, method: g.method)
    }

    static func conv2d(_ x: Tensor, _ k: Tensor, _ g: Conv2DGeometry, method: Conv2DMethod) throws -> Tensor {
        try conv2dNotingNonFinite(x, k, g, method: method).tensor
    }

    /// `conv2d`, and whether any element of the result is NaN or infinite, read as each part of it is written
    /// (the anomaly check then does not read the whole result again, long out of the cache).
    public static func conv2dNotingNonFinite(_ x: Tensor, _ k: Tensor, _ g: Conv2DGeometry) throws -> (tensor: Tensor, hasNonFinite: Bool) {
        try conv2dNotingNonFinite(x, k, g, method: g.method)
    }

    static func conv2dNotingNonFinite(_ x: Tensor, _ k: Tensor, _ g: Conv2DGeometry, method: Conv2DMethod) throws -> (tensor: Tensor, hasNonFinite: Bool) {
        try g.check(x, g.inputShape, "x")
        try g.check(k, g.filterShape, "k")
        var carry: UInt64 = 0
        let y: Tensor
        if method == .direct {
            y = try direct(x, k, g, into: g.outputShape, writesEveryElement: true) { carry = g.directForward(x: $0, k: $1, y: $2) }
        } else {
            y = try chunked(x, k, g, into: g.outputShape, writesEveryElement: true) { px, pk, py, first, count, columns in
                g.im2col(px, first: first, count: count, into: columns)
                let rows = py + first * g.outChannels
                gemm(false, false, m: count, n: g.outChannels, k: g.taps, columns, lda: g.taps, pk, ldb: g.outChannels,
                     adding: false, rows, ldc: g.outChannels)
                carry |= nonFiniteCarry(rows, count: count * g.outChannels)
            }
        }
        return (y, carry >> 63 != 0)
    }

    /// TensorFlow's Conv2DBackpropInput: the gradient of `conv2d` with respect to x for the output's
    /// cotangent dy. Few taps: the direct kernel; otherwise dx = col2im(dy·Kᵀ), the product per chunk and the
    /// columns added back where they were read.
    public static func conv2dBackpropInput(_ k: Tensor, _ dy: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
        try conv2dBackpropInput(k, dy, g, method: g.method)
    }

    static func conv2dBackpropInput(_ k: Tensor, _ dy: Tensor, _ g: Conv2DGeometry, method: Conv2DMethod) throws -> Tensor {
        try g.check(k, g.filterShape, "k")
        try g.check(dy, g.outputShape, "the output's gradient")
        if method == .direct {
            return try direct(k, dy, g, into: g.inputShape) { try g.directBackpropInput(k: $0, dy: $1, dx: $2) }
        }
        return try chunked(k, dy, g, into: g.inputShape) { pk, pd, px, first, count, columns in
            gemm(false, true, m: count, n: g.taps, k: g.outChannels, pd + first * g.outChannels, lda: g.outChannels,
                 pk, ldb: g.outChannels, adding: false, columns, ldc: g.taps)
            g.col2im(columns, first: first, count: count, into: px)
        }
    }

    /// TensorFlow's Conv2DBackpropFilter: the gradient of `conv2d` with respect to k for the output's
    /// cotangent dy. Few taps: the direct kernel; otherwise dK = im2col(x)ᵀ·dy, summed over the chunks by
    /// `dgemm`'s transpose flag and its β = 1.
    public static func conv2dBackpropFilter(_ x: Tensor, _ dy: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
        try conv2dBackpropFilter(x, dy, g, method: g.method)
    }

    static func conv2dBackpropFilter(_ x: Tensor, _ dy: Tensor, _ g: Conv2DGeometry, method: Conv2DMethod) throws -> Tensor {
        try g.check(x, g.inputShape, "x")
        try g.check(dy, g.outputShape, "the output's gradient")
        if method == .direct {
            return try direct(x, dy, g, into: g.filterShape) { g.directBackpropFilter(x: $0, dy: $1, dk: $2) }
        }
        return try chunked(x, dy, g, into: g.filterShape) { px, pd, pk, first, count, columns in
            g.im2col(px, first: first, count: count, into: columns)
            gemm(true, false, m: g.taps, n: g.outChannels, k: count, columns, lda: g.taps, pd + first * g.outChannels,
                 ldb: g.outChannels, adding: first > 0, pk, ldc: g.outChannels)
        }
    }

    /// A result of `shape` (zeros where there are no windows, taps or outputs), and `body` with both inputs'
    /// and the result's storage: the direct kernels' walk, and under `chunked` the im2col one's.
    private static func direct(_ a: Tensor, _ b: Tensor, _ g: Conv2DGeometry, into shape: [Int], writesEveryElement: Bool = false,
                               _ body: (UnsafePointer<Double>, UnsafePointer<Double>, UnsafeMutablePointer<Double>) throws -> Void) throws -> Tensor {
        try Shape.checkAllocation(shape)
        var out = result(shape, g, writesEveryElement)
        if g.taps > 0 && g.outChannels > 0 && g.pixels > 0 {
            try a.withUnsafeBufferPointer { pa in
                try b.withUnsafeBufferPointer { pb in
                    try out.withUnsafeMutableBufferPointer { po in try body(pa.baseAddress!, pb.baseAddress!, po.baseAddress!) }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// The im2col kernels' walk: `direct`'s, and `body` for each chunk of output pixels with the im2col
    /// buffer's storage too.
    private static func chunked(_ a: Tensor, _ b: Tensor, _ g: Conv2DGeometry, into shape: [Int], writesEveryElement: Bool = false,
                                _ body: (_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>,
                                         _ first: Int, _ count: Int, _ columns: UnsafeMutablePointer<Double>) -> Void) throws -> Tensor {
        try direct(a, b, g, into: shape, writesEveryElement: writesEveryElement) { pa, pb, po in
            try g.forEachChunk { first, count, columns in body(pa, pb, po, first, count, columns) }
        }
    }

    /// Storage for a kernel's result: zeros, or left uninitialized when the kernel writes every element (it
    /// does whenever there are taps, output channels and pixels; an output of 2.7 MB was zeroed to be overwritten).
    private static func result(_ shape: [Int], _ g: Conv2DGeometry, _ writesEveryElement: Bool) -> [Double] {
        let count = Shape.count(shape)
        guard writesEveryElement && g.taps > 0 && g.outChannels > 0 && g.pixels > 0 else { return [Double](repeating: 0, count: count) }
        return [Double](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// C = op(A)·op(B), or C + op(A)·op(B) when `adding`, for row-major matrices: `BLAS.multiply`, or a plain
    /// loop where OpenBLAS is missing.
    static func gemm(_ transposeA: Bool, _ transposeB: Bool, m: Int, n: Int, k: Int,
                     _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
                     adding: Bool, _ c: UnsafeMutablePointer<Double>, ldc: Int) {
        if let dgemm = BLAS.dgemm {
            BLAS.multiply(dgemm, transposeA, transposeB, m: m, n: n, k: k, a, lda: lda, b, ldb: ldb, c, ldc: ldc, adding: adding)
            return
        }
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += (transposeA ? a[p * lda + i] : a[i * lda + p]) * (transposeB ? b[j * ldb + p] : b[p * ldb + j]) }
                c[i * ldc + j] = s + (adding ? c[i * ldc + j] : 0)
            }
        }
    }
}

extension Tensor {
    /// A max pool (the geometry's windows, its filter [size, size, channels, ·]): each window's first largest
    /// element per channel, and its flat index in x; padding is no element of a window.
    // NOTE: the first largest, in the window's row-major order, as TensorFlow's MaxPoolGrad sends the gradient.
    public static func maxPool2d(_ x: Tensor, _ g: Conv2DGeometry) throws -> (values: Tensor, indices: [Int]) {
        try g.check(x, g.inputShape, "x")
        let c = g.inChannels
        // Every element is written (each window holds at least one element of x), so none is zeroed first.
        var values = [Double](unsafeUninitializedCapacity: g.pixels * c) { _, initialized in initialized = g.pixels * c }
        var indices = [Int](unsafeUninitializedCapacity: g.pixels * c) { _, initialized in initialized = g.pixels * c }
        if !indices.isEmpty {
            x.withUnsafeBufferPointer { px in
                values.withUnsafeMutableBufferPointer { pv in
                    indices.withUnsafeMutableBufferPointer { pi in
                        g.maxPool(px.baseAddress!, values: pv.baseAddress!, indices: pi.baseAddress!)
                    }
                }
            }
        }
        return (Tensor(shape: g.outputShape, scalars: values), indices)
    }
}

extension Tensor {
    /// TensorFlow's MaxPoolGrad: each element of dy (the pooled shape) added at its window's place in zeros
    /// shaped as x, `places` being max_pool2d's indices. Windows that do not overlap (stride ≥ size) are
    /// written in x's order, each element once, none zeroed first; overlapping ones are added up.
    public static func maxPool2dGrad(_ dy: Tensor, places: [Int], _ g: Conv2DGeometry) throws -> Tensor {
        try g.check(dy, g.outputShape, "the output's gradient")
        precondition(places.count == dy.count, "max_pool2d_grad: \(places.count) places for \(dy.count) gradients")
        guard g.windowsAreDisjoint else {
            return try dy.scatterAdd(axis: 0, indices: places, into: [Shape.count(g.inputShape)]).reshaped(g.inputShape)
        }
        let count = Shape.count(g.inputShape)
        let dx = [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            Memory.prepareLargeBuffer(buffer)
            if count > 0 {
                dy.withUnsafeBufferPointer { pd in
                    places.withUnsafeBufferPointer { pp in g.maxPoolGrad(dy: pd.baseAddress!, places: pp.baseAddress!, dx: buffer.baseAddress!) }
                }
            }
            initialized = count
        }
        return Tensor(shape: g.inputShape, scalars: dx)
    }
}

extension Conv2DGeometry {
    /// Whether no element of x lies in two windows (stride ≥ the window's size along both axes).
    public var windowsAreDisjoint: Bool { stride >= kernelHeight && stride >= kernelWidth }

    /// Writes every element of dx for disjoint windows: the gradient of its window's channel where it is that
    /// window's place, else zero (also outside every window).
    func maxPoolGrad(dy: UnsafePointer<Double>, places: UnsafePointer<Int>, dx: UnsafeMutablePointer<Double>) {
        let c = inChannels
        for n in 0..<batch {
            for r in 0..<height {
                let row = dx + (n * height + r) * width * c
                let i = (r + padTop) / stride, a = (r + padTop) % stride
                guard a < kernelHeight && i < outHeight else {
                    row.update(repeating: 0, count: width * c)
                    continue
                }
                for w in 0..<width {
                    let j = (w + padLeft) / stride, b = (w + padLeft) % stride
                    let target = row + w * c
                    guard b < kernelWidth && j < outWidth else {
                        target.update(repeating: 0, count: c)
                        continue
                    }
                    let window = ((n * outHeight + i) * outWidth + j) * c
                    let here = ((n * height + r) * width + w) * c
                    // NOTE: dy + 0, as the scatter into zeros added it: -0 becomes +0.
                    for ch in 0..<c { target[ch] = places[window + ch] == here + ch ? dy[window + ch] + 0 : 0 }
                }
            }
        }
    }

    /// Each window's first largest element per channel, the largest so far and its index replaced where a later
    /// element is larger, with no branch (random data would mispredict half), four channels at a time in SIMD
    /// lanes. Every window holds an element of x ("valid" windows lie inside it; "same" pads less than a
    /// window on each side), so every output is written. A row of output pixels is found reading each input
    /// row of its windows once, in order: the windows' largest so far wait in the output, which stays in the
    /// cache, while x streams past (read a window at a time, the loads waited for memory).
    func maxPool(_ x: UnsafePointer<Double>, values: UnsafeMutablePointer<Double>, indices: UnsafeMutablePointer<Int>) {
        let c = inChannels
        for n in 0..<batch {
            for i in 0..<outHeight {
                let top = i * stride - padTop
                let rows = windowRows(top: top)
                let row = (n * outHeight + i) * outWidth * c
                for a in rows {
                    for j in 0..<outWidth {
                        let left = j * stride - padLeft
                        let columns = max(0, -left)..<max(0, min(kernelWidth, width - left))
                        let best = values + row + j * c, at = indices + row + j * c
                        for b in columns {
                            let base = ((n * height + top + a) * width + left + b) * c
                            if a == rows.lowerBound && b == columns.lowerBound {
                                for ch in 0..<c { best[ch] = x[base + ch]; at[ch] = base + ch }
                                continue
                            }
                            var ch = 0
                            while ch + 4 <= c {
                                var largest = SIMD4<Double>(best + ch)
                                var place = UnsafeRawPointer(at + ch).loadUnaligned(as: SIMD4<Int64>.self)
                                let candidate = SIMD4<Double>(x + base + ch)
                                let larger = candidate .> largest
                                largest.replace(with: candidate, where: larger)
                                place.replace(with: SIMD4<Int64>(repeating: Int64(base + ch)) &+ SIMD4(0, 1, 2, 3), where: larger)
                                largest.store(to: best + ch)
                                UnsafeMutableRawPointer(at + ch).storeBytes(of: place, as: SIMD4<Int64>.self)
                                ch += 4
                            }
                            while ch < c {
                                let larger = x[base + ch] > best[ch]
                                best[ch] = larger ? x[base + ch] : best[ch]
                                at[ch] = larger ? base + ch : at[ch]
                                ch += 1
                            }
                        }
                    }
                }
            }
        }
    }
}
