import Glibc

/// Nanoseconds on the monotonic clock (`CLOCK_MONOTONIC`), for measuring elapsed time: only
/// differences between two readings mean anything.
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
