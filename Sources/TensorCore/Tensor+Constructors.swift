import Portable
extension Tensor {
    public static func zeros(_ shape: [Int]) throws -> Tensor { try Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) throws -> Tensor { try Tensor(shape: shape, repeating: 1) }

    /// The n×m identity (m defaults to n).
    public static func eye(_ n: Int, _ m: Int? = nil) throws -> Tensor {
        let m = m ?? n
        try Shape.checkAllocation([n, m])
        var scalars = [Double](specializedRepeating: 0, count: n * m)
        for i in 0..<Swift.min(n, m) { scalars[i * m + i] = 1 }
        return Tensor(shape: [n, m], scalars: scalars)
    }

    /// Values from `start` up to (not including) `stop` by `step`, as NumPy's `arange`.
    public static func arange(_ start: Double, _ stop: Double, _ step: Double) throws -> Tensor {
        guard step != 0, step.isFinite, start.isFinite, stop.isFinite else { throw TensorError("arange needs a finite, non-zero step and finite bounds") }
        let exact = ((stop - start) / step).rounded(.up)
        guard exact.isFinite, exact <= Double(Shape.elementLimit) else {
            throw TensorError("arange(\(plainNumber(start)), \(plainNumber(stop)), \(plainNumber(step))) would have more than \(Shape.elementLimit) elements (the limit)")
        }
        let n = Swift.max(0, Int(exact))
        try Shape.checkAllocation([n])
        return Tensor(shape: [n], scalars: (0..<n).map { start + Double($0) * step })
    }

    /// `count` evenly spaced values from `start` to `stop` inclusive.
    public static func linspace(_ start: Double, _ stop: Double, _ count: Int) throws -> Tensor {
        guard count >= 0 else { throw TensorError("linspace needs a non-negative count") }
        try Shape.checkAllocation([count])
        if count == 1 { return Tensor(vector: [start]) }
        let step = (stop - start) / Double(count - 1)
        return Tensor(shape: [count], scalars: (0..<count).map { $0 == count - 1 ? stop : start + Double($0) * step })
    }
}
