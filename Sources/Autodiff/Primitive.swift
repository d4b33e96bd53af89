import TensorCore

/// How a strided view was made: only the label differs.
public enum ViewKind: String, Sendable { case transpose, broadcast, slice }

/// A user-supplied vector-Jacobian product (`custom f(x) = ... grad(dy) = ...`).
public final class CustomGradient {
    public let name: String
    /// (inputs, cotangent) → one gradient per input; nil is a zero.
    public let pullback: ([Value], Value) throws -> [Value?]
    public init(name: String, pullback: @escaping ([Value], Value) throws -> [Value?]) {
        self.name = name
        self.pullback = pullback
    }
}

/// The closed set of recorded operations. Each one's forward kernel and vector-Jacobian product
/// (written with differentiable operations, so the backward pass can itself be recorded) live together
/// below; everything else (`mean`, `softmax`, `norm`, `dot`, ...) is a composite of these. The elementwise
/// rules are written over `GradientArithmetic`, so that a deferred pass over scalars runs them on
/// transients (see `Transient`).
// NOTE: cases with large payloads are indirect, so every recorded value (which stores its primitive)
// stays small; the common elementwise cases carry one byte.
public enum Primitive {
    case unary(UnaryFunction)
    /// add, subtract, multiply, divide, power, maximum, minimum (comparisons are not recorded).
    case binary(BinaryFunction)
    /// `where(c, a, b)`: inputs are the condition (no gradient), a and b.
    case select
    indirect case reduce(Reduction, axes: [Int], keepDims: Bool)
    case reshape([Int])
    /// Transpose, broadcast and slicing: a strided view of the input.
    indirect case view(StridedView, ViewKind)
    /// The adjoint of a view: adds the input into zeros of `shape` (summing a broadcast back, or a slice's gradient).
    indirect case scatter(StridedView, shape: [Int], ViewKind)
    /// Index arrays along an axis (`a[[0, 0, 2]]`).
    indirect case gather(axis: Int, indices: [Int], indexShape: [Int])
    /// The adjoint of gather; repeated indices accumulate.
    indirect case scatterAdd(axis: Int, indices: [Int], shape: [Int])
    // NOTE: indirect, as an Int payload has no spare bits: the primitive then fits in 8 bytes (see `Value`).
    indirect case concat(axis: Int)
    case matmul(transposeA: Bool, transposeB: Bool)
    case inverse
    case determinant
    case custom(CustomGradient)
    /// A primitive declared in one place with its kernel, pullback and rule (see `Operation`).
    case operation(Operation)

    /// A short name for listings: `sin`, `multiply`, `sum`, `matmul`.
    public var name: String {
        switch self {
        case .unary(let f): return f == .negate ? "negate" : f.rawValue
        case .binary(let f): return f.rawValue
        case .select: return "where"
        case .reduce(let r, _, _): return r == .product ? "prod" : r.rawValue
        case .reshape: return "reshape"
        case .view(_, let kind): return kind.rawValue
        case .scatter(_, _, let kind): return kind == .broadcast ? "sum_to_shape" : "\(kind.rawValue)_gradient"
        case .gather: return "gather"
        case .scatterAdd: return "scatter_add"
        case .concat: return "concat"
        case .matmul: return "matmul"
        case .inverse: return "inv"
        case .determinant: return "det"
        case .custom(let c): return c.name
        case .operation(let o): return o.name
        }
    }

    // MARK: Forward

    func forward(_ x: [Tensor]) throws -> Tensor {
        switch self {
        case .unary, .reduce, .reshape, .view, .scatter, .gather, .scatterAdd, .inverse, .determinant: return try forward(x[0])
        case .binary, .matmul: return try forward(x[0], x[1])
        case .select: return try Tensor.select(x[0], x[1], x[2])
        case .concat(let axis): return try Tensor.concat(x, axis: axis)
        case .custom: throw GradientError("a custom operation's forward is evaluated by its definition")
        case .operation(let o): return try o.forward(x)
        }
    }

    /// The forward of an operation on one tensor, without an array of inputs (most operations take one or two).
    func forward(_ x: Tensor) throws -> Tensor {
        switch self {
        case .unary(let f): return x.map(f)
        case .reduce(let kind, let axes, let keepDims): return try x.reduce(kind, axes: axes, keepDims: keepDims)
        case .reshape(let shape): return try x.reshaped(shape)
        case .view(let view, _): return x.gatherStrided(view)
        case .scatter(let view, let shape, _): return Tensor.scatterStrided(x, view, into: shape)
        case .gather(let axis, let indices, let indexShape): return try x.gather(axis: axis, indices: indices, indexShape: indexShape)
        case .scatterAdd(let axis, let indices, let shape): return x.scatterAdd(axis: axis, indices: indices, into: shape)
        case .inverse: return try x.inverse()
        case .determinant: return try x.determinant()
        case .binary, .select, .concat, .matmul, .custom, .operation: return try forward([x])
        }
    }

    /// The forward of an operation on two tensors, without an array of inputs.
    func forward(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        switch self {
        case .binary(let f): return try Tensor.zip(a, b, f)
        case .matmul(let ta, let tb): return try Tensor.matmul(a, b, transposeA: ta, transposeB: tb)
        case .unary, .reduce, .reshape, .view, .scatter, .gather, .scatterAdd, .inverse, .determinant, .select, .concat,
             .custom, .operation:
            return try forward([a, b])
        }
    }

    // MARK: Vector-Jacobian products

    /// The gradients of the inputs given the output's cotangent `dy`; nil is a symbolic zero.
    /// Results may have the broadcast shape; the backward pass sums them back to each input's shape.
    func pullback(_ x: NodeInputs, _ y: Value, _ dy: Value, needs: InputMask) throws -> InputGradients<Value> {
        switch self {
        case .unary(let f):
            return InputGradients(try Primitive.unaryPullback(f, x[0], y, dy))

        case .binary(let f):
            let (da, db) = try Primitive.binaryPullback(f, x[0], x[1], y, dy, needs: needs)
            return InputGradients(da, db)

        case .select:
            let zero = dy.context.constant(0)
            return InputGradients([nil, needs[1] ? try Value.select(x[0], dy, zero) : nil, needs[2] ? try Value.select(x[0], zero, dy) : nil])

        case .reduce(let kind, let axes, _):
            let input = x[0], inputShape = input.shape
            // A gradient whose kept shape only puts ones in front of its own (the axes reduced lead, as in a
            // reduction of every axis) broadcasts as it is: a reshape would add a value and a node for nothing
            // (and the kept shape is made only if max or min needs it for the output).
            let onesInFront = Shape.onesThen(dy.shape, areKept: axes, of: inputShape)
            let selects = kind == .max || kind == .min
            let kept = onesInFront && !selects ? [] : input.tensor.reducedShape(axes, keepDims: true)
            let spread = try (onesInFront ? dy : dy.reshaped(kept)).broadcast(to: inputShape)
            switch kind {
            case .sum:
                return InputGradients(spread)
            case .max, .min:
                // NOTE: ties share the gradient evenly (TensorFlow's reduce_max gradient).
                let indicators = try input.compare(.equal, y.reshaped(kept))
                let selected = try indicators.sum(axes: axes, keepDims: true)
                return InputGradients(try indicators / selected * spread)
            case .product:
                return InputGradients(try Primitive.productOfOthers(input, axes: axes) * spread)
            }

        case .reshape:
            return InputGradients(try dy.reshaped(x[0].shape))
        case .view(let view, let kind):
            return InputGradients(try dy.context.apply(.scatter(view, shape: x[0].shape, kind), [dy]))
        case .scatter(let view, _, let kind):
            return InputGradients(try dy.context.apply(.view(view, kind), [dy]))
        case .gather(let axis, let indices, _):
            return InputGradients(try dy.context.apply(.scatterAdd(axis: axis, indices: indices, shape: x[0].shape), [dy]))
        case .scatterAdd(let axis, let indices, _):
            return InputGradients(try dy.context.apply(.gather(axis: axis, indices: indices, indexShape: [indices.count]), [dy])
                .reshaped(x[0].shape))

        case .concat(let axis):
            var start = 0
            var grads: [Value?] = []
            for (i, input) in x.enumerated() {
                let size = input.shape[axis]
                if needs[i] {
                    var subscripts = [AxisIndex](repeating: .all, count: input.shape.count)
                    subscripts[axis] = .range(start: start, stop: start + size, step: 1)
                    grads.append(try dy.slice(subscripts))
                } else {
                    grads.append(nil)
                }
                start += size
            }
            return InputGradients(grads)

        case .matmul(let ta, let tb):
            let a = x[0], b = x[1]
            // C = op(A)·op(B); each case keeps to one product per gradient, with BLAS doing the transposes.
            let da: Value?, db: Value?
            switch (ta, tb) {
            case (false, false):
                da = needs[0] ? try Value.matmul(dy, b, transposeB: true) : nil
                db = needs[1] ? try Value.matmul(a, dy, transposeA: true) : nil
            case (true, false):
                da = needs[0] ? try Value.matmul(b, dy, transposeB: true) : nil
                db = needs[1] ? try Value.matmul(a, dy) : nil
            case (false, true):
                da = needs[0] ? try Value.matmul(dy, b) : nil
                db = needs[1] ? try Value.matmul(dy, a, transposeA: true) : nil
            case (true, true):
                da = needs[0] ? try Value.matmul(b, dy, transposeA: true, transposeB: true) : nil
                db = needs[1] ? try Value.matmul(dy, a, transposeA: true, transposeB: true) : nil
            }
            return InputGradients(da, db)

        case .inverse:
            // d(A⁻¹) = -A⁻¹ dA A⁻¹, so the gradient is -A⁻ᵀ·dy·A⁻ᵀ.
            return InputGradients(try -Value.matmul(Value.matmul(y, dy, transposeA: true), y, transposeB: true))

        case .determinant:
            // d det(A)/dA = det(A)·A⁻ᵀ.
            let scale = try (dy * y).reshaped(y.shape + [1, 1])
            return InputGradients(try scale * x[0].inverse().matrixTranspose())

        case .custom(let custom):
            let grads = try custom.pullback(Array(x), dy)
            guard grads.count == x.count else {
                throw GradientError("the custom gradient of \(custom.name) gave \(grads.count) result\(grads.count == 1 ? "" : "s") for \(x.count) parameter\(x.count == 1 ? "" : "s")")
            }
            // NOTE: a result that broadcasts to its parameter's shape (`dy * 7` for a vector, when dy is a
            // scalar) is broadcast to it here: the backward pass only ever sums a larger gradient down.
            var shaped: [Value?] = []
            for (g, input) in zip(grads, x) {
                guard let g else { shaped.append(nil); continue }
                guard (try? Shape.broadcast(g.shape, input.shape)) == input.shape else {
                    throw GradientError("the custom gradient of \(custom.name) has shape \(Shape.describe(g.shape)) for a parameter of shape \(Shape.describe(input.shape))")
                }
                shaped.append(g.shape == input.shape ? g : try g.broadcast(to: input.shape))
            }
            return InputGradients(shaped)

        case .operation(let o):
            let grads = try o.pullback(Array(x), y, dy, x.indices.map { needs[$0] })
            return InputGradients(x.indices.map { needs[$0] && $0 < grads.count ? grads[$0] : nil })
        }
    }

    /// The gradients of both inputs of an elementwise binary function (nil: not needed, or a symbolic zero).
    static func binaryPullback<T: GradientArithmetic>(_ f: BinaryFunction, _ a: T, _ b: T, _ y: T, _ dy: T,
                                                      needs: InputMask) throws -> (T?, T?) {
        switch f {
        case .add: return (dy, dy)
        case .subtract: return (dy, needs[1] ? try -dy : nil)
        case .multiply: return (needs[0] ? try dy * b : nil, needs[1] ? try dy * a : nil)
        // TensorFlow's RealDiv gradient: dy / b and dy * (-a / b) / b.
        case .divide: return (needs[0] ? try dy / b : nil, needs[1] ? try dy * ((-a) / b / b) : nil)
        case .power:
            // NOTE: d(a^b)/da = b·a^(b-1), so x^2 at 0 is exactly 0; d/db = a^b·log(a) only where a > 0
            // (TensorFlow's safe-log mask), else 0.
            let da = needs[0] ? try dy * b * a.pow(b - 1) : nil
            var db: T? = nil
            if needs[1] {
                let positive = try a.compare(.greater, a.constant(0))
                let safe = try T.select(positive, a, a.constant(1))
                db = try dy * y * T.select(positive, safe.map(.log), a.constant(0))
            }
            return (da, db)
        // tanh_grad(y, g) = g·(1 - y²): TensorFlow's TanhGradGrad.
        case .tanhGrad:
            return (needs[0] ? try dy * b * (a * -2) : nil, needs[1] ? try a.binary(.tanhGrad, dy) : nil)
        // relu_grad(x, g) = g·[x > 0]: TensorFlow's ReluGrad gradient, relu_grad for g and zeros for x.
        case .reluGrad:
            return (nil, needs[1] ? try a.binary(.reluGrad, dy) : nil)
        // NOTE: ties go to the first argument (maximum: a >= b, minimum: a <= b), as in TensorFlow.
        case .maximum, .minimum:
            let first = try a.compare(f == .maximum ? .greaterEqual : .lessEqual, b)
            let zero = a.constant(0)
            return (needs[0] ? try T.select(first, dy, zero) : nil,
                    needs[1] ? try T.select(first, zero, dy) : nil)
        // Comparisons are never recorded (they make untracked 0/1 tensors).
        case .less, .greater, .lessEqual, .greaterEqual, .equal, .notEqual:
            return (nil, nil)
        }
    }

    /// The gradient of the input of an elementwise function (nil: a symbolic zero).
    static func unaryPullback<T: GradientArithmetic>(_ f: UnaryFunction, _ x: T, _ y: T, _ dy: T) throws -> T? {
        switch f {
        case .negate: return try -dy
        case .sin: return try dy * x.map(.cos)
        case .cos: return try dy * (-x.map(.sin))
        case .tan: return try dy / x.map(.cos).map(.square)
        case .asin: return try dy / (1 - x.map(.square)).map(.sqrt)
        case .acos: return try -dy / (1 - x.map(.square)).map(.sqrt)
        case .atan: return try dy / (x.map(.square) + 1)
        case .sinh: return try dy * x.map(.cosh)
        case .cosh: return try dy * x.map(.sinh)
        case .tanh: return try y.binary(.tanhGrad, dy)
        case .exp: return try dy * y
        case .log: return try dy / x
        case .log1p: return try dy / (x + 1)
        case .expm1: return try dy * (y + 1)
        case .sqrt:
            // NOTE: TensorFlow passes 0 where the incoming gradient is 0, even at sqrt(0). Only that point is
            // special-cased, so elsewhere the rule stays linear in dy (jvp and second orders need that).
            let zero = dy.constant(0)
            let bothZero = try dy.compare(.equal, zero) * y.compare(.equal, zero)
            return try T.select(bothZero, dy * 0, dy * 0.5 / y)
        case .abs: return try dy * x.map(.sign)
        case .sign, .floor, .ceil, .round, .positiveMask: return nil
        case .erf: return try dy * (2 / Double.pi.squareRoot()) * (-x.map(.square)).map(.exp)
        case .sigmoid: return try dy * y * (1 - y)
        // NOTE: relu's gradient at 0 is 0.
        case .relu: return try x.binary(.reluGrad, dy)
        case .softplus: return try dy * x.map(.sigmoid)
        case .reciprocal: return try -dy * y.map(.square)
        case .square: return try dy * 2 * x
        }
    }

    /// For each element, the product of the others along `axes`, without dividing (so zeros are exact):
    /// a matrix with ones on the diagonal and the elements elsewhere, reduced by product.
    static func productOfOthers(_ x: Value, axes: [Int]) throws -> Value {
        let rank = x.shape.count
        let kept = (0..<rank).filter { !axes.contains($0) }
        let permutation = kept + axes
        let moved = try x.transposed(permutation)
        let keptShape = kept.map { x.shape[$0] }
        let n = axes.reduce(1) { $0 * x.shape[$1] }
        let flat = try moved.reshaped(keptShape + [1, n])
        let diagonal = x.context.constant(try Tensor.eye(n))
        let others = try Value.select(diagonal, x.context.constant(1), flat).reduce(.product, axes: [keptShape.count + 1], keepDims: false)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return try others.reshaped(moved.shape).transposed(inverse)
    }

    /// Why an operation makes NaN or Inf from finite inputs, where the rule knows.
    func nonFiniteExplanation(_ x: [Tensor], pass: NonFiniteOrigin.Pass) -> String? {
        let first = x.first?.scalars ?? []
        switch self {
        case .unary(.log) where pass == .forward && first.contains(where: { $0 < 0 }): return "log of a negative number"
        case .unary(.log) where first.contains(0): return "log at 0"
        case .unary(.sqrt) where first.contains(where: { $0 < 0 }): return "sqrt of a negative number"
        case .unary(.sqrt) where first.contains(0) && pass == .backward: return "sqrt at 0"
        case .binary(.divide) where x.count > 1 && x[1].scalars.contains(0): return "division by 0"
        case .unary(.exp): return "exp overflowed"
        default: return nil
        }
    }
}

/// A pullback's gradients, one per input (nil: a symbolic zero). The first two are kept inline, so a step of a
/// backward pass allocates no array for them (W2's pass takes 80,000 steps).
struct InputGradients<Gradient> {
    private var first: Gradient?
    private var second: Gradient?
    /// Gradients of inputs past the second (nil for one or two inputs).
    private var rest: [Gradient?]?
    let count: Int

    init(_ a: Gradient?) { first = a; second = nil; rest = nil; count = 1 }
    init(_ a: Gradient?, _ b: Gradient?) { first = a; second = b; rest = nil; count = 2 }
    init(_ values: [Gradient?]) {
        first = values.first ?? nil
        second = values.count > 1 ? values[1] : nil
        rest = values.count > 2 ? Array(values[2...]) : nil
        count = values.count
    }

    subscript(i: Int) -> Gradient? {
        switch i {
        case 0: return first
        case 1: return second
        default: return rest![i - 2]
        }
    }

    /// Moves gradient `i` out (it becomes nil): the backward pass hands each one on without a retain.
    mutating func take(_ i: Int) -> Gradient? {
        switch i {
        case 0: return first.take()
        case 1: return second.take()
        default: return rest![i - 2].take()
        }
    }

    /// All of them, in input order.
    var array: [Gradient?] { (0..<count).map { self[$0] } }

    /// Each gradient given to `transform`.
    func map<Other>(_ transform: (Gradient) throws -> Other) rethrows -> InputGradients<Other> {
        switch count {
        case 1: return InputGradients<Other>(try first.map(transform))
        case 2: return InputGradients<Other>(try first.map(transform), try second.map(transform))
        default: return InputGradients<Other>(try array.map { try $0.map(transform) })
        }
    }
}

extension Shape {
    /// Whether `target` is `shape` with ones in front (none or more): then a tensor of `shape` broadcasts to
    /// whatever one of `target` does, to the same elements.
    static func onesThen(_ shape: [Int], are target: [Int]) -> Bool {
        onesThen(shape, areKept: [], of: target)
    }

    /// `onesThen(shape, are: target)` for the shape of `input` reduced over `axes` with its dimensions kept,
    /// without making that shape.
    static func onesThen(_ shape: [Int], areKept axes: [Int], of input: [Int]) -> Bool {
        let ones = input.count - shape.count
        guard ones >= 0 else { return false }
        for i in input.indices {
            let kept = axes.contains(i) ? 1 : input[i]
            if kept != (i < ones ? 1 : shape[i - ones]) { return false }
        }
        return true
    }
}
