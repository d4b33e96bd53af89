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

extension Tensor {
    /// TensorFlow's Conv2D (a cross-correlation): y[n, i, j, o] = Σ_{a, b, c} x[n, i·s + a − top, j·s + b − left, c]·k[a, b, c, o],
    /// zero outside x. Each chunk of output pixels is im2col into one buffer and one `dgemm` by the filter.
    public static func conv2d(_ x: Tensor, _ k: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
        try g.check(x, g.inputShape, "x")
        try g.check(k, g.filterShape, "k")
        return try chunked(x, k, g, into: g.outputShape) { px, pk, py, first, count, columns in
            g.im2col(px, first: first, count: count, into: columns)
            gemm(false, false, m: count, n: g.outChannels, k: g.taps, columns, lda: g.taps, pk, ldb: g.outChannels,
                 beta: 0, py + first * g.outChannels, ldc: g.outChannels)
        }
    }

    /// TensorFlow's Conv2DBackpropInput: the gradient of `conv2d` with respect to x for the output's
    /// cotangent dy, dx = col2im(dy·Kᵀ), the product per chunk and the columns added back where they were read.
    public static func conv2dBackpropInput(_ k: Tensor, _ dy: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
        try g.check(k, g.filterShape, "k")
        try g.check(dy, g.outputShape, "the output's gradient")
        return try chunked(k, dy, g, into: g.inputShape) { pk, pd, px, first, count, columns in
            gemm(false, true, m: count, n: g.taps, k: g.outChannels, pd + first * g.outChannels, lda: g.outChannels,
                 pk, ldb: g.outChannels, beta: 0, columns, ldc: g.taps)
            g.col2im(columns, first: first, count: count, into: px)
        }
    }

    /// TensorFlow's Conv2DBackpropFilter: the gradient of `conv2d` with respect to k for the output's
    /// cotangent dy, dK = im2col(x)ᵀ·dy, summed over the chunks by `dgemm`'s transpose flag and its β = 1.
    public static func conv2dBackpropFilter(_ x: Tensor, _ dy: Tensor, _ g: Conv2DGeometry) throws -> Tensor {
        try g.check(x, g.inputShape, "x")
        try g.check(dy, g.outputShape, "the output's gradient")
        return try chunked(x, dy, g, into: g.filterShape) { px, pd, pk, first, count, columns in
            g.im2col(px, first: first, count: count, into: columns)
            gemm(true, false, m: g.taps, n: g.outChannels, k: count, columns, lda: g.taps, pd + first * g.outChannels,
                 ldb: g.outChannels, beta: first == 0 ? 0 : 1, pk, ldc: g.outChannels)
        }
    }

    /// The three kernels' common walk: a result of `shape` (zeros where there are no windows, taps or
    /// outputs), and `body` for each chunk of output pixels with both inputs', the result's and the im2col
    /// buffer's storage.
    private static func chunked(_ a: Tensor, _ b: Tensor, _ g: Conv2DGeometry, into shape: [Int],
                                _ body: (_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>,
                                         _ first: Int, _ count: Int, _ columns: UnsafeMutablePointer<Double>) -> Void) throws -> Tensor {
        try Shape.checkAllocation(shape)
        var out = [Double](repeating: 0, count: Shape.count(shape))
        if g.taps > 0 && g.outChannels > 0 && g.pixels > 0 {
            try a.withUnsafeBufferPointer { pa in
                try b.withUnsafeBufferPointer { pb in
                    try out.withUnsafeMutableBufferPointer { po in
                        try g.forEachChunk { first, count, columns in
                            body(pa.baseAddress!, pb.baseAddress!, po.baseAddress!, first, count, columns)
                        }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// C = op(A)·op(B) + β·C for row-major matrices: one `cblas_dgemm`, or a plain loop where OpenBLAS is missing.
    static func gemm(_ transposeA: Bool, _ transposeB: Bool, m: Int, n: Int, k: Int,
                     _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
                     beta: Double, _ c: UnsafeMutablePointer<Double>, ldc: Int) {
        if let dgemm = BLAS.dgemm {
            // NOTE: one thread: a chunk's product is at most a few million multiply-adds, which a second thread
            // barely shortens, and on a busy machine the two wait for each other (docs/DECISIONS.md, "conv2d on BLAS").
            BLAS.useThreads(forMultiplyAdds: 0)
            dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                  Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += (transposeA ? a[p * lda + i] : a[i * lda + p]) * (transposeB ? b[j * ldb + p] : b[p * ldb + j]) }
                c[i * ldc + j] = s + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}

extension Tensor {
    /// For each window of a max pool (the geometry's windows, its filter [size, size, channels, ·]) and each
    /// channel, the flat index in x of the window's first largest element; padding is no element of a window.
    // NOTE: the first largest, in the window's row-major order, as TensorFlow's MaxPoolGrad sends the gradient.
    public static func maxPoolArgmax(_ x: Tensor, _ g: Conv2DGeometry) throws -> [Int] {
        try g.check(x, g.inputShape, "x")
        let c = g.inChannels
        var indices = [Int](repeating: 0, count: g.pixels * c)
        guard !indices.isEmpty else { return indices }
        x.withUnsafeBufferPointer { px in
            indices.withUnsafeMutableBufferPointer { pi in
                let values = px.baseAddress!
                g.forEachPixel(from: 0, count: g.pixels) { row, n, top, left, inside in
                    let best = pi.baseAddress! + row * c
                    var first = true
                    for a in 0..<g.kernelHeight where top + a >= 0 && top + a < g.height {
                        for b in inside {
                            let base = ((n * g.height + top + a) * g.width + left + b) * c
                            if first {
                                for ch in 0..<c { best[ch] = base + ch }
                                first = false
                            } else {
                                for ch in 0..<c where values[base + ch] > values[best[ch]] { best[ch] = base + ch }
                            }
                        }
                    }
                }
            }
        }
        return indices
    }
}

