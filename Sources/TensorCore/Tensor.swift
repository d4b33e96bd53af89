/// A float64 n-dimensional array, row-major and contiguous, with value semantics.
///
/// A scalar has shape `[]` and one element; a dimension may be zero.
public struct Tensor: Equatable, Sendable {
    // NOTE: a scalar keeps its element inline. An interpreter's loop makes one scalar per operation, and a
    // one-element array would cost a 48-byte allocation, a malloc, a free and a retain pair each time.
    // Invariant: shape `[]` is always `.scalar`, and `.array` always has rank ≥ 1.
    @usableFromInline enum Storage: Equatable, Sendable {
        case scalar(Double)
        case array(shape: [Int], scalars: [Double])
    }
    @usableFromInline var storage: Storage

    /// The size of each dimension, outermost first.
    // NOTE: the small accessors are inlinable: called across modules, each read copied the storage (a retain
    // and a release of both arrays) inside a call.
    @inlinable
    public var shape: [Int] {
        if case .array(let shape, _) = storage { return shape }
        return []
    }

    /// The elements in row-major order; `scalars.count == shape.product`. A scalar's is built on each read:
    /// kernels use `withUnsafeBufferPointer` instead.
    public var scalars: [Double] {
        switch storage {
        case .scalar(let value): return [value]
        case .array(_, let scalars): return scalars
        }
    }

    /// A tensor of the given shape over row-major elements. The caller guarantees the count matches.
    public init(shape: [Int], scalars: [Double]) {
        precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) does not hold \(scalars.count) elements")
        self.storage = shape.isEmpty ? .scalar(scalars[0]) : .array(shape: shape, scalars: scalars)
    }

    /// A scalar.
    public init(_ value: Double) {
        self.storage = .scalar(value)
    }

    /// A vector.
    public init(vector: [Double]) {
        self.storage = .array(shape: [vector.count], scalars: vector)
    }

    /// A tensor of `shape` with every element equal to `value`; refuses shapes over the element limit.
    public init(shape: [Int], repeating value: Double) throws {
        if shape.isEmpty { self.storage = .scalar(value); return }
        try Shape.checkAllocation(shape)
        self.storage = .array(shape: shape, scalars: [Double](specializedRepeating: value, count: Shape.count(shape)))
    }

    @inlinable
    public var rank: Int {
        if case .array(let shape, _) = storage { return shape.count }
        return 0
    }
    @inlinable
    public var count: Int {
        switch storage {
        case .scalar: return 1
        case .array(_, let scalars): return scalars.count
        }
    }
    @inlinable
    public var isScalar: Bool {
        if case .scalar = storage { return true }
        return false
    }

    /// The only element of a one-element tensor.
    @inlinable
    public var scalarValue: Double? { count == 1 ? firstScalar : nil }

    /// Whether both have the same shape (without copying either shape).
    public func hasSameShape(as other: Tensor) -> Bool {
        switch (storage, other.storage) {
        case (.scalar, .scalar): return true
        case (.array(let a, _), .array(let b, _)): return a == b
        default: return false
        }
    }

    /// The first element: the only one of a one-element tensor. The tensor must not be empty.
    @inlinable
    public var firstScalar: Double {
        switch storage {
        case .scalar(let value): return value
        case .array(_, let scalars): return scalars[0]
        }
    }

    /// Calls `body` with the elements in row-major order, without copying them.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        switch storage {
        case .scalar(var value):
            return try withUnsafePointer(to: &value) { try body(UnsafeBufferPointer(start: $0, count: 1)) }
        case .array(_, let scalars):
            return try scalars.withUnsafeBufferPointer(body)
        }
    }

    /// The same elements under another shape with the same count. The caller guarantees the count matches.
    func withShape(_ shape: [Int]) -> Tensor {
        switch storage {
        case .scalar(let value): return shape.isEmpty ? self : Tensor(shape: shape, scalars: [value])
        case .array(_, let scalars): return Tensor(shape: shape, scalars: scalars)
        }
    }

    /// Row-major strides, in elements.
    public var strides: [Int] { Shape.strides(shape) }

    /// Whether any element is NaN or infinite.
    public var hasNonFinite: Bool {
        let scalars: [Double]
        switch storage {
        case .scalar(let value): return !value.isFinite
        case .array(_, let elements): scalars = elements
        }
        // Branch-free over blocks of 1,024 (`nonFiniteCarry`), so the compiler vectorizes it.
        return scalars.withUnsafeBufferPointer { buffer in
            if SharedChunks.shares(buffer.count) { return SharedChunks.hasNonFinite(buffer.baseAddress!, count: buffer.count) }
            var start = 0
            while start < buffer.count {
                let end = Swift.min(buffer.count, start + 1024)
                if Tensor.nonFiniteCarry(buffer.baseAddress! + start, count: end - start) >> 63 != 0 { return true }
                start = end
            }
            return false
        }
    }
}

/// Why a tensor operation could not be done, in words a user can act on.
public struct TensorError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Shape arithmetic shared by every kernel.
public enum Shape {
    /// Tensors with more elements than this are refused before anything is allocated.
    /// Settable; 100 million by default.
    nonisolated(unsafe) public static var elementLimit = 100_000_000

    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    public static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](specializedRepeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// `[2, 3]` as users write it.
    public static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }

    /// Throws when `shape` has a negative dimension or more elements than the limit (overflow included), or
    /// a dimension over the limit even with no elements: a reduction of `[0, 10^14]` would have 10^14.
    public static func checkAllocation(_ shape: [Int]) throws {
        var total = 1
        for d in shape {
            if d < 0 { throw TensorError("negative dimension in shape \(describe(shape))") }
            if d > elementLimit {
                throw TensorError("a tensor of shape \(describe(shape)) has a dimension over \(elementLimit) (the limit)")
            }
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow || product > elementLimit {
                throw TensorError("a tensor of shape \(describe(shape)) has more than \(elementLimit) elements (the limit)")
            }
            total = product
        }
        try Memory.checkLive(adding: total)
    }

    /// NumPy broadcasting of two shapes.
    public static func broadcast(_ a: [Int], _ b: [Int]) throws -> [Int] {
        if a == b { return a }
        // A scalar or a row against a larger operand (the usual case): that operand's shape, not a new array.
        if stretches(a, to: b) { return b }
        if stretches(b, to: a) { return a }
        let rank = max(a.count, b.count)
        var result = [Int](specializedRepeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { result[i] = da }
            else if da == 1 { result[i] = db }
            else { throw TensorError("cannot broadcast \(describe(a)) with \(describe(b))") }
        }
        return result
    }

    /// Whether `shape` broadcasts to `target` without changing it: no more axes, each 1 or `target`'s.
    static func stretches(_ shape: [Int], to target: [Int]) -> Bool {
        let offset = target.count - shape.count
        if offset < 0 { return false }
        for axis in shape.indices where shape[axis] != 1 && shape[axis] != target[axis + offset] { return false }
        return true
    }

    /// The shape that `newShape` names for the `count` elements of a tensor of `shape`, its one -1 inferred;
    /// throws when it holds more than one -1, a dimension under -1, or another count of elements.
    public static func reshaped(_ shape: [Int], count: Int, to newShape: [Int]) throws -> [Int] {
        var unknown: Int?, unknowns = 0, negative = false
        var known = 1, overflow = false
        for (axis, d) in newShape.enumerated() {
            if d == -1 {
                unknowns += 1
                if unknown == nil { unknown = axis }
            } else {
                if d < -1 { negative = true }
                let product = known.multipliedReportingOverflow(by: d)
                known = product.partialValue
                overflow = overflow || product.overflow
            }
        }
        if unknowns > 1 { throw TensorError("reshape: only one dimension can be -1, got \(describe(newShape))") }
        if negative { throw TensorError("reshape: negative dimension in \(describe(newShape))") }
        var resolved = newShape
        if let unknown {
            if known == 0 || overflow || count % known != 0 {
                throw TensorError("cannot reshape a tensor of shape \(describe(shape)) into \(describe(newShape))")
            }
            resolved[unknown] = count / known
        }
        try checkAllocation(resolved)
        guard Shape.count(resolved) == count else {
            throw TensorError("cannot reshape a tensor of shape \(describe(shape)) (\(count) elements) into \(describe(newShape))")
        }
        return resolved
    }

    /// Throws unless `shape` broadcasts to exactly `target` (NumPy's `broadcast_to`); when the two do not
    /// broadcast at all, with `broadcast`'s message.
    public static func checkBroadcast(_ shape: [Int], to target: [Int]) throws {
        if stretches(shape, to: target) { return }
        _ = try broadcast(shape, target)
        throw TensorError("cannot broadcast \(describe(shape)) to \(describe(target))")
    }

    /// Normalizes a possibly negative axis against `rank`.
    public static func axis(_ axis: Int, rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw TensorError("axis \(axis) is out of range for a tensor of rank \(rank)")
        }
        return a
    }
}
