#if canImport(Glibc)
import Glibc
#endif

/// How far the current thread's stack has grown, so that recursion driven by input (a recursive
/// function) stops with an error before the stack overflows.
public struct StackMeter {
    private let start: UInt
    /// The bytes of stack that may be used below the point where the meter was made.
    public let budget: UInt

    /// A meter from here, allowing half of the stack limit, at most 4 MiB (a debug build's frames are large).
    /// Make it on the thread that will recurse.
    public init() {
        start = StackMeter.here()
        budget = StackMeter.defaultBudget
    }

    private static let defaultBudget: UInt = {
        var limit = rlimit()
        let soft = getrlimit(__rlimit_resource_t(RLIMIT_STACK.rawValue), &limit) == 0 ? UInt(limit.rlim_cur) : 0
        return soft == 0 || soft > 8 << 20 ? 4 << 20 : soft / 2
    }()

    /// Whether more than the budget is in use since the meter was made.
    public var isNearlyFull: Bool {
        let now = StackMeter.here()
        return now < start && start - now > budget
    }

    @inline(never)
    private static func here() -> UInt {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }
}
