import CPortable

/// Elementwise kernels over large buffers, run on two cores: the calling thread and one helper thread share
/// the buffer's chunks (`tapebook_share_chunks`). Each element is computed as on one thread, so the bits
/// are the same; reductions, whose sums would round in another order, stay on one thread.
///
/// The helper runs C and these kernels over raw pointers only: it touches no Swift object, which the
/// modules' non-atomic reference counts (`-assume-single-threaded`) require. A kernel is a C function
/// (a closure that captures nothing) of a job of raw pointers and numbers.
public enum SharedChunks {
    /// A kernel over elements [start, end) of the job it is given; returns nonzero to report (a NaN found).
    public typealias Kernel = @convention(c) (_ job: UnsafeMutableRawPointer?, _ start: Int, _ end: Int) -> Int32

    /// Elements from which a kernel is shared: below, waking the helper costs about what it saves.
    static let threshold = 1 << 14
    /// Elements a chunk: 64 KiB of each operand, so a kernel is split in a few chunks and a late helper
    /// leaves the caller little to wait for.
    public static let chunk = 1 << 13

    /// Whether there is a second core to share with: not when `OPENBLAS_NUM_THREADS` keeps this process to
    /// one (as `tapebook check` does for each of its processes, one a core).
    static let isAvailable = BLAS.machineThreads > 1

    /// Whether a kernel over `count` elements is shared.
    @inline(__always)
    public static func shares(_ count: Int) -> Bool { count >= threshold && isAvailable }

    /// Runs `kernel` over [0, count) in chunks of `chunk` on both threads; true when one reported.
    public static func run<Job>(_ job: Job, count: Int, chunk: Int = SharedChunks.chunk, _ kernel: Kernel) -> Bool {
        var job = job
        return withUnsafeMutablePointer(to: &job) { tapebook_share_chunks(kernel, $0, count, chunk) != 0 }
    }

    /// `Tensor.apply` over a buffer on both threads.
    static func apply(_ function: UnaryFunction, _ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutableBufferPointer<Double>) -> Bool {
        struct Job { let function: UnaryFunction; let x: UnsafePointer<Double>; let y: UnsafeMutablePointer<Double> }
        return run(Job(function: function, x: x.baseAddress!, y: y.baseAddress!), count: x.count) { job, start, end in
            let job = job!.assumingMemoryBound(to: Job.self).pointee
            return Tensor.apply(job.function, UnsafeBufferPointer(start: job.x + start, count: end - start),
                                UnsafeMutableBufferPointer(start: job.y + start, count: end - start)) ? 1 : 0
        }
    }

    /// `Tensor.combine` on both threads: o[i] = f(a[i·sa], b[i·sb]) for n elements, each stride 0 or 1.
    static func combine(_ function: BinaryFunction, _ a: UnsafeBufferPointer<Double>, _ sa: Int,
                        _ b: UnsafeBufferPointer<Double>, _ sb: Int, _ o: UnsafeMutableBufferPointer<Double>, _ n: Int) -> Bool {
        struct Job {
            let function: BinaryFunction
            let a: UnsafePointer<Double>, sa: Int, b: UnsafePointer<Double>, sb: Int, o: UnsafeMutablePointer<Double>
        }
        let job = Job(function: function, a: a.baseAddress!, sa: sa, b: b.baseAddress!, sb: sb, o: o.baseAddress!)
        return run(job, count: n) { job, start, end in
            let job = job!.assumingMemoryBound(to: Job.self).pointee
            let n = end - start
            return Tensor.combine(job.function, UnsafeBufferPointer(start: job.a + start * job.sa, count: job.sa == 0 ? 1 : n), job.sa,
                                  UnsafeBufferPointer(start: job.b + start * job.sb, count: job.sb == 0 ? 1 : n), job.sb,
                                  UnsafeMutableBufferPointer(start: job.o + start, count: n), n) ? 1 : 0
        }
    }

    /// Rows of a broadcast `combine` on both threads, about a chunk's elements at a time.
    static func combineRows(_ rows: Tensor.BroadcastRows, count: Int) -> Bool {
        run(rows, count: count, chunk: max(1, chunk / rows.inner)) { job, start, end in
            job!.assumingMemoryBound(to: Tensor.BroadcastRows.self).pointee.combine(start, end) ? 1 : 0
        }
    }

    /// `Tensor.thinProduct` on both threads from 2^18 multiply-adds: up to four blocks of rows, each a whole
    /// number of its 4-row blocks, each with its own copy of op(B) (a few thousand elements). Each element is
    /// the same chain of fused multiply-adds wherever its row is computed.
    static func thinProduct(_ a: UnsafePointer<Double>, _ lda: Int, _ ta: Bool, _ b: UnsafePointer<Double>, _ ldb: Int, _ tb: Bool,
                            _ c: UnsafeMutablePointer<Double>, _ m: Int, _ n: Int, _ k: Int) -> Bool {
        guard m * n * k >= 1 << 18 && m >= 16 && isAvailable else { return Tensor.thinProduct(a, lda, ta, b, ldb, tb, c, m, n, k) }
        struct Job {
            let a: UnsafePointer<Double>, lda: Int, ta: Bool, b: UnsafePointer<Double>, ldb: Int, tb: Bool
            let c: UnsafeMutablePointer<Double>, n: Int, k: Int
        }
        let job = Job(a: a, lda: lda, ta: ta, b: b, ldb: ldb, tb: tb, c: c, n: n, k: k)
        return run(job, count: m, chunk: (m / 4 + 3) & ~3) { job, start, end in
            let job = job!.assumingMemoryBound(to: Job.self).pointee
            return Tensor.thinProduct(job.ta ? job.a + start : job.a + start * job.lda, job.lda, job.ta, job.b, job.ldb, job.tb,
                                      job.c + start * job.n, end - start, job.n, job.k) ? 1 : 0
        }
    }

    /// Whether a buffer holds NaN or an infinity, read on both threads.
    static func hasNonFinite(_ p: UnsafePointer<Double>, count: Int) -> Bool {
        run(p, count: count) { job, start, end in
            let p = job!.assumingMemoryBound(to: UnsafePointer<Double>.self).pointee
            return Tensor.nonFiniteCarry(p + start, count: end - start) >> 63 != 0 ? 1 : 0
        }
    }
}
