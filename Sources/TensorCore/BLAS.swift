import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS, opened on first use.
///
/// `cblas_dgemm` is looked up with `dlopen`/`dlsym` the first time a product needs it, so that a session
/// that never multiplies large matrices does not pay for loading the library and starting its threads.
enum BLAS {
    typealias Dgemm = @convention(c) (CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32, Double,
                                      UnsafePointer<Double>?, Int32, UnsafePointer<Double>?, Int32, Double,
                                      UnsafeMutablePointer<Double>?, Int32) -> Void

    /// OpenBLAS's `cblas_dgemm`, or nil when the library cannot be opened (products then use a plain loop).
    nonisolated(unsafe) static let dgemm: Dgemm? = {
        for name in ["libopenblas.so.0", "libopenblas.so", "libcblas.so.3"] {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL), let symbol = dlsym(handle, "cblas_dgemm") else { continue }
            return unsafeBitCast(symbol, to: Dgemm.self)
        }
        return nil
    }()
}
