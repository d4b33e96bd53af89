import Portable
import TensorCore
import Autodiff

/// svd and pinv, through LAPACK's singular value decomposition.
extension Declarations {
    static let singularValues: [Declaration] = [
        Declaration("svd(A)", "u, s, vt with A = u @ diag(s) @ vt (reduced: k = min(m, n) singular values, decreasing; each column of u with its largest element positive); TensorFlow's and JAX's gradient, an error at repeated singular values",
                    export: .spelled([.torch: "(lambda r: (lambda g: (r[0] * g, r[1], r[2] * g.T))(torch.sign(torch.gather(r[0], 0, torch.argmax(torch.abs(r[0]), 0, keepdim=True)))))(torch.linalg.svd({A}, full_matrices=False))",
                                      .tf: "(lambda r: (lambda g: (r[1] * g, r[0], tf.transpose(r[2] * g)))(tf.sign(tf.gather(tf.transpose(r[1]), tf.argmax(tf.abs(r[1]), 0), batch_dims=1))))(tf.linalg.svd({A}))",
                                      .jax: "(lambda r: (lambda g: (r[0] * g, r[1], r[2] * g[:, None]))(jnp.sign(jnp.take_along_axis(r[0], jnp.argmax(jnp.abs(r[0]), 0)[None], 0))[0]))(jnp.linalg.svd({A}, full_matrices=False))"]), several: { args in
            let a = try args.value("A")
            guard a.shape.count == 2, a.shape[0] >= 1, a.shape[1] >= 1 else {
                throw TensorError("svd needs a matrix with at least one row and one column, got shape \(Shape.describe(a.shape))")
            }
            let (m, n) = (a.shape[0], a.shape[1]), k = min(m, n)
            // One packed output, u's elements then s then vt's, so one pullback sees the gradients of all three.
            let packed = try svdOperation(a)
            return [try packed.slice([.range(start: 0, stop: m * k, step: 1)]).reshaped([m, k]),
                    try packed.slice([.range(start: m * k, stop: m * k + k, step: 1)]),
                    try packed.slice([.range(start: m * k + k, stop: m * k + k + k * n, step: 1)]).reshaped([k, n])]
        }),
        Declaration("pinv(A)", "the pseudo-inverse (from the singular value decomposition, values below 10·max(m, n)·ε·s_max taken as 0, as TensorFlow and JAX); its gradient needs full rank",
                    export: .spelled([.torch: "torch.linalg.pinv({A})", .tf: "tf.linalg.pinv({A})", .jax: "jnp.linalg.pinv({A})"])) { args in
            let a = try args.value("A")
            guard a.shape.count == 2, a.shape[0] >= 1, a.shape[1] >= 1 else {
                throw TensorError("pinv needs a matrix with at least one row and one column, got shape \(Shape.describe(a.shape))")
            }
            return try pinvOperation(a)
        },
    ]

    static let svdOperation = Operation(
        name: "svd", arity: 1,
        forward: { x in
            let (u, s, vt) = try x[0].singularValueDecomposition()
            return Tensor(vector: u.scalars + s + vt.scalars)
        },
        // Townsend's reverse-mode form of JAX's svd JVP rule (TensorFlow's _SvdGrad): with F_ij = 1/(s_j² - s_i²),
        // Ā = U·(diag(ḡs) + (F∘(UᵀḡU - ḡUᵀU))·S + S·(F∘(VᵀḡV - ḡVᵀV)))·Vᵀ + (I - UUᵀ)·ḡU·S⁻¹·Vᵀ + U·S⁻¹·ḡVᵀ·(I - VVᵀ).
        pullback: { x, y, g in
            let m = x[0].shape[0], n = x[0].shape[1], k = min(m, n)
            func part(_ v: Value, _ start: Int, _ count: Int, _ shape: [Int]) throws -> Value {
                try v.slice([.range(start: start, stop: start + count, step: 1)]).reshaped(shape)
            }
            let u = try part(y, 0, m * k, [m, k]), s = try part(y, m * k, k, [1, k]), vt = try part(y, m * k + k, k * n, [k, n])
            let gu = try part(g, 0, m * k, [m, k]), gs = try part(g, m * k, k, [1, k]), gvt = try part(g, m * k + k, k * n, [k, n])
            let eye = y.context.constant(try Tensor.eye(k))
            var inner = try gs * eye
            let vectorsMatter = (gu.tensor.scalars + gvt.tensor.scalars).contains { $0 != 0 }
            if vectorsMatter {
                let values = s.tensor.scalars
                for i in 0..<k { for j in (i + 1)..<max(k, i + 1) where values[i] == values[j] {
                    throw TensorError("svd: singular value \(plainNumber(values[i])) is repeated, so the singular vectors' gradient is undefined")
                } }
                if m != n, values.contains(0) {
                    throw TensorError("svd: a singular value is 0, so the singular vectors' gradient is undefined")
                }
                let offDiagonal = y.context.constant(Tensor(shape: [k, k], scalars: (0..<(k * k)).map { $0 / k == $0 % k ? 0 : 1 }))
                let squares = try s * s
                // The diagonal's 1s keep the division finite; the mask then zeroes it.
                let f = try offDiagonal / (squares - squares.matrixTranspose() + eye)
                let utgu = try Value.matmul(u, gu, transposeA: true), vtgv = try Value.matmul(vt, gvt, transposeB: true)
                let j = try f * (utgu - utgu.matrixTranspose()), kk = try f * (vtgv - vtgv.matrixTranspose())
                inner = try inner + j * s + s.matrixTranspose() * kk
                var result = try Value.matmul(Value.matmul(u, inner), vt)
                if m > k {
                    let outside = try gu - Value.matmul(u, utgu)
                    result = try result + Value.matmul(outside / s, vt)
                }
                if n > k {
                    let outside = try gvt - Value.matmul(Value.matmul(gvt, vt, transposeB: true), vt)
                    result = try result + Value.matmul(u, outside / s.matrixTranspose())
                }
                return [result]
            }
            return [try Value.matmul(Value.matmul(u, inner), vt)]
        },
        rule: { _ in .pullbacks(["U·(diag(ḡs) + (F∘(UᵀḡU - ḡUᵀU))·S + S·(F∘(VᵀḡV - ḡVᵀV)))·Vᵀ + (I - UUᵀ)·ḡU·S⁻¹·Vᵀ + U·S⁻¹·ḡVᵀ·(I - VVᵀ), F_ij = 1/(s_j² - s_i²)"],
                                "TensorFlow's and JAX's rule for the singular value decomposition") })

    static let pinvOperation = Operation(
        name: "pinv", arity: 1,
        forward: { x in
            let (u, s, vt) = try renamedSVD("pinv") { try x[0].singularValueDecomposition() }
            let m = u.shape[0], k = s.count, n = vt.shape[1]
            let cutoff = 10 * Double(max(m, n)) * Double.ulpOfOne * (s.first ?? 0)
            let us = u.scalars, vs = vt.scalars
            // A⁺ = V·S⁺·Uᵀ, [n, m].
            var out = [Double](repeating: 0, count: n * m)
            for l in 0..<k where s[l] > cutoff {
                let inverse = 1 / s[l]
                for i in 0..<n { let vi = vs[l * n + i] * inverse; if vi != 0 { for j in 0..<m { out[i * m + j] += vi * us[j * k + l] } } }
            }
            return Tensor(shape: [n, m], scalars: out)
        },
        // JAX's pinv rule (Golub and Pereyra), valid while the rank stays full:
        // Ā = -A⁺ᵀ·ḡ·A⁺ᵀ + (I - A·A⁺)·ḡᵀ·A⁺·A⁺ᵀ + A⁺ᵀ·A⁺·ḡᵀ·(I - A⁺·A).
        pullback: { x, p, g in
            let a = x[0]
            let (_, s, _) = try renamedSVD("pinv") { try a.tensor.singularValueDecomposition() }
            let cutoff = 10 * Double(max(a.shape[0], a.shape[1])) * Double.ulpOfOne * (s.first ?? 0)
            let rank = s.filter { $0 > cutoff }.count
            guard rank == s.count else {
                throw TensorError("pinv: the matrix has rank \(rank), less than \(s.count), where the pseudo-inverse jumps, so it has no gradient")
            }
            let gt = try g.matrixTranspose()
            let first = try -Value.matmul(Value.matmul(p, g, transposeA: true), p, transposeB: true)
            let left = try gt - Value.matmul(a, Value.matmul(p, gt))
            let second = try Value.matmul(left, Value.matmul(p, p, transposeB: true))
            let right = try gt - Value.matmul(Value.matmul(gt, p), a)
            let third = try Value.matmul(Value.matmul(p, p, transposeA: true), right)
            return [try first + second + third]
        },
        rule: { _ in .pullbacks(["-A⁺ᵀ·g·A⁺ᵀ + (I - A·A⁺)·gᵀ·A⁺·A⁺ᵀ + A⁺ᵀ·A⁺·gᵀ·(I - A⁺·A)"], "the pseudo-inverse's rule at full rank (Golub and Pereyra, as JAX)") })

    /// `svd: ...` reads as `pinv: ...` when pinv called it.
    static func renamedSVD<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as TensorError where e.message.hasPrefix("svd") {
            throw TensorError(name + e.message.dropFirst(3))
        }
    }
}
