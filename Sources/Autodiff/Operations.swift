import TensorCore

// The differentiable operations on values. Primitives go through `GradientContext.apply`, which
// records them; composites are written in terms of primitives and get their gradients for free.

extension Value {
    public func map(_ f: UnaryFunction) throws -> Value { try withContext { try $0.apply(.unary(f), self) } }

    func binary(_ f: BinaryFunction, _ other: Value) throws -> Value { try withContext { try $0.apply(.binary(f), self, other) } }

    /// `primitive` of this value alone, recorded without an array of inputs.
    func applying(_ primitive: Primitive) throws -> Value { try withContext { try $0.apply(primitive, self) } }

    public static func + (a: Value, b: Value) throws -> Value { try a.binary(.add, b) }
    public static func - (a: Value, b: Value) throws -> Value { try a.binary(.subtract, b) }
    public static func * (a: Value, b: Value) throws -> Value { try a.binary(.multiply, b) }
    public static func / (a: Value, b: Value) throws -> Value { try a.binary(.divide, b) }
    public static prefix func - (a: Value) throws -> Value { try a.map(.negate) }

    public static func + (a: Value, b: Double) throws -> Value { try a + a.context.constant(b) }
    public static func - (a: Value, b: Double) throws -> Value { try a - a.context.constant(b) }
    public static func * (a: Value, b: Double) throws -> Value { try a * a.context.constant(b) }
    public static func / (a: Value, b: Double) throws -> Value { try a / a.context.constant(b) }
    public static func + (a: Double, b: Value) throws -> Value { try b.context.constant(a) + b }
    public static func - (a: Double, b: Value) throws -> Value { try b.context.constant(a) - b }
    public static func * (a: Double, b: Value) throws -> Value { try b.context.constant(a) * b }
    public static func / (a: Double, b: Value) throws -> Value { try b.context.constant(a) / b }

    public func pow(_ exponent: Value) throws -> Value { try binary(.power, exponent) }
    public func pow(_ exponent: Double) throws -> Value { try binary(.power, context.constant(exponent)) }
    public func maximum(_ other: Value) throws -> Value { try binary(.maximum, other) }
    public func minimum(_ other: Value) throws -> Value { try binary(.minimum, other) }

    /// A comparison as a 0/1 tensor. Not differentiable: the result is never tracked.
    public func compare(_ f: BinaryFunction, _ other: Value) throws -> Value {
        context.nonDifferentiable(try Tensor.zip(tensor, other.tensor, f), operation: f.rawValue)
    }

    /// `condition ? a : b` elementwise, with broadcasting.
    public static func select(_ condition: Value, _ a: Value, _ b: Value) throws -> Value {
        try a.context.apply(.select, [condition, a, b])
    }

    // MARK: Reductions

    public func reduce(_ kind: Reduction, axes: [Int]? = nil, keepDims: Bool = false) throws -> Value {
        try applying(.reduce(kind, axes: tensor.reductionAxes(axes), keepDims: keepDims))
    }

    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Value {
        try reduce(.sum, axes: axes, keepDims: keepDims)
    }

    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Value {
        let resolved = try tensor.reductionAxes(axes)
        let shape = self.shape
        let n = resolved.reduce(1) { $0 * shape[$1] }
        // The axes are resolved once, and the count is a shared untracked scalar (never bound to a name).
        let total = try applying(.reduce(.sum, axes: resolved, keepDims: keepDims))
        return try total / context.literal(Double(n))
    }

    /// log(sum(exp(x))), shifted by the (untracked) maximum for stability. Over an empty axis it is
    /// -inf (log of an empty sum), as in TensorFlow, PyTorch and JAX; softmax of an empty tensor is empty.
    public func logSumExp(axes: [Int]? = nil, keepDims: Bool = false) throws -> Value {
        let resolved = try tensor.reductionAxes(axes)
        // NOTE: the max of an empty axis has no identity (NumPy refuses it too), and that error leaked
        // out of logsumexp and softmax; with no elements no shift is needed, so it is 0.
        let keptShape = tensor.reducedShape(resolved, keepDims: true)
        var shift = context.constant(tensor.count == 0 ? try Tensor.zeros(keptShape) : try tensor.reduce(.max, axes: resolved, keepDims: true))
        shift = context.constant(shift.tensor.map(.abs).scalars.allSatisfy(\.isFinite) ? shift.tensor : try Tensor.zeros(shift.shape))
        let result = try (self - shift).map(.exp).sum(axes: resolved, keepDims: true).map(.log) + shift
        // Over an empty axis -inf is the answer, not a fault: no note that it "traces back to log at 0".
        if tensor.count == 0 { result.nonFiniteOrigin = nil }
        return keepDims ? result : try result.reshaped(tensor.reducedShape(resolved, keepDims: false))
    }

    public func softmax(axis: Int = -1) throws -> Value {
        try (self - logSumExp(axes: [axis], keepDims: true)).map(.exp)
    }

    public func logSoftmax(axis: Int = -1) throws -> Value {
        try self - logSumExp(axes: [axis], keepDims: true)
    }

    /// The Euclidean norm: sqrt(sum(x²)). NOTE: its gradient at 0 is NaN, as in TensorFlow.
    public func norm(axes: [Int]? = nil, keepDims: Bool = false) throws -> Value {
        try map(.square).sum(axes: axes, keepDims: keepDims).map(.sqrt)
    }

    // MARK: Shapes

    public func reshaped(_ shape: [Int]) throws -> Value {
        let own = self.shape
        let target = try Shape.reshaped(own, count: tensor.count, to: shape)
        if target == own { return self }
        return try applying(.reshape(target))
    }

    public func transposed(_ permutation: [Int]? = nil) throws -> Value {
        let rank = shape.count
        let perm = permutation ?? Array((0..<rank).reversed())
        if perm == Array(0..<rank) { return self }
        _ = try tensor.transposed(perm) // validates
        let strides = tensor.strides
        return try applying(.view(StridedView(offset: 0, shape: perm.map { shape[$0] }, strides: perm.map { strides[$0] }), .transpose))
    }

    /// Swaps the last two axes.
    public func matrixTranspose() throws -> Value {
        let rank = shape.count
        guard rank >= 2 else { return self }
        return try transposed(Array(0..<(rank - 2)) + [rank - 1, rank - 2])
    }

    public func broadcast(to target: [Int]) throws -> Value {
        let shape = self.shape
        if shape == target { return self }
        try Shape.checkBroadcast(shape, to: target)
        try Shape.checkAllocation(target)
        return try applying(.view(StridedView(offset: 0, shape: target, strides: Shape.broadcastStrides(shape, to: target)), .broadcast))
    }

    /// Sums a broadcast gradient back to `target` (the one place broadcasting is undone).
    public func sumToShape(_ target: [Int]) throws -> Value {
        let shape = self.shape
        if shape == target { return self }
        let view = StridedView(offset: 0, shape: shape, strides: Shape.broadcastStrides(target, to: shape))
        return try applying(.scatter(view, shape: target, .broadcast))
    }

    public func expandDims(axis: Int) throws -> Value {
        let a = try Shape.axis(axis, rank: shape.count + 1)
        var s = shape
        s.insert(1, at: a)
        return try reshaped(s)
    }

    public func squeezed(axes: [Int]? = nil) throws -> Value {
        let resolved = try axes.map { try $0.map { try Shape.axis($0, rank: shape.count) } } ?? shape.indices.filter { shape[$0] == 1 }
        for a in resolved where shape[a] != 1 {
            throw TensorError("squeeze: axis \(a) has size \(shape[a]), not 1")
        }
        return try reshaped(shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element))
    }

    /// Basic indexing: integers drop an axis, ranges keep it.
    public func slice(_ subscripts: [AxisIndex]) throws -> Value {
        let view = try tensor.view(for: subscripts)
        if view.shape == shape && view.offset == 0 && view.strides == tensor.strides { return self }
        return try applying(.view(view, .slice))
    }

    /// TensorFlow's `tensor_scatter_nd_update`: this value with the elements at the flat `positions` (distinct)
    /// replaced by `updates`, one per position in order. The gradient reaches `updates` at those places and
    /// this value everywhere else.
    public func scatterUpdate(positions: [Int], updates: Value) throws -> Value {
        let n = tensor.count
        var keep = [Double](specializedRepeating: 1, count: n)
        for p in positions { keep[p] = 0 }
        // NOTE: a select, not `x * keep + placed`: an Inf or NaN replaced in x must not leak into the result.
        let placed = try updates.reshaped([-1]).applying(.scatterAdd(axis: 0, indices: positions, shape: [n]))
        return try Value.select(context.constant(Tensor(shape: shape, scalars: keep)), self, try placed.reshaped(shape))
    }

    /// Index arrays along `axis`.
    public func gather(axis: Int, indices: [Int], indexShape: [Int]) throws -> Value {
        let a = try Shape.axis(axis, rank: shape.count)
        let size = shape[a]
        let resolved = try indices.map { i -> Int in
            let j = i < 0 ? i + size : i
            guard j >= 0, j < size else { throw TensorError("index \(i) is out of bounds for axis \(a) with size \(size)") }
            return j
        }
        return try applying(.gather(axis: a, indices: resolved, indexShape: indexShape))
    }

    public static func concat(_ values: [Value], axis: Int) throws -> Value {
        guard let first = values.first else { throw TensorError("concat needs at least one tensor") }
        guard first.shape.count > 0 else { throw TensorError("concat: cannot join scalars along an axis; use stack") }
        let a = try Shape.axis(axis, rank: first.shape.count)
        if values.count == 1 { return first }
        return try first.context.apply(.concat(axis: a), values)
    }

    public static func stack(_ values: [Value], axis: Int) throws -> Value {
        guard let first = values.first else { throw TensorError("stack needs at least one tensor") }
        for v in values where v.shape != first.shape {
            throw TensorError("stack: shapes \(Shape.describe(first.shape)) and \(Shape.describe(v.shape)) differ")
        }
        let a = try Shape.axis(axis, rank: first.shape.count + 1)
        return try concat(values.map { try $0.expandDims(axis: a) }, axis: a)
    }

    // MARK: Linear algebra

    /// The primitive batched product of operands of rank ≥ 2.
    public static func matmul(_ a: Value, _ b: Value, transposeA: Bool = false, transposeB: Bool = false) throws -> Value {
        try a.withContext { try $0.apply(.matmul(transposeA: transposeA, transposeB: transposeB), a, b) }
    }

    /// NumPy's `matmul`: a vector operand is promoted to a matrix and the added axis removed after.
    public static func numpyMatmul(_ a: Value, _ b: Value) throws -> Value {
        // Each shape read once: every read of `shape` retains and releases it.
        let aShape = a.shape, bShape = b.shape
        guard aShape.count >= 1, bShape.count >= 1 else {
            throw TensorError("matmul: operands must not be scalars (got \(Shape.describe(aShape)) @ \(Shape.describe(bShape))); use *")
        }
        let a2 = aShape.count == 1 ? try a.reshaped([1, aShape[0]]) : a
        let b2 = bShape.count == 1 ? try b.reshaped([bShape[0], 1]) : b
        let ak = aShape[aShape.count - 1], bk = bShape.count == 1 ? bShape[0] : bShape[bShape.count - 2]
        guard ak == bk else {
            throw TensorError("matmul: shapes \(Shape.describe(aShape)) and \(Shape.describe(bShape)) are not aligned (\(ak) vs \(bk))")
        }
        let product = try matmul(a2, b2)
        if aShape.count > 1 && bShape.count > 1 { return product }
        var shape = product.shape
        if bShape.count == 1 { shape.removeLast() }
        if aShape.count == 1 { shape.remove(at: shape.count - (bShape.count == 1 ? 1 : 2)) }
        return try product.reshaped(shape)
    }

    public func inverse() throws -> Value { try applying(.inverse) }
    public func determinant() throws -> Value { try applying(.determinant) }
}
