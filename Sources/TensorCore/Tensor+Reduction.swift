/// How a reduction combines the elements along its axes.
public enum Reduction: String, Sendable {
    case sum, max, min, product
}

extension Tensor {
    /// Resolves an axis list (nil = all axes) to sorted, distinct, non-negative axes.
    public func reductionAxes(_ axes: [Int]?) throws -> [Int] {
        guard let axes else { return Array(0..<rank) }
        var resolved = [Int]()
        resolved.reserveCapacity(axes.count)
        for a in axes {
            let r = try Shape.axis(a, rank: rank)
            if resolved.contains(r) { throw TensorError("duplicate axis \(a) in reduction") }
            resolved.append(r)
        }
        resolved.sort()
        return resolved
    }

    /// The shape after reducing `axes`: removed, or kept as 1 with `keepDims`.
    public func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        let shape = self.shape
        var rank = shape.count
        if !keepDims { for i in shape.indices where axes.contains(i) { rank -= 1 } }
        // A reduction over every axis is a scalar: no array.
        if rank == 0 { return [] }
        return [Int](specializedUninitializedCount: rank) { out in
            var next = 0
            for (i, d) in shape.enumerated() where keepDims || !axes.contains(i) {
                out[next] = axes.contains(i) ? 1 : d
                next += 1
            }
        }
    }

    /// Reduces over `axes` (resolved, see `reductionAxes`).
    public func reduce(_ kind: Reduction, axes: [Int], keepDims: Bool = false) throws -> Tensor {
        let outShape = reducedShape(axes, keepDims: keepDims)
        let outCount = Shape.count(outShape)
        if count == 0 && outCount > 0 && (kind == .max || kind == .min) {
            throw TensorError("\(kind == .max ? "max" : "min") of an empty tensor has no identity")
        }
        let initial: Double
        switch kind {
        case .sum: initial = 0
        case .product: initial = 1
        case .max: initial = -.infinity
        case .min: initial = .infinity
        }
        if outCount == 1 {
            let total = withUnsafeBufferPointer { src in
                var acc = initial
                switch kind {
                case .sum: for v in src { acc += v }
                case .product: for v in src { acc *= v }
                case .max: for v in src { if v > acc || v.isNaN { acc = v; if v.isNaN { break } } }
                case .min: for v in src { if v < acc || v.isNaN { acc = v; if v.isNaN { break } } }
                }
                return acc
            }
            return outShape.isEmpty ? Tensor(total) : Tensor(shape: outShape, scalars: [total])
        }
        var out = [Double](specializedRepeating: initial, count: outCount)
        // Each input element lands at the output offset given by strides that are 0 on reduced axes.
        let target = Shape.broadcastStrides(reducedShape(axes, keepDims: true), to: shape)
        withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let view = StridedView(offset: 0, shape: shape, strides: target)
                switch kind {
                case .sum: Tensor.walk(view) { p, o in dst[o] += src[p] }
                case .product: Tensor.walk(view) { p, o in dst[o] *= src[p] }
                case .max: Tensor.walk(view) { p, o in let v = src[p]; if v > dst[o] || v.isNaN { dst[o] = dst[o].isNaN ? dst[o] : v } }
                case .min: Tensor.walk(view) { p, o in let v = src[p]; if v < dst[o] || v.isNaN { dst[o] = dst[o].isNaN ? dst[o] : v } }
                }
            }
        }
        return Tensor(shape: outShape, scalars: out)
    }

    /// Index of the largest (or smallest) element along `axis`, or of the flattened tensor when nil.
    public func argExtreme(largest: Bool, axis: Int?) throws -> Tensor {
        guard count > 0 else { throw TensorError("\(largest ? "argmax" : "argmin") of an empty tensor") }
        let source = axis == nil ? try reshaped([count]) : self
        let a = try Shape.axis(axis ?? 0, rank: source.rank)
        let moved = try source.transposed(Array(0..<source.rank).filter { $0 != a } + [a])
        let n = source.shape[a]
        let rows = n == 0 ? 0 : moved.count / n
        var out = [Double](specializedRepeating: 0, count: rows)
        let elements = moved.scalars
        for r in 0..<rows {
            var best = 0
            for j in 1..<max(n, 1) {
                let v = elements[r * n + j], b = elements[r * n + best]
                if b.isNaN { break }
                if v.isNaN || (largest ? v > b : v < b) { best = j }
            }
            out[r] = Double(best)
        }
        return Tensor(shape: source.shape.enumerated().filter { $0.offset != a }.map(\.element), scalars: out)
    }
}

extension Tensor {
    /// The Euclidean norm of the elements, scaled by the largest magnitude first so that no square
    /// overflows or underflows (`[1e300, 1]` has norm 1e300, not inf): NaN if any element is NaN.
    public var euclideanNorm: Double {
        if hasNonFinite {
            return withUnsafeBufferPointer { $0.contains { $0.isNaN } } ? .nan : .infinity
        }
        return withUnsafeBufferPointer { values in
            // Four lanes, so that neither loop waits on one running maximum or sum (the gradient-health
            // monitor takes a norm of every gradient at every step of a loop).
            let n = values.count
            var l0 = 0.0, l1 = 0.0, l2 = 0.0, l3 = 0.0
            var i = 0
            while i + 4 <= n {
                l0 = Swift.max(l0, Swift.abs(values[i])); l1 = Swift.max(l1, Swift.abs(values[i + 1]))
                l2 = Swift.max(l2, Swift.abs(values[i + 2])); l3 = Swift.max(l3, Swift.abs(values[i + 3]))
                i += 4
            }
            while i < n { l0 = Swift.max(l0, Swift.abs(values[i])); i += 1 }
            let largest = Swift.max(Swift.max(l0, l1), Swift.max(l2, l3))
            if largest == 0 { return 0 }
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            i = 0
            while i + 4 <= n {
                let a = values[i] / largest, b = values[i + 1] / largest, c = values[i + 2] / largest, d = values[i + 3] / largest
                s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d
                i += 4
            }
            while i < n { let a = values[i] / largest; s0 += a * a; i += 1 }
            return largest * ((s0 + s1) + (s2 + s3)).squareRoot()
        }
    }
}
