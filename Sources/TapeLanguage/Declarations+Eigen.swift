import Portable
import TensorCore
import Autodiff

/// eigh: the eigenvalues (increasing) and eigenvectors (columns) of a symmetric matrix.
extension Declarations {
    static let eigen: [Declaration] = [
        // PyTorch and JAX give the symmetric gradient; built from A's lower triangle, theirs is TensorFlow's
        // (lower-triangular, the off-diagonal doubled), which tapebook's is.
        Declaration("eigh(A)", "the eigenvalues (increasing) and eigenvectors (the columns, each with its largest element positive) of a symmetric A (its lower triangle is read); TensorFlow's gradient, an error at repeated eigenvalues",
                    export: .spelled([.torch: "(lambda r: (r[0], r[1] * torch.sign(torch.gather(r[1], 0, torch.argmax(torch.abs(r[1]), 0, keepdim=True)))))((lambda A: torch.linalg.eigh(torch.tril(A) + torch.tril(A, -1).mT))({A}))",
                                      .tf: "(lambda r: (r[0], r[1] * tf.sign(tf.gather(tf.transpose(r[1]), tf.argmax(tf.abs(r[1]), 0), batch_dims=1))))(tf.linalg.eigh({A}))",
                                      .jax: "(lambda r: (r[0], r[1] * jnp.sign(jnp.take_along_axis(r[1], jnp.argmax(jnp.abs(r[1]), 0)[None], 0))))((lambda A: jnp.linalg.eigh(jnp.tril(A) + jnp.tril(A, -1).T, symmetrize_input=False))({A}))"]), several: { args in
            let a = try args.value("A")
            guard a.shape.count == 2, a.shape[0] == a.shape[1] else { throw TensorError("eigh needs a square matrix, got shape \(Shape.describe(a.shape))") }
            let n = a.shape[0]
            // One packed output [n + 1, n]: the eigenvalues as its first row, the eigenvectors below, so one
            // pullback sees the gradients of both.
            let packed = try eighOperation(a)
            let values = try packed.slice([.index(0), .all])
            let vectors = try packed.slice([.range(start: 1, stop: n + 1, step: 1), .all])
            return [values, vectors]
        }),
    ]

    static let eighOperation = Operation(
        name: "eigh", arity: 1,
        forward: { x in
            let (w, v) = try symmetricEigen(x[0])
            return Tensor(shape: [w.count + 1, w.count], scalars: w + v)
        },
        // TensorFlow's SelfAdjointEigV2 gradient: V·(diag(ḡw) + F∘(Vᵀḡv))·Vᵀ with F_ij = 1/(w_j - w_i) off the
        // diagonal, then the lower triangle of its symmetrization with the diagonal halved.
        pullback: { x, y, g in
            let n = x[0].shape[0]
            let w = try y.slice([.range(start: 0, stop: 1, step: 1), .all])
            let v = try y.slice([.range(start: 1, stop: n + 1, step: 1), .all])
            let gw = try g.slice([.range(start: 0, stop: 1, step: 1), .all])
            let gv = try g.slice([.range(start: 1, stop: n + 1, step: 1), .all])
            let ws = w.tensor.scalars
            let eye = y.context.constant(try Tensor.eye(n))
            let offDiagonal = y.context.constant(Tensor(shape: [n, n], scalars: (0..<(n * n)).map { $0 / n == $0 % n ? 0 : 1 }))
            if gv.tensor.scalars.contains(where: { $0 != 0 }) {
                for i in 0..<n { for j in (i + 1)..<max(n, i + 1) where ws[i] == ws[j] {
                    throw TensorError("eigh: eigenvalue \(plainNumber(ws[i])) is repeated, so the eigenvectors' gradient is undefined")
                } }
            }
            // F = 1 / (w_j - w_i) off the diagonal (the diagonal's 1s keep the division finite, then are masked).
            let differences = try w - w.transposed() + eye
            let f = try offDiagonal / differences
            let inner = try gw * eye + f * Value.matmul(v, gv, transposeA: true)
            let full = try Value.matmul(Value.matmul(v, inner), v, transposeB: true)
            let lower = y.context.constant(Tensor(shape: [n, n], scalars: (0..<(n * n)).map { $0 / n > $0 % n ? 1 : ($0 / n == $0 % n ? 0.5 : 0) }))
            return [try (full + full.matrixTranspose()) * lower]
        },
        rule: { _ in .pullbacks(["lower triangle of sym(V·(diag(ḡw) + F∘(Vᵀḡv))·Vᵀ), F_ij = 1/(w_j - w_i)"],
                                "TensorFlow's rule for the eigendecomposition of a symmetric matrix") })

    /// Cyclic Jacobi rotations on the lower triangle mirrored: eigenvalues increasing, eigenvectors as
    /// columns (row-major [n, n]), each with its largest element positive.
    static func symmetricEigen(_ a: Tensor) throws -> ([Double], [Double]) {
        let n = a.shape[0]
        var m = a.scalars
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { m[i * n + j] = m[j * n + i] } }
        guard m.allSatisfy({ $0.isFinite }) else { throw TensorError("eigh: the matrix has NaN or infinite elements") }
        var v = (0..<(n * n)).map { $0 / n == $0 % n ? 1.0 : 0.0 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += m[i * n + j] * m[i * n + j] } }
            if off <= 1e-30 * max(1, m.reduce(0) { $0 + $1 * $1 }) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) where m[p * n + q] != 0 {
                    let theta = (m[q * n + q] - m[p * n + p]) / (2 * m[p * n + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let mkp = m[k * n + p], mkq = m[k * n + q]
                        m[k * n + p] = c * mkp - s * mkq
                        m[k * n + q] = s * mkp + c * mkq
                    }
                    for k in 0..<n {
                        let mpk = m[p * n + k], mqk = m[q * n + k]
                        m[p * n + k] = c * mpk - s * mqk
                        m[q * n + k] = s * mpk + c * mqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { m[$0 * n + $0] < m[$1 * n + $1] || (m[$0 * n + $0] == m[$1 * n + $1] && $0 < $1) }
        let values = order.map { m[$0 * n + $0] }
        var vectors = [Double](repeating: 0, count: n * n)
        for (column, k) in order.enumerated() {
            var largest = 0
            for r in 0..<n where abs(v[r * n + k]) > abs(v[largest * n + k]) { largest = r }
            let sign: Double = v[largest * n + k] < 0 ? -1 : 1
            for r in 0..<n { vectors[r * n + column] = sign * v[r * n + k] }
        }
        return (values, vectors)
    }
}
