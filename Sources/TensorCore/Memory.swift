#if canImport(Glibc)
import Glibc
#endif

/// Advice to the kernel about tensor buffers.
enum Memory {
    /// Buffers at least this large are backed by huge pages where the system allows it (`madvise` mode).
    static let hugePageThreshold = 4 << 20
    private static let hugePage = 2 << 20

    /// Asks for huge pages over the 2 MiB-aligned interior of a new, not yet written buffer: a large result
    /// then faults in a few 2 MiB pages instead of thousands of 4 KiB ones (W6 writes 40 MiB of results).
    /// Best effort: ignored where transparent huge pages are off.
    static func adviseHugePages(_ buffer: UnsafeMutableBufferPointer<Double>) {
        let bytes = buffer.count * MemoryLayout<Double>.stride
        guard bytes >= hugePageThreshold, let base = buffer.baseAddress else { return }
        let start = (UInt(bitPattern: base) + UInt(hugePage - 1)) & ~UInt(hugePage - 1)
        let end = (UInt(bitPattern: base) + UInt(bytes)) & ~UInt(hugePage - 1)
        guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(pointer, Int(end - start), MADV_HUGEPAGE)
    }

    /// `count` elements, each `value`, in a buffer advised as above when large.
    static func filled(_ value: Double, count: Int) -> [Double] {
        guard count * MemoryLayout<Double>.stride >= hugePageThreshold else { return [Double](repeating: value, count: count) }
        return [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            adviseHugePages(buffer)
            buffer.initialize(repeating: value)
            initialized = count
        }
    }
}
