/// One axis of a subscript: a single index (drops the axis) or a strided range (keeps it).
public enum AxisIndex: Equatable, Sendable {
    case index(Int)
    /// Python-style bounds; nil means "from the start/to the end" for the step's direction.
    case range(start: Int?, stop: Int?, step: Int)
    public static let all = AxisIndex.range(start: nil, stop: nil, step: 1)
}

/// A normalized strided view of a tensor: an offset, the view's shape and its strides in the source.
public struct StridedView: Equatable, Sendable {
    public var offset: Int
    public var shape: [Int]
    public var strides: [Int]
    public init(offset: Int, shape: [Int], strides: [Int]) {
        self.offset = offset
        self.shape = shape
        self.strides = strides
    }
}

extension Tensor {
    /// The same elements under a new shape; one dimension may be -1 and is inferred.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        withShape(try Shape.reshaped(shape, count: count, to: newShape))
    }

    /// Materializes a strided view of this tensor's elements.
    public func gatherStrided(_ view: StridedView) -> Tensor {
        let n = Shape.count(view.shape)
        if n > 0 && view.strides.allSatisfy({ $0 == 0 }) {
            // One element spread everywhere (a scalar's gradient broadcast back): a fill.
            return Tensor(shape: view.shape, scalars: Memory.filled(withUnsafeBufferPointer { $0[view.offset] }, count: n))
        }
        var out = Memory.filled(0, count: n)
        if n > 0 {
            withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    Tensor.walk(view) { position, offset in dst[position] = src[offset] }
                }
            }
        }
        return Tensor(shape: view.shape, scalars: out)
    }

    /// The adjoint of `gatherStrided`: adds `values` (shaped like the view) into a zero tensor of `shape`.
    /// Overlapping views (stride 0, as in broadcasting) accumulate.
    public static func scatterStrided(_ values: Tensor, _ view: StridedView, into shape: [Int]) -> Tensor {
        var out = Memory.filled(0, count: Shape.count(shape))
        if values.count > 0 {
            values.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    if let row = view.shape.last, row <= 64, view.strides.last == 1, view.strides.dropLast().allSatisfy({ $0 == 0 }) {
                        sumRows(src.baseAddress!, rows: values.count / row, length: row, into: dst.baseAddress! + view.offset)
                    } else {
                        walk(view) { position, offset in dst[offset] += src[position] }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Adds the rows of a rows × length matrix into `length` elements (a bias's gradient: a broadcast over
    /// the leading axes summed back), the sums in registers, each element's in row order as the element
    /// walk adds them, so the results are the walk's to the bit. Short rows only (W9's 16 and 32): for W3's
    /// rows of 256 a row loop saved nothing (docs/DECISIONS.md, "W3 at twice PyTorch").
    static func sumRows(_ source: UnsafePointer<Double>, rows: Int, length: Int, into target: UnsafeMutablePointer<Double>) {
        @inline(__always)
        func lanes<L: ChannelLanes>(_: L.Type, _ k: Int) {
            var sum = L(target + k)
            for r in 0..<rows { sum = sum + L(source + r * length + k) }
            sum.store(to: target + k)
        }
        var k = 0
        while k + 16 <= length { lanes(SIMD16<Double>.self, k); k += 16 }
        while k + 4 <= length { lanes(SIMD4<Double>.self, k); k += 4 }
        while k < length { lanes(Double.self, k); k += 1 }
    }

    /// Calls `body(position, offset)` for every element of the view in row-major order.
    @inline(__always)
    static func walk(_ view: StridedView, _ body: (Int, Int) -> Void) {
        let rank = view.shape.count
        let n = Shape.count(view.shape)
        if n == 0 { return }
        if rank == 0 { body(0, view.offset); return }
        let inner = view.shape[rank - 1], innerStride = view.strides[rank - 1]
        var index = [Int](specializedRepeating: 0, count: rank)
        var base = view.offset
        var position = 0
        while position < n {
            var offset = base
            for _ in 0..<inner {
                body(position, offset)
                position += 1
                offset += innerStride
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                base += view.strides[axis]
                if index[axis] < view.shape[axis] { break }
                base -= view.strides[axis] * view.shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// Axes permuted; `nil` reverses them (NumPy's `transpose`).
    public func transposed(_ permutation: [Int]? = nil) throws -> Tensor {
        let perm = permutation ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm).count == rank, perm.allSatisfy({ $0 >= 0 && $0 < rank }) else {
            throw TensorError("transpose: \(Shape.describe(perm)) is not a permutation of the axes of a rank-\(rank) tensor")
        }
        if perm == Array(0..<rank) { return self }
        let own = strides
        return gatherStrided(StridedView(offset: 0, shape: perm.map { shape[$0] }, strides: perm.map { own[$0] }))
    }

    /// Repeats along broadcast axes to reach `target` (NumPy's `broadcast_to`).
    public func broadcast(to target: [Int]) throws -> Tensor {
        if shape == target { return self }
        try Shape.checkBroadcast(shape, to: target)
        try Shape.checkAllocation(target)
        return gatherStrided(StridedView(offset: 0, shape: target, strides: Shape.broadcastStrides(shape, to: target)))
    }

    /// Sums a broadcast tensor back down to `target` (the adjoint of `broadcast(to:)`).
    public func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        return Tensor.scatterStrided(self, StridedView(offset: 0, shape: shape, strides: Shape.broadcastStrides(target, to: shape)), into: target)
    }

    /// The strided view a subscript selects, with bounds checked and negative indices resolved.
    public func view(for subscripts: [AxisIndex]) throws -> StridedView {
        if subscripts.count > rank {
            throw TensorError("too many indices: \(subscripts.count) for a tensor of rank \(rank)")
        }
        let own = strides
        var view = StridedView(offset: 0, shape: [], strides: [])
        for axis in 0..<rank {
            let size = shape[axis]
            switch axis < subscripts.count ? subscripts[axis] : .all {
            case .index(let i):
                let j = i < 0 ? i + size : i
                guard j >= 0, j < size else {
                    throw TensorError("index \(i) is out of bounds for axis \(axis) with size \(size)")
                }
                view.offset += j * own[axis]
            case .range(let start, let stop, let step):
                guard step != 0 else { throw TensorError("slice step cannot be zero") }
                let (first, length) = Tensor.sliceBounds(start: start, stop: stop, step: step, size: size)
                view.offset += first * own[axis]
                view.shape.append(length)
                view.strides.append(step * own[axis])
            }
        }
        return view
    }

    /// Python's `slice.indices`: the first index and the number of elements.
    static func sliceBounds(start: Int?, stop: Int?, step: Int, size: Int) -> (Int, Int) {
        func clamp(_ v: Int?, _ defaultValue: Int, _ low: Int, _ high: Int) -> Int {
            guard var v else { return defaultValue }
            if v < 0 { v += size }
            return Swift.min(Swift.max(v, low), high)
        }
        if step > 0 {
            let a = clamp(start, 0, 0, size), b = clamp(stop, size, 0, size)
            return (a, b > a ? (b - a + step - 1) / step : 0)
        } else {
            let a = clamp(start, size - 1, -1, size - 1), b = clamp(stop, -1, -1, size - 1)
            return (a, a > b ? (a - b - step - 1) / (-step) : 0)
        }
    }

    /// Elements at `indices` along `axis`; the index array's shape replaces that axis.
    public func gather(axis: Int, indices: [Int], indexShape: [Int]) throws -> Tensor {
        let axis = try Shape.axis(axis, rank: rank)
        let size = shape[axis]
        var resolved = indices
        for (k, i) in indices.enumerated() {
            let j = i < 0 ? i + size : i
            guard j >= 0, j < size else { throw TensorError("index \(i) is out of bounds for axis \(axis) with size \(size)") }
            resolved[k] = j
        }
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let outShape = Array(shape[..<axis]) + indexShape + Array(shape[(axis + 1)...])
        try Shape.checkAllocation(outShape)
        var out = [Double](specializedRepeating: 0, count: outer * resolved.count * inner)
        let scalars = self.scalars
        var position = 0
        for o in 0..<outer {
            for j in resolved {
                let base = (o * size + j) * inner
                for k in 0..<inner { out[position] = scalars[base + k]; position += 1 }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// The adjoint of `gather`: adds slices of `self` into a zero tensor of `shape`; repeated indices accumulate.
    public func scatterAdd(axis: Int, indices: [Int], into shape: [Int]) -> Tensor {
        scatterAddNotingNonFinite(axis: axis, indices: indices, into: shape).tensor
    }

    /// `scatterAdd`, and whether any element of the result is NaN or infinite, found in the same pass: an
    /// element that becomes NaN or infinite stays so whatever is added to it later, so noting every sum
    /// written is enough.
    public func scatterAddNotingNonFinite(axis: Int, indices: [Int], into shape: [Int]) -> (tensor: Tensor, hasNonFinite: Bool) {
        let size = shape[axis]
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        precondition(count == outer * indices.count * inner, "scatter_add: \(count) values for \(outer * indices.count * inner) places")
        var out = Memory.filled(0, count: Shape.count(shape))
        var carry: UInt64 = 0
        withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                var position = 0
                for o in 0..<outer {
                    for i in indices {
                        let j = i < 0 ? i + size : i
                        // NOTE: the indices come from a gather or a kernel that checked them; a wrong one must not write elsewhere.
                        precondition(j >= 0 && j < size, "scatter_add: index \(i) is out of bounds for size \(size)")
                        let base = (o * size + j) * inner
                        for k in 0..<inner {
                            let sum = target[base + k] + source[position + k]
                            target[base + k] = sum
                            carry |= Tensor.nonFiniteCarry(sum)
                        }
                        position += inner
                    }
                }
            }
        }
        return (Tensor(shape: shape, scalars: out), carry >> 63 != 0)
    }

    /// Joins tensors along an existing axis.
    public static func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else { throw TensorError("concat needs at least one tensor") }
        guard first.rank > 0 else { throw TensorError("concat: cannot join scalars along an axis; use stack") }
        let axis = try Shape.axis(axis, rank: first.rank)
        var outShape = first.shape
        outShape[axis] = 0
        for t in tensors {
            var a = t.shape, b = first.shape
            guard a.count == b.count else {
                throw TensorError("concat: shapes \(Shape.describe(first.shape)) and \(Shape.describe(t.shape)) have different ranks")
            }
            a[axis] = 0; b[axis] = 0
            guard a == b else {
                throw TensorError("concat: shapes \(Shape.describe(first.shape)) and \(Shape.describe(t.shape)) differ outside axis \(axis)")
            }
            outShape[axis] += t.shape[axis]
        }
        try Shape.checkAllocation(outShape)
        let outer = first.shape[..<axis].reduce(1, *)
        var out = [Double]()
        out.reserveCapacity(Shape.count(outShape))
        for o in 0..<outer {
            for t in tensors {
                let chunk = t.shape[axis...].reduce(1, *)
                out.append(contentsOf: t.scalars[(o * chunk)..<((o + 1) * chunk)])
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }
}
