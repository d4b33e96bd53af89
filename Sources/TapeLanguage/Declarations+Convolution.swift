import Portable
import TensorCore
import Autodiff

/// Convolution and pooling in TensorFlow's layout (NHWC, kernels [kh, kw, in, out]). conv2d is a primitive
/// (Autodiff's `Value.conv2d`: im2col and `dgemm`, its gradients TensorFlow's Conv2DBackpropInput and
/// Conv2DBackpropFilter, themselves primitives), and conv1d is conv2d over one row. max_pool2d is a primitive
/// too (`Value.maxPool2d`: a gather of each window's first largest element); avg_pool2d is a gather of every
/// window (im2col) and a mean, whose gradient is the gather's adjoint (col2im, a scatter-add).
extension Declarations {
    static let convolution: [Declaration] = [
        Declaration("conv2d(x, k, stride=1, padding=\"valid\")", "2-D convolution (cross-correlation, as TensorFlow): x [batch, height, width, in], k [kh, kw, in, out]",
                    export: .spelled([.torch: "(lambda X, K, s: torch.nn.functional.conv2d(torch.nn.functional.pad(X.permute(0, 3, 1, 2), [w for n, kk in ((X.shape[2], K.shape[1]), (X.shape[1], K.shape[0])) for t in [max((-(-n // s) - 1) * s + kk - n, 0)] for w in (t // 2, t - t // 2)] if {padding!} == 'same' else [0, 0, 0, 0]), K.permute(3, 2, 0, 1), stride=s).permute(0, 2, 3, 1))({x}, {k}, {stride#})",
                                      .tf: "tf.nn.conv2d({x}, {k}, strides={stride#}, padding={padding!}.upper())",
                                      .jax: "jax.lax.conv_general_dilated({x}, {k}, (({stride#} or 1), ({stride#} or 1)), {padding!}.upper(), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))"])) { args in
            try convolve(args.value("x"), args.value("k"), stride: args.int("stride"), padding: args.word("padding", ["valid", "same"]), oneD: false)
        },
        Declaration("conv1d(x, k, stride=1, padding=\"valid\")", "1-D convolution (cross-correlation, as TensorFlow): x [batch, width, in], k [kw, in, out]",
                    export: .spelled([.torch: "(lambda X, K, s: torch.nn.functional.conv1d(torch.nn.functional.pad(X.permute(0, 2, 1), [w for t in [max((-(-X.shape[1] // s) - 1) * s + K.shape[0] - X.shape[1], 0)] for w in (t // 2, t - t // 2)] if {padding!} == 'same' else [0, 0]), K.permute(2, 1, 0), stride=s).permute(0, 2, 1))({x}, {k}, {stride#})",
                                      .tf: "tf.nn.conv1d({x}, {k}, stride={stride#}, padding={padding!}.upper())",
                                      .jax: "jax.lax.conv_general_dilated({x}, {k}, ({stride#},), {padding!}.upper(), dimension_numbers=('NWC', 'WIO', 'NWC'))"])) { args in
            let x = try args.value("x"), k = try args.value("k")
            let stride = try args.int("stride"), padding = try args.word("padding", ["valid", "same"])
            guard x.shape.count == 3, k.shape.count == 3 else {
                throw TensorError("conv1d needs x of shape [batch, width, in] and k of shape [kw, in, out], got \(Shape.describe(x.shape)) and \(Shape.describe(k.shape))")
            }
            guard padding == "same" || x.shape[1] >= k.shape[0] else {
                throw TensorError("conv1d: the kernel (width \(k.shape[0])) is longer than the input (width \(x.shape[1])): padding \"valid\" has no window; \"same\" pads the input")
            }
            let y = try convolve(x.expandDims(axis: 1), k.expandDims(axis: 0), stride: stride, padding: padding, oneD: true)
            return try y.squeezed(axes: [1])
        },
        pooling("max_pool2d", "the largest value of each size × size window (the gradient goes to the first largest, as TensorFlow's)",
                torch: "(lambda X, k, s, p: torch.nn.functional.max_pool2d(torch.nn.functional.pad(X.permute(0, 3, 1, 2), [w for n in (X.shape[2], X.shape[1]) for t in [max((-(-n // s) - 1) * s + k - n, 0)] for w in (t // 2, t - t // 2)] if p == 'same' else [0, 0, 0, 0], value=-float('inf')), k, s).permute(0, 2, 3, 1))({x}, {size#}, ({stride#} or {size#}), {padding!})",
                tf: "tf.nn.max_pool2d({x}, {size#}, ({stride#} or {size#}), {padding!}.upper())",
                jax: "jax.lax.reduce_window({x}, -jnp.inf, jax.lax.max, (1, {size#}, {size#}, 1), (1, ({stride#} or {size#}), ({stride#} or {size#}), 1), {padding!}.upper())"),
        pooling("avg_pool2d", "the mean of each size × size window (with padding \"same\", of its elements inside x, as TensorFlow's)",
                torch: "(lambda X, k, s, p: (lambda P: torch.nn.functional.avg_pool2d(P(X.permute(0, 3, 1, 2)), k, s) / torch.nn.functional.avg_pool2d(P(torch.ones_like(X.permute(0, 3, 1, 2))), k, s))(lambda T: torch.nn.functional.pad(T, [w for n in (X.shape[2], X.shape[1]) for t in [max((-(-n // s) - 1) * s + k - n, 0)] for w in (t // 2, t - t // 2)] if p == 'same' else [0, 0, 0, 0])).permute(0, 2, 3, 1))({x}, {size#}, ({stride#} or {size#}), {padding!})",
                tf: "tf.nn.avg_pool2d({x}, {size#}, ({stride#} or {size#}), {padding!}.upper())",
                jax: "(lambda X, d, s, p: jax.lax.reduce_window(X, 0.0, jax.lax.add, d, s, p) / jax.lax.reduce_window(jnp.ones_like(X), 0.0, jax.lax.add, d, s, p))({x}, (1, {size#}, {size#}, 1), (1, ({stride#} or {size#}), ({stride#} or {size#}), 1), {padding!}.upper())"),
    ]

    /// Where every window's elements are in the flattened (padded) image: for output position (i, j) and
    /// window element (a, b, c), the index of x[i·stride + a, j·stride + b, c].
    static func windowIndices(_ name: String, height: Int, width: Int, channels: Int, kh: Int, kw: Int, stride: Int) throws -> (indices: [Int], oh: Int, ow: Int) {
        guard stride >= 1 else { throw TensorError("\(name): stride must be at least 1, got \(stride)") }
        guard height >= kh, width >= kw else {
            throw TensorError("\(name): the window (\(kh)×\(kw)) is larger than the input (\(height)×\(width)): padding \"valid\" has no window; \"same\" pads the input")
        }
        let oh = (height - kh) / stride + 1, ow = (width - kw) / stride + 1
        try Shape.checkAllocation([oh * ow, kh * kw * channels])
        var indices: [Int] = []
        indices.reserveCapacity(oh * ow * kh * kw * channels)
        for i in 0..<oh { for j in 0..<ow { for a in 0..<kh { for b in 0..<kw { for c in 0..<channels {
            indices.append(((i * stride + a) * width + (j * stride + b)) * channels + c)
        } } } } }
        return (indices, oh, ow)
    }

    /// TensorFlow's "same" padding: output size ceil(n / stride), the padding split with the extra one after.
    static func samePadding(_ n: Int, _ k: Int, _ stride: Int) -> (Int, Int) {
        let out = n == 0 ? 0 : (n - 1) / stride + 1  // ceil(n / stride), with no overflow for a huge stride
        let total = max((out - 1) * stride + k - n, 0)
        return (total / 2, total - total / 2)
    }

    static func convolve(_ x: Value, _ k: Value, stride: Int, padding: String, oneD: Bool) throws -> Value {
        try Value.conv2d(x, k, stride: stride, padding: padding == "same" ? .same : .valid, name: oneD ? "conv1d" : "conv2d")
    }

    static func padZeros(_ x: Value, _ pairs: [(Int, Int)]) throws -> Value {
        var x = x
        for (axis, (before, after)) in pairs.enumerated() where before > 0 || after > 0 {
            var shapes = [x.shape, x.shape]
            shapes[0][axis] = before
            shapes[1][axis] = after
            x = try Value.concat([x.context.constant(try Tensor.zeros(shapes[0])), x, x.context.constant(try Tensor.zeros(shapes[1]))], axis: axis)
        }
        return x
    }

    static func pooling(_ name: String, _ help: String, torch: String, tf: String, jax: String) -> Declaration {
        Declaration("\(name)(x, size, stride=None, padding=\"valid\")", help + "; x [batch, height, width, channels], stride = size unless given; padding \"valid\" (the windows that fit) or \"same\" (TensorFlow's: ceil(n / stride) windows, the padding no element of any window)",
                    export: .spelled([.torch: torch, .tf: tf, .jax: jax])) { args in
            let x = try args.value("x"), size = try args.int("size")
            let stride = args.argument(named: "stride") == nil ? size : try args.int("stride")
            let padding = try args.word("padding", ["valid", "same"])
            guard x.shape.count == 4 else { throw TensorError("\(name) needs x of shape [batch, height, width, channels], got \(Shape.describe(x.shape))") }
            guard size >= 1 else { throw TensorError("\(name): size must be at least 1, got \(size)") }
            guard stride >= 1 else { throw TensorError("\(name): stride must be at least 1, got \(stride)") }
            if name == "max_pool2d" { return try Value.maxPool2d(x, size: size, stride: stride, padding: padding == "same" ? .same : .valid) }
            var input = x
            var (top, left) = (0, 0)
            if padding == "same" {
                guard x.shape[1] >= 1, x.shape[2] >= 1 else { throw TensorError("\(name): the input has no rows or no columns, got shape \(Shape.describe(x.shape))") }
                let (t, bottom) = samePadding(x.shape[1], size, stride), (l, right) = samePadding(x.shape[2], size, stride)
                (top, left) = (t, l)
                input = try padZeros(x, [(0, 0), (t, bottom), (l, right), (0, 0)])
            }
            let (batch, height, width, channels) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
            let (indices, oh, ow) = try windowIndices(name, height: height, width: width, channels: channels, kh: size, kw: size, stride: stride)
            try Shape.checkAllocation([batch, indices.count])
            let n = size * size
            // Whether element e of window (i, j) is inside x (not padding): pooling leaves the padding out.
            var inside = [Bool](repeating: true, count: oh * ow * n)
            if padding == "same" {
                for i in 0..<oh { for j in 0..<ow { for a in 0..<size { for b in 0..<size {
                    let r = i * stride + a - top, c = j * stride + b - left
                    inside[(i * ow + j) * n + a * size + b] = r >= 0 && r < x.shape[1] && c >= 0 && c < x.shape[2]
                } } } }
            }
            // [batch, oh, ow, window, channels]
            let windows = try input.reshaped([batch, height * width * channels]).gather(axis: 1, indices: indices, indexShape: [indices.count])
                .reshaped([batch, oh, ow, n, channels])
            let counts = (0..<(oh * ow)).map { p in Double((0..<n).filter { inside[p * n + $0] }.count) }
            return try windows.sum(axes: [3]) / x.context.constant(Tensor(shape: [1, oh, ow, 1], scalars: counts))
        }
    }
}
