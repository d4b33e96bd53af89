#if canImport(Glibc)
import Glibc
#endif
import Portable

@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32  // <malloc.h>, not in Glibc

/// How tensor memory is obtained: the process heap's set-up, and advice to the kernel about large buffers.
public enum Memory {
    /// Sets up the process heap for tensors; the executable calls it once at start-up.
    ///
    /// - Tensors up to 64 MiB come from the heap and go back to it, instead of each being a fresh `mmap`
    ///   whose pages fault in zeroed: a training step frees and allocates the same sizes again. Free memory
    ///   above 128 MiB at the top of the heap still goes back to the system.
    /// - The heap grows 64 MiB at a time, and past its first MiB it is advised to use transparent huge
    ///   pages: a long graph then faults in 2 MiB at a time instead of 4 KiB. The first MiB keeps small
    ///   pages, so a small session's memory stays small. Measurements: docs/DECISIONS.md, "Measurements behind the code".
    public static func configureProcessHeap() {
        let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3
        _ = mallopt(mmapThreshold, 64 << 20)
        _ = mallopt(trimThreshold, 128 << 20)
        _ = mallopt(topPad, 64 << 20)
        // One block grows the heap by itself and the pad; the heap's top stays put after it is freed.
        guard let probe = malloc(1 << 20) else { return }
        let start = UInt(bitPattern: probe) + UInt(smallPagePrefix)
        free(probe)
        guard let brk = sbrk(0) else { return }
        advise(MADV_HUGEPAGE, from: start, to: UInt(bitPattern: brk))
        heap = (UInt(bitPattern: probe), UInt(bitPattern: brk), heapBytesInUse())
    }

    /// The heap as `configureProcessHeap` left it: where the probe was (the top of the heap then), its end,
    /// and the bytes in use then. Written once, before any other thread starts.
    nonisolated(unsafe) private static var heap: (top: UInt, end: UInt, bytesInUse: Int) = (0, 0, 0)

    /// Faults in the heap's pages from its top at start-up (`populationRange`) to `bytes` past what it has
    /// handed out, without changing what they hold (`MADV_POPULATE_WRITE`), so that the next tensors do not
    /// fault them in 2 MiB at a time. For a thread that runs beside the main one (`BLAS.openInBackground`):
    /// the kernel does it, and a page the main thread touches first is simply there already. Returns 0, or
    /// the error `madvise` gave (EINVAL from a kernel older than 5.14).
    // NOTE: on a virtual machine that hands free memory back to its host, a fresh huge page costs the host's
    // faults too (docs/DECISIONS.md, "Round 8: W3"); pages past what the session then uses are resident for
    // nothing, so `bytes` stays small.
    @discardableResult
    static func populateHeap(ahead bytes: Int) -> Int32 {
        guard heap.end > heap.top else { return EINVAL }
        let (from, to) = populationRange(heap: heap, bytesInUse: heapBytesInUse(), ahead: bytes)
        return populate(from: from, to: to)
    }

    /// From the small page that holds the heap's top at start-up to `ahead` bytes past its top now, rounded up
    /// to a whole 2 MiB page, within its end: past the probe, the heap hands out its top in order, so its top
    /// now is the probe's place plus the bytes taken since.
    // NOTE: not from the 2 MiB page below the top: the heap starts where the program's data ends, rarely on a
    // 2 MiB boundary, and a range that begins outside it is refused whole (ENOMEM).
    static func populationRange(heap: (top: UInt, end: UInt, bytesInUse: Int), bytesInUse: Int, ahead: Int) -> (from: UInt, to: UInt) {
        let top = heap.top + UInt(Swift.max(0, bytesInUse - heap.bytesInUse))
        let from = heap.top & ~UInt(smallPage - 1)
        let to = Swift.min(heap.end, (top + UInt(ahead) + UInt(hugePage - 1)) & ~UInt(hugePage - 1))
        return (from, Swift.max(from, to))
    }

    /// Makes the pages between two addresses present, as if written, without writing to them.
    @discardableResult
    static func populate(from: UInt, to: UInt) -> Int32 {
        guard to > from, let pointer = UnsafeMutableRawPointer(bitPattern: from) else { return 0 }
        return madvise(pointer, Int(to - from), populateWrite) == 0 ? 0 : errno
    }

    private static let smallPage = 4096

    /// `MADV_POPULATE_WRITE` (Linux 5.14; older kernels refuse it, and nothing is done).
    private static let populateWrite: Int32 = 23

    /// Where huge pages start, past the probe: small pages below it.
    private static let smallPagePrefix = 1 << 20

    /// Buffers at least this large are prepared by `prepareLargeBuffer`.
    static let largeBufferThreshold = 4 << 20
    private static let hugePage = 2 << 20

    /// Takes a new large buffer (a result of 4 MiB or more) out of the heap's huge pages, before it is
    /// first written.
    ///
    /// NOTE: on a virtual machine that hands free 2 MiB blocks back to its host (free page reporting, as
    /// on this project's CI machine), a fresh huge page is one the host must fault in again, 4 KiB at a
    /// time, while small pages often come from memory the host still backs. A script is usually the first
    /// run after other work, so small pages it is (measurements: docs/DECISIONS.md, "Measurements behind the code").
    static func prepareLargeBuffer(_ buffer: UnsafeMutableBufferPointer<Double>) {
        let bytes = buffer.count * MemoryLayout<Double>.stride
        guard bytes >= largeBufferThreshold, let base = buffer.baseAddress else { return }
        advise(MADV_NOHUGEPAGE, from: UInt(bitPattern: base), to: UInt(bitPattern: base) + UInt(bytes))
    }

    /// `madvise(advice)` over the whole 2 MiB pages between two addresses.
    private static func advise(_ advice: Int32, from start: UInt, to end: UInt) {
        let from = (start + UInt(hugePage - 1)) & ~UInt(hugePage - 1)
        let to = end & ~UInt(hugePage - 1)
        guard to > from, let pointer = UnsafeMutableRawPointer(bitPattern: from) else { return }
        _ = madvise(pointer, Int(to - from), advice)
    }

    // MARK: The memory values hold

    /// An estimate of the memory that the values alive hold, in 8-byte words: each value's elements and
    /// `valueWords` for the value itself. Values (in Autodiff) add their share when made and take it away
    /// when freed.
    nonisolated(unsafe) public static var liveWords = 0
    /// A value's own memory, in words: its object and its share of the node that made it.
    public static let valueWords = 12

    /// The most the values alive may hold, in bytes (`:set memory`); 0: half the machine's memory (or of
    /// its control group's limit, when lower), read when first needed.
    // NOTE: without it, a loop whose tape grows fast (a gradient of a gradient of ..., or a step that keeps
    // a large tensor on the tape) ended in the kernel's out-of-memory kill, with the session lost.
    nonisolated(unsafe) public static var liveLimitBytes = 0 {
        didSet { nextCheck = liveLimitBytes > 0 ? liveLimitBytes / 8 : firstCheck }
    }
    /// Below this many live words, `checkLive` is one comparison; the machine's memory is read once past it.
    @usableFromInline static let firstCheck = 1 << 26
    @usableFromInline nonisolated(unsafe) static var nextCheck = firstCheck

    /// Throws when the values alive, with `words` more, would hold more than the limit. Operations call it
    /// before they compute, so that a statement fails (and frees what it made) instead of the process.
    @inlinable
    public static func checkLive(adding words: Int = 0) throws {
        if liveWords &+ words > nextCheck { try checkLiveAgainstLimit(adding: words) }
        checksSinceHeap &+= 1
        if checksSinceHeap & heapCheckPeriod == 0 { try checkHeap() }
    }

    /// Every 16,384th check also measures the whole heap (a few microseconds): memory that the count above
    /// misses (the bookkeeping of a graph that doubles at each `grad` of a `grad`, a parse tree) is held to
    /// the same limit, so such a loop fails with "not enough memory" instead of being killed by the kernel.
    @usableFromInline nonisolated(unsafe) static var checksSinceHeap = 0
    @usableFromInline static let heapCheckPeriod = (1 << 14) - 1

    @usableFromInline static func checkHeap() throws {
        let limit = liveLimitBytes > 0 ? liveLimitBytes : machineMemory / 2
        let used = heapBytesInUse()
        guard used > limit else { return }
        let whose = liveLimitBytes > 0 ? "the limit set with :set memory" : "half this machine's memory"
        throw TensorError("not enough memory: tapebook holds \(describeBytes(used)), more than \(describeBytes(limit)) (\(whose))")
    }

    @usableFromInline static func checkLiveAgainstLimit(adding words: Int) throws {
        let limit = liveLimitBytes > 0 ? liveLimitBytes : machineMemory / 2
        nextCheck = limit / 8
        guard liveWords + words > nextCheck else { return }
        let whose = liveLimitBytes > 0 ? "the limit set with :set memory" : "half this machine's memory"
        throw TensorError("not enough memory: the values alive would hold more than \(describeBytes(limit)) (\(whose))")
    }

    /// The machine's memory in bytes, or less: the limits of this process's own control groups and its
    /// address-space limit (`ulimit -v`).
    /// Read once, when first needed.
    static let machineMemory: Int = {
        var bytes = max(1, sysconf(Int32(_SC_PHYS_PAGES))) * max(1, sysconf(Int32(_SC_PAGESIZE)))
        if let limit = controlGroupLimit(membership: FileText.read("/proc/self/cgroup") ?? "", read: FileText.read) {
            bytes = min(bytes, limit)
        }
        if let addressSpaceLimit { bytes = min(bytes, addressSpaceLimit) }
        return bytes
    }()

    /// This process's address-space limit (`ulimit -v`) in bytes, or nil when there is none. Read once.
    static let addressSpaceLimit: Int? = {
        var addressSpace = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &addressSpace) == 0, addressSpace.rlim_cur < rlim_t(Int.max) else { return nil }
        return Int(addressSpace.rlim_cur)
    }()

    /// The lowest memory limit on the way from this process's control group up to the root, in cgroup v2
    /// (`0::/path`, `memory.max`) and v1 (`N:memory:/path`, `memory.limit_in_bytes`), or nil for none.
    /// `membership` is `/proc/self/cgroup`; `read` reads a file (tests pass a dictionary).
    static func controlGroupLimit(membership: String, read: (String) -> String?) -> Int? {
        var lowest: Int?
        func consider(_ folder: String, _ file: String) {
            guard let text = read(folder + "/" + file), let limit = Int(text.filter { !$0.isWhitespace }), limit > 0 else { return }
            lowest = min(lowest ?? limit, limit)
        }
        for line in membership.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            let root: String, file: String
            if fields[0] == "0" && fields[1].isEmpty {
                (root, file) = ("/sys/fs/cgroup", "memory.max")
            } else if fields[1].split(separator: ",").contains("memory") {
                (root, file) = ("/sys/fs/cgroup/memory", "memory.limit_in_bytes")
            } else {
                continue
            }
            // Every folder from the process's group up to the root: a parent's limit holds for its children.
            var components = path.split(separator: "/").map(String.init)
            while true {
                consider(root + (components.isEmpty ? "" : "/" + components.joined(separator: "/")), file)
                if components.isEmpty { break }
                components.removeLast()
            }
        }
        return lowest
    }

    /// "512 KiB", "1.5 MiB", "11.7 GiB".
    public static func describeBytes(_ bytes: Int) -> String {
        func tenths(_ unit: Int) -> String {
            let t = (bytes * 10 + unit / 2) / unit
            return t % 10 == 0 ? "\(t / 10)" : "\(t / 10).\(t % 10)"
        }
        if bytes < 1 << 20 { return "\((bytes + 512) >> 10) KiB" }
        if bytes < 1 << 30 { return "\(tenths(1 << 20)) MiB" }
        return "\(tenths(1 << 30)) GiB"
    }

    /// `count` elements, each `value`, in a buffer prepared as above when large.
    static func filled(_ value: Double, count: Int) -> [Double] {
        guard count * MemoryLayout<Double>.stride >= largeBufferThreshold else { return [Double](specializedRepeating: value, count: count) }
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            prepareLargeBuffer(buffer)
            buffer.initialize(repeating: value)
            initialized = count
        }
    }
}
