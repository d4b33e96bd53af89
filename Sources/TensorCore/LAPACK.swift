#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS's LAPACK (Debian's libopenblas0 ships it), looked up in the library `BLAS` opens.
///
/// The routines are Fortran's: every argument by address, matrices column-major, and one hidden length
/// per character argument at the end (gfortran's convention). A row-major matrix is the column-major
/// storage of its transpose, which the callers below use instead of copying.
public enum LAPACK {
    typealias Dgesdd = @convention(c) (UnsafePointer<CChar>, UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafeMutablePointer<Double>,
                                       UnsafePointer<Int32>, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>,
                                       UnsafeMutablePointer<Double>, UnsafePointer<Int32>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>,
                                       UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>, Int) -> Void
    typealias Dgesv = @convention(c) (UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>,
                                      UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>, UnsafeMutablePointer<Int32>) -> Void
    typealias Dgetrf = @convention(c) (UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafeMutablePointer<Double>, UnsafePointer<Int32>,
                                       UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Void

    static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = BLAS.handle, let symbol = dlsym(handle, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }

    static let dgesdd = symbol("dgesdd_", as: Dgesdd.self)
    static let dgesv = symbol("dgesv_", as: Dgesv.self)
    static let dgetrf = symbol("dgetrf_", as: Dgetrf.self)

    /// Whether OpenBLAS's LAPACK could be opened.
    public static var isAvailable: Bool { dgesdd != nil && dgesv != nil && dgetrf != nil }

    static func unavailable(_ name: String) -> TensorError {
        TensorError("\(name) needs LAPACK from OpenBLAS (Debian's libopenblas0), which could not be opened")
    }

    static func checkFinite(_ t: Tensor, _ name: String) throws {
        guard t.scalars.allSatisfy({ $0.isFinite }) else { throw TensorError("\(name): the matrix has NaN or infinite elements") }
    }
}

extension Tensor {
    /// The reduced singular value decomposition of a matrix [m, n] (LAPACK's dgesdd, as NumPy, JAX and
    /// PyTorch): u [m, k], s [k] decreasing, vt [k, n], k = min(m, n), each column of u with its largest
    /// element (the first of equals) positive and the matching row of vt flipped with it, so the result
    /// does not depend on the library's choice of signs.
    public func singularValueDecomposition() throws -> (u: Tensor, s: [Double], vt: Tensor) {
        guard rank == 2, shape[0] >= 1, shape[1] >= 1 else {
            throw TensorError("svd needs a matrix with at least one row and one column, got shape \(Shape.describe(shape))")
        }
        guard let dgesdd = LAPACK.dgesdd else { throw LAPACK.unavailable("svd") }
        try LAPACK.checkFinite(self, "svd")
        let m = shape[0], n = shape[1], k = Swift.min(m, n)
        // The row-major [m, n] buffer is the column-major nᵀ×m matrix B = Aᵀ = V·S·Uᵀ: LAPACK's U of B is V
        // (its column-major n×k storage reads row-major as vt) and its Vᵀ is Uᵀ (k×m, which reads as u).
        var b = scalars
        var s = [Double](repeating: 0, count: k), vtOut = [Double](repeating: 0, count: k * n), uOut = [Double](repeating: 0, count: m * k)
        var rows = Int32(n), columns = Int32(m), ldb = Int32(n), ldu = Int32(n), ldvt = Int32(k), info: Int32 = 0
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var query = 0.0, lwork: Int32 = -1
        let jobz: [CChar] = [CChar(UInt8(ascii: "S")), 0]
        dgesdd(jobz, &rows, &columns, &b, &ldb, &s, &vtOut, &ldu, &uOut, &ldvt, &query, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw TensorError("svd: LAPACK's dgesdd refused the matrix (info \(info))") }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Swift.max(1, Int(lwork)))
        dgesdd(jobz, &rows, &columns, &b, &ldb, &s, &vtOut, &ldu, &uOut, &ldvt, &work, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw TensorError("svd: LAPACK's dgesdd did not converge (info \(info))") }
        for j in 0..<k {
            var largest = 0
            for i in 0..<m where Swift.abs(uOut[i * k + j]) > Swift.abs(uOut[largest * k + j]) { largest = i }
            guard uOut[largest * k + j] < 0 else { continue }
            for i in 0..<m { uOut[i * k + j] = -uOut[i * k + j] }
            for c in 0..<n { vtOut[j * n + c] = -vtOut[j * n + c] }
        }
        return (Tensor(shape: [m, k], scalars: uOut), s, Tensor(shape: [k, n], scalars: vtOut))
    }

    /// x with A·x = b for this square matrix A and b [n] or [n, r], by LU with partial pivoting (LAPACK's
    /// dgesv, as NumPy's solve); nil when LAPACK is not there. An exactly singular A is an error.
    public func solveLinear(_ b: Tensor) throws -> Tensor? {
        guard let dgesv = LAPACK.dgesv else { return nil }
        guard rank == 2, shape[0] == shape[1] else { throw TensorError("solve needs a square matrix A, got shape \(Shape.describe(shape))") }
        let n = shape[0]
        guard (1...2).contains(b.rank), b.shape[0] == n else {
            throw TensorError("solve: b of shape \(Shape.describe(b.shape)) does not fit A of shape \(Shape.describe(shape))")
        }
        if n == 0 { return b }
        let r = b.rank == 1 ? 1 : b.shape[1]
        if r == 0 { return b }
        // Column-major copies: A as it is, b's columns one after another.
        let sa = scalars, sb = b.scalars
        var a = [Double](repeating: 0, count: n * n), x = [Double](repeating: 0, count: n * r)
        for i in 0..<n { for j in 0..<n { a[j * n + i] = sa[i * n + j] } }
        for i in 0..<n { for j in 0..<r { x[j * n + i] = sb[i * r + j] } }
        var order = Int32(n), columns = Int32(r), lda = Int32(n), ldb = Int32(n), info: Int32 = 0
        var pivots = [Int32](repeating: 0, count: n)
        dgesv(&order, &columns, &a, &lda, &pivots, &x, &ldb, &info)
        guard info == 0 else { throw TensorError("solve: the matrix is singular (not invertible)") }
        var out = [Double](repeating: 0, count: n * r)
        for i in 0..<n { for j in 0..<r { out[i * r + j] = x[j * n + i] } }
        return Tensor(shape: b.shape, scalars: out)
    }

    /// The sign of det(A) and log |det(A)| of each matrix of a batch [..., n, n], from an LU factorization
    /// (LAPACK's dgetrf, as NumPy's slogdet): a sum of logarithms, so a determinant beyond a double's range
    /// still has its logarithm. A singular matrix gives sign 0 and -inf. nil when LAPACK is not there.
    public func signAndLogAbsDeterminant() throws -> (sign: Tensor, logAbs: Tensor)? {
        guard let dgetrf = LAPACK.dgetrf else { return nil }
        let (batches, n) = try squareBatch("slogdet")
        try LAPACK.checkFinite(self, "slogdet")
        let batchShape = Array(shape.dropLast(2))
        var signs = [Double](repeating: 1, count: Shape.count(batchShape)), logs = [Double](repeating: 0, count: Shape.count(batchShape))
        let all = scalars
        var pivots = [Int32](repeating: 0, count: n)
        for b in 0..<batches where n > 0 {
            // det(Aᵀ) = det(A): the row-major buffer factors as it is.
            var a = Array(all[(b * n * n)..<((b + 1) * n * n)])
            var order = Int32(n), lda = Int32(n), info: Int32 = 0
            dgetrf(&order, &order, &a, &lda, &pivots, &info)
            guard info >= 0 else { throw TensorError("slogdet: LAPACK's dgetrf refused the matrix (info \(info))") }
            var sign = 1.0, logAbs = 0.0
            for i in 0..<n {
                let d = a[i * n + i]
                if d == 0 { sign = 0; logAbs = -.infinity; break }
                if d < 0 { sign = -sign }
                if pivots[i] != Int32(i + 1) { sign = -sign }
                logAbs += Glibc.log(Swift.abs(d))
            }
            signs[b] = sign
            logs[b] = logAbs
        }
        return (Tensor(shape: batchShape, scalars: signs), Tensor(shape: batchShape, scalars: logs))
    }
}
