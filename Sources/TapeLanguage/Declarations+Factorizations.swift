import Portable
import TensorCore
import Autodiff

/// qr (reduced, R with a positive diagonal).
extension Declarations {
    static let factorizations: [Declaration] = [
        Declaration("qr(A)", "Q with orthonormal columns and upper-triangular R (positive diagonal) with A = Q @ R, for A [m, n], m ≥ n, of full rank; TensorFlow's gradient",
                    export: .spelled([.torch: "(lambda r: (r[0] * torch.sign(torch.diagonal(r[1])), r[1] * torch.sign(torch.diagonal(r[1]))[:, None]))(torch.linalg.qr({A}))",
                                      .tf: "(lambda r: (r[0] * tf.sign(tf.linalg.diag_part(r[1])), r[1] * tf.sign(tf.linalg.diag_part(r[1]))[:, None]))(tf.linalg.qr({A}))",
                                      .jax: "(lambda r: (r[0] * jnp.sign(jnp.diagonal(r[1])), r[1] * jnp.sign(jnp.diagonal(r[1]))[:, None]))(jnp.linalg.qr({A}))"]), several: { args in
            let a = try args.value("A")
            guard a.shape.count == 2, a.shape[0] >= a.shape[1], a.shape[1] >= 1 else {
                throw TensorError("qr needs a matrix [m, n] with m ≥ n ≥ 1, got shape \(Shape.describe(a.shape))")
            }
            let (m, n) = (a.shape[0], a.shape[1])
            let packed = try qrOperation(a)
            return [try packed.slice([.range(start: 0, stop: m, step: 1), .all]), try packed.slice([.range(start: m, stop: m + n, step: 1), .all])]
        }),
    ]

    /// Packed output [m + n, n]: Q's rows, then R's.
    static let qrOperation = Operation(
        name: "qr", arity: 1,
        forward: { x in
            let a = x[0], m = a.shape[0], n = a.shape[1], s = a.scalars
            // Modified Gram-Schmidt, twice (re-orthogonalized), so R's diagonal comes out positive.
            var q = [Double](repeating: 0, count: m * n), r = [Double](repeating: 0, count: n * n)
            for j in 0..<n {
                var v = (0..<m).map { s[$0 * n + j] }
                for _ in 0..<2 {
                    for k in 0..<j {
                        var dot = 0.0
                        for i in 0..<m { dot += q[i * n + k] * v[i] }
                        r[k * n + j] += dot
                        for i in 0..<m { v[i] -= dot * q[i * n + k] }
                    }
                }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 1e-12 * max(1, s.reduce(0) { max($0, abs($1)) }) else {
                    throw TensorError("qr: the columns are linearly dependent (column \(j)), so R is singular and the gradient undefined")
                }
                r[j * n + j] = norm
                for i in 0..<m { q[i * n + j] = v[i] / norm }
            }
            return Tensor(shape: [m + n, n], scalars: q + r)
        },
        // TensorFlow's QrGrad (m ≥ n): M = lower triangle of (QᵀḡQ - ḡQᵀQ) + (RḡRᵀ - ḡRRᵀ);
        // Ā = Q·(ḡR + M·R⁻ᵀ) + (ḡQ - Q·QᵀḡQ)·R⁻ᵀ.
        pullback: { x, y, g in
            let m = x[0].shape[0], n = x[0].shape[1]
            let q = try y.slice([.range(start: 0, stop: m, step: 1), .all]), r = try y.slice([.range(start: m, stop: m + n, step: 1), .all])
            let dq = try g.slice([.range(start: 0, stop: m, step: 1), .all]), dr = try g.slice([.range(start: m, stop: m + n, step: 1), .all])
            let qdq = try Value.matmul(q, dq, transposeA: true), rdr = try Value.matmul(r, dr, transposeB: true)
            let lower = y.context.constant(Tensor(shape: [n, n], scalars: (0..<(n * n)).map { $0 / n >= $0 % n ? 1 : 0 }))
            let middle = try ((qdq - qdq.matrixTranspose()) + (rdr - rdr.matrixTranspose())) * lower
            let rInverseT = try r.inverse().matrixTranspose()
            let gradA = try Value.matmul(q, dr + Value.matmul(middle, rInverseT))
            let gradB = try Value.matmul(dq - Value.matmul(q, qdq), rInverseT)
            return [try gradA + gradB]
        },
        rule: { _ in .pullbacks(["Q·(ḡR + M·R⁻ᵀ) + (ḡQ - Q·QᵀḡQ)·R⁻ᵀ, M = tril(QᵀḡQ - ḡQᵀQ + RḡRᵀ - ḡRRᵀ)"], "TensorFlow's QR gradient") })
}
