import TensorCore
import Autodiff

/// Linear algebra written with the matrix primitives (`inv`, `det`, `matmul`), so the gradients are
/// theirs and higher orders come free; a singular matrix is an error that says so.
extension Declarations {
    static let linearAlgebra: [Declaration] = [
        Declaration("diag(x)", "a vector's diagonal matrix, or a matrix's diagonal as a vector (NumPy's diag)",
                    export: .spelled([.torch: "torch.diag({x})", .tf: "tf.experimental.numpy.diag({x})", .jax: "jnp.diag({x})"])) { args in
            let x = try args.value("x")
            switch x.shape.count {
            case 1:
                let n = x.shape[0]
                try Shape.checkAllocation([n, n])
                return try x.reshaped([1, n]) * x.context.constant(try Tensor.eye(n))
            case 2:
                let n = min(x.shape[0], x.shape[1])
                if n == 0 { return try x.reshaped([-1]).slice([.range(start: 0, stop: 0, step: 1)]) }
                return try x.reshaped([-1]).slice([.range(start: 0, stop: (n - 1) * (x.shape[1] + 1) + 1, step: x.shape[1] + 1)])
            default:
                throw TensorError("diag needs a vector or a matrix, got shape \(Shape.describe(x.shape))")
            }
        },
        triangle("triu", "the upper triangle of a matrix (on and above diagonal k), zeros below") { i, j, k in j - i >= k },
        triangle("tril", "the lower triangle of a matrix (on and below diagonal k), zeros above") { i, j, k in j - i <= k },
        Declaration("solve(A, b)", "x with A @ x = b, for a square A (b a vector or a matrix), by LU with partial pivoting (LAPACK, as NumPy); an error if A is singular",
                    export: .spelled([.torch: "torch.linalg.solve({A}, {b})", .tf: "tf.reshape(tf.linalg.solve({A}, tf.reshape({b}, [tf.shape({b})[0], -1])), tf.shape({b}))", .jax: "jnp.linalg.solve({A}, {b})"])) { args in
            let a = try args.value("A"), b = try args.value("b")
            guard a.shape.count == 2, a.shape[0] == a.shape[1] else { throw TensorError("solve needs a square matrix A, got shape \(Shape.describe(a.shape))") }
            guard (1...2).contains(b.shape.count), b.shape[0] == a.shape[0] else {
                throw TensorError("solve: b of shape \(Shape.describe(b.shape)) does not fit A of shape \(Shape.describe(a.shape))")
            }
            return try solve(a, b)
        },
        Declaration("logdet(A)", "log |det(A)| from an LU factorization (LAPACK, as NumPy's slogdet: no overflow), its gradient inv(A)ᵀ (TensorFlow's)",
                    export: .spelled([.torch: "torch.linalg.slogdet({A})[1]", .tf: "tf.linalg.slogdet({A})[1]", .jax: "jnp.linalg.slogdet({A})[1]"])) { args in
            try logAbsDeterminant(try args.value("A"), name: "logdet")
        },
    ]

    /// Multiplies by a 0/1 mask of the last two axes: `keep(i, j, k)` for row i, column j, diagonal k.
    static func triangle(_ name: String, _ help: String, keep: @escaping (Int, Int, Int) -> Bool) -> Declaration {
        Declaration("\(name)(x, k=0)", help,
                    export: .spelled([.torch: "torch.\(name)({x}, diagonal={k#})", .tf: "tf.experimental.numpy.\(name)({x}, k={k#})",
                                      .jax: "jnp.\(name)({x}, k={k#})"])) { args in
            let x = try args.value("x"), k = try args.int("k")
            guard x.shape.count >= 2 else { throw TensorError("\(name) needs a matrix, got shape \(Shape.describe(x.shape))") }
            let rows = x.shape[x.shape.count - 2], columns = x.shape[x.shape.count - 1]
            let mask = Tensor(shape: [rows, columns], scalars: (0..<(rows * columns)).map { keep($0 / max(columns, 1), $0 % max(columns, 1), k) ? 1 : 0 })
            return try x * x.context.constant(mask)
        }
    }

    /// x with A·x = b: LAPACK's dgesv (Gauss–Jordan's inverse times b where LAPACK is missing). Its pullback
    /// solves with Aᵀ, so every order of derivative is a solve too: b̄ = A⁻ᵀ·ḡ, Ā = -b̄·xᵀ.
    static func solve(_ a: Value, _ b: Value) throws -> Value {
        try Operation(name: "solve", arity: 2,
                      forward: { x in
                          if let solution = try x[0].solveLinear(x[1]) { return solution }
                          let inverse = try renamed("solve") { try x[0].inverse() }
                          let columns = try Tensor.matmul(inverse, x[1].reshaped([x[1].shape[0], -1]))
                          return try columns.reshaped(x[1].shape)
                      },
                      pullback: { x, y, g in
                          let gb = try solve(x[0].matrixTranspose(), g)
                          let n = x[0].shape[0]
                          let ga = try -Value.matmul(gb.reshaped([n, -1]), y.reshaped([n, -1]), transposeB: true)
                          return [ga, gb]
                      },
                      rule: { n in .pullbacks(["-solve(\(n[0])ᵀ, g) @ xᵀ", "solve(\(n[0])ᵀ, g)"], "x = A⁻¹b: b̄ = A⁻ᵀḡ and Ā = -b̄xᵀ") })(a, b)
    }

    /// log |det(A)| for a square A or a batch of them: LAPACK's LU (a sum of logarithms, which neither
    /// overflows nor underflows), or det's where LAPACK is missing; TensorFlow's gradient inv(A)ᵀ.
    static func logAbsDeterminant(_ a: Value, name: String) throws -> Value {
        try Operation(name: name, arity: 1,
                      forward: { x in
                          let logs: Tensor
                          if let (_, l) = try x[0].signAndLogAbsDeterminant() { logs = l } else { logs = try x[0].determinant().map(.abs).map(.log) }
                          guard !logs.scalars.contains(-.infinity) else {
                              throw TensorError("\(name): the matrix is singular (det = 0, log|det| = -inf, no gradient)")
                          }
                          return logs
                      },
                      pullback: { x, _, g in
                          [try g.reshaped(g.shape + [1, 1]) * x[0].inverse().matrixTranspose()]
                      },
                      rule: { n in .pullbacks(["g · inv(\(n[0]))ᵀ"], "d log|det A| = tr(A⁻¹ dA) (TensorFlow's rule)") })(a)
    }

    /// `inv: the matrix is singular` reads as `solve: ...` when `solve` called it.
    static func renamed<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as TensorError where e.message.hasPrefix("inv:") {
            throw TensorError(name + e.message.dropFirst(3))
        }
    }
}
