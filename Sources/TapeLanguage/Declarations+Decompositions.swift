import Portable
import TensorCore
import Autodiff
import TapeSyntax

/// einsum, kron, matrix_power and cholesky.
extension Declarations {
    static let linearAlgebraMore: [Declaration] = [
        Declaration("einsum(subscripts, a, b=None, c=None)", "sums of products named by subscripts: einsum(\"ij,jk->ik\", a, b) is a @ b (one to three operands)",
                    export: .spelled([.torch: "torch.einsum({subscripts!}, *[o for o in ({a}, {b}, {c}) if o is not None])",
                                      .tf: "tf.einsum({subscripts!}, *[o for o in ({a}, {b}, {c}) if o is not None])",
                                      .jax: "jnp.einsum({subscripts!}, *[o for o in ({a}, {b}, {c}) if o is not None])"])) { args in
            guard let s = args.argument(named: "subscripts"), case .string(let subscripts) = s.value.kind else {
                throw EvaluationError("einsum needs its subscripts in double quotes first: einsum(\"ij,jk->ik\", a, b)", at: args.span)
            }
            var operands: [Value] = []
            for name in ["a", "b", "c"] where args.argument(named: name) != nil { operands.append(try args.value(name)) }
            do {
                return try einsum(subscripts, operands)
            } catch let e as TensorError {
                throw EvaluationError("einsum: " + e.message, at: s.value.span)
            }
        },
        Declaration("kron(a, b)", "the Kronecker product: every element of a times the whole of b (NumPy's kron)",
                    export: .spelled([.torch: "torch.kron({a}, {b})", .tf: "tf.experimental.numpy.kron({a}, {b})", .jax: "jnp.kron({a}, {b})"])) { args in
            let a = try args.value("a"), b = try args.value("b")
            let rank = max(a.shape.count, b.shape.count)
            let sa = [Int](repeating: 1, count: rank - a.shape.count) + a.shape, sb = [Int](repeating: 1, count: rank - b.shape.count) + b.shape
            try Shape.checkAllocation(zip(sa, sb).map { $0 * $1 })
            let spread = try a.reshaped(sa.flatMap { [$0, 1] }) * b.reshaped(sb.flatMap { [1, $0] })
            return try spread.reshaped(zip(sa, sb).map { $0 * $1 })
        },
        Declaration("matrix_power(A, n)", "A multiplied by itself n times (n a whole number; negative n uses inv(A), 0 gives the identity)",
                    export: .spelled([.torch: "torch.linalg.matrix_power({A}, {n#})", .tf: "(lambda M, n: __import__('functools').reduce(tf.matmul, [M if n > 0 else tf.linalg.inv(M)] * abs(n), tf.eye(M.shape[0], dtype=tf.float64)))({A}, {n#})", .jax: "jnp.linalg.matrix_power({A}, {n#})"])) { args in
            let a = try args.value("A"), n = try args.int("n")
            guard a.shape.count == 2, a.shape[0] == a.shape[1] else { throw TensorError("matrix_power needs a square matrix, got shape \(Shape.describe(a.shape))") }
            if n == 0 { return try a * 0 + a.context.constant(try Tensor.eye(a.shape[0])) }
            var base = n < 0 ? try renamed("matrix_power") { try a.inverse() } : a
            var k = abs(n)
            var result: Value? = nil
            // Repeated squaring: about log2(n) products.
            while k > 0 {
                if k & 1 == 1 { result = try result.map { try Value.matmul($0, base) } ?? base }
                k >>= 1
                if k > 0 { base = try Value.matmul(base, base) }
            }
            return result!
        },
        Declaration("cholesky(A)", "the lower-triangular L with L @ Lᵀ = A, for a symmetric positive definite A (its lower triangle is read); TensorFlow's gradient",
                    export: .spelled([.torch: "torch.linalg.cholesky({A})", .tf: "tf.linalg.cholesky({A})", .jax: "jnp.linalg.cholesky({A})"])) { args in
            let a = try args.value("A")
            guard a.shape.count == 2, a.shape[0] == a.shape[1] else { throw TensorError("cholesky needs a square matrix, got shape \(Shape.describe(a.shape))") }
            return try choleskyOperation(a)
        },
    ]

    static let choleskyOperation = Operation(
        name: "cholesky", arity: 1,
        forward: { x in
            let a = x[0], n = a.shape[0], s = a.scalars
            var l = [Double](repeating: 0, count: n * n)
            for j in 0..<n {
                var d = s[j * n + j]
                for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
                guard d > 0, d.isFinite else { throw TensorError("cholesky: the matrix is not positive definite (pivot \(j) is \(plainNumber(d)))") }
                let djj = d.squareRoot()
                l[j * n + j] = djj
                for i in (j + 1)..<max(n, j + 1) {
                    var v = s[i * n + j]
                    for k in 0..<j { v -= l[i * n + k] * l[j * n + k] }
                    l[i * n + j] = v / djj
                }
            }
            return Tensor(shape: [n, n], scalars: l)
        },
        // TensorFlow's CholeskyGrad: Φ(Lᵀ·g) (lower triangle, diagonal halved), then L⁻ᵀ·Φ·L⁻¹, symmetrized.
        pullback: { _, l, g in
            let n = l.shape[0]
            let phi = l.context.constant(Tensor(shape: [n, n], scalars: (0..<(n * n)).map { $0 / n > $0 % n ? 1 : ($0 / n == $0 % n ? 0.5 : 0) }))
            let lInverse = try l.inverse()
            let middle = try Value.matmul(l, g, transposeA: true) * phi
            let grad = try Value.matmul(Value.matmul(lInverse, middle, transposeA: true), lInverse)
            return [try (grad + grad.matrixTranspose()) * 0.5]
        },
        rule: { n in .pullbacks(["sym(L⁻ᵀ·Φ(Lᵀ·g)·L⁻¹), Φ = lower triangle with half diagonal"], "TensorFlow's Cholesky gradient (Murray 2016)") })

    /// einsum as broadcasting: each operand's axes are moved into one order of all the letters (the output's
    /// first), with size 1 for letters it lacks; the product is summed over the letters not in the output.
    static func einsum(_ subscripts: String, _ operands: [Value]) throws -> Value {
        let spec = subscripts.filter { $0 != " " }
        let sides = spec.components(separatedBy: "->")
        guard sides.count <= 2 else { throw TensorError("\"\(subscripts)\" has more than one ->") }
        let inputs = sides[0].split(separator: ",", omittingEmptySubsequences: false).map { Array($0) }
        guard inputs.count == operands.count else {
            throw TensorError("\"\(subscripts)\" names \(inputs.count) operand\(inputs.count == 1 ? "" : "s"), got \(operands.count)")
        }
        for letters in inputs {
            guard letters.allSatisfy({ $0.isASCII && $0.isLetter }) else { throw TensorError("subscripts are letters, got \"\(subscripts)\"") }
            guard Set(letters).count == letters.count else {
                throw TensorError("a letter repeated within one operand (a diagonal, \"\(String(letters))\") is not supported; use diag or trace")
            }
        }
        let all = inputs.flatMap { $0 }
        let output: [Character]
        if sides.count == 2 {
            output = Array(sides[1])
            for c in output where !all.contains(c) { throw TensorError("the output letter \(c) is not in any operand") }
            guard Set(output).count == output.count else { throw TensorError("the output repeats a letter") }
        } else {
            output = Set(all).filter { c in all.filter { $0 == c }.count == 1 }.sorted()
        }
        var letters = output
        for c in all where !letters.contains(c) { letters.append(c) }
        var sizes: [Character: Int] = [:]
        var total: Value? = nil
        for (letters0, x) in zip(inputs, operands) {
            guard letters0.count == x.shape.count else {
                throw TensorError("\"\(String(letters0))\" names \(letters0.count) axes for an operand of shape \(Shape.describe(x.shape))")
            }
            for (c, n) in zip(letters0, x.shape) {
                if let m = sizes[c], m != n { throw TensorError("\(c) has size \(m) in one operand and \(n) in another") }
                sizes[c] = n
            }
            let present = letters.filter { letters0.contains($0) }
            let moved = try x.transposed(present.map { c in letters0.firstIndex(of: c)! })
            let shape = letters.map { letters0.contains($0) ? sizes[$0]! : 1 }
            let spread = try moved.reshaped(shape)
            total = try total.map { try $0 * spread } ?? spread
        }
        guard var result = total else { throw TensorError("einsum needs an operand") }
        try Shape.checkAllocation(letters.map { sizes[$0]! })
        if letters.count > output.count { result = try result.sum(axes: Array(output.count..<letters.count)) }
        // A letter of the output that no operand... is impossible (checked); broadcast any size-1 leftovers.
        let outShape = output.map { sizes[$0]! }
        return result.shape == outShape ? result : try result.broadcast(to: outShape)
    }
}
