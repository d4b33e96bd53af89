import Portable
import TensorCore
import Autodiff
import TapeSyntax

/// einsum, kron, matrix_power and cholesky.
extension Declarations {
    static let linearAlgebraMore: [Declaration] = [
        Declaration("einsum(subscripts, a, b=None, c=None, d=None, e=None, f=None, g=None, h=None)", "sums of products named by subscripts, as NumPy's: einsum(\"ij,jk->ik\", a, b) is a @ b; one to eight operands, a repeated letter for a diagonal (\"ii->i\") or a trace (\"ii\"), ... for the remaining axes (\"...ij,...jk->...ik\")",
                    export: .spelled([.torch: "torch.einsum({subscripts!}, *[o for o in ({a}, {b}, {c}, {d}, {e}, {f}, {g}, {h}) if o is not None])",
                                      .tf: "tf.einsum({subscripts!}, *[o for o in ({a}, {b}, {c}, {d}, {e}, {f}, {g}, {h}) if o is not None])",
                                      .jax: "jnp.einsum({subscripts!}, *[o for o in ({a}, {b}, {c}, {d}, {e}, {f}, {g}, {h}) if o is not None])"])) { args in
            guard let s = args.argument(named: "subscripts"), case .string(let subscripts) = s.value.kind else {
                throw EvaluationError("einsum needs its subscripts in double quotes first: einsum(\"ij,jk->ik\", a, b)", at: args.span)
            }
            var operands: [Value] = []
            for name in ["a", "b", "c", "d", "e", "f", "g", "h"] where args.argument(named: name) != nil { operands.append(try args.value(name)) }
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

    /// einsum, as NumPy's: each operand's repeated letters first become its diagonal (`ii->i`, trace `ii`),
    /// then the operands are contracted pairwise from the left, each letter summed as soon as neither the
    /// output nor a later operand names it; `...` stands for the axes the letters leave, broadcast as NumPy
    /// broadcasts. Every step is a differentiable product, sum or transposition, so gradients of any order
    /// come from theirs.
    static func einsum(_ subscripts: String, _ operands: [Value]) throws -> Value {
        let spec = subscripts.filter { $0 != " " }
        let sides = spec.components(separatedBy: "->")
        guard sides.count <= 2 else { throw TensorError("\"\(subscripts)\" has more than one ->") }
        let terms = sides[0].components(separatedBy: ",")
        guard terms.count == operands.count else {
            throw TensorError("\"\(subscripts)\" names \(terms.count) operand\(terms.count == 1 ? "" : "s"), got \(operands.count)")
        }
        // The axes `...` stands for get letters of their own (private-use characters, never typed), aligned
        // on the right as NumPy broadcasts them.
        func ellipsisLetter(_ i: Int) -> Character { Character(Unicode.Scalar(0xE000 + i)!) }
        func letters(of term: String, what: String) throws -> (named: [Character], hasEllipsis: Bool) {
            let pieces = term.components(separatedBy: "...")
            guard pieces.count <= 2 else { throw TensorError("\(what) \"\(term)\" has more than one ...") }
            for c in pieces.joined() where !(c.isASCII && c.isLetter) {
                throw TensorError("subscripts are letters (and one ... per operand), got '\(c)' in \"\(subscripts)\"")
            }
            return (Array(pieces.joined()), pieces.count == 2)
        }
        var inputs: [[Character]] = []
        var ellipsisRank = 0
        var parsed: [(named: [Character], hasEllipsis: Bool, term: String)] = []
        for (term, x) in zip(terms, operands) {
            let (named, hasEllipsis) = try letters(of: term, what: "the operand")
            guard hasEllipsis ? named.count <= x.shape.count : named.count == x.shape.count else {
                throw TensorError("\"\(term)\" names \(named.count) axes for an operand of shape \(Shape.describe(x.shape))")
            }
            if hasEllipsis { ellipsisRank = max(ellipsisRank, x.shape.count - named.count) }
            parsed.append((named, hasEllipsis, term))
        }
        let ellipsisLetters = (0..<ellipsisRank).map(ellipsisLetter)
        for ((named, hasEllipsis, term), x) in zip(parsed, operands) {
            guard hasEllipsis else { inputs.append(named); continue }
            let before = term.components(separatedBy: "...")[0].count
            let covered = x.shape.count - named.count
            inputs.append(Array(named[..<before]) + ellipsisLetters.suffix(covered) + Array(named[before...]))
        }
        let all = inputs.flatMap { $0 }
        var output: [Character]
        if sides.count == 2 {
            let (named, hasEllipsis) = try letters(of: sides[1], what: "the output")
            for c in named where !all.contains(c) { throw TensorError("the output letter \(c) is not in any operand") }
            guard Set(named).count == named.count else { throw TensorError("the output repeats a letter") }
            let before = sides[1].components(separatedBy: "...")[0].count
            guard hasEllipsis || ellipsisRank == 0 else {
                throw TensorError("the output needs ... where the operands' ... stand for axes (NumPy's rule), as in \"...ij->...i\"")
            }
            output = hasEllipsis ? Array(named[..<before]) + ellipsisLetters + Array(named[before...]) : named
        } else {
            let named = all.filter { !ellipsisLetters.contains($0) }
            output = ellipsisLetters + Set(named).filter { c in named.filter { $0 == c }.count == 1 }.sorted()
        }
        // Sizes: a letter has one size everywhere; an axis of `...` may also be 1 (broadcast).
        var sizes: [Character: Int] = [:]
        for (letters, x) in zip(inputs, operands) {
            var own: [Character: Int] = [:]
            for (c, n) in zip(letters, x.shape) {
                if let m = own[c], m != n { throw TensorError("\(c) names axes of sizes \(m) and \(n) in one operand, so they have no diagonal") }
                own[c] = n
            }
            for (c, n) in zip(letters, x.shape) {
                guard let m = sizes[c], m != n else { sizes[c] = n; continue }
                if ellipsisLetters.contains(c) {
                    guard m == 1 || n == 1 else { throw TensorError("the axes of ... do not broadcast: sizes \(m) and \(n)") }
                    sizes[c] = max(m, n)
                } else {
                    throw TensorError("\(c) has size \(m) in one operand and \(n) in another")
                }
            }
        }
        // Each operand's repeated letters become its diagonal: a product with the identity, summed.
        var terms2: [(letters: [Character], value: Value)] = []
        for (letters0, x0) in zip(inputs, operands) {
            var letters = letters0, x = x0
            while let (first, second) = repeatedPair(letters) {
                let n = x.shape[first]
                guard x.shape[second] == n else {
                    throw TensorError("\(letters[first]) names axes of sizes \(n) and \(x.shape[second]) in one operand")
                }
                var maskShape = [Int](repeating: 1, count: letters.count)
                maskShape[first] = n
                maskShape[second] = n
                let eye = x.context.constant(try Tensor.eye(n).reshaped(maskShape))
                x = try (x * eye).sum(axes: [second])
                letters.remove(at: second)
            }
            terms2.append((letters, x))
        }
        // Pairwise from the left; a letter is summed once nothing after needs it.
        func needed(after index: Int) -> Set<Character> {
            Set(output).union(terms2.dropFirst(index + 1).flatMap(\.letters))
        }
        func sumUnneeded(_ letters: [Character], _ x: Value, keeping: Set<Character>) throws -> ([Character], Value) {
            let axes = letters.indices.filter { !keeping.contains(letters[$0]) }
            guard !axes.isEmpty else { return (letters, x) }
            return (letters.enumerated().filter { !axes.contains($0.offset) }.map(\.element), try x.sum(axes: axes))
        }
        func spread(_ letters: [Character], _ x: Value, into order: [Character]) throws -> Value {
            let present = order.filter { letters.contains($0) }
            let moved = try x.transposed(present.map { c in letters.firstIndex(of: c)! })
            return try moved.reshaped(order.map { c in letters.firstIndex(of: c).map { x.shape[$0] } ?? 1 })
        }
        guard let first = terms2.first else { throw TensorError("einsum needs an operand") }
        var (accLetters, acc) = try sumUnneeded(first.letters, first.value, keeping: needed(after: 0))
        for index in terms2.indices.dropFirst() {
            let (letters, x) = try sumUnneeded(terms2[index].letters, terms2[index].value, keeping: needed(after: index).union(accLetters))
            var order = accLetters
            for c in letters where !order.contains(c) { order.append(c) }
            try Shape.checkAllocation(order.map { sizes[$0]! })
            let product = try spread(accLetters, acc, into: order) * spread(letters, x, into: order)
            (accLetters, acc) = try sumUnneeded(order, product, keeping: needed(after: index))
        }
        // Into the output's order; an axis of `...` that was 1 everywhere stays 1.
        let result = output.isEmpty ? acc : try acc.transposed(output.map { c in accLetters.firstIndex(of: c)! })
        let outShape = output.map { sizes[$0]! }
        return result.shape == outShape ? result : try result.broadcast(to: outShape)
    }

    /// The positions of the first letter that appears twice.
    static func repeatedPair(_ letters: [Character]) -> (Int, Int)? {
        for i in letters.indices { for j in (i + 1)..<letters.count where letters[i] == letters[j] { return (i, j) } }
        return nil
    }
}
