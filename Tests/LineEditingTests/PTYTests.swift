import Foundation
import LineEditing
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A child process whose standard input, output and error are the slave side of a
/// pseudo-terminal, driven from the master side: keystrokes in, screen bytes out.
///
/// The child is started in a new session (`POSIX_SPAWN_SETSID`) and opens the slave as
/// its controlling terminal, so `isatty` is true and Ctrl-C (`\u{03}`) written to the
/// master reaches it as SIGINT from the line discipline, exactly as at a real keyboard.
/// Reused by the end-to-end REPL tests.
final class PseudoTerminal {
    enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        case timedOut(waitingFor: String, transcript: String)

        var description: String {
            switch self {
            case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
            case .timedOut(let needle, let transcript):
                return "timed out waiting for \(needle.debugDescription); output so far:\n\(transcript.debugDescription)"
            }
        }
    }

    let processID: pid_t
    private let master: Int32
    /// Everything the child has written, as UTF-8 text with terminal escapes left in.
    private(set) var transcript = ""
    /// How far `expect` has consumed `transcript` (in UTF-8 bytes).
    private var consumed = 0
    private var bytes: [UInt8] = []
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` (not including argv[0]) in a terminal of the given size.
    /// `environment` replaces the parent's entirely when given; `TERM` defaults to `xterm`.
    init(executable: String, arguments: [String] = [], environment: [String: String]? = nil,
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
    func send(_ text: String) {
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
    func pump(timeout: TimeInterval) -> Bool {
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
    func expect(_ needle: String, timeout: TimeInterval = 10) throws -> String {
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

    /// Waits for `prompt`, then until the child has switched the terminal out of echo mode,
    /// i.e. libedit is reading keys. Use it before typing at a line-editing prompt.
    ///
    /// NOTE: libedit prints the prompt while the terminal is still cooked and enters raw
    /// mode just after; keys sent in between are echoed twice and a Ctrl-C in between
    /// is missed by the read that follows, so tests must not type ahead of this.
    @discardableResult
    func expectPrompt(_ prompt: String, timeout: TimeInterval = 10) throws -> String {
        let output = try expect(prompt, timeout: timeout)
        let deadline = Date().addingTimeInterval(timeout)
        var settings = termios()
        while tcgetattr(master, &settings) == 0, settings.c_lflag & tcflag_t(ECHO) != 0 {
            guard deadline.timeIntervalSinceNow > 0, isRunning else {
                throw Failure.timedOut(waitingFor: "raw mode after \(prompt.debugDescription)", transcript: transcript)
            }
            usleep(2000)
        }
        return output
    }

    /// Output not yet consumed by `expect`, after reading for `timeout` seconds.
    func drain(timeout: TimeInterval = 0.3) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0, pump(timeout: deadline.timeIntervalSinceNow) {}
        let text = String(decoding: bytes[consumed...], as: UTF8.self)
        consumed = bytes.count
        return text
    }

    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(processID, &status, WNOHANG) == processID {
            exitStatus = status
            return false
        }
        return true
    }

    /// The child's exit code (or 128 + signal), or nil if it is still running after `timeout`.
    func waitForExit(timeout: TimeInterval = 10) -> Int32? {
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

final class PseudoTerminalTests: XCTestCase {
    func testChildSeesATerminal() throws {
        let python = try XCTUnwrap(which("python3"), "python3 not found")
        let terminal = try PseudoTerminal(
            executable: python,
            arguments: ["-c", "import sys; print(sys.stdin.isatty(), sys.stdout.isatty())"])
        try terminal.expect("True True")
        XCTAssertEqual(terminal.waitForExit(), 0)
    }

    func testKeystrokesRoundTripThroughCat() throws {
        let terminal = try PseudoTerminal(executable: "/bin/cat")
        terminal.send("hello θ\r")
        // Once echoed by the terminal, once written by cat.
        try terminal.expect("hello θ\r\nhello θ\r\n")
        terminal.send("\u{04}")
        XCTAssertEqual(terminal.waitForExit(), 0)
    }

    func testCtrlCDeliversSIGINT() throws {
        let terminal = try PseudoTerminal(executable: "/bin/cat")
        terminal.send("\u{03}")
        XCTAssertEqual(terminal.waitForExit(), 128 + SIGINT)
    }

    func testTerminalSizeIsPinned() throws {
        let terminal = try PseudoTerminal(executable: "/bin/sh", arguments: ["-c", "stty size"],
                                          columns: 100, rows: 30)
        try terminal.expect("30 100")
    }
}

/// The absolute path of `program` on `PATH`, if any.
func which(_ program: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(program)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}
