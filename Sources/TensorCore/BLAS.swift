import CBLAS
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

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
    nonisolated(unsafe) static let handle: UnsafeMutableRawPointer? = {
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            // Lazy binding: resolving all of OpenBLAS's symbols up front costs milliseconds.
            // NOTE: RTLD_DEEPBIND looks its own symbols up in itself first. Its 14,000 symbolic relocations
            // (tables of its kernels) otherwise search this binary, libc and libm before finding each in OpenBLAS.
            if let handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL | RTLD_DEEPBIND) { return handle }
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

    nonisolated(unsafe) private static var trigger = OpeningTrigger()

    /// Starts opening OpenBLAS on another thread, once, when a second matrix large enough for it to
    /// multiply appears (`load`, `randn`): loading the library and starting its threads takes 4–9 ms, which
    /// the first product then no longer waits for (in W3, as in a session that loads or draws its matrices
    /// and multiplies them on the next line). Meanwhile small products that OpenBLAS would compute to
    /// the same bits are computed without it (`isWorthComputingWhileOpening`); another waits for the
    /// opening under way (the lazy `handle` does). Not thread-safe itself: callers are on the main thread.
    public static func openInBackground(forMatrixOf shape: [Int]) {
        guard trigger.notes(matrixOf: shape) else { return }
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { _ in
            _ = BLAS.dgemm
            _ = BLAS.setThreads
            BLAS.openingEnded.store(true, ordering: .releasing)
            return nil
        }, nil)
        // Without the thread, the library opens on first use, as without the trigger.
        if started == 0 { pthread_detach(thread) } else { openingEnded.store(true, ordering: .releasing) }
    }

    /// Set once the opening thread has opened the library and looked its functions up (or could not start).
    private static let openingEnded = Atomic<Bool>(false)

    /// Whether a product is better computed by `Tensor.thinProduct` than by OpenBLAS: while the library is
    /// still opening on another thread (1–5 ms, measured in docs/DECISIONS.md, "Round 8: W3"), for a product
    /// it computes to the same bits (`computesAsFusedChains`) and small enough to take less than the rest of
    /// the opening (2^23 multiply-adds: half a millisecond to a millisecond).
    static func isWorthComputingWhileOpening(m: Int, n: Int, k: Int) -> Bool {
        trigger.started && m * n * k <= 1 << 23 && computesAsFusedChains(m: m, n: n, k: k)
            && !openingEnded.load(ordering: .acquiring)
    }

    /// Whether OpenBLAS computes this op(A)·op(B) (m×k by k×n) as `Tensor.thinProduct` does, to the bit: each
    /// element one chain of fused multiply-adds over the terms in order. Its Zen kernel does when
    /// the terms fit one of its blocks (256) and each thread's share of the rows is a whole number of its
    /// 4-row blocks: its kernel for the rows left over rounds otherwise. Checked against OpenBLAS 0.3.21 on one
    /// and two threads (`testProductsWhileOpenBLASOpensAreItsProductsToTheBit`); more threads may split
    /// the rows in other ways, so not for them.
    static func computesAsFusedChains(m: Int, n: Int, k: Int) -> Bool {
        let threads = Int(threadCount(forMultiplyAdds: m * n * k))
        return k <= 256 && threads <= 2 && m % (4 * threads) == 0
    }

    /// When to start the opening: at the second matrix that a product would hand to OpenBLAS.
    // NOTE: not at the first. One matrix is most often multiplied by vectors (a jacobian, a Hessian-vector
    // product), which the matrix-vector loops do without the library; there the opening only competed with
    // the work for the machine and took 2.5 MiB (measurements: docs/DECISIONS.md, "Measurements behind the code").
    // A product of two matrices needs two, and the second is rarely far behind the first.
    struct OpeningTrigger {
        private var matrices = 0
        private(set) var started = false

        /// Notes a new matrix; true once, when the opening should start.
        mutating func notes(matrixOf shape: [Int]) -> Bool {
            guard !started, BLAS.isWorthOpening(forMatrixOf: shape) else { return false }
            matrices += 1
            started = matrices >= 2
            return started
        }
    }

    /// A matrix (or a batch of them) of 4,096 elements or more, neither a row nor a column: a product of
    /// it would be handed to OpenBLAS.
    static func isWorthOpening(forMatrixOf shape: [Int]) -> Bool {
        shape.count >= 2 && shape[shape.count - 2] > 1 && shape[shape.count - 1] > 1 && Shape.count(shape) >= 4096
    }

    nonisolated(unsafe) private static var threads: Int32 = 0
    /// Every core, unless `OPENBLAS_NUM_THREADS` asks for fewer (as `tapebook check` does for its processes).
    private static let machineThreads: Int32 = {
        let cores = Int32(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let text = getenv("OPENBLAS_NUM_THREADS"), let asked = Int32(String(cString: text)), asked >= 1 else { return cores }
        return min(cores, asked)
    }()

    /// Uses every core for products of a million multiply-adds or more (W3's 256×64×256 products run
    /// about 10% faster on two threads than on one); smaller ones stay on one thread.
    static func useThreads(forMultiplyAdds work: Int) {
        let wanted = threadCount(forMultiplyAdds: work)
        if wanted != threads, let setThreads {
            setThreads(wanted)
            threads = wanted
        }
    }

    static func threadCount(forMultiplyAdds work: Int) -> Int32 { work >= 1 << 20 ? machineThreads : 1 }
}
