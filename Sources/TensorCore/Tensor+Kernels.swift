import Glibc

/// Elementwise kernels given as functions, for primitives declared in one place (see the language's
/// declarations): each declaration names its scalar function, and these loops apply it.
extension Tensor {
    /// `f` applied to every element.
    public func mapScalars(_ f: (Double) -> Double) -> Tensor {
        Tensor(shape: shape, scalars: scalars.map(f))
    }

    /// `f` applied to the elements of `a` and `b`, broadcast with NumPy's rules.
    public static func zipScalars(_ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Double) throws -> Tensor {
        let shape = try Shape.broadcast(a.shape, b.shape)
        try Shape.checkAllocation(shape)
        let x = a.scalars, y = b.scalars
        if a.shape == b.shape { return Tensor(shape: shape, scalars: (0..<x.count).map { f(x[$0], y[$0]) }) }
        let sa = Shape.broadcastStrides(a.shape, to: shape), sb = Shape.broadcastStrides(b.shape, to: shape)
        let n = Shape.count(shape)
        var out = [Double](specializedRepeating: 0, count: n)
        var index = [Int](specializedRepeating: 0, count: shape.count)
        var ia = 0, ib = 0
        for i in 0..<n {
            out[i] = f(x[ia], y[ib])
            // Odometer step over the broadcast shape.
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                ia += sa[d]; ib += sb[d]
                if index[d] < shape[d] { break }
                ia -= sa[d] * shape[d]; ib -= sb[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return Tensor(shape: shape, scalars: out)
    }
}

/// Scalar functions of the declared elementwise primitives.
public enum ScalarKernels {
    /// NumPy's `mod` (Python's `%`): the remainder with the sign of the divisor; NaN for a zero divisor.
    public static func floorMod(_ x: Double, _ y: Double) -> Double {
        if y == 0 { return .nan }
        var r = fmod(x, y)
        if r != 0 && (r < 0) != (y < 0) { r += y }
        return r == 0 ? copysign(0, y) : r
    }

    /// NumPy's `floor_divide` (Python's `//`): floor(x / y) computed as NumPy's divmod does; ±inf or NaN
    /// for a zero divisor.
    public static func floorDivide(_ x: Double, _ y: Double) -> Double {
        if y == 0 { return x / y }
        let m = fmod(x, y)
        var div = (x - m) / y
        if m != 0 && (y < 0) != (m < 0) { div -= 1 }
        if div == 0 { return copysign(0, x / y) }
        var floored = div.rounded(.down)
        if div - floored > 0.5 { floored += 1 }
        return floored
    }
}
