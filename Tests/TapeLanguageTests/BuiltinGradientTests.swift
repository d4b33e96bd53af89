import Foundation
import XCTest
import TensorCore
import Autodiff
@testable import TapeLanguage

/// Every built-in, through the language: its gradients against central finite differences at orders 1
/// and 2 (the method and tolerances of `AutodiffTests/GradientCheck`), TensorFlow's answers at kinks and
/// ties, JAX's and TensorFlow's values and gradients where a row keeps them, and the completeness checks:
/// a built-in without a row here, help, an export spelling (or a declared reason) or its place in the
/// README fails.
final class BuiltinGradientTests: ScratchFolderTestCase {
    enum Expectation {
        /// Gradients agree with finite differences at orders 1 and 2.
        case finiteDifferences
        /// Only order 1 (the function's second derivative is not defined where the row looks).
        case firstOrder
        /// The gradient of `sum(f)` is exactly this, per input (TensorFlow's rule at a kink or a tie).
        case exact([[Double]])
        /// No gradient: `grad` gives None for every input (TensorFlow registers none).
        case none
        /// A zero gradient for every input (TensorFlow's rule for `sign`).
        case zero
        /// No tensor input to differentiate (constructors): the call evaluates, untracked.
        case constant
        /// Only the row's reference numbers: the gradient follows a convention finite differences of the
        /// function as written do not see (TensorFlow symmetrizes cholesky's, which reads one triangle).
        case referenceOnly
    }

    struct Row {
        var name: String
        var expression: String
        var inputs: [(String, Tensor)]
        var expect: Expectation = .finiteDifferences
        /// Statements run before (a file to load).
        var setup: String = ""
        /// JAX's or TensorFlow's value of the expression, and the gradients of its sum (in input order).
        var reference: (value: [Double], gradients: [[Double]])? = nil
    }

    static func v(_ s: [Double]) -> Tensor { Tensor(vector: s) }
    static func m(_ rows: [[Double]]) -> Tensor { Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 }) }
    static func s(_ x: Double) -> Tensor { Tensor(x) }

    /// Fixed points (hand-picked rather than drawn, so a reader sees them): random-looking values, and
    /// the awkward ones each rule is about.
    static let a23 = m([[0.3, -1.2, 0.8], [1.7, -0.4, 2.1]])
    static let b23 = m([[-0.7, 0.5, 1.3], [0.9, -1.6, 0.2]])
    static let pos23 = m([[0.4, 1.3, 2.2], [0.7, 1.9, 0.25]])
    static let unit23 = m([[0.3, -0.6, 0.8], [-0.1, 0.5, -0.85]])
    static let well22 = m([[2.1, 0.4], [-0.7, 1.8]])
    static let well33 = m([[3.0, 0.5, -0.4], [0.2, 2.5, 0.7], [-0.6, 0.3, 2.8]])

    static let table: [Row] = {
        var rows: [Row] = []
        func row(_ name: String, _ expression: String, _ inputs: [(String, Tensor)], _ expect: Expectation = .finiteDifferences,
                 setup: String = "", reference: (value: [Double], gradients: [[Double]])? = nil) {
            rows.append(Row(name: name, expression: expression, inputs: inputs, expect: expect, setup: setup, reference: reference))
        }
        // Elementwise functions of one input.
        for name in ["sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "exp", "expm1", "square", "sigmoid", "softplus", "erf"] {
            row(name, "\(name)(a)", [("a", a23)])
        }
        for name in ["asin", "acos"] { row(name, "\(name)(a)", [("a", unit23)]) }
        for name in ["log", "sqrt", "log1p"] { row(name, "\(name)(a)", [("a", pos23)]) }
        row("abs", "abs(a)", [("a", a23)])
        row("abs", "abs(a)", [("a", v([0, -0.0, 2]))], .exact([[0, 0, 1]]))
        row("relu", "relu(a)", [("a", a23)])
        row("relu", "relu(a)", [("a", v([0, -1, 2]))], .exact([[0, 0, 1]]))
        row("sign", "sign(a)", [("a", v([-1.5, 0, 2]))], .zero)
        // TensorFlow registers no gradient for Floor, Ceil and Round (None); Sign's is zero.
        for name in ["floor", "ceil", "round"] { row(name, "\(name)(a)", [("a", v([-1.5, 0.5, 2.5, 0.2]))], .none) }
        row("floor", "a * floor(a)", [("a", v([-1.5, 0.5, 2.5, 0.2]))], .exact([[-2, 0, 2, 0]]))
        for name in ["lt", "gt", "le", "ge", "eq", "ne"] { row(name, "\(name)(a, b)", [("a", a23), ("b", b23)], .none) }
        row("pow", "pow(a, b)", [("a", pos23), ("b", b23)])
        row("maximum", "maximum(a, b)", [("a", a23), ("b", b23)])
        row("maximum", "maximum(a, b)", [("a", v([1, 2])), ("b", v([1, 3]))], .exact([[1, 0], [0, 1]]))
        row("minimum", "minimum(a, b)", [("a", a23), ("b", b23)])
        row("where", "where(gt(a, 0), a * b, b)", [("a", a23), ("b", b23)])
        row("clip", "clip(a, -0.5, b)", [("a", a23), ("b", pos23)])
        row("clip_by_value", "clip_by_value(a, -0.5, 1)", [("a", a23)])

        // Reductions.
        for name in ["sum", "mean", "prod", "max", "min", "norm", "logsumexp"] {
            row(name, "\(name)(a, axis=1)", [("a", a23)])
        }
        for name in ["argmax", "argmin"] { row(name, "\(name)(a, axis=1)", [("a", a23)], .none) }
        row("softmax", "softmax(a)", [("a", a23)])
        row("log_softmax", "log_softmax(a, axis=0)", [("a", a23)])

        // Shapes.
        row("reshape", "sin(reshape(a, [3, 2]))", [("a", a23)])
        row("transpose", "sin(transpose(a))", [("a", a23)])
        row("expand_dims", "sin(expand_dims(a, 0))", [("a", a23)])
        row("squeeze", "sin(squeeze(a))", [("a", Tensor(shape: [1, 3], scalars: [0.3, -1.2, 0.8]))])
        row("flatten", "sin(flatten(a))", [("a", a23)])
        row("concat", "sin(concat(a, b, axis=1))", [("a", a23), ("b", b23)])
        row("stack", "sin(stack(a, b, axis=1))", [("a", a23), ("b", b23)])
        for name in ["shape", "size", "rank"] { row(name, "\(name)(a)", [("a", a23)], .none) }

        // Linear algebra.
        row("matmul", "matmul(a, transpose(b))", [("a", a23), ("b", b23)])
        row("dot", "sin(dot(a, b))", [("a", v([0.3, -1.2])), ("b", v([0.8, 1.7]))])
        row("outer", "outer(a, b)", [("a", v([0.3, -1.2])), ("b", v([0.8, 1.7, -0.4]))])
        row("trace", "trace(a) * trace(a)", [("a", well33)])
        row("inv", "inv(a)", [("a", well22)])
        row("det", "det(a)", [("a", well33)])

        // Constructors.
        row("zeros", "zeros([2, 3])", [], .constant)
        row("ones", "ones([2, 3])", [], .constant)
        row("fill", "fill([2, 3], 7)", [], .constant)
        // TensorFlow's tf.fill([2, 3], 0.5) and its gradient.
        row("fill", "fill([2, 3], a)", [("a", s(0.5))], reference: ([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [[6]]))
        row("fill", "sin(fill([2, 2], a) * b)", [("a", s(0.5)), ("b", m([[1, 2], [3, -1]]))])
        row("eye", "eye(3)", [], .constant)
        row("arange", "arange(0, 1, 0.25)", [], .constant)
        row("linspace", "linspace(-1, 1, 5)", [], .constant)
        // TensorFlow's tf.linspace(-1, 2, 4) and its gradients.
        row("linspace", "linspace(a, b, 4)", [("a", s(-1)), ("b", s(2))], reference: ([-1, 0, 1, 2], [[2], [2]]))
        row("linspace", "sin(linspace(a, b, 5) * b)", [("a", s(-1.5)), ("b", s(0.7))])
        row("linspace", "linspace(a, b, 1)", [("a", s(0.3)), ("b", s(2))], .exact([[1], [0]]))
        row("randn", "randn([2, 3])", [], .constant)
        row("rand", "rand([2, 3])", [], .constant)
        row("set_seed", "set_seed(3)", [], .constant)
        row("load", "load(\"x.npy\")", [], .constant, setup: "x = [1, 2]\nsave x to \"x.npy\"")

        // Gradient management and losses.
        row("stop_gradient", "a * stop_gradient(a)", [("a", a23)], .exact([[0.3, -1.2, 0.8, 1.7, -0.4, 2.1]]))
        row("clip_by_norm", "clip_by_norm(a, 1.5)", [("a", a23)])
        row("global_norm", "global_norm(a, b)", [("a", a23), ("b", b23)])
        row("clip_by_global_norm", "clip_by_global_norm(2, a)", [("a", a23)])
        row("mse", "mse(a, b)", [("a", a23), ("b", b23)])
        row("cross_entropy", "cross_entropy(a, softmax(b))", [("a", a23), ("b", b23)])

        // Declared built-ins.
        // atan2: JAX's jnp.arctan2 and its gradients at the four quadrants.
        row("atan2", "atan2(a, b)", [("a", v([0.5, 0.5, -0.5, -0.5])), ("b", v([2, -2, 2, -2]))],
            reference: ([0.24497866312686414, 2.896613990462929, -0.24497866312686414, -2.896613990462929],
                        [[0.47058823529411764, -0.47058823529411764, 0.47058823529411764, -0.47058823529411764],
                         [-0.11764705882352941, -0.11764705882352941, 0.11764705882352941, 0.11764705882352941]]))
        row("atan2", "atan2(a, b)", [("a", a23), ("b", b23)])
        // mod: negative operands (NumPy's sign of the divisor), TensorFlow's floormod gradient.
        row("mod", "mod(a, b)", [("a", v([5, -5, 5.5, -5.5, 7.25])), ("b", v([3, 3, -2, -2, 0.5]))],
            reference: ([2, 1, -0.5, -1.5, 0.25], [[1, 1, 1, 1, 1], [-1, 2, 3, -2, -14]]))
        row("mod", "mod(a, b)", [("a", a23), ("b", pos23)])
        row("floor_divide", "floor_divide(a, b)", [("a", v([5, -5, 5.5, -5.5])), ("b", v([3, 3, -2, -2]))], .none,
            reference: ([1, -2, -3, 2], []))
        // Activations: JAX's values and gradients at random points; TensorFlow's rule at 0.
        let act = v([-2, -0.5, 0.7, 3])
        row("elu", "elu(a)", [("a", act)], reference: ([-0.8646647167633873, -0.3934693402873665, 0.7, 3.0],
                                                        [[0.1353352832366127, 0.6065306597126334, 1.0, 1.0]]))
        row("elu", "elu(a)", [("a", a23)])
        row("elu", "elu(a)", [("a", v([0, -0.0]))], .exact([[1, 1]]))
        row("selu", "selu(a)", [("a", act)], reference: ([-1.520166468595695, -0.6917581878028712, 0.7354906911488363, 3.1521029620664414],
                                                          [[0.2379328722516818, 1.0663411530445053, 1.0507009873554805, 1.0507009873554805]]))
        row("selu", "selu(a)", [("a", a23)])
        row("selu", "selu(a)", [("a", v([0]))], .exact([[1.0507009873554805]]))
        row("leaky_relu", "leaky_relu(a)", [("a", act)], reference: ([-0.4, -0.1, 0.7, 3.0], [[0.2, 0.2, 1.0, 1.0]]))
        row("leaky_relu", "leaky_relu(a, alpha=0.1)", [("a", a23)])
        row("leaky_relu", "leaky_relu(a, 0.3)", [("a", v([0, -0.0, 1]))], .exact([[0.3, 0.3, 1]]))
        row("gelu", "gelu(a)", [("a", act)], reference: ([-0.04550026389635841, -0.15426876936299344, 0.5306254434438489, 2.99595030590511],
                                                          [[-0.08523180107819688, 0.13250487534383715, 0.9766141011336599, 1.011945647204184]]))
        row("gelu", "gelu(a)", [("a", v([0, 1e-8, -3, 0.3]))])
        row("silu", "silu(a)", [("a", act)], reference: ([-0.2384058440442351, -0.1887703343990727, 0.46773144051771626, 2.8577223804673],
                                                          [[-0.09078424878489547, 0.2600388126973482, 0.8233867834733425, 1.0881041060151693]]))
        row("silu", "silu(a)", [("a", v([0, 1e-8, -3, 0.3]))])
        for name in ["isnan", "isinf", "isfinite"] { row(name, "\(name)(a)", [("a", a23)], .none) }
        row("isnan", "isnan(log(a))", [("a", v([-1, 0, 1]))], .none, reference: ([1, 0, 0], []))
        row("isinf", "isinf(log(a))", [("a", v([-1, 0, 1]))], .none, reference: ([0, 1, 0], []))
        row("isfinite", "isfinite(log(a))", [("a", v([-1, 0, 1]))], .none, reference: ([0, 0, 1], []))

        // Statistics and running sums: JAX's numbers.
        row("variance", "variance(a, axis=1)", [("a", a23)], reference: ([0.7222222222222223, 1.2022222222222223],
            [[0.22222222222222218, -0.7777777777777778, 0.5555555555555556, 0.37777777777777766, -1.0222222222222221, 0.6444444444444444]]))
        row("variance", "variance(a, axis=0, keepdims=1)", [("a", a23)])
        row("std", "std(a)", [("a", a23)], reference: ([1.1412712210513327],
            [[-0.03650899619486029, -0.25556297336402206, 0.036508996194860296, 0.16794138249635732, -0.1387341855404691, 0.2263557764081338]]))
        row("std", "std(a, axis=[0, 1], keepdims=1)", [("a", a23)])
        row("any", "any(a, axis=0)", [("a", m([[0, 1, 0], [0, 2, 0]]))], .none, reference: ([0, 1, 0], []))
        row("all", "all(a, axis=1)", [("a", m([[0, 1, 0], [3, 2, -1]]))], .none, reference: ([0, 1], []))
        row("count_nonzero", "count_nonzero(a)", [("a", m([[0, 1, 0], [3, 2, -1]]))], .none, reference: ([4], []))
        row("cumsum", "cumsum(a, 1)", [("a", a23)], reference: ([0.3, -0.8999999999999999, -0.09999999999999987, 1.7, 1.2999999999999998, 3.4],
                                                                [[3.0, 2.0, 1.0, 3.0, 2.0, 1.0]]))
        row("cumsum", "sin(cumsum(a, axis=0))", [("a", a23)])
        // Zeros: the gradient stays exact (JAX's), where TensorFlow's division rule gives NaN.
        row("cumprod", "cumprod(a, 1)", [("a", m([[0.5, 0, 2], [-1.5, 3, 0]]))],
            reference: ([0.5, 0.0, 0.0, -1.5, -4.5, -0.0], [[1.0, 1.5, 0.0, 4.0, -1.5, -4.5]]))
        row("cumprod", "cumprod(a, 1)", [("a", m([[0.5, 0, 2], [-1.5, 3, 0]]))])
        row("cumprod", "cumprod(a, axis=0)", [("a", a23)])

        // Movement.
        row("flip", "sin(flip(a, 1))", [("a", a23)])
        row("flip", "flip(a, -2)", [("a", a23)], reference: ([1.7, -0.4, 2.1, 0.3, -1.2, 0.8], [[1, 1, 1, 1, 1, 1]]))
        row("roll", "sin(roll(a, 1, 1))", [("a", a23)])
        row("roll", "roll(a, -4, 0)", [("a", v([1, 2, 3]))], .exact([[1, 1, 1]]), reference: ([2, 3, 1], [[1, 1, 1]]))
        row("tile", "sin(tile(a, [2, 1]))", [("a", a23)])
        row("tile", "tile(a, [2])", [("a", v([1, 2]))], reference: ([1, 2, 1, 2], [[2, 2]]))
        row("pad", "sin(pad(a, [[1, 0], [2, 1]], value=0.5))", [("a", a23)])
        row("pad", "pad(a, [1, 2])", [("a", v([1, 2]))], reference: ([0, 1, 2, 0, 0], [[1, 1]]))
        row("one_hot", "one_hot(a, 3)", [("a", v([0, 2, 1]))], .none, reference: ([1, 0, 0, 0, 0, 1, 0, 1, 0], []))

        // Linear algebra: JAX's numbers.
        row("diag", "sin(diag(a))", [("a", v([0.3, -1.2]))])
        row("diag", "sin(diag(a))", [("a", a23)])
        row("triu", "sin(triu(a))", [("a", a23)])
        row("triu", "triu(a, k=1)", [("a", well33)], reference: ([0, 0.5, -0.4, 0, 0, 0.7, 0, 0, 0], [[0, 1, 1, 0, 0, 1, 0, 0, 0]]))
        row("tril", "sin(tril(a, -1))", [("a", well33)])
        row("solve", "solve(a, b)", [("a", well22), ("b", v([1, -2]))], reference: ([0.6403940886699507, -0.8620689655172414],
            [[-0.3943313353879007, 0.5308306437914049, -0.2681453080637725, 0.3609648377781553], [0.6157635467980296, 0.41871921182266014]]))
        row("solve", "solve(a, b)", [("a", well33), ("b", m([[1, 0.5], [-2, 1], [0.3, 0.2]]))])
        row("logdet", "logdet(a)", [("a", well33)], reference: ([2.957822700480771],
            [[0.35261736601578725, -0.0508932280847528, 0.08101371001246364, -0.07893643539675944, 0.42376402160365595,
              -0.062318238471125886, 0.07010801828001663, -0.11321146655587869, 0.38429580390527635]]))
        row("logdet", "logdet(a)", [("a", m([[0.5, 2], [1.5, -1]]))], reference: ([1.252762968495368],
            [[0.2857142857142857, 0.42857142857142855, 0.5714285714285714, -0.14285714285714285]]))
        // Losses and layers: TensorFlow's numbers (tf.nn.sigmoid_cross_entropy_with_logits, Keras Huber and
        // LayerNormalization without scale and offset).
        row("sigmoid_cross_entropy", "sigmoid_cross_entropy(a, b)", [("a", m([[0.3, -1.2, 0], [1.7, -0.4, 2.1]])), ("b", m([[1, 0, 0.5], [0, 1, 1]]))],
            reference: ([0.7345176162220796],
                        [[-0.07092624719805685, 0.03857920275016372, 0.0, 0.14092245581941087, -0.09978127668540866, -0.018182803532602154],
                         [-0.049999999999999996, 0.19999999999999998, -0.0, -0.2833333333333333, 0.06666666666666667, -0.35]]))
        row("sigmoid_cross_entropy", "sigmoid_cross_entropy(a, b)", [("a", a23), ("b", unit23)])
        // |e| = delta at three points: both sides of the kink have slope delta (order 1 only: the second
        // derivative jumps there).
        row("huber", "huber(a, b)", [("a", v([0.5, -1, 2, 1, 0])), ("b", v([0, 0, 0.5, 0, -1]))], .firstOrder,
            reference: ([0.525], [[0.1, -0.2, 0.2, 0.2, 0.2], [-0.1, 0.2, -0.2, -0.2, -0.2]]))
        row("huber", "huber(a, b, delta=0.7)", [("a", a23), ("b", b23)])
        row("layer_norm", "layer_norm(a)", [("a", m([[1, 2, 0.5], [0.3, -1, 2]]))],
            reference: ([-0.26691828159759257, 1.3345914079879626, -1.0676731263903703, -0.1085091201509576, -1.166473041622794, 1.2749821617737516], []))
        row("layer_norm", "layer_norm(a, axis=0, epsilon=0.01)", [("a", a23)])
        row("layer_norm", "sin(layer_norm(a))", [("a", a23)])
        // The same mask in every evaluation (each session starts from seed 0).
        row("dropout", "dropout(a, 0.4)", [("a", a23)])
        row("gather", "sin(gather(a, [0, -1, 0], axis=1))", [("a", a23)])
        row("gather", "gather(a, [2, 0, 2])", [("a", v([1, 2, 3]))], reference: ([3, 1, 3], [[1, 0, 2]]))
        // Convolution and pooling: TensorFlow's numbers (tf.nn.conv2d, conv1d, max_pool2d, avg_pool2d).
        let image = Tensor(shape: [1, 3, 4, 1], scalars: [0.3, -1.2, 0.8, 1.7, -0.4, 2.1, 0.5, -0.9, 1.1, 0.2, -0.6, 1.4])
        let kernel = Tensor(shape: [2, 2, 1, 1], scalars: [0.5, -1, 0.25, 2])
        row("conv2d", "conv2d(a, b)", [("a", image), ("b", kernel)],
            reference: ([5.45, 0.125, -2.9749999999999996, -1.6250000000000002, -0.5999999999999999, 3.8],
                        [[0.5, -0.5, -0.5, -1.0, 0.75, 1.75, 1.75, 1.0, 0.25, 2.25, 2.25, 2.0], [2.1, 3.0, 2.9000000000000004, 2.7]]))
        row("conv2d", "conv2d(a, b, stride=2, padding=\"same\")", [("a", image), ("b", kernel)],
            reference: ([5.45, -2.9749999999999996, 0.35000000000000003, -1.7],
                        [[0.5, -1.0, 0.5, -1.0, 0.25, 2.0, 0.25, 2.0, 0.5, -1.0, 0.5, -1.0], [1.6, 2.0999999999999996, 0.09999999999999998, 1.2000000000000002]]))
        row("conv2d", "sin(conv2d(a, b, padding=\"same\"))", [("a", Tensor(shape: [1, 2, 3, 2], scalars: [0.3, -1.2, 0.8, 1.7, -0.4, 2.1, 0.5, -0.9, 1.1, 0.2, -0.6, 1.4])),
                                                               ("b", Tensor(shape: [2, 1, 2, 2], scalars: [0.5, -1, 0.25, 2, -0.3, 0.7, 1.1, 0.4]))])
        // Two channels in, a 3×3 kernel, stride 2 and "same" (padding on both sides): TensorFlow's numbers, and
        // finite differences to order 2 (conv2d's gradients are primitives whose pullbacks are convolutions).
        let image2 = Tensor(shape: [1, 3, 4, 2], scalars: [0.3, -1.2, 0.8, 1.7, -0.4, 2.1, 0.5, -0.9, 1.1, 0.2, -0.6, 1.4,
                                                             0.7, -0.3, 1.9, -1.1, 0.4, 0.6, -0.8, 1.3, 0.9, -1.5, 0.1, 1.6])
        let kernel3 = Tensor(shape: [3, 3, 2, 2], scalars: [0.5, -1, 0.25, 2, -0.3, 0.7, 1.1, 0.4, -0.6, 0.9, 1.2, -0.2, 0.8, -0.5, 0.3, 1.5, -0.7, 0.2,
                                                             0.6, -1.3, 1.0, 0.1, -0.9, 0.45, 0.35, -0.15, 0.55, -1.05, 0.65, 0.75, -0.25, 1.35, 0.05, -0.45, 0.85, -0.65])
        row("conv2d", "conv2d(a, b, stride=2, padding=\"same\")", [("a", image2), ("b", kernel3)],
            reference: ([-2.4149999999999996, -2.1499999999999995, 1.0099999999999998, 4.7700000000000005, 5.63, -1.6050000000000002, -0.34500000000000003, -5.17],
                        [[0.30000000000000004, 1.8, -0.49999999999999994, -0.7000000000000001, 1.4000000000000001, 1.35, -0.49999999999999994, -0.7000000000000001,
                          -0.30000000000000004, 1.75, 1.7999999999999998, 2.6, -0.4, 2.95, 1.7999999999999998, 2.6, 0.30000000000000004, 1.8,
                          -0.49999999999999994, -0.7000000000000001, 1.4000000000000001, 1.35, -0.49999999999999994, -0.7000000000000001],
                         [1.8, 1.8, -0.09999999999999998, -0.09999999999999998, 1.2999999999999998, 1.2999999999999998, 0.2999999999999998, 0.2999999999999998,
                          0.7, 0.7, -0.3, -0.3, 1.2, 1.2, 0.0, 0.0, 0.6, 0.6, 3.7, 3.7, 0.5, 0.5, 0.6000000000000001, 0.6000000000000001, 1.8, 1.8,
                          -0.09999999999999998, -0.09999999999999998, 1.2999999999999998, 1.2999999999999998, 0.2999999999999998, 0.2999999999999998,
                          0.7, 0.7, -0.3, -0.3]]))
        row("conv2d", "sin(conv2d(a, b, stride=2, padding=\"same\"))", [("a", image2), ("b", kernel3)])
        row("conv1d", "conv1d(a, b, padding=\"same\")", [("a", Tensor(shape: [1, 5, 1], scalars: [0.3, -1.2, 0.8, 1.7, -0.4])), ("b", Tensor(shape: [3, 1, 1], scalars: [0.5, -1, 2]))],
            reference: ([-2.6999999999999997, 2.95, 2.0, -2.0999999999999996, 1.25], [[-0.5, 1.5, 1.5, 1.5, 1.0], [1.6, 1.2000000000000002, 0.9]]))
        row("conv1d", "sin(conv1d(a, b, stride=2))", [("a", Tensor(shape: [2, 5, 1], scalars: [0.3, -1.2, 0.8, 1.7, -0.4, 2.1, 0.5, -0.9, 1.1, 0.2])),
                                                     ("b", Tensor(shape: [2, 1, 2], scalars: [0.5, -1, 2, 0.3]))])
        row("max_pool2d", "max_pool2d(a, 2)", [("a", image)], reference: ([2.1, 1.7], [[0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]]))
        row("max_pool2d", "sin(max_pool2d(a, 2, stride=1))", [("a", image)])
        // Ties: the gradient goes to the first largest element of each window, as TensorFlow's.
        row("max_pool2d", "max_pool2d(a, 2)", [("a", Tensor(shape: [1, 2, 4, 1], scalars: [1, 1, 0, 2, 1, 0, 2, 2]))], .exact([[1, 0, 0, 1, 0, 0, 0, 0]]),
            reference: ([1, 2], [[1, 0, 0, 1, 0, 0, 0, 0]]))
        row("avg_pool2d", "avg_pool2d(a, 2, stride=1)", [("a", image)],
            reference: ([0.20000000000000007, 0.55, 0.525, 0.7500000000000001, 0.55, 0.09999999999999998],
                        [[0.25, 0.5, 0.5, 0.25, 0.5, 1.0, 1.0, 0.5, 0.25, 0.5, 0.5, 0.25]]))
        row("avg_pool2d", "sin(avg_pool2d(a, 2))", [("a", image)])
        // padding "same": TensorFlow's numbers; the padding is no element of a window (max ignores it, as the
        // all-negative image shows; avg divides by the count of real elements).
        let negative = Tensor(shape: [1, 3, 4, 1], scalars: [-0.4, -1.3, -0.9, -1.8, -0.5, -2.2, -0.6, -1.0, -1.2, -0.3, -0.7, -1.5])
        row("max_pool2d", "max_pool2d(a, 2, padding=\"same\")", [("a", image)], reference: ([2.1, 1.7, 1.1, 1.4], [[0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1]]))
        row("max_pool2d", "max_pool2d(a, 3, stride=2, padding=\"same\")", [("a", image)], reference: ([2.1, 1.7, 2.1, 1.4], [[0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 1]]))
        row("max_pool2d", "max_pool2d(a, 2, padding=\"same\")", [("a", negative)], reference: ([-0.4, -0.6, -0.3, -0.7], [[1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0]]))
        row("max_pool2d", "sin(max_pool2d(a, 3, stride=2, padding=\"same\"))", [("a", image)])
        row("avg_pool2d", "avg_pool2d(a, 2, padding=\"same\")", [("a", image)],
            reference: ([0.20000000000000007, 0.525, 0.65, 0.39999999999999997], [[0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5]]))
        row("avg_pool2d", "avg_pool2d(a, 3, stride=1, padding=\"same\")", [("a", image)],
            reference: ([0.20000000000000007, 0.35000000000000003, 0.5000000000000001, 0.525, 0.3500000000000001, 0.3111111111111111, 0.4444444444444444, 0.48333333333333334, 0.7500000000000001, 0.4833333333333334, 0.45, 0.09999999999999998],
                        [[0.6944444444444444, 0.9722222222222221, 0.9722222222222222, 0.6944444444444443, 1.1111111111111112, 1.5555555555555556, 1.5555555555555556, 1.111111111111111, 0.6944444444444444, 0.9722222222222221, 0.9722222222222221, 0.6944444444444444]]))
        row("avg_pool2d", "sin(avg_pool2d(a, 3, stride=2, padding=\"same\"))", [("a", image)])

        // einsum, kron, matrix_power (JAX's numbers), cholesky (TensorFlow's).
        row("einsum", "einsum(\"ij,kj->ik\", a, b)", [("a", a23), ("b", b23)], reference: ([0.23000000000000015, 2.35, 1.3400000000000003, 2.59],
            [[0.20000000000000007, -1.1, 1.5, 0.20000000000000007, -1.1, 1.5], [2.0, -1.6, 2.9000000000000004, 2.0, -1.6, 2.9000000000000004]]))
        row("einsum", "sin(einsum(\"ij,j\", a, b))", [("a", a23), ("b", v([0.5, -1, 2]))])
        row("einsum", "einsum(\"ij->\", a)", [("a", a23)])
        // Any number of operands (contracted pairwise from the left), diagonals, traces and ...: JAX's numbers.
        row("einsum", "einsum(\"ij,jk,lk,lm->im\", a, b, c, d)", [("a", a23), ("b", well33), ("c", b23), ("d", well22)],
            reference: ([-2.7264999999999993, 8.362400000000001, 5.8884000000000025, 8.0816],
                        [[-3.9230000000000005, 1.0019999999999996, 10.019, -3.9230000000000005, 1.0019999999999996, 10.019],
                         [-1.5199999999999998, -1.0200000000000005, 6.94, 1.2159999999999997, 0.8160000000000003, -5.552, -2.2039999999999997, -1.4790000000000008, 10.063],
                         [9.85, -5.324999999999999, 15.5, 4.334, -2.343, 6.82], [4.237000000000001, 4.237000000000001, 8.194, 8.194]]))
        row("einsum", "sin(einsum(\"i,ij,jk,kl,l->\", a, b, c, d, e))", [("a", v([0.5, -1])), ("b", well22), ("c", a23), ("d", well33), ("e", v([1, 2, -0.5]))])
        row("einsum", "einsum(\"i,ij,jk,kl,l->\", a, b, c, d, e)", [("a", v([0.5, -1])), ("b", well22), ("c", a23), ("d", well33), ("e", v([1, 2, -0.5]))],
            reference: ([-13.556000000000001], [[-11.024000000000003, 8.043999999999999], [-2.8400000000000003, 1.1299999999999997, 5.680000000000001, -2.2599999999999993],
                                                 [7.3500000000000005, 8.4875, -2.4499999999999997, -6.720000000000001, -7.760000000000002, 2.2399999999999998],
                                                 [-2.195, -4.39, 1.0975, -1.46, -2.92, 0.73, -1.9600000000000002, -3.9200000000000004, 0.9800000000000001], [-5.700999999999999, -5.3355, -5.632]]))
        row("einsum", "einsum(\"ii\", a)", [("a", well33)], reference: ([8.3], [[1, 0, 0, 0, 1, 0, 0, 0, 1]]))
        row("einsum", "einsum(\"ii->i\", a)", [("a", well33)], reference: ([3, 2.5, 2.8], [[1, 0, 0, 0, 1, 0, 0, 0, 1]]))
        row("einsum", "sin(einsum(\"ij,jj,kj->ik\", a, b, c))", [("a", a23), ("b", well33), ("c", b23)])
        let batch = Tensor(shape: [2, 2, 2], scalars: [0.3, -1.2, 0.8, 1.7, -0.4, 2.1, -0.7, 0.5])
        row("einsum", "einsum(\"...ij,...jk->...ik\", a, b)", [("a", batch), ("b", well22)],
            reference: ([1.47, -2.04, 0.49000000000000027, 3.38, -2.31, 3.62, -1.8199999999999998, 0.6200000000000001],
                        [[2.5, 1.1, 2.5, 1.1, 2.5, 1.1, 2.5, 1.1], [0, 0, 3.1, 3.1]]))
        row("einsum", "sin(einsum(\"bii->b\", a) * einsum(\"...j->...\", b))", [("a", batch), ("b", b23)])
        row("kron", "kron(a, b)", [("a", m([[1, 2], [3, 4]])), ("b", m([[0.5, -1]]))],
            reference: ([0.5, -1.0, 1.0, -2.0, 1.5, -3.0, 2.0, -4.0], [[-0.5, -0.5, -0.5, -0.5], [10.0, 10.0]]))
        row("kron", "sin(kron(a, b))", [("a", v([0.3, -1.2])), ("b", a23)])
        row("matrix_power", "matrix_power(a, 3)", [("a", well22)], reference: ([7.581, 4.46, -7.805000000000001, 4.236000000000001],
                                                                               [[10.59, 3.170000000000001, 15.71, 7.170000000000002]]))
        row("matrix_power", "matrix_power(a, -2)", [("a", well22)], reference: ([0.17957242349972088, -0.09463952049309617, 0.1656191608629183, 0.2505520638695431],
            [[-0.17133016640991544, -0.49432623104594664, -0.08932598419662259, -0.2817847791870039]]))
        row("matrix_power", "matrix_power(a, 0) * a", [("a", well22)])
        row("cholesky", "cholesky(a)", [("a", m([[4, 1, 0.5], [1, 3, 0.2], [0.5, 0.2, 2]]))], .referenceOnly,
            reference: ([2.0, 0.0, 0.0, 0.5, 1.6583123951777, 0.0, 0.25, 0.04522670168666455, 1.391206147720224],
                        [[0.19844470241382323, 0.14014740282787508, 0.13214757503366406, 0.14014740282787508, 0.293555630494452, 0.2917095163880955,
                          0.13214757503366406, 0.2917095163880955, 0.3594003669544965]]))
        // A symmetric input built from a, so finite differences see what the symmetrized gradient sees.
        row("cholesky", "cholesky(a @ transpose(a) + eye(3))", [("a", well33)])
        // Sorting and several results: a function picks one result, so the table's expression is one tensor.
        row("sort", "sort(a)", [("a", a23)])
        row("sort", "sort(a, axis=0)", [("a", a23)])
        // Ties keep their order, so the weights follow the positions (TensorFlow's top_k underneath).
        row("sort", "sort(a) * [1, 2, 3, 4]", [("a", v([2, 1, 2, 1]))], .exact([[3, 1, 4, 2]]), reference: ([1, 2, 6, 8], [[3, 1, 4, 2]]))
        row("top_k", "first(a)", [("a", a23)], setup: "first(x) = < values, indices = top_k(x, 2); values >")
        row("top_k", "first(a) * [1, 2, 3]", [("a", v([1, 3, 3, 2]))], .exact([[0, 1, 2, 3]]), setup: "first(x) = < values, indices = top_k(x, 3); values >")
        row("top_k", "second(a)", [("a", v([1, 3, 3, 2]))], .none, setup: "second(x) = < values, indices = top_k(x, 3); indices >", reference: ([1, 2, 3], []))
        row("split", "last(a)", [("a", a23)], setup: "last(x) = < p, q, r = split(x, 3, axis=1); sin(r) * p >")
        row("slogdet", "second(a)", [("a", m([[0.5, 2], [1.5, -1]]))], setup: "second(x) = < s, l = slogdet(x); l >",
            reference: ([1.252762968495368], [[0.2857142857142857, 0.42857142857142855, 0.5714285714285714, -0.14285714285714285]]))
        row("slogdet", "first(a)", [("a", m([[0.5, 2], [1.5, -1]]))], .none, setup: "first(x) = < s, l = slogdet(x); s >", reference: ([-1], []))
        row("slogdet", "second(a)", [("a", well33)], setup: "second(x) = < s, l = slogdet(x); l >")
        // eigh: TensorFlow's numbers (its gradient reads the lower triangle), eigenvectors with their
        // largest element positive; finite differences on a symmetric input and on a plain one.
        let spd = m([[4, 1, 0.5], [1, 3, 0.2], [0.5, 0.2, 2]])
        row("eigh", "values(a)", [("a", spd)], setup: "values(x) = < w, v = eigh(x); w * [1, -2, 0.5] >",
            reference: ([1.8800869029150529, -4.796686038673993, 2.360785038873975],
                        [[-0.048673469571302364, 0.0, 0.0, 2.0559627734194557, -1.3424036196197409, 0.0, -0.6631471072638717, 0.7977362104492879, 0.8910770891910437]]))
        row("eigh", "vectors(a)", [("a", spd)], setup: "vectors(x) = < w, v = eigh(x); v * [[0.2, -1, 0.5], [1, 0.3, -0.7], [0.4, 0.9, -0.2]] >",
            reference: ([-0.050608472327050916, 0.48194966042618, 0.41943238073411265, 0.053438720828776154, 0.2576391524016087, -0.3566647456461696,
                         0.3863912765752844, -0.15638244610009247, -0.03831145837753124],
                        [[0.23896631939109145, 0.0, 0.0, -0.23612787853885453, -0.026523494158724598, 0.0, -0.6302255006627562, 0.4991574212338725, -0.21244282523236668]]))
        row("eigh", "both(a)", [("a", spd)], setup: "both(x) = < w, v = eigh(x); sin(v) * w >")
        row("eigh", "both(a + transpose(a))", [("a", well33)], setup: "both(x) = < w, v = eigh(x); sin(v) * w >")
        // qr and pinv: TensorFlow's numbers (its QR with R's diagonal made positive, as tapebook's).
        let tall = m([[2.1, 0.4], [-0.7, 1.8], [0.5, -0.3]])
        row("qr", "qfactor(a)", [("a", tall)], setup: "qfactor(x) = < q, r = qr(x); q * [[0.2, -1], [1, 0.3], [0.4, 0.9]] >",
            reference: ([0.18507411268047733, -0.3416323701709128, -0.3084568544674621, 0.27914836559283096, 0.08813052984784635, -0.11894722375616062],
                        [[0.2151546701392852, -0.0970026861213656, 0.7848377795174207, 0.11668439055178738, 0.19512327673939084, 0.570769428482237]]))
        row("qr", "rfactor(a)", [("a", tall)], setup: "rfactor(x) = < q, r = qr(x); r * [[0.5, -0.7], [0, 1.3]] >",
            reference: ([1.1346805717910218, 0.1758204070464534, 0, 2.406549881073959],
                        [[0.31676404117616846, -0.20363731315948386, -0.5516700375185009, 1.4255627156961577, 0.16661411811623447, -0.3260410837704075]]))
        row("qr", "both(a)", [("a", well33)], setup: "both(x) = < q, r = qr(x); sin(q) * r[0, 0] + r >")
        row("qr", "both(a)", [("a", tall)], setup: "both(x) = < q, r = qr(x); sum(sin(q), axis=0) * r >")
        // svd: JAX's numbers (TensorFlow's agree to 4e-15), each column of u with its largest element positive;
        // finite differences on tall, wide and square matrices with distinct singular values.
        let wide = m([[2.1, -0.7, 0.5], [0.4, 1.8, -0.3]])
        row("svd", "ufactor(a)", [("a", tall)], setup: "ufactor(x) = < u, s, vt = svd(x); u * [[0.2, -1], [1, 0.3], [0.4, 0.9]] >",
            reference: ([0.16352731988009134, -0.5518095208322373, -0.5208029627313949, 0.24914995779687263, 0.0981710061727461, -0.06840139962497377],
                        [[1.3024105967085096, 0.7797571854547273, 1.3603956083117064, -1.1177883845317884, 0.3634875231118087, 0.8813762361675048]]))
        row("svd", "values(a)", [("a", tall)], setup: "values(x) = < u, s, vt = svd(x); s * [1, -2] >",
            reference: ([2.3080026771759496, -3.6403975838628666],
                        [[0.45382546861440165, -1.2963591484771784, -0.9896729680340636, -1.4320276560436713, 0.27945028000300737, 0.07243722711009708]]))
        row("svd", "vfactor(a)", [("a", wide)], setup: "vfactor(x) = < u, s, vt = svd(x); vt * [[0.2, -1, 0.5], [1, 0.3, -0.7]] >",
            reference: ([0.1635273198800913, 0.5208029627313948, 0.12271375771593258, 0.5518095208322372, 0.24914995779687263, 0.053201088597201816],
                        [[-1.0232405204626924, -0.9646977963856912, -0.00010233838024799671, -0.5741591647890099, 0.8255355754655102, -0.7242247825649348]]))
        row("svd", "ufactor(a)", [("a", wide)], setup: "ufactor(x) = < u, s, vt = svd(x); u * [[0.2, -1], [1, 0.3]] >",
            reference: ([0.19101474293487772, -0.29636835110730764, -0.2963683511073076, 0.2865221144023165],
                        [[1.552174503795527, 1.1115965216848278, 0.03654563906909025, 1.5379623108242149, -1.6313567217785558, 0.5948817915135245]]))
        row("svd", "all3(a)", [("a", tall)], setup: "all3(x) = < u, s, vt = svd(x); sum(sin(u), axis=0) * s + sin(vt) >")
        row("svd", "all3(a)", [("a", wide)], setup: "all3(x) = < u, s, vt = svd(x); sin(u) * s + sum(sin(vt) * [1, 2, -1], axis=1) >")
        row("svd", "all3(a)", [("a", well33)], setup: "all3(x) = < u, s, vt = svd(x); sin(u) * s + sin(vt) >")
        row("pinv", "pinv(a)", [("a", tall)], reference: ([0.42819260451253915, -0.08028965470348925, 0.08918554446245026, 0.18454721620978426, 0.5026461022404044, -0.07139376494452816],
            [[-0.3055964753070502, -0.4305447878710166, -0.13916771146717175, -0.19606879546606448, 0.21449341169257033, 0.3021926883944586]]))
        row("pinv", "sin(pinv(a))", [("a", m([[2.1, -0.7, 0.5], [0.4, 1.8, -0.3]]))])
        return rows
    }()

    // MARK: Checking one row

    /// A fresh session with the row's inputs bound (and watched when `watch`).
    func session(_ row: Row, at inputs: [Tensor], watch: Bool) throws -> Session {
        let session = Session()
        session.setSeed(0)
        session.directory = directory
        for ((name, _), t) in zip(row.inputs, inputs) {
            let v = session.context.constant(t)
            if watch { try session.context.watch(v) }
            session.bind(name, .value(v))
        }
        if !row.setup.isEmpty { _ = try results(session, row.setup) }
        return session
    }

    /// Runs statements; the last one's result items (nil for a None).
    func results(_ session: Session, _ text: String) throws -> [Tensor?] {
        let outcomes = session.run(text, keepGoing: false)
        guard let last = outcomes.last else { throw GradientError("nothing ran") }
        for o in outcomes { if case .error(let e) = o.result { throw GradientError("`\(text)`: \(e.message)") } }
        switch last.result {
        case .tensor(_, let v): return [v.tensor]
        case .none: return [nil]
        case .several(let items):
            return items.map { if case .value(let v) = $0.item { return v.tensor } else { return nil } }
        default: return []
        }
    }

    var directory: String = NSTemporaryDirectory()

    /// Deterministic weights in [-1, 1] (no session random numbers: the table must not depend on them).
    static func weights(_ count: Int, seed: Int) -> [Double] {
        var state = UInt64(truncatingIfNeeded: seed &* 2654435761 &+ 12345)
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    static func literal(_ t: Tensor) -> String {
        if t.shape.isEmpty { return "\(t.scalars[0])" }
        func nested(_ offset: Int, _ axis: Int) -> String {
            if axis == t.shape.count - 1 { return "[" + (0..<t.shape[axis]).map { "\(t.scalars[offset + $0])" }.joined(separator: ", ") + "]" }
            let stride = t.shape[(axis + 1)...].reduce(1, *)
            return "[" + (0..<t.shape[axis]).map { nested(offset + $0 * stride, axis + 1) }.joined(separator: ", ") + "]"
        }
        return nested(0, 0)
    }

    /// `sum((f) * W)` with fixed weights of the output's shape.
    func objective(_ row: Row) throws -> String {
        let s = try session(row, at: row.inputs.map(\.1), watch: false)
        guard let y = try results(s, "__y = \(row.expression)").first, let y else { throw GradientError("no value") }
        let w = Tensor(shape: y.shape, scalars: Self.weights(y.count, seed: row.expression.count))
        return "sum((\(row.expression)) * \(Self.literal(w)))"
    }

    func evaluate(_ row: Row, _ statements: String, at inputs: [Tensor], watch: Bool) throws -> [Tensor?] {
        try results(try session(row, at: inputs, watch: watch), statements)
    }

    /// Central differences of the scalar that `statements` computes, per coordinate and along one direction,
    /// against the gradient `g`.
    func compare(_ row: Row, _ statements: String, gradient g: [Tensor], tolerance: (relative: Double, absolute: Double),
                 order: Int) throws -> [String] {
        let x = row.inputs.map(\.1)
        func value(_ xs: [Tensor]) throws -> Double {
            guard let r = try evaluate(row, statements, at: xs, watch: order == 2).first, let r else { throw GradientError("no value") }
            return r.scalars[0]
        }
        func accepts(_ a: Double, _ n: Double, _ scale: Double) -> Bool {
            a.isFinite && n.isFinite && abs(a - n) <= tolerance.absolute + tolerance.relative * max(abs(a), abs(n), scale)
        }
        var failures: [String] = []
        func moved(_ i: Int, _ j: Int, _ delta: Double) -> [Tensor] {
            var xs = x
            var s = xs[i].scalars
            s[j] += delta
            xs[i] = Tensor(shape: xs[i].shape, scalars: s)
            return xs
        }
        for i in x.indices {
            for j in 0..<x[i].count {
                let h = 1e-6 * max(1, abs(x[i].scalars[j]))
                let n = (try value(moved(i, j, h)) - value(moved(i, j, -h))) / (2 * h)
                let a = g[i].scalars[j]
                if !accepts(a, n, 0) { failures.append("order \(order): ∂/∂\(row.inputs[i].0)[\(j)] is \(a), finite differences \(n)") }
            }
        }
        return failures
    }

    func check(_ row: Row) throws -> [String] {
        let x = row.inputs.map(\.1)
        let names = row.inputs.map(\.0).joined(separator: ", ")
        switch row.expect {
        case .referenceOnly:
            return row.reference == nil ? ["a reference-only row without reference numbers"] : []
        case .constant:
            let s = try session(row, at: [], watch: false)
            let outcomes = s.run(row.expression, keepGoing: false)
            for o in outcomes { if case .error(let e) = o.result { return ["\(row.expression): \(e.message)"] } }
            if case .tensor(_, let value)? = outcomes.last?.result, value.isTracked { return ["\(row.expression) is tracked"] }
            return []
        case .none:
            let gs = try evaluate(row, "grad \(row.expression) wrt \(names)", at: x, watch: true)
            return gs.contains { $0 != nil } ? ["expected None, got \(gs)"] : []
        case .zero, .exact:
            let gs = try evaluate(row, "grad \(row.expression) wrt \(names)", at: x, watch: true)
            let expected: [[Double]]
            if case .exact(let e) = row.expect { expected = e } else { expected = x.map { [Double](repeating: 0, count: $0.count) } }
            let got = gs.map { $0?.scalars ?? [] }
            return got == expected ? [] : ["expected gradients \(expected), got \(got)"]
        case .finiteDifferences, .firstOrder:
            let objective = try objective(row)
            var failures: [String] = []
            let g1 = try evaluate(row, "grad \(objective) wrt \(names) unconnected zero", at: x, watch: true)
            guard g1.count == x.count, g1.allSatisfy({ $0 != nil }) else { return ["no first-order gradient: \(g1)"] }
            failures += try compare(row, objective, gradient: g1.map { $0! }, tolerance: (1e-5, 1e-7), order: 1)
            guard case .finiteDifferences = row.expect else { return failures }
            // Order 2: S = Σ ∇L·u for a fixed u; its gradient Hᵀu, by the tape, against differences of S.
            let grads = row.inputs.indices.map { "__g\($0)" }
            let u = x.enumerated().map { i, t in Self.literal(Tensor(shape: t.shape, scalars: Self.weights(t.count, seed: 97 + i))) }
            let assignment = (grads.count == 1 ? "__g0" : grads.joined(separator: ", ")) + " = grad \(objective) wrt \(names) unconnected zero"
            let s = assignment + "\n" + zip(grads, u).map { "sum(\($0) * \($1))" }.joined(separator: " + ")
            let g2 = try evaluate(row, s.replacingOccurrences(of: "\nsum", with: "\n__s = sum") + "\ngrad __s wrt \(names) unconnected zero",
                                  at: x, watch: true)
            guard g2.count == x.count, g2.allSatisfy({ $0 != nil }) else { return failures + ["no second-order gradient: \(g2)"] }
            failures += try compare(row, s, gradient: g2.map { $0! }, tolerance: (1e-4, 1e-7), order: 2)
            return failures
        }
    }

    // MARK: Tests

    func testEveryRow() throws {
        directory = NSTemporaryDirectory() + "tapebook-builtins-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for row in Self.table {
            do {
                for failure in try check(row) { XCTFail("\(row.name) `\(row.expression)`: \(failure)") }
            } catch {
                XCTFail("\(row.name) `\(row.expression)`: \(error)")
            }
        }
    }

    /// The rows that keep JAX's or TensorFlow's numbers: tapebook's value and gradients agree to 1e-12.
    func testReferenceNumbers() throws {
        for row in Self.table {
            guard let reference = row.reference else { continue }
            let y = try evaluate(row, row.expression, at: row.inputs.map(\.1), watch: false)
            assertClose(y.first??.scalars ?? [], reference.value, "\(row.name) value")
            guard !reference.gradients.isEmpty else { continue }
            let names = row.inputs.map(\.0).joined(separator: ", ")
            let gs = try evaluate(row, "grad \(row.expression) wrt \(names)", at: row.inputs.map(\.1), watch: true)
            for (g, r) in zip(gs, reference.gradients) { assertClose(g?.scalars ?? [], r, "\(row.name) gradient") }
        }
    }

    func assertClose(_ a: [Double], _ b: [Double], _ what: String) {
        guard a.count == b.count, zip(a, b).allSatisfy({ abs($0 - $1) <= 1e-12 * max(1, abs($1)) }) else {
            XCTFail("\(what): \(a), reference \(b)")
            return
        }
    }

    func testEveryBuiltinHasARow() {
        let covered = Set(Self.table.map(\.name))
        for name in Builtins.names.sorted() {
            XCTAssertTrue(covered.contains(name), "the built-in \(name) has no row in BuiltinGradientTests.table")
        }
        for name in covered { XCTAssertNotNil(Builtins.table[name], "a row names \(name), which is not a built-in") }
    }

    /// `Builtins.named` looks among the built-ins written in Builtins.swift first and builds the declared ones
    /// only on a miss: a declared name that is also a written one would be hidden, so none may be.
    func testDeclaredAndWrittenBuiltinsAreDisjoint() {
        let written = Set(Builtins.written.keys), declared = Declarations.all.map(\.name)
        XCTAssertEqual(Set(declared).count, declared.count, "a name is declared twice")
        for name in declared { XCTAssertFalse(written.contains(name), "\(name) is both declared and written in Builtins.swift") }
        XCTAssertEqual(Set(Builtins.names), written.union(declared))
        for name in Builtins.names { XCTAssertTrue(Builtins.named(name) === Builtins.table[name], name) }
        XCTAssertNil(Builtins.named("no_such_builtin"))
    }

    /// The built-ins that take groups whole, as the language names them: a group argument stands for its members.
    func testBuiltinsThatTakeGroupsAreTheListedOnes() {
        let listed = ["global_norm", "clip_by_global_norm"]
        for name in Builtins.names { XCTAssertEqual(Builtins.table[name]!.takesGroups, listed.contains(name), name) }
        // No optimizer is a built-in: `evaluateCall` looks for a built-in first.
        for kind in Optimizer.Kind.allCases { XCTAssertNil(Builtins.named(kind.rawValue), kind.rawValue) }
    }

    func testEveryBuiltinHasHelp() {
        for name in Builtins.names.sorted() {
            let b = Builtins.table[name]!
            XCTAssertFalse(b.summary.isEmpty, "\(name) has no help text")
            XCTAssertTrue(b.usage.hasPrefix(name) || b.usage.contains(" = \(name)(") || b.usage.contains("\(name)("), "\(name)'s usage \(b.usage)")
            guard case .found(let text) = Help.lookup(name, width: 80) else { XCTFail("no :help \(name)"); continue }
            // A topic of its own (`:help load`) may explain more than the summary.
            XCTAssertTrue(text.contains(b.summary) || Help.topics[name] != nil || Help.aliases[name] != nil, ":help \(name) does not show its summary")
        }
    }

    /// Every built-in is in the README's list of built-ins (the paragraph that starts "Built-ins:").
    func testEveryBuiltinIsInTheReadme() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "Built-ins:") else { return XCTFail("README has no Built-ins: paragraph") }
        let paragraph = readme[start.lowerBound...].prefix { _ in true }.components(separatedBy: "\n\n")[0]
        var words: Set<String> = []
        for quoted in paragraph.components(separatedBy: "`").enumerated() where quoted.offset % 2 == 1 {
            for w in quoted.element.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }) { words.insert(String(w)) }
        }
        for name in Builtins.names.sorted() { XCTAssertTrue(words.contains(name), "the README's Built-ins paragraph does not list \(name)") }
    }

    /// Every row's expression exports to each library, or its built-in declares why it cannot.
    func testEveryBuiltinExports() {
        for row in Self.table {
            let program = row.inputs.map { "\($0.0) = \(Self.literal($0.1))" }.joined(separator: "\n") + (row.setup.isEmpty ? "" : "\n" + row.setup)
                + "\ny = \(row.expression)"
            for target in ExportTarget.allCases {
                do {
                    let script = try Exporter.export(program, to: target, origin: "test.tape")
                    if case .notExported = Builtins.table[row.name]!.export { XCTFail("\(row.name) declares no export but exported:\n\(script)") }
                } catch let e as ExportError {
                    if case .notExported(let reason) = Builtins.table[row.name]!.export, e.message.contains(reason) { continue }
                    XCTFail("\(row.name) does not export to \(target.library): \(e.message)")
                } catch {
                    XCTFail("\(row.name): \(error)")
                }
            }
        }
    }
}
