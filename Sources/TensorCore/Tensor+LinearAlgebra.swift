import CBLAS

extension Tensor {
    /// Batched matrix product of operands of rank ≥ 2, each optionally transposed in its last two axes.
    /// Batch axes broadcast (NumPy's `matmul`). Every matrix product is one `cblas_dgemm`.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        try matmulNotingNonFinite(a, b, transposeA: transposeA, transposeB: transposeB).tensor
    }

    /// `matmul`, and whether any element of the result is NaN or infinite when the kernels found out as
    /// they wrote it (the thin products do); nil when the result must be read to tell (OpenBLAS's products).
    public static func matmulNotingNonFinite(_ a: Tensor, _ b: Tensor, transposeA: Bool = false,
                                             transposeB: Bool = false) throws -> (tensor: Tensor, hasNonFinite: Bool?) {
        // Each shape read once: every read of `shape` retains and releases it.
        let aShape = a.shape, bShape = b.shape
        guard aShape.count >= 2, bShape.count >= 2 else { throw TensorError("matmul kernel needs operands of rank 2 or more") }
        let (ar, ac) = (aShape[aShape.count - 2], aShape[aShape.count - 1])
        let (br, bc) = (bShape[bShape.count - 2], bShape[bShape.count - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (k2, n) = transposeB ? (bc, br) : (br, bc)
        guard k == k2 else {
            throw TensorError("matmul: inner dimensions differ: \(Shape.describe(aShape)) @ \(Shape.describe(bShape)) (\(k) vs \(k2))")
        }
        let aBatch = Array(aShape.dropLast(2)), bBatch = Array(bShape.dropLast(2))
        let batch = try Shape.broadcast(aBatch, bBatch)
        let outShape = batch.isEmpty ? [m, n] : batch + [m, n]
        try Shape.checkAllocation(outShape)
        let batches = Shape.count(batch)
        if m == 0 || n == 0 || batches == 0 || k == 0 {
            return (Tensor(shape: outShape, scalars: [Double](specializedRepeating: 0, count: batches * m * n)), false)
        }
        // Every product below writes all of its output, so it is not zeroed first.
        var out = [Double](specializedUninitializedCount: batches * m * n) { Memory.prepareLargeBuffer($0) }
        let aStrides = batch.isEmpty ? [] : Shape.broadcastStrides(aBatch, to: batch)
        let bStrides = batch.isEmpty ? [] : Shape.broadcastStrides(bBatch, to: batch)
        let batchStrides = batch.isEmpty ? [] : Shape.strides(batch)
        let thin = m * n * k > 4096 && isThin(m: m, n: n, k: k, transposeA: transposeA)
        var nonFinite = false, chainProducts = 0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    for index in 0..<batches {
                        var aOffset = 0, bOffset = 0, rest = index
                        for axis in 0..<batch.count {
                            let i = rest / batchStrides[axis]
                            rest %= batchStrides[axis]
                            aOffset += i * aStrides[axis]
                            bOffset += i * bStrides[axis]
                        }
                        let pA = pa.baseAddress! + aOffset * ar * ac
                        let pB = pb.baseAddress! + bOffset * br * bc
                        let pC = po.baseAddress! + index * m * n
                        if m * n * k <= 4096 {
                            smallProduct(pA, ac, transposeA, pB, bc, transposeB, pC, m, n, k)
                        } else if thin {
                            nonFinite = SharedChunks.thinProduct(pA, ac, transposeA, pB, bc, transposeB, pC, m, n, k) || nonFinite
                        } else if n == 1 {
                            // op(A)·b for one column b: op(B)'s only column, with stride bc (1 when transposed).
                            matrixVector(pA, rows: ar, columns: ac, transpose: transposeA, pB, stride: transposeB ? 1 : bc, pC)
                        } else if m == 1 {
                            // a·op(B) for one row a: op(B)ᵀ·aᵀ.
                            matrixVector(pB, rows: br, columns: bc, transpose: !transposeB, pA, stride: transposeA ? ac : 1, pC)
                        } else if BLAS.isWorthComputingWhileOpening(m: m, n: n, k: k) {
                            // The same sums as OpenBLAS's below, without waiting for the library to open.
                            nonFinite = SharedChunks.thinProduct(pA, ac, transposeA, pB, bc, transposeB, pC, m, n, k) || nonFinite
                            chainProducts += 1
                        } else if let dgemm = BLAS.dgemm {
                            BLAS.multiply(dgemm, transposeA, transposeB, m: m, n: n, k: k, pA, lda: ac, pB, ldb: bc, pC)
                        } else {
                            smallProduct(pA, ac, transposeA, pB, bc, transposeB, pC, m, n, k)
                        }
                    }
                }
            }
        }
        return (Tensor(shape: outShape, scalars: out), thin || chainProducts == batches ? nonFinite : nil)
    }

    /// y = op(A)·x for A stored rows×columns, row-major; x read with `stride`.
    ///
    /// Matrix-vector products are bound by memory, not arithmetic: this loop, whose inner loop always runs
    /// along a row, keeps up with `dgemv` and needs no library (so a jacobian or a Hessian-vector product of
    /// a few hundred inputs never waits for OpenBLAS to load).
    static func matrixVector(_ a: UnsafePointer<Double>, rows: Int, columns: Int, transpose: Bool,
                             _ x: UnsafePointer<Double>, stride: Int, _ y: UnsafeMutablePointer<Double>) {
        if !transpose {
            var first = 0
            if stride == 1 {
                // Four rows at a time, two columns per step: each load of x serves four rows, and the
                // eight partial sums keep the adders busy.
                func load(_ p: UnsafePointer<Double>) -> SIMD2<Double> { UnsafeRawPointer(p).loadUnaligned(as: SIMD2<Double>.self) }
                while first + 4 <= rows {
                    let r0 = a + first * columns, r1 = r0 + columns, r2 = r1 + columns, r3 = r2 + columns
                    var s0 = SIMD2<Double>(), s1 = SIMD2<Double>(), s2 = SIMD2<Double>(), s3 = SIMD2<Double>()
                    var j = 0
                    while j + 2 <= columns {
                        let xv = load(x + j)
                        s0 += load(r0 + j) * xv
                        s1 += load(r1 + j) * xv
                        s2 += load(r2 + j) * xv
                        s3 += load(r3 + j) * xv
                        j += 2
                    }
                    var t0 = s0[0] + s0[1], t1 = s1[0] + s1[1], t2 = s2[0] + s2[1], t3 = s3[0] + s3[1]
                    if j < columns {
                        t0 += r0[j] * x[j]; t1 += r1[j] * x[j]; t2 += r2[j] * x[j]; t3 += r3[j] * x[j]
                    }
                    y[first] = t0; y[first + 1] = t1; y[first + 2] = t2; y[first + 3] = t3
                    first += 4
                }
            }
            for i in first..<rows {
                let row = a + i * columns
                // Four partial sums break the dependency chain of one running sum.
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                var j = 0
                if stride == 1 {
                    while j + 4 <= columns {
                        s0 += row[j] * x[j]; s1 += row[j + 1] * x[j + 1]
                        s2 += row[j + 2] * x[j + 2]; s3 += row[j + 3] * x[j + 3]
                        j += 4
                    }
                }
                while j < columns { s0 += row[j] * x[j * stride]; j += 1 }
                y[i] = (s0 + s1) + (s2 + s3)
            }
        } else {
            for j in 0..<columns { y[j] = 0 }
            // Four rows per pass over y: y is read and written a quarter as often.
            var i = 0
            while i + 4 <= rows {
                let r0 = a + i * columns, r1 = r0 + columns, r2 = r1 + columns, r3 = r2 + columns
                let x0 = x[i * stride], x1 = x[(i + 1) * stride], x2 = x[(i + 2) * stride], x3 = x[(i + 3) * stride]
                for j in 0..<columns { y[j] += (r0[j] * x0 + r1[j] * x1) + (r2[j] * x2 + r3[j] * x3) }
                i += 4
            }
            while i < rows {
                let row = a + i * columns, xi = x[i * stride]
                for j in 0..<columns { y[j] += row[j] * xi }
                i += 1
            }
        }
    }

    /// Whether `thinProduct` does op(A)·op(B): at most 256 terms, and few columns or few terms (A as stored)
    /// or at most 12 columns (Aᵀ).
    // NOTE: measured against OpenBLAS (docs/DECISIONS.md, "W3 at twice PyTorch"): W3's H·W2 (256×256 by
    // 256×10) 66 → 53 µs and dP·W2ᵀ (256×10 by 10×256) 63 → 41 µs; OpenBLAS packs the whole of the large
    // operand for a product with 10 columns, and zeroes the result first. Each element is one chain of
    // fused multiply-adds over the terms in order, as OpenBLAS's Zen kernel computes it when the terms fit
    // one of its blocks (256): W3's and W8's products came out the same to the bit (OpenBLAS 0.3.21 on
    // this machine's Zen 3); OpenBLAS's edge kernels (rows past a multiple of its block) may round
    // differently in the last bit. Above 256 terms OpenBLAS splits the sum, so those products stay with it.
    // Aᵀ·B (the weights' gradient H·ᵀdP) with 12 columns or fewer is faster here too, the same to the bit
    // (docs/DECISIONS.md, "Round 7: W3"); with 16 columns OpenBLAS is faster.
    static func isThin(m: Int, n: Int, k: Int, transposeA: Bool) -> Bool {
        m >= 4 && n >= 2 && (transposeA ? n <= 12 : n <= 16 || k <= 16) && k <= 256 && k * n <= 65536
    }

    /// op(A)·op(B) for m ≥ 4: op(B) copied to k rows of n columns padded with zeros to a multiple of 4, then
    /// four rows of C at a time, 12, 8 or 4 columns at a time, each sum kept in a register over all k terms.
    /// C is written once, never zeroed first. True when an element of C is NaN or infinite.
    @discardableResult
    static func thinProduct(_ a: UnsafePointer<Double>, _ lda: Int, _ ta: Bool, _ b: UnsafePointer<Double>, _ ldb: Int, _ tb: Bool,
                            _ c: UnsafeMutablePointer<Double>, _ m: Int, _ n: Int, _ k: Int) -> Bool {
        // Where op(A)'s row i, term p is: a[i·rowStride + p·termStride].
        let (rowStride, termStride) = ta ? (1, lda) : (lda, 1)
        let np = (n + 3) & ~3
        let packed = UnsafeMutablePointer<Double>.allocate(capacity: k * np)
        defer { packed.deallocate() }
        for p in 0..<k {
            let row = packed + p * np
            for j in 0..<n { row[j] = tb ? b[j * ldb + p] : b[p * ldb + j] }
            for j in n..<np { row[j] = 0 }
        }
        var carries = SIMD4<UInt64>()
        var i = 0
        while i + 4 <= m {
            let a0 = a + i * rowStride, c0 = c + i * n
            var j = 0
            while j < np {
                // 12 columns (12 sums in registers, 3 loads of B for 4 broadcasts of A) where they fit; 16 as
                // 8 + 8, which keeps the blocks full.
                let left = np - j, count = n - j
                if left >= 12 && left != 16 {
                    carries |= thinBlock(ProductLanes12.self, a0, rowStride, termStride, packed + j, np, k, c0 + j, n, Swift.min(12, count))
                    j += 12
                } else if left >= 8 {
                    carries |= thinBlock(ProductLanes8.self, a0, rowStride, termStride, packed + j, np, k, c0 + j, n, Swift.min(8, count))
                    j += 8
                } else {
                    carries |= thinBlock(SIMD4<Double>.self, a0, rowStride, termStride, packed + j, np, k, c0 + j, n, Swift.min(4, count))
                    j += 4
                }
            }
            i += 4
        }
        // The last rows, one at a time, with the same chain of fused multiply-adds.
        var carry = (carries[0] | carries[1]) | (carries[2] | carries[3])
        while i < m {
            let row = a + i * rowStride
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s = s.addingProduct(row[p * termStride], packed[p * np + j]) }
                c[i * n + j] = s
                carry |= nonFiniteCarry(s)
            }
            i += 1
        }
        return carry >> 63 != 0
    }

    /// Four rows of C from `a0` on, L's 4, 8 or 12 columns from `c0` on (the first `count` written): each sum
    /// one chain of fused multiply-adds over the k terms in order, B read from its packed rows. Returns the
    /// written sums' `nonFiniteCarry`, ORed into four lanes.
    @inline(__always)
    static func thinBlock<L: ProductLanes>(_: L.Type, _ a0: UnsafePointer<Double>, _ rowStride: Int, _ termStride: Int,
                                           _ packed: UnsafePointer<Double>, _ np: Int, _ k: Int,
                                           _ c0: UnsafeMutablePointer<Double>, _ n: Int, _ count: Int) -> SIMD4<UInt64> {
        let a1 = a0 + rowStride, a2 = a1 + rowStride, a3 = a2 + rowStride
        var s0 = L(), s1 = L(), s2 = L(), s3 = L()
        var pb = packed
        for p in 0..<k {
            let b = L(loading: pb), q = p * termStride
            pb += np
            s0 = s0.addingProduct(a0[q], b); s1 = s1.addingProduct(a1[q], b)
            s2 = s2.addingProduct(a2[q], b); s3 = s3.addingProduct(a3[q], b)
        }
        return s0.store(to: c0, count: count) | s1.store(to: c0 + n, count: count)
            | s2.store(to: c0 + 2 * n, count: count) | s3.store(to: c0 + 3 * n, count: count)
    }

    /// Small products skip the BLAS call overhead (and the loading of OpenBLAS).
    @inline(__always)
    static func smallProduct(_ a: UnsafePointer<Double>, _ lda: Int, _ ta: Bool, _ b: UnsafePointer<Double>, _ ldb: Int, _ tb: Bool,
                             _ c: UnsafeMutablePointer<Double>, _ m: Int, _ n: Int, _ k: Int) {
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j])
                }
                c[i * n + j] = s
            }
        }
    }

    /// Checks a batch of square matrices and returns (batch count, n).
    func squareBatch(_ name: String) throws -> (Int, Int) {
        guard rank >= 2, shape[rank - 1] == shape[rank - 2] else {
            throw TensorError("\(name) needs square matrices, got shape \(Shape.describe(shape))")
        }
        let n = shape[rank - 1]
        return (n == 0 ? 0 : count / (n * n), n)
    }

    /// Matrix inverse by Gauss–Jordan elimination with partial pivoting; a singular matrix gives inf/nan entries.
    public func inverse() throws -> Tensor {
        let (batches, n) = try squareBatch("inv")
        let scalars = self.scalars
        var out = scalars
        var work = [Double](repeating: 0, count: n * 2 * n)
        for b in 0..<batches {
            let base = b * n * n
            for i in 0..<n {
                for j in 0..<n { work[i * 2 * n + j] = scalars[base + i * n + j]; work[i * 2 * n + n + j] = i == j ? 1 : 0 }
            }
            var singular = false
            for col in 0..<n {
                var pivot = col
                for r in col..<n where Swift.abs(work[r * 2 * n + col]) > Swift.abs(work[pivot * 2 * n + col]) { pivot = r }
                if work[pivot * 2 * n + col] == 0 { singular = true; break }
                _ = singular
                if pivot != col { for j in 0..<(2 * n) { work.swapAt(pivot * 2 * n + j, col * 2 * n + j) } }
                let p = work[col * 2 * n + col]
                for j in 0..<(2 * n) { work[col * 2 * n + j] /= p }
                for r in 0..<n where r != col {
                    let f = work[r * 2 * n + col]
                    if f != 0 { for j in 0..<(2 * n) { work[r * 2 * n + j] -= f * work[col * 2 * n + j] } }
                }
            }
            if singular {
                throw TensorError(batches == 1 ? "inv: the matrix is singular (not invertible)"
                                                : "inv: matrix \(b) of the batch is singular (not invertible)")
            }
            for i in 0..<n {
                for j in 0..<n { out[base + i * n + j] = work[i * 2 * n + n + j] }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Determinant by LU decomposition with partial pivoting.
    public func determinant() throws -> Tensor {
        let (batches, n) = try squareBatch("det")
        var out = [Double](repeating: 1, count: Swift.max(batches, Shape.count(Array(shape.dropLast(2)))))
        for b in 0..<batches {
            var m = Array(scalars[(b * n * n)..<((b + 1) * n * n)])
            var det = 1.0
            for col in 0..<n {
                var pivot = col
                for r in col..<n where Swift.abs(m[r * n + col]) > Swift.abs(m[pivot * n + col]) { pivot = r }
                if m[pivot * n + col] == 0 { det = 0; break }
                if pivot != col { for j in 0..<n { m.swapAt(pivot * n + j, col * n + j) }; det = -det }
                det *= m[col * n + col]
                for r in (col + 1)..<Swift.max(n, col + 1) {
                    let f = m[r * n + col] / m[col * n + col]
                    if f != 0 { for j in col..<n { m[r * n + j] -= f * m[col * n + j] } }
                }
            }
            out[b] = det
        }
        return Tensor(shape: Array(shape.dropLast(2)), scalars: out)
    }
}

/// A row of sums that `thinBlock` keeps in registers: 4, 8 or 12 doubles.
protocol ProductLanes {
    init()
    init(loading p: UnsafePointer<Double>)
    /// self + x·b, each lane one fused multiply-add.
    func addingProduct(_ x: Double, _ b: Self) -> Self
    /// Writes the first `count` lanes; returns their `Tensor.nonFiniteCarry`, ORed into four lanes (0 for
    /// lanes not written).
    func store(to out: UnsafeMutablePointer<Double>, count: Int) -> SIMD4<UInt64>
}

extension SIMD4: ProductLanes where Scalar == Double {
    @inline(__always) init(loading p: UnsafePointer<Double>) { self = UnsafeRawPointer(p).loadUnaligned(as: Self.self) }
    @inline(__always) func addingProduct(_ x: Double, _ b: Self) -> Self { addingProduct(Self(repeating: x), b) }
    @inline(__always) func store(to out: UnsafeMutablePointer<Double>, count: Int) -> SIMD4<UInt64> {
        // Tensor.nonFiniteCarry of the four lanes at once.
        let carries = (unsafeBitCast(self, to: SIMD4<UInt64>.self) & 0x7FF0_0000_0000_0000) &+ 0x0010_0000_0000_0000
        if count >= 4 {
            UnsafeMutableRawPointer(out).storeBytes(of: self, as: Self.self)
            return carries
        }
        for l in 0..<count { out[l] = self[l] }
        return carries.replacing(with: 0, where: SIMD4<UInt64>(0, 1, 2, 3) .>= SIMD4<UInt64>(repeating: UInt64(count)))
    }
}

struct ProductLanes8: ProductLanes {
    var low = SIMD4<Double>(), high = SIMD4<Double>()
    @inline(__always) init() {}
    @inline(__always) init(loading p: UnsafePointer<Double>) { low = .init(loading: p); high = .init(loading: p + 4) }
    @inline(__always) func addingProduct(_ x: Double, _ b: Self) -> Self {
        var r = self
        r.low = low.addingProduct(x, b.low); r.high = high.addingProduct(x, b.high)
        return r
    }
    @inline(__always) func store(to out: UnsafeMutablePointer<Double>, count: Int) -> SIMD4<UInt64> {
        low.store(to: out, count: count) | high.store(to: out + 4, count: count - 4)
    }
}

struct ProductLanes12: ProductLanes {
    var low = SIMD4<Double>(), middle = SIMD4<Double>(), high = SIMD4<Double>()
    @inline(__always) init() {}
    @inline(__always) init(loading p: UnsafePointer<Double>) {
        low = .init(loading: p); middle = .init(loading: p + 4); high = .init(loading: p + 8)
    }
    @inline(__always) func addingProduct(_ x: Double, _ b: Self) -> Self {
        var r = self
        r.low = low.addingProduct(x, b.low); r.middle = middle.addingProduct(x, b.middle); r.high = high.addingProduct(x, b.high)
        return r
    }
    @inline(__always) func store(to out: UnsafeMutablePointer<Double>, count: Int) -> SIMD4<UInt64> {
        low.store(to: out, count: count) | middle.store(to: out + 4, count: count - 4) | high.store(to: out + 8, count: count - 8)
    }
}
