import CLibEdit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C, as seen by the REPL and the evaluator.
///
/// The SIGINT handler (installed once by `install()`, and by `EditLineReader`) only sets
/// an async-signal-safe flag and bumps a counter kept in C. At the prompt, Ctrl-C makes
/// `readLine` return `.interrupted`; while a statement runs, the evaluator polls
/// `isRequested` at safe points (loop iterations, primitive calls) and stops.
public enum Interrupt {
    /// Installs the SIGINT handler (without `SA_RESTART`). Idempotent.
    public static func install() {
        _ = tb_interrupt_install()
    }

    /// Whether Ctrl-C was pressed since the last `clear()`.
    public static var isRequested: Bool { tb_interrupt_is_requested() != 0 }

    /// Forgets a pending request; call before running each statement.
    public static func clear() { tb_interrupt_clear() }

    /// Ctrl-C presses since a line was last entered; the REPL exits when this reaches 3.
    /// Readers reset it whenever they return `.line`.
    public static var consecutiveCount: Int { Int(tb_interrupt_count()) }

    /// Starts counting consecutive Ctrl-C presses afresh.
    public static func resetConsecutiveCount() { tb_interrupt_reset_count() }

    /// After a read failed with EINTR, waits until the handler has recorded the SIGINT, which in a
    /// multi-threaded process may run on another thread a moment later; so `consecutiveCount` is up to
    /// date when `readLine` returns `.interrupted`. It returns at once when the handler has run; the bound
    /// (2 s) is for a machine so busy that the other thread waits that long to be scheduled.
    static func waitForHandler() {
        var waited = 0
        while !isRequested && waited < 2000 {
            usleep(1000)
            waited += 1
        }
    }
}
