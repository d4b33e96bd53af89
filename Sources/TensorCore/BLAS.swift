import CBLAS
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS, opened on first use.
///
/// `cblas_dgemm` is looked up with `dlopen`/`dlsym` the first time a product needs it, so that a session
/// that never multiplies large matrices does not pay for loading the library and starting its threads.
public enum BLAS {
    typealias Dgemm = @convention(c) (CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32, Double,
                                      UnsafePointer<Double>?, Int32, UnsafePointer<Double>?, Int32, Double,
                                      UnsafeMutablePointer<Double>?, Int32) -> Void

    typealias SetThreads = @convention(c) (Int32) -> Void

    /// The library's handle, or nil when it cannot be opened (products then use a plain loop).
    nonisolated(unsafe) private static let handle: UnsafeMutableRawPointer? = {
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            // Lazy binding: resolving all of OpenBLAS's symbols up front costs milliseconds.
            if let handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL) { return handle }
        }
        return nil
    }()

    /// OpenBLAS's `cblas_dgemm`.
    static let dgemm: Dgemm? = {
        guard let handle, let symbol = dlsym(handle, "cblas_dgemm") else { return nil }
        return unsafeBitCast(symbol, to: Dgemm.self)
    }()

    private static let setThreads: SetThreads? = {
        guard let handle, let symbol = dlsym(handle, "openblas_set_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: SetThreads.self)
    }()

    nonisolated(unsafe) private static var threads: Int32 = 0
    private static let machineThreads = Int32(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Uses every core for products of a million multiply-adds or more (W3's 256×64×256 products run
    /// about 10% faster on two threads than on one); smaller ones stay on one thread.
    static func useThreads(forMultiplyAdds work: Int) {
        let wanted: Int32 = work >= 1 << 20 ? machineThreads : 1
        if wanted != threads, let setThreads {
            setThreads(wanted)
            threads = wanted
        }
    }
}
