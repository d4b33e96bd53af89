import Portable
import TensorCore
import Autodiff

/// Sorting and the built-ins with several results (`v, i = top_k(x, 2)`).
extension Declarations {
    static let sorting: [Declaration] = [
        Declaration("sort(x, axis=-1)", "the elements in increasing order along an axis; ties keep their order, as TensorFlow's (the gradient follows each element)",
                    export: .spelled([.torch: "torch.sort({x}, dim={axis#}, stable=True).values", .tf: "tf.sort({x}, axis={axis#})",
                                      .jax: "jnp.sort({x}, axis={axis#}, stable=True)"])) { args in
            let x = try args.value("x")
            guard !x.shape.isEmpty else { return x }
            let axis = try Shape.axis(try args.int("axis"), rank: x.shape.count)
            return try sorted(x, axis: axis, count: x.shape[axis], descending: false).values
        },
        Declaration("top_k(x, k)", "the k largest elements along the last axis, largest first, and their indices (ties: the lower index first, as TensorFlow's)",
                    export: .spelled([.torch: "(lambda r: (r.values, r.indices.double()))(torch.topk({x}, {k#}))",
                                      .tf: "(lambda r: (r.values, tf.cast(r.indices, tf.float64)))(tf.math.top_k({x}, {k#}))",
                                      .jax: "(lambda r: (r[0], r[1].astype(jnp.float64)))(jax.lax.top_k({x}, {k#}))"]), several: { args in
            let x = try args.value("x"), k = try args.int("k")
            guard !x.shape.isEmpty else { throw TensorError("top_k needs at least one axis") }
            guard k >= 0, k <= x.shape[x.shape.count - 1] else { throw TensorError("top_k: k must be in 0...\(x.shape[x.shape.count - 1]), got \(k)") }
            let (values, indices) = try sorted(x, axis: x.shape.count - 1, count: k, descending: true)
            return [values, args.ctx.nonDifferentiable(indices, operation: "top_k")]
        }),
        Declaration("split(x, n, axis=0)", "n equal parts along an axis, one result each",
                    export: .spelled([.torch: "torch.tensor_split({x}, {n#}, dim={axis#})", .tf: "tf.split({x}, {n#}, axis={axis#})",
                                      .jax: "jnp.split({x}, {n#}, axis={axis#})"]), several: { args in
            let x = try args.value("x"), n = try args.int("n")
            let axis = try Shape.axis(try args.int("axis"), rank: x.shape.count)
            guard n >= 1, x.shape[axis] % n == 0 else { throw TensorError("split: axis \(axis) of size \(x.shape[axis]) does not split into \(n) equal parts") }
            let size = x.shape[axis] / n
            return try (0..<n).map { i in
                var subscripts = [AxisIndex](repeating: .all, count: x.shape.count)
                subscripts[axis] = .range(start: i * size, stop: (i + 1) * size, step: 1)
                return try x.slice(subscripts)
            }
        }),
        Declaration("slogdet(A)", "the sign of det(A) (no gradient) and log |det(A)| (gradient inv(A)ᵀ), from an LU factorization (LAPACK, as NumPy: no overflow); an error if A is singular",
                    export: .spelled([.torch: "tuple(torch.linalg.slogdet({A}))", .tf: "tf.linalg.slogdet({A})", .jax: "jnp.linalg.slogdet({A})"]), several: { args in
            let a = try args.value("A")
            let logAbs = try logAbsDeterminant(a, name: "slogdet")
            let sign = try a.tensor.signAndLogAbsDeterminant()?.sign ?? a.tensor.determinant().map(.sign)
            return [args.ctx.nonDifferentiable(sign, operation: "slogdet's sign"), logAbs]
        }),
    ]

    /// The first `count` elements of each line along `axis` in sorted order (stable: equal elements keep
    /// their order), and their indices. The values are a gather from the flattened input, so the gradient
    /// goes back to where each element came from.
    static func sorted(_ x: Value, axis: Int, count: Int, descending: Bool) throws -> (values: Value, indices: Tensor) {
        let shape = x.shape, n = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *), outer = x.tensor.count / max(1, n * inner)
        let s = x.tensor.scalars
        var flat: [Int] = [], positions: [Double] = []
        var outShape = shape
        outShape[axis] = count
        flat.reserveCapacity(outer * count * inner)
        var order = [[Int]](repeating: [], count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                // NOTE: NaN sorts last, as NumPy's; equal elements keep their order (the index breaks ties).
                order[o * inner + i] = (0..<n).sorted { p, q in
                    let a = s[base + p * inner], b = s[base + q * inner]
                    if a.isNaN || b.isNaN { return a.isNaN == b.isNaN ? p < q : b.isNaN }
                    if a == b { return p < q }
                    return descending ? a > b : a < b
                }
            }
        }
        for o in 0..<outer {
            for k in 0..<count {
                for i in 0..<inner {
                    let p = order[o * inner + i][k]
                    flat.append(o * n * inner + p * inner + i)
                    positions.append(Double(p))
                }
            }
        }
        let values = try x.reshaped([-1]).gather(axis: 0, indices: flat, indexShape: [flat.count]).reshaped(outShape)
        return (values, Tensor(shape: outShape, scalars: positions))
    }
}
