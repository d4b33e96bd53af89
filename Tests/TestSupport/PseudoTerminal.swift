import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process whose standard input, output and error are the slave side of a
/// pseudo-terminal, driven from the master side: keystrokes in, screen bytes out.
///
/// The child is started in a new session (`POSIX_SPAWN_SETSID`) and opens the slave as
/// its controlling terminal, so `isatty` is true and Ctrl-C (`\u{03}`) written to the
/// master reaches it as SIGINT from the line discipline, exactly as at a real keyboard.
///
/// Nothing here waits a fixed time: each wait is for something the child does (text it prints, a read it
/// blocks in, its exit). The timeouts only bound how long a broken child can hang a test; they are long,
/// so that a busy machine never reaches them.
public final class PseudoTerminal {
    public enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        case timedOut(waitingFor: String, transcript: String)

        public var description: String {
            switch self {
            case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
            case .timedOut(let needle, let transcript):
                return "timed out waiting for \(needle.debugDescription); output so far:\n\(transcript.debugDescription)"
            }
        }
    }

    public let processID: pid_t
    private let master: Int32
    /// Everything the child has written, as UTF-8 text with terminal escapes left in.
    public private(set) var transcript = ""
    /// How far `expect` has consumed `transcript` (in UTF-8 bytes).
    private var consumed = 0
    private var bytes: [UInt8] = []
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` (not including argv[0]) in a terminal of the given size.
    /// `environment` replaces the parent's entirely when given; `TERM` defaults to `xterm`.
    public init(executable: String, arguments: [String] = [], environment: [String: String]? = nil,
         columns: UInt16 = 80, rows: UInt16 = 24) throws {
        var masterFD: Int32 = -1
        var slaveFD: Int32 = -1
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        var name = [CChar](repeating: 0, count: 256)
        guard openpty(&masterFD, &slaveFD, &name, nil, &size) == 0 else {
            throw Failure.system("openpty", errno)
        }
        defer { close(slaveFD) }
        master = masterFD
        let slavePath = String(cString: name)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, masterFD)
        posix_spawn_file_actions_addclose(&actions, slaveFD)
        // Opened after setsid, without O_NOCTTY: it becomes the controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Default SIGINT disposition in the child even if the test runner ignores it.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        let setSession: Int32 = 0x80  // POSIX_SPAWN_SETSID, a GNU macro Swift does not import
        posix_spawnattr_setflags(&attributes, Int16(setSession | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var environmentEntries = environment ?? ProcessInfo.processInfo.environment
        if environmentEntries["TERM"] == nil { environmentEntries["TERM"] = "xterm" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environmentEntries.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            close(masterFD)
            throw Failure.system("posix_spawn \(executable)", status)
        }
        processID = pid
    }

    deinit {
        if exitStatus == nil {
            kill(processID, SIGKILL)
            _ = waitForExit(timeout: 2)
        }
        close(master)
    }

    /// Types `text` (UTF-8) as if at the keyboard. Control keys are characters:
    /// `\u{03}` Ctrl-C, `\u{04}` Ctrl-D, `\u{12}` Ctrl-R, `\t` Tab, `\r` Enter, `"\u{1B}[A"` Up.
    public func send(_ text: String) {
        var remaining = Array(text.utf8)
        while !remaining.isEmpty {
            let written = remaining.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if written < 0 { if errno == EINTR { continue } else { return } }
            remaining.removeFirst(written)
        }
    }

    /// Reads whatever arrives within `timeout` seconds; returns false once the child has
    /// closed the terminal (exited).
    @discardableResult
    public func pump(timeout: TimeInterval) -> Bool {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, timeout * 1000)))
        guard ready > 0 else { return true }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(master, &buffer, buffer.count)
        // EIO: every slave descriptor is closed, i.e. the child is gone.
        guard count > 0 else { return false }
        bytes += buffer[..<count]
        transcript = String(decoding: bytes, as: UTF8.self)
        return true
    }

    /// Waits until `needle` appears in output not yet consumed, and consumes through it.
    /// Returns the output from the previous consumption point up to and including `needle`.
    @discardableResult
    public func expect(_ needle: String, timeout: TimeInterval = 60) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var childOpen = true
        while true {
            let unread = String(decoding: bytes[consumed...], as: UTF8.self)
            if let range = unread.range(of: needle) {
                let through = String(unread[..<range.upperBound])
                consumed += through.utf8.count
                return through
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0, childOpen else {
                throw Failure.timedOut(waitingFor: needle, transcript: unread)
            }
            childOpen = pump(timeout: min(remaining, 0.1))
        }
    }

    /// Waits for `prompt`, then until the child is blocked reading a key (`waitUntilReadingInput`).
    /// Use it before typing at a line-editing prompt.
    @discardableResult
    public func expectPrompt(_ prompt: String, timeout: TimeInterval = 60) throws -> String {
        let output = try expect(prompt, timeout: timeout)
        try waitUntilReadingInput(timeout: timeout)
        return output
    }

    /// Waits until the child's main thread is blocked in `read` on its standard input: the one moment when
    /// the next key, Ctrl-C included, reaches that read. Call it once the child has shown (by an echo, a
    /// prompt or a line it prints) that it has taken every key sent before: a key still on its way through
    /// the terminal does not show, and the read it will end may look blocked for a moment.
    ///
    /// NOTE: the terminal's mode is not enough. libedit switches to raw mode before it draws the prompt
    /// and redraws the line after each key; a Ctrl-C that arrives while it draws runs its signal handler
    /// outside the read, which then waits for the next key, so the Ctrl-C seems lost. Seeing the echo of
    /// a key does not help either: libedit echoes before it reads again.
    public func waitUntilReadingInput(timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !isBlockedReadingInput {
            guard deadline.timeIntervalSinceNow > 0, isRunning else {
                throw Failure.timedOut(waitingFor: "a read of standard input", transcript: transcript)
            }
            // Keeps the child's output flowing (it may be blocked writing to a full terminal).
            pump(timeout: 0.002)
        }
    }

    /// Whether the child's main thread is blocked in `read(0, …)`, from `/proc/PID/syscall` (the system
    /// call a blocked thread is in, and its arguments; `running` otherwise).
    public var isBlockedReadingInput: Bool {
        guard let text = try? String(contentsOfFile: "/proc/\(processID)/syscall", encoding: .utf8) else { return false }
        let fields = text.split(separator: " ")
        return fields.count > 1 && fields[0] == "\(Self.readSystemCall)" && fields[1] == "0x0"
    }

    #if arch(x86_64)
    private static let readSystemCall = 0
    #elseif arch(arm64)
    private static let readSystemCall = 63
    #endif

    /// Output not yet consumed by `expect`, after reading for `timeout` seconds.
    public func drain(timeout: TimeInterval = 0.3) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0, pump(timeout: deadline.timeIntervalSinceNow) {}
        let text = String(decoding: bytes[consumed...], as: UTF8.self)
        consumed = bytes.count
        return text
    }

    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(processID, &status, WNOHANG) == processID {
            exitStatus = status
            return false
        }
        return true
    }

    /// The child's exit code (or 128 + signal), or nil if it is still running after `timeout`.
    public func waitForExit(timeout: TimeInterval = 60) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if deadline.timeIntervalSinceNow <= 0 { return nil }
            _ = pump(timeout: 0.05)
        }
        guard let status = exitStatus else { return nil }
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

/// The absolute path of `program` on `PATH`, if any.
public func which(_ program: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(program)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}
