import CBLAS
#if canImport(Glibc)
import Glibc
#endif
import Portable
import Synchronization

/// OpenBLAS, opened on first use.
///
/// `cblas_dgemm` is looked up with `dlopen`/`dlsym` the first time a product needs it, so that a session
/// that never multiplies large matrices does not pay for loading the library.
///
/// OpenBLAS runs every product on the thread that calls it: a large product is split by rows between this
/// thread and `SharedChunks`' helper, which also takes the elementwise kernels. OpenBLAS's own threads
/// would spin (about 0.1 s after each product) on the core that the helper needs.
public enum BLAS {
    typealias Dgemm = @convention(c) (CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, Int32, Int32, Int32, Double,
                                      UnsafePointer<Double>?, Int32, UnsafePointer<Double>?, Int32, Double,
                                      UnsafeMutablePointer<Double>?, Int32) -> Void

    /// The library's handle, or nil when it cannot be opened (products then use a plain loop).
    nonisolated(unsafe) static let handle: UnsafeMutableRawPointer? = {
        guard hasRoomForItsBuffer() else { return nil }
        defer { threadsWhileLoading.restore() }
        threadsWhileLoading.askForOne()
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

    /// OPENBLAS_NUM_THREADS while OpenBLAS loads (it reads the variable then, and only then): 1, so that it
    /// starts no threads; afterwards what it was, for the processes this one starts.
    nonisolated(unsafe) private static var threadsWhileLoading = ThreadsWhileLoading()

    struct ThreadsWhileLoading {
        private var asked = false
        private var previous: String?

        /// Sets the variable to 1, once. On the main thread before another thread could read the environment:
        /// `openInBackground` calls it before it starts the opening thread.
        mutating func askForOne() {
            guard !asked else { return }
            asked = true
            _ = BLAS.machineThreads  // the cores the user allows, read before the variable changes
            previous = getenv("OPENBLAS_NUM_THREADS").map { String(cString: $0) }
            setenv("OPENBLAS_NUM_THREADS", "1", 1)
        }

        /// Puts the variable back. Overwriting or removing an entry moves no other: a read of the environment
        /// on another thread meanwhile is safe.
        mutating func restore() {
            guard asked else { return }
            if let previous { setenv("OPENBLAS_NUM_THREADS", previous, 1) } else { unsetenv("OPENBLAS_NUM_THREADS") }
        }
    }

    nonisolated(unsafe) private static var trigger = OpeningTrigger()

    /// Starts opening OpenBLAS on another thread, once, when a second matrix large enough for it to
    /// multiply appears (`load`, `randn`): loading the library and starting its threads takes 4–9 ms, which
    /// the first product then no longer waits for (in W3, as in a session that loads or draws its matrices
    /// and multiplies them on the next line). Meanwhile small products that OpenBLAS would compute to
    /// the same bits are computed without it (`isWorthComputingWhileOpening`); another waits for the
    /// opening under way (the lazy `handle` does). Not thread-safe itself: callers are on the main thread.
    public static func openInBackground(forMatrixOf shape: [Int]) {
        guard trigger.notes(matrixOf: shape) else { return }
        threadsWhileLoading.askForOne()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { _ in
            // The tensors of the first products, before the library: they are needed first.
            Memory.populateHeap(ahead: 4 << 20)
            _ = BLAS.dgemm
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
    /// the terms fit one of its blocks (256) and the rows are a whole number of its 4-row blocks: its kernel
    /// for the rows left over rounds otherwise. Checked against OpenBLAS 0.3.21, whole and split in
    /// `SharedChunks`' halves (`testProductsWhileOpenBLASOpensAreItsProductsToTheBit`).
    static func computesAsFusedChains(m: Int, n: Int, k: Int) -> Bool {
        k <= 256 && m % 4 == 0
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

    /// Every core, unless `OPENBLAS_NUM_THREADS` asks for fewer (as `tapebook check` does for its processes).
    static let machineThreads: Int32 = {
        let cores = Int32(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let text = getenv("OPENBLAS_NUM_THREADS"), let asked = Int32(String(cString: text)), asked >= 1 else { return cores }
        return min(cores, asked)
    }()

    /// C = op(A)·op(B) (or C + op(A)·op(B) when `adding`) for row-major matrices, C m×n with rows `ldc` apart
    /// (n by default): zeroed, then OpenBLAS adds the product (β = 1). From a million multiply-adds on, the
    /// rows are split between this thread and `SharedChunks`' helper (W3's 256×64×256 products run about 10%
    /// faster on two threads than on one).
    static func multiply(_ dgemm: Dgemm, _ transposeA: Bool, _ transposeB: Bool, m: Int, n: Int, k: Int,
                         _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int, _ c: UnsafeMutablePointer<Double>,
                         ldc: Int? = nil, adding: Bool = false) {
        let product = Product(dgemm: dgemm, transposeA: transposeA, transposeB: transposeB, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                              c: c, ldc: ldc ?? n, adding: adding)
        if m * n * k >= 1 << 20 && m >= 16 && splitsProducts {
            // Two halves, each a whole number of OpenBLAS's blocks of rows (the same sums as one call).
            _ = SharedChunks.run(product, count: m, chunk: (m / 2 + 7) & ~7) { job, start, end in
                job!.assumingMemoryBound(to: Product.self).pointee.rows(start, end)
                return 0
            }
        } else {
            product.rows(0, m)
        }
    }

    /// Whether the address space has room for OpenBLAS and the 128 MiB buffer it maps at its first product
    /// (with the Zen kernel): under an address-space limit (`ulimit -v`) OpenBLAS 0.3.21 retries a buffer it
    /// cannot map forever, and the product never returns. Without the room, products use the plain loops.
    static func hasRoomForItsBuffer() -> Bool {
        guard let limit = Memory.addressSpaceLimit else { return true }
        // /proc/self/statm: the address space in use, in pages, first.
        guard let statm = FileText.read("/proc/self/statm"), let pages = statm.split(separator: " ").first.flatMap({ Int($0) }) else { return false }
        let used = pages * max(1, sysconf(Int32(_SC_PAGESIZE)))
        return limit - used >= 256 << 20
    }

    /// Whether large products are split between two threads. Not under an address-space limit (`ulimit -v`):
    /// each thread's OpenBLAS call takes a buffer of its own (128 MiB of address space with the Zen kernel),
    /// and OpenBLAS 0.3.21 retries a buffer it cannot map forever (a second thread of its own hangs the same way).
    static let splitsProducts = SharedChunks.isAvailable && Memory.addressSpaceLimit == nil

    /// One product's operands, for rows of C computed on either thread.
    struct Product {
        let dgemm: Dgemm, transposeA: Bool, transposeB: Bool, n: Int, k: Int
        let a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int
        let adding: Bool

        /// Rows [start, end) of C.
        // NOTE: with β = 0 OpenBLAS zeroes C a double at a time before it adds the product; zeroed here with
        // β = 1 it adds the same sums to the same zeros (the same bits), sooner (measurements: docs/DECISIONS.md,
        // "Round 7: W9").
        func rows(_ start: Int, _ end: Int) {
            let rows = end - start
            if !adding {
                if ldc == n { (c + start * n).initialize(repeating: 0, count: rows * n) }
                else { for row in start..<end { (c + row * ldc).initialize(repeating: 0, count: n) } }
            }
            dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                  Int32(rows), Int32(n), Int32(k), 1, transposeA ? a + start : a + start * lda, Int32(max(lda, 1)),
                  b, Int32(max(ldb, 1)), 1, c + start * ldc, Int32(max(ldc, 1)))
        }
    }
}
