import XCTest
import TensorCore
@testable import Autodiff

/// Every primitive (and the composites) checked against finite differences at orders 1 and 2,
/// driven by one table; see `GradientCheck` for the method and the tolerance.
final class FiniteDifferenceTests: XCTestCase {

    // MARK: The table

    /// What a row is about, for the completeness checks.
    enum Covered: Hashable {
        case unary(UnaryFunction)
        case binary(BinaryFunction)
        case other(String)
    }

    enum Expectation {
        /// Tape gradients agree with finite differences at orders 1 through `orders`.
        case finiteDifferences(orders: Int)
        /// A piecewise-constant function: the tape's gradients at orders 1 and 2 are exactly zero.
        case zero
        /// At a tie or a kink, TensorFlow's rule: the gradient of `sum(f(x))` is exactly this, per input.
        case exact([[Double]])
    }

    struct Row {
        var name: String
        var covers: Covered
        var inputs: [Tensor]
        var expect: Expectation
        var f: GradientCheck.Function
    }

    static func t(_ shape: [Int], _ scalars: [Double]) -> Tensor { Tensor(shape: shape, scalars: scalars) }
    static func v(_ scalars: [Double]) -> Tensor { Tensor(vector: scalars) }

    /// Deterministic random points.
    struct Points {
        var rng = RandomGenerator(seed: 20_240_601)
        mutating func normal(_ shape: [Int]) -> Tensor { try! rng.tensor(shape: shape, normal: true) }
        mutating func uniform(_ shape: [Int], _ low: Double, _ high: Double) -> Tensor {
            let u = try! rng.tensor(shape: shape, normal: false)
            return Tensor(shape: shape, scalars: u.scalars.map { low + (high - low) * $0 })
        }
        /// Away from zero: ±[low, high).
        mutating func nonzero(_ shape: [Int], _ low: Double, _ high: Double) -> Tensor {
            let m = uniform(shape, low, high), s = normal(shape)
            return Tensor(shape: shape, scalars: zip(m.scalars, s.scalars).map { $1 < 0 ? -$0 : $0 })
        }
        /// A well-conditioned batch of square matrices: random + k·I.
        mutating func wellConditioned(_ shape: [Int], _ k: Double) -> Tensor {
            var m = normal(shape)
            let n = shape[shape.count - 1]
            var s = m.scalars
            for b in 0..<(m.count / (n * n)) { for i in 0..<n { s[b * n * n + i * n + i] += k } }
            m = Tensor(shape: shape, scalars: s)
            return m
        }
    }

    /// Random points for a unary function, inside its domain, and awkward ones where it is still differentiable.
    static func unaryPoints(_ f: UnaryFunction, _ p: inout Points) -> (random: Tensor, awkward: Tensor) {
        switch f {
        case .log, .sqrt:
            return (p.uniform([2, 3], 0.2, 3), v([1e-2, 0.25, 1, 4]))
        case .asin, .acos:
            return (p.uniform([2, 3], -0.9, 0.9), v([-0.9, -0.3, 0, 1e-8, 0.9]))
        case .log1p:
            return (p.uniform([2, 3], -0.8, 2), v([-0.9, -1e-8, 0, 1e-8, 3]))
        case .tan:
            return (p.uniform([2, 3], -1.2, 1.2), v([-1.2, -1e-8, 0, 0.7]))
        case .reciprocal:
            return (p.nonzero([2, 3], 0.3, 2), v([-3, -0.2, 0.1, 5]))
        case .abs, .relu:
            // The kink at 0 is checked exactly below; here the points keep away from it.
            return (p.nonzero([2, 3], 0.1, 2), v([-2, -1e-3, 1e-3, 2]))
        case .sign, .floor, .ceil, .round, .positiveMask:
            // Jumps included: the gradient is exactly 0 everywhere (TensorFlow's rule at the jump).
            return (p.normal([2, 3]), v([-1, -0.0, 0, 0.5, 1.5, 2]))
        case .exp, .sinh, .cosh, .expm1, .softplus, .sigmoid, .tanh, .erf:
            return (p.normal([2, 3]), v([-3, -1e-8, 0, 1e-8, 2.5]))
        case .negate, .sin, .cos, .atan, .square:
            return (p.normal([2, 3]), v([-3, -1e-8, 0, 1e-8, 2]))
        }
    }

    static let zeroGradientFunctions: Set<UnaryFunction> = [.sign, .floor, .ceil, .round, .positiveMask]
    /// Comparisons are not recorded, so they have no row.
    static let nonDifferentiableBinary: Set<BinaryFunction> = [.less, .greater, .lessEqual, .greaterEqual, .equal, .notEqual]

    /// `g` then sin: the cotangent reaching `g` then depends on the inputs, so order 2 differentiates
    /// `g`'s pullback with respect to its cotangent as well (a linear operation is otherwise constant).
    static func thenSin(_ g: @escaping GradientCheck.Function) -> GradientCheck.Function {
        { try g($0).map(.sin) }
    }

    static let table: [Row] = {
        var p = Points()
        var rows: [Row] = []
        func row(_ name: String, _ covers: Covered, _ inputs: [Tensor], expect: Expectation = .finiteDifferences(orders: 2),
                 _ f: @escaping GradientCheck.Function) {
            rows.append(Row(name: name, covers: covers, inputs: inputs, expect: expect, f: f))
        }

        // Unary functions: random points, awkward points, and composed with sin.
        for f in UnaryFunction.allCases {
            let (random, awkward) = unaryPoints(f, &p)
            let expect: Expectation = zeroGradientFunctions.contains(f) ? .zero : .finiteDifferences(orders: 2)
            row("\(f) random", .unary(f), [random], expect: expect) { try $0[0].map(f) }
            row("\(f) awkward", .unary(f), [awkward], expect: expect) { try $0[0].map(f) }
            row("\(f) then sin", .unary(f), [random], expect: expect, thenSin { try $0[0].map(f) })
        }
        // Kinks where TensorFlow defines the gradient as 0.
        row("relu at 0", .unary(.relu), [v([0, -0.0])], expect: .exact([[0, 0]])) { try $0[0].map(.relu) }
        row("abs at 0", .unary(.abs), [v([0, -0.0])], expect: .exact([[0, 0]])) { try $0[0].map(.abs) }
        row("sign at 0", .unary(.sign), [v([0])], expect: .exact([[0]])) { try $0[0].map(.sign) }
        // sqrt's pullback special-cases dy == 0 only at sqrt(0) (TensorFlow 2.21), so it stays linear in dy elsewhere.
        row("sqrt, cotangent 0 at x = 1", .unary(.sqrt), [v([1])]) { try ($0[0].map(.sqrt) * ($0[0] - 1)).sum() }

        // Binary functions over broadcasting shapes.
        let shapePairs: [([Int], [Int])] = [([2, 3], [2, 3]), ([2, 3], [3]), ([2, 1], [1, 3]), ([], [2, 2]), ([2, 2], [])]
        let differentiable: [BinaryFunction] = [.add, .subtract, .multiply, .divide, .power, .maximum, .minimum, .tanhGrad, .reluGrad]
        for f in differentiable {
            for (sa, sb) in shapePairs {
                let a: Tensor, b: Tensor
                switch f {
                case .divide: (a, b) = (p.normal(sa), p.nonzero(sb, 0.5, 2))
                case .power: (a, b) = (p.uniform(sa, 0.5, 2), p.normal(sb))
                default: (a, b) = (p.normal(sa), p.normal(sb))
                }
                row("\(f) \(sa) with \(sb)", .binary(f), [a, b]) { try $0[0].binary(f, $0[1]) }
            }
            let a = f == .power ? p.uniform([2, 3], 0.5, 2) : p.normal([2, 3])
            let b = f == .divide ? p.nonzero([3], 0.5, 2) : p.normal([3])
            row("\(f) then sin", .binary(f), [a, b], thenSin { try $0[0].binary(f, $0[1]) })
        }
        // Awkward points.
        row("multiply with zeros", .binary(.multiply), [v([0, -0.0, 2, -3]), v([1.5, 0, 0, -2])]) { try $0[0] * $0[1] }
        row("divide, negative and small", .binary(.divide), [v([-2, 1e-8, 0, 3]), v([-0.5, 0.1, -3, 1e-2])]) { try $0[0] / $0[1] }
        row("power, negative base, integer exponents", .binary(.power), [v([-2, -0.5, 0, 1.5])]) { x in
            try x[0].pow(3) + x[0].pow(2) + x[0].pow(4)
        }
        row("power, negative base to -1", .binary(.power), [v([-2, -0.5, 0.75])]) { try $0[0].pow(-1) }
        row("power x^2 at 0", .binary(.power), [v([0, -0.0])]) { try $0[0].pow(2) }
        row("power, base near 0 and exponent", .binary(.power), [v([1e-2, 0.3, 1, 2.5]), v([0.5, -1.5, 2, 3])]) { try $0[0].pow($0[1]) }
        // Ties: TensorFlow gives the gradient to the first argument (maximum: a >= b, minimum: a <= b).
        row("maximum ties", .binary(.maximum), [v([2, 1, 3, -1]), v([2, 2, 3, -1])], expect: .exact([[1, 0, 1, 1], [0, 1, 0, 0]])) { try $0[0].maximum($0[1]) }
        row("minimum ties", .binary(.minimum), [v([2, 1, 3, -1]), v([2, 2, 1, -1])], expect: .exact([[1, 1, 0, 1], [0, 0, 1, 0]])) { try $0[0].minimum($0[1]) }
        row("maximum ties, broadcast", .binary(.maximum), [t([2, 2], [1, 5, 0, 0]), v([1, 2])],
            expect: .exact([[1, 1, 0, 0], [1, 1]])) { try $0[0].maximum($0[1]) }
        row("minimum ties, broadcast scalar", .binary(.minimum), [t([2, 2], [1, 5, 0, 1]), t([], [1])],
            expect: .exact([[1, 0, 1, 1], [1]])) { try $0[0].minimum($0[1]) }

        // select: the condition has no gradient; a and b broadcast.
        let condition = Tensor(shape: [2, 3], scalars: [1, 0, 0, 1, 1, 0])
        row("where [2, 3] with [3]", .other("select"), [p.normal([2, 3]), p.normal([3])]) { x in
            try Value.select(x[0].context.constant(condition), x[0], x[1])
        }
        row("where, broadcast condition, scalar b", .other("select"), [p.normal([2, 3]), p.normal([])]) { x in
            try Value.select(x[0].context.constant(v([0, 1, 1])), x[0], x[1])
        }
        row("where then sin", .other("select"), [p.normal([2, 3]), p.normal([2, 3])], thenSin { x in
            try Value.select(x[0].context.constant(condition), x[0], x[1])
        })

        // Reductions over all axes and axis lists, with and without keepDims.
        let reductions: [Reduction] = [.sum, .max, .min, .product]
        let axisCases: [([Int], [Int]?, Bool)] = [
            ([2, 3], nil, false), ([2, 3], nil, true), ([2, 3], [1], false), ([2, 3], [0], true), ([2, 3], [-1], true),
            ([2, 1, 3], [0, 2], false), ([2, 1, 3], [0, 2], true), ([2, 1, 3], [1, 2], false),
        ]
        for r in reductions {
            for (shape, axes, keep) in axisCases {
                row("\(r) \(shape) axes \(axes.map { "\($0)" } ?? "all") keepDims \(keep)", .other("reduce \(r)"), [p.normal(shape)]) {
                    try $0[0].reduce(r, axes: axes, keepDims: keep)
                }
            }
            row("\(r) then sin", .other("reduce \(r)"), [p.normal([2, 3])], thenSin { try $0[0].reduce(r, axes: [0]) })
        }
        row("product with one zero", .other("reduce product"), [t([2, 3], [0, 2, -3, 1.5, -0.5, 2])]) { try $0[0].reduce(.product, axes: [1]) }
        row("product with two zeros", .other("reduce product"), [v([0, 2, 0, -1.5])]) { try $0[0].reduce(.product) }
        // Ties: the gradient is shared evenly (TensorFlow's reduce_max gradient).
        row("max ties", .other("reduce max"), [v([1, 3, 3])], expect: .exact([[0, 0.5, 0.5]])) { try $0[0].reduce(.max) }
        row("max ties along an axis", .other("reduce max"), [t([2, 3], [1, 3, 3, 2, 2, 0])],
            expect: .exact([[0, 0.5, 0.5, 0.5, 0.5, 0]])) { try $0[0].reduce(.max, axes: [1]) }
        row("max all equal", .other("reduce max"), [v([2, 2, 2, 2])], expect: .exact([[0.25, 0.25, 0.25, 0.25]])) { try $0[0].reduce(.max) }
        row("min ties along axis 0, keepDims", .other("reduce min"), [t([2, 2], [1, 3, 1, 2])],
            expect: .exact([[0.5, 0, 0.5, 1]])) { try $0[0].reduce(.min, axes: [0], keepDims: true) }

        // Shapes and views, followed by sin so that order 2 reaches their pullbacks.
        row("reshape [2, 3] to [3, 2]", .other("reshape"), [p.normal([2, 3])], thenSin { try $0[0].reshaped([3, 2]) })
        row("reshape [6] to [1, -1, 3]", .other("reshape"), [p.normal([6])], thenSin { try $0[0].reshaped([1, -1, 3]) })
        row("transpose [2, 3]", .other("transpose"), [p.normal([2, 3])], thenSin { try $0[0].transposed() })
        row("transpose [2, 1, 3] by [2, 0, 1]", .other("transpose"), [p.normal([2, 1, 3])], thenSin { try $0[0].transposed([2, 0, 1]) })
        row("matrixTranspose [1, 2, 3]", .other("transpose"), [p.normal([1, 2, 3])], thenSin { try $0[0].matrixTranspose() })
        row("broadcast [3] to [2, 3]", .other("broadcast"), [p.normal([3])], thenSin { try $0[0].broadcast(to: [2, 3]) })
        row("broadcast [2, 1] to [2, 2, 3]", .other("broadcast"), [p.normal([2, 1])], thenSin { try $0[0].broadcast(to: [2, 2, 3]) })
        row("broadcast scalar to [2, 2]", .other("broadcast"), [p.normal([])], thenSin { try $0[0].broadcast(to: [2, 2]) })
        row("slice [::-1]", .other("slice"), [p.normal([5])], thenSin { try $0[0].slice([.range(start: nil, stop: nil, step: -1)]) })
        row("slice [3::-2]", .other("slice"), [p.normal([5])], thenSin { try $0[0].slice([.range(start: 3, stop: nil, step: -2)]) })
        row("slice [-1, ::-1]", .other("slice"), [p.normal([2, 3])], thenSin { try $0[0].slice([.index(-1), .range(start: nil, stop: nil, step: -1)]) })
        row("slice [-1:0:-2, 1:]", .other("slice"), [p.normal([4, 2])], thenSin {
            try $0[0].slice([.range(start: -1, stop: 0, step: -2), .range(start: 1, stop: nil, step: 1)])
        })
        row("slice, repeated and overlapping use", .other("slice"), [p.normal([4])], thenSin { x in
            try x[0].slice([.range(start: nil, stop: nil, step: -1)]) * x[0].slice([.range(start: 1, stop: nil, step: 1)]).sum()
        })
        row("sumToShape [2, 3] to [3]", .other("sumToShape"), [p.normal([2, 3])], thenSin { try $0[0].sumToShape([3]) })
        row("sumToShape [2, 3] to [2, 1]", .other("sumToShape"), [p.normal([2, 3])], thenSin { try $0[0].sumToShape([2, 1]) })
        row("sumToShape [2, 1, 3] to [1, 3]", .other("sumToShape"), [p.normal([2, 1, 3])], thenSin { try $0[0].sumToShape([1, 3]) })
        row("sumToShape [2, 2] to scalar", .other("sumToShape"), [p.normal([2, 2])], thenSin { try $0[0].sumToShape([]) })
        row("slice gradient (scatter of a negative-step view)", .other("scatter slice"), [p.normal([3])], thenSin { x in
            let view = try Tensor.zeros([5]).view(for: [.range(start: 4, stop: nil, step: -2)])
            return try x[0].context.apply(.scatter(view, shape: [5], .slice), [x[0]])
        })
        row("gather repeated indices, axis 0", .other("gather"), [p.normal([3, 2])], thenSin {
            try $0[0].gather(axis: 0, indices: [0, 0, 2], indexShape: [3])
        })
        row("gather repeated and negative indices, axis 1, index shape [2, 2]", .other("gather"), [p.normal([2, 3])], thenSin {
            try $0[0].gather(axis: 1, indices: [2, -1, 0, 2], indexShape: [2, 2])
        })
        row("scatterAdd repeated indices, axis 0", .other("scatterAdd"), [p.normal([3, 2])], thenSin { x in
            try x[0].context.apply(.scatterAdd(axis: 0, indices: [0, 0, 2], shape: [4, 2]), [x[0]])
        })
        row("scatterAdd repeated indices, axis 1", .other("scatterAdd"), [p.normal([2, 3])], thenSin { x in
            try x[0].context.apply(.scatterAdd(axis: 1, indices: [1, 1, 3], shape: [2, 4]), [x[0]])
        })
        row("concat axis 1, three inputs", .other("concat"), [p.normal([2, 1]), p.normal([2, 2]), p.normal([2, 1])], thenSin {
            try Value.concat($0, axis: 1)
        })
        row("concat axis 0, same input twice", .other("concat"), [p.normal([1, 3]), p.normal([2, 3])], thenSin { x in
            try Value.concat([x[0], x[1], x[0]], axis: -2)
        })

        // Matrix products: four transpose combinations, batched, broadcast batches, NumPy's vector rules.
        let products: [(String, [Int], [Int], Bool, Bool)] = [
            ("A·B", [2, 3], [3, 2], false, false), ("Aᵀ·B", [3, 2], [3, 2], true, false),
            ("A·Bᵀ", [2, 3], [2, 3], false, true), ("Aᵀ·Bᵀ", [3, 2], [2, 3], true, true),
            ("batched", [2, 2, 2], [2, 2, 2], false, false), ("batched Aᵀ·Bᵀ", [2, 2, 2], [2, 2, 2], true, true),
            ("broadcast batch [2, 2, 3]·[3, 2]", [2, 2, 3], [3, 2], false, false),
            ("broadcast batch [2, 2]·[2, 2, 2]ᵀ", [2, 2], [2, 2, 2], false, true),
            ("broadcast batch [1, 2, 2]·[3, 2, 2]", [1, 2, 2], [3, 2, 2], false, false),
        ]
        for (name, sa, sb, ta, tb) in products {
            row("matmul \(name)", .other("matmul"), [p.normal(sa), p.normal(sb)]) {
                try Value.matmul($0[0], $0[1], transposeA: ta, transposeB: tb)
            }
        }
        row("matmul Aᵀ·B then sin", .other("matmul"), [p.normal([3, 2]), p.normal([3, 2])], thenSin {
            try Value.matmul($0[0], $0[1], transposeA: true)
        })
        row("matmul A·Bᵀ then sin", .other("matmul"), [p.normal([2, 3]), p.normal([2, 3])], thenSin {
            try Value.matmul($0[0], $0[1], transposeB: true)
        })
        row("matmul A·A", .other("matmul"), [p.normal([2, 2])]) { try Value.matmul($0[0], $0[0]) }
        let vectorProducts: [(String, [Int], [Int])] = [
            ("vector·matrix", [3], [3, 2]), ("matrix·vector", [2, 3], [3]), ("vector·vector", [3], [3]),
            ("batch·vector", [2, 2, 3], [3]), ("vector·batch", [3], [2, 3, 2]),
        ]
        for (name, sa, sb) in vectorProducts {
            row("numpyMatmul \(name)", .other("numpyMatmul"), [p.normal(sa), p.normal(sb)], thenSin { try Value.numpyMatmul($0[0], $0[1]) })
        }

        // Inverse and determinant at well-conditioned points.
        row("inverse 2×2", .other("inverse"), [p.wellConditioned([2, 2], 2)]) { try $0[0].inverse() }
        row("inverse 3×3", .other("inverse"), [p.wellConditioned([3, 3], 3)]) { try $0[0].inverse() }
        row("inverse batched [2, 2, 2]", .other("inverse"), [p.wellConditioned([2, 2, 2], 2)]) { try $0[0].inverse() }
        row("inverse of a negative-determinant matrix", .other("inverse"), [t([2, 2], [0.5, 2, 1.5, -1])]) { try $0[0].inverse() }
        row("determinant 2×2", .other("determinant"), [p.wellConditioned([2, 2], 2)]) { try $0[0].determinant() }
        row("determinant 3×3", .other("determinant"), [p.wellConditioned([3, 3], 3)]) { try $0[0].determinant() }
        row("determinant batched [2, 2, 2]", .other("determinant"), [p.wellConditioned([2, 2, 2], 2)]) { try $0[0].determinant() }
        row("determinant negative, then sin", .other("determinant"), [t([2, 2], [0.5, 2, 1.5, -1])], thenSin { try $0[0].determinant() })

        // Composites.
        row("mean all", .other("mean"), [p.normal([2, 3])], thenSin { try $0[0].mean() })
        row("mean axes [1] keepDims", .other("mean"), [p.normal([2, 3])], thenSin { try $0[0].mean(axes: [1], keepDims: true) })
        row("logSumExp all", .other("logSumExp"), [p.normal([2, 3])]) { try $0[0].logSumExp() }
        row("logSumExp axes [0]", .other("logSumExp"), [p.normal([2, 3])]) { try $0[0].logSumExp(axes: [0]) }
        row("logSumExp large values, keepDims", .other("logSumExp"), [t([2, 3], [100, 101, 99, -50, -51, -49.5])]) {
            try $0[0].logSumExp(axes: [-1], keepDims: true)
        }
        row("softmax last axis", .other("softmax"), [p.normal([2, 3])]) { try $0[0].softmax() }
        row("softmax axis 0", .other("softmax"), [p.normal([2, 3])]) { try $0[0].softmax(axis: 0) }
        row("logSoftmax last axis", .other("logSoftmax"), [p.normal([2, 3])]) { try $0[0].logSoftmax() }
        row("logSoftmax large values", .other("logSoftmax"), [v([200, 201, 199.5])]) { try $0[0].logSoftmax() }
        row("norm all", .other("norm"), [p.normal([2, 3])]) { try $0[0].norm() }
        row("norm axes [1], small entries", .other("norm"), [t([2, 2], [1e-3, -2e-3, 0.5, 0])]) { try $0[0].norm(axes: [1]) }
        row("stack axis 0", .other("stack"), [p.normal([3]), p.normal([3])], thenSin { try Value.stack($0, axis: 0) })
        row("stack axis -1", .other("stack"), [p.normal([2]), p.normal([2]), p.normal([2])], thenSin { try Value.stack($0, axis: -1) })
        row("expandDims axis 0", .other("expandDims"), [p.normal([2, 2])], thenSin { try $0[0].expandDims(axis: 0) })
        row("expandDims axis -1", .other("expandDims"), [p.normal([3])], thenSin { try $0[0].expandDims(axis: -1) })
        row("squeezed all", .other("squeezed"), [p.normal([1, 3, 1])], thenSin { try $0[0].squeezed() })
        row("squeezed axes [0]", .other("squeezed"), [p.normal([1, 2, 1])], thenSin { try $0[0].squeezed(axes: [0]) })

        // Convolution: TensorFlow's Conv2D and its two gradients, each a primitive whose pullback is the other
        // two, at stride 1 "valid" and stride 2 "same" (order 2 differentiates each pullback again).
        row("conv2d valid, 2 channels in", .other("conv2d"), [p.normal([1, 4, 4, 2]), p.normal([2, 2, 2, 3])], thenSin {
            try Value.conv2d($0[0], $0[1])
        })
        row("conv2d stride 2 same, 1 channel in", .other("conv2d"), [p.normal([2, 5, 5, 1]), p.normal([3, 3, 1, 2])], thenSin {
            try Value.conv2d($0[0], $0[1], stride: 2, padding: .same)
        })
        row("conv2d stride 2 same, 2 channels in", .other("conv2d"), [p.normal([1, 4, 5, 2]), p.normal([2, 3, 2, 2])], thenSin {
            try Value.conv2d($0[0], $0[1], stride: 2, padding: .same)
        })
        row("conv2d_backprop_input valid", .other("conv2dBackpropInput"), [p.normal([2, 2, 2, 3]), p.normal([1, 3, 3, 3])], thenSin {
            try Value.conv2dBackpropInput(inputShape: [1, 4, 4, 2], $0[0], $0[1])
        })
        row("conv2d_backprop_input stride 2 same", .other("conv2dBackpropInput"), [p.normal([3, 3, 2, 2]), p.normal([1, 3, 3, 2])], thenSin {
            try Value.conv2dBackpropInput(inputShape: [1, 5, 5, 2], $0[0], $0[1], stride: 2, padding: .same)
        })
        row("conv2d_backprop_input stride 2 same, 1 channel in", .other("conv2dBackpropInput"), [p.normal([3, 3, 1, 2]), p.normal([2, 3, 3, 2])], thenSin {
            try Value.conv2dBackpropInput(inputShape: [2, 5, 5, 1], $0[0], $0[1], stride: 2, padding: .same)
        })
        row("conv2d_backprop_filter valid", .other("conv2dBackpropFilter"), [p.normal([1, 4, 4, 2]), p.normal([1, 3, 3, 3])], thenSin {
            try Value.conv2dBackpropFilter($0[0], filterShape: [2, 2, 2, 3], $0[1])
        })
        row("conv2d_backprop_filter stride 2 same", .other("conv2dBackpropFilter"), [p.normal([1, 5, 5, 2]), p.normal([1, 3, 3, 2])], thenSin {
            try Value.conv2dBackpropFilter($0[0], filterShape: [3, 3, 2, 2], $0[1], stride: 2, padding: .same)
        })
        row("conv2d_backprop_filter stride 2 same, 1 channel in", .other("conv2dBackpropFilter"), [p.normal([2, 5, 5, 1]), p.normal([2, 3, 3, 2])], thenSin {
            try Value.conv2dBackpropFilter($0[0], filterShape: [3, 3, 1, 2], $0[1], stride: 2, padding: .same)
        })
        // max_pool2d: a gather of each window's first largest element, its pullback a scatter-add there.
        row("max_pool2d 2 stride 1 same", .other("maxPool2d"), [p.normal([2, 3, 4, 2])], thenSin {
            try Value.maxPool2d($0[0], size: 2, stride: 1, padding: .same)
        })
        row("max_pool2d 3 stride 2 valid", .other("maxPool2d"), [p.normal([1, 5, 5, 1])], thenSin {
            try Value.maxPool2d($0[0], size: 3, stride: 2, padding: .valid)
        })
        row("max_pool2d ties go to the first", .other("maxPool2d"), [t([1, 2, 4, 1], [1, 1, 0, 2, 1, 0, 2, 2])],
            expect: .exact([[1, 0, 0, 1, 0, 0, 0, 0]])) { try Value.maxPool2d($0[0], size: 2, stride: 2, padding: .valid) }
        // max_pool2d_grad (MaxPoolGrad) on its own, at the places of a fixed input: disjoint windows (written in
        // x's order) and overlapping ones (added up); order 2 differentiates its gather.
        for (input, size, stride, padding) in [([2, 5, 4, 2], 2, 2, WindowPadding.same), ([1, 4, 4, 2], 3, 1, .valid)] {
            let x = p.normal(input)
            let g = try! Conv2DGeometry(input: input, filter: [size, size, input[3], input[3]], stride: stride, padding: padding)
            let places = try! Tensor.maxPool2d(x, g).indices
            row("max_pool2d_grad \(size) stride \(stride) \(padding)", .other("maxPool2dGrad"), [p.normal(g.outputShape)], thenSin {
                try maxPoolGrad(g, places: places)($0[0])
            })
        }
        return rows
    }()

    /// Non-unary, non-binary operations the table must cover.
    static let requiredOthers: [String] = [
        "select", "reduce sum", "reduce max", "reduce min", "reduce product", "reshape", "transpose", "broadcast",
        "slice", "sumToShape", "scatter slice", "gather", "scatterAdd", "concat", "matmul", "numpyMatmul",
        "inverse", "determinant", "mean", "logSumExp", "softmax", "logSoftmax", "norm", "stack", "expandDims", "squeezed",
        "conv2d", "conv2dBackpropInput", "conv2dBackpropFilter", "maxPool2d", "maxPool2dGrad",
    ]

    // MARK: Tests

    func testEveryRow() throws {
        for row in Self.table {
            let failures: [String]
            do {
                switch row.expect {
                case .finiteDifferences(let orders): failures = try GradientCheck.check(row.f, at: row.inputs, orders: orders)
                case .zero: failures = try GradientCheck.checkExactlyZero(row.f, at: row.inputs)
                case .exact(let expected): failures = try GradientCheck.checkExact(row.f, at: row.inputs, expected: expected)
                }
            } catch {
                XCTFail("\(row.name): threw \(error)")
                continue
            }
            for failure in failures { XCTFail("\(row.name): \(failure)") }
        }
    }

    /// Adding a `UnaryFunction` or `BinaryFunction` case without a row fails here.
    func testTableIsComplete() {
        let covered = Set(Self.table.map(\.covers))
        for f in UnaryFunction.allCases {
            XCTAssertTrue(covered.contains(.unary(f)), "no row for the unary function \(f)")
            let rows = Self.table.filter { $0.covers == .unary(f) }
            let zero = rows.contains { if case .zero = $0.expect { return true } else { return false } }
            XCTAssertEqual(zero, Self.zeroGradientFunctions.contains(f), "\(f): zero-gradient rows do not match the zero-gradient list")
        }
        for f in BinaryFunction.allCases where !Self.nonDifferentiableBinary.contains(f) {
            XCTAssertTrue(covered.contains(.binary(f)), "no row for the binary function \(f)")
        }
        for f in BinaryFunction.allCases where Self.nonDifferentiableBinary.contains(f) {
            XCTAssertFalse(covered.contains(.binary(f)), "\(f) is listed as not differentiable but has a row")
        }
        for name in Self.requiredOthers {
            XCTAssertTrue(covered.contains(.other(name)), "no row for \(name)")
        }
        XCTAssertEqual(Set(Self.table.map(\.name)).count, Self.table.count, "row names must be unique")
    }

    /// The checker itself catches a wrong gradient at order 1, and a pullback that is right but not
    /// differentiable (built from an untracked constant) at order 2.
    func testCheckerCatchesWrongGradients() throws {
        func custom(_ name: String, _ pullback: @escaping ([Value], Value) throws -> [Value?]) -> GradientCheck.Function {
            { x in
                let c = x[0].context
                return c.record(.custom(CustomGradient(name: name, pullback: pullback)), NodeInputs(x[0]), x[0].tensor.map(.sin))
            }
        }
        let x = [Self.v([0.3, -1.2, 2])]
        let scaled = custom("scaled") { x, dy in [try dy * x[0].map(.cos) * 1.001] }
        XCTAssertFalse(try GradientCheck.check(scaled, at: x, orders: 1).isEmpty)
        let frozen = custom("frozen") { x, dy in [try dy * x[0].context.constant(x[0].tensor.map(.cos))] }
        XCTAssertTrue(try GradientCheck.check(frozen, at: x, orders: 1).isEmpty)
        XCTAssertFalse(try GradientCheck.check(frozen, at: x, orders: 2).isEmpty)
        let right = custom("right") { x, dy in [try dy * x[0].map(.cos)] }
        XCTAssertEqual(try GradientCheck.check(right, at: x, orders: 2), [])
    }
}
