import Glibc

/// Elementwise functions of one tensor. Each kernel is one tight loop over a contiguous buffer.
public enum UnaryFunction: String, CaseIterable, Sendable {
    case negate, sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, exp, log, log1p, expm1, sqrt, abs
    case sign, floor, ceil, round, erf, sigmoid, relu, softplus, reciprocal, square
    /// 1 where x > 0, else 0: the derivative mask of `relu`.
    case positiveMask
}

/// Elementwise functions of two broadcast tensors.
public enum BinaryFunction: String, CaseIterable, Sendable {
    case add, subtract, multiply, divide, power, maximum, minimum
    case less, greater, lessEqual, greaterEqual, equal, notEqual
}

extension Tensor {
    /// Applies `function` to every element.
    public func map(_ function: UnaryFunction) -> Tensor {
        if shape.isEmpty {
            // Scalars skip the buffer machinery: the interpreter's loops are mostly scalar.
            var out = [Double](repeating: 0, count: 1)
            scalars.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { y in Tensor.apply(function, x, y) } }
            return Tensor(shape: [], scalars: out)
        }
        // Every kernel writes every element, so the output is not zeroed first.
        let n = count
        let out = [Double](unsafeUninitializedCapacity: n) { y, initialized in
            scalars.withUnsafeBufferPointer { x in Tensor.apply(function, x, y) }
            initialized = n
        }
        return Tensor(shape: shape, scalars: out)
    }

    @inline(__always)
    static func loop(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutableBufferPointer<Double>, _ f: (Double) -> Double) {
        for i in 0..<x.count { y[i] = f(x[i]) }
    }

    static func apply(_ function: UnaryFunction, _ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutableBufferPointer<Double>) {
        switch function {
        case .negate: loop(x, y) { -$0 }
        case .sin: loop(x, y) { Glibc.sin($0) }
        case .cos: loop(x, y) { Glibc.cos($0) }
        case .tan: loop(x, y) { Glibc.tan($0) }
        case .asin: loop(x, y) { Glibc.asin($0) }
        case .acos: loop(x, y) { Glibc.acos($0) }
        case .atan: loop(x, y) { Glibc.atan($0) }
        case .sinh: loop(x, y) { Glibc.sinh($0) }
        case .cosh: loop(x, y) { Glibc.cosh($0) }
        case .tanh: loop(x, y) { Tensor.fastTanh($0) }
        case .exp: loop(x, y) { Glibc.exp($0) }
        case .log: loop(x, y) { Glibc.log($0) }
        case .log1p: loop(x, y) { Glibc.log1p($0) }
        case .expm1: loop(x, y) { Glibc.expm1($0) }
        case .sqrt: loop(x, y) { $0.squareRoot() }
        case .abs: loop(x, y) { Swift.abs($0) }
        case .sign: loop(x, y) { $0 > 0 ? 1 : ($0 < 0 ? -1 : ($0.isNaN ? .nan : 0)) }
        case .floor: loop(x, y) { $0.rounded(.down) }
        case .ceil: loop(x, y) { $0.rounded(.up) }
        // NOTE: NumPy and TensorFlow round half to even.
        case .round: loop(x, y) { $0.rounded(.toNearestOrEven) }
        case .erf: loop(x, y) { Glibc.erf($0) }
        case .sigmoid: loop(x, y) { v in v >= 0 ? 1 / (1 + Glibc.exp(-v)) : Glibc.exp(v) / (1 + Glibc.exp(v)) }
        case .relu: loop(x, y) { $0 > 0 ? $0 : ($0.isNaN ? .nan : 0) }
        // Stable softplus: log(1 + e^x) = max(x, 0) + log1p(e^-|x|).
        case .softplus: loop(x, y) { Swift.max($0, 0) + Glibc.log1p(Glibc.exp(-Swift.abs($0))) }
        case .reciprocal: loop(x, y) { 1 / $0 }
        case .square: loop(x, y) { $0 * $0 }
        case .positiveMask: loop(x, y) { $0 > 0 ? 1 : 0 }
        }
    }

    /// Combines two tensors elementwise with NumPy broadcasting.
    public static func zip(_ a: Tensor, _ b: Tensor, _ function: BinaryFunction) throws -> Tensor {
        if a.shape.isEmpty && b.shape.isEmpty {
            var out = [Double](repeating: 0, count: 1)
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    out.withUnsafeMutableBufferPointer { po in combine(function, pa, 1, pb, 1, po, 1) }
                }
            }
            return Tensor(shape: [], scalars: out)
        }
        let shape = try Shape.broadcast(a.shape, b.shape)
        try Shape.checkAllocation(shape)
        let n = Shape.count(shape)
        let out = [Double](unsafeUninitializedCapacity: n) { po, initialized in
            initialized = n
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    if a.shape == b.shape {
                        combine(function, pa, 1, pb, 1, po, n)
                    } else if a.count == 1 {
                        combine(function, pa, 0, pb, 1, po, n)
                    } else if b.count == 1 {
                        combine(function, pa, 1, pb, 0, po, n)
                    } else {
                        broadcastCombine(function, shape, a.shape, pa, b.shape, pb, po)
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Runs the innermost dimension as a strided loop and walks the outer dimensions with a counter.
    static func broadcastCombine(_ function: BinaryFunction, _ shape: [Int],
                                 _ aShape: [Int], _ pa: UnsafeBufferPointer<Double>,
                                 _ bShape: [Int], _ pb: UnsafeBufferPointer<Double>,
                                 _ po: UnsafeMutableBufferPointer<Double>) {
        let rank = shape.count
        let aStrides = Shape.broadcastStrides(aShape, to: shape)
        let bStrides = Shape.broadcastStrides(bShape, to: shape)
        let inner = shape[rank - 1]
        if inner == 0 || po.count == 0 { return }
        let outer = po.count / inner
        var index = [Int](repeating: 0, count: rank)
        var aOffset = 0, bOffset = 0
        for row in 0..<outer {
            combine(function, UnsafeBufferPointer(rebasing: pa[aOffset...]), aStrides[rank - 1],
                    UnsafeBufferPointer(rebasing: pb[bOffset...]), bStrides[rank - 1],
                    UnsafeMutableBufferPointer(rebasing: po[(row * inner)...]), inner)
            // Advance the outer index (all axes but the last).
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                aOffset += aStrides[axis]
                bOffset += bStrides[axis]
                if index[axis] < shape[axis] { break }
                aOffset -= aStrides[axis] * shape[axis]
                bOffset -= bStrides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }

    @inline(__always)
    static func loop2(_ a: UnsafeBufferPointer<Double>, _ sa: Int, _ b: UnsafeBufferPointer<Double>, _ sb: Int,
                      _ o: UnsafeMutableBufferPointer<Double>, _ n: Int, _ f: (Double, Double) -> Double) {
        if sa == 1 && sb == 1 {
            for i in 0..<n { o[i] = f(a[i], b[i]) }
        } else if sa == 0 && sb == 1 {
            let x = a[0]
            for i in 0..<n { o[i] = f(x, b[i]) }
        } else if sa == 1 && sb == 0 {
            let y = b[0]
            for i in 0..<n { o[i] = f(a[i], y) }
        } else {
            for i in 0..<n { o[i] = f(a[i * sa], b[i * sb]) }
        }
    }

    static func combine(_ function: BinaryFunction, _ a: UnsafeBufferPointer<Double>, _ sa: Int,
                        _ b: UnsafeBufferPointer<Double>, _ sb: Int, _ o: UnsafeMutableBufferPointer<Double>, _ n: Int) {
        switch function {
        case .add: loop2(a, sa, b, sb, o, n) { $0 + $1 }
        case .subtract: loop2(a, sa, b, sb, o, n) { $0 - $1 }
        case .multiply: loop2(a, sa, b, sb, o, n) { $0 * $1 }
        case .divide: loop2(a, sa, b, sb, o, n) { $0 / $1 }
        case .power: loop2(a, sa, b, sb, o, n) { Tensor.power($0, $1) }
        // NOTE: NaN propagates through maximum and minimum, as in NumPy.
        case .maximum: loop2(a, sa, b, sb, o, n) { $0.isNaN || $1.isNaN ? .nan : ($0 >= $1 ? $0 : $1) }
        case .minimum: loop2(a, sa, b, sb, o, n) { $0.isNaN || $1.isNaN ? .nan : ($0 <= $1 ? $0 : $1) }
        case .less: loop2(a, sa, b, sb, o, n) { $0 < $1 ? 1 : 0 }
        case .greater: loop2(a, sa, b, sb, o, n) { $0 > $1 ? 1 : 0 }
        case .lessEqual: loop2(a, sa, b, sb, o, n) { $0 <= $1 ? 1 : 0 }
        case .greaterEqual: loop2(a, sa, b, sb, o, n) { $0 >= $1 ? 1 : 0 }
        case .equal: loop2(a, sa, b, sb, o, n) { $0 == $1 ? 1 : 0 }
        case .notEqual: loop2(a, sa, b, sb, o, n) { $0 != $1 ? 1 : 0 }
        }
    }

    /// tanh as Cephes computes it: a rational approximation below 0.625 and 1 - 2/(e^2x + 1) above. About
    /// four times faster than glibc's (which calls expm1), within a few units in the last place of it
    /// (checked against it in the tests); training loops spend much of their time here.
    @inline(__always)
    static func fastTanh(_ x: Double) -> Double {
        let a = Swift.abs(x)
        if a > 0.625 {
            // NOTE: for huge |x|, exp gives inf and the result is exactly ±1; NaN stays NaN.
            let z = 1 - 2 / (Glibc.exp(2 * a) + 1)
            return x < 0 ? -z : z
        }
        let s = x * x
        let p = (-9.64399179425052238628e-1 * s - 9.92877231001918586564e1) * s - 1.61468768441708447952e3
        let q = ((s + 1.12811678491632931402e2) * s + 2.23548839060100448583e3) * s + 4.84406305325125486048e3
        return x + x * s * (p / q)
    }

    /// `pow` with small integer exponents done by multiplication, so `x^2` is exact.
    @inline(__always)
    static func power(_ x: Double, _ y: Double) -> Double {
        if y == 2 { return x * x }
        if y == 1 { return x }
        if y == 3 { return x * x * x }
        return Glibc.pow(x, y)
    }

    /// `condition ? a : b` elementwise, all three broadcast together.
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try Shape.broadcast(Shape.broadcast(condition.shape, a.shape), b.shape)
        let c = try condition.broadcast(to: shape), x = try a.broadcast(to: shape), y = try b.broadcast(to: shape)
        var out = [Double](repeating: 0, count: c.count)
        for i in 0..<out.count { out[i] = c.scalars[i] != 0 ? x.scalars[i] : y.scalars[i] }
        return Tensor(shape: shape, scalars: out)
    }

    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try zip(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try zip(a, b, .subtract) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try zip(a, b, .multiply) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try zip(a, b, .divide) }
}

extension Shape {
    /// Strides of `shape` read as if broadcast to `target`: 0 along broadcast axes.
    public static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        var result = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 {
            result[i + offset] = own[i]
        }
        return result
    }
}
