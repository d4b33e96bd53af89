import FoundationEssentials
import Glibc
import CPortable

/// Runs programs as Foundation's `Process` did on Linux, with standard input fed from a buffer,
/// standard error read back and standard output sent to `/dev/null`.
public enum Subprocess {
    /// What a program did: its exit status (the signal's number when a signal ended it), what it wrote,
    /// and whether it was killed for running past its time limit or for an interruption.
    public struct Result {
        public var status: Int32
        public var output: [UInt8]
        public var errorOutput: [UInt8]
        public var timedOut = false
        public var interrupted = false
    }

    /// Runs `program` (a path) with `arguments`, writes `input` to its standard input and closes it, reads
    /// its standard output and error to the end and waits for it.
    ///
    /// The child gets this process's environment and working directory, only the three standard file
    /// descriptors, and a process group of its own (so Ctrl-C at the terminal does not reach it). That group
    /// is killed when `timeLimit` seconds pass, when `interrupted` answers true (polled every 50 ms), and by
    /// the signal handlers of `tapebook_cleanup_install` if a signal ends tapebook meanwhile. A program that
    /// is missing, not a regular file or not executable throws the `CocoaError` Foundation threw.
    public static func run(_ program: String, arguments: [String], input: [UInt8], timeLimit: Double = .infinity,
                           interrupted: (() -> Bool)? = nil) throws -> Result {
        var info = stat()
        guard stat(program, &info) == 0 else { throw readError(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw CocoaError(.fileNoSuchFile) }
        guard access(program, X_OK) == 0 else { throw readError(errno) }

        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else {
                let code = errno
                for p in pipes { close(p[0]); close(p[1]) }
                throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
            }
            pipes.append(ends)
        }
        let (inputPipe, outputPipe, errorPipe) = (pipes[0], pipes[1], pipes[2])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], STDERR_FILENO)
        for fd in openDescriptors() where fd > STDERR_FILENO {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, with the default signal dispositions (ours catch SIGINT and SIGTERM).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF))

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0)=\($1)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        close(inputPipe[0]); close(outputPipe[1]); close(errorPipe[1])
        guard spawned == 0 else {
            close(inputPipe[1]); close(outputPipe[0]); close(errorPipe[0])
            throw readError(spawned)
        }
        tapebook_cleanup_set_child_group(pid)
        defer { tapebook_cleanup_set_child_group(0) }

        var result = Result(status: 0, output: [], errorOutput: [])
        _ = fcntl(inputPipe[1], F_SETFL, fcntl(inputPipe[1], F_GETFL) | O_NONBLOCK)
        var inputFd = input.isEmpty ? Int32(-1) : inputPipe[1]
        if inputFd < 0 { close(inputPipe[1]) }
        var outputFd = outputPipe[0], errorFd = errorPipe[0]
        var written = 0
        let deadline = timeLimit.isFinite ? monotonicNanoseconds() + UInt64(max(0, timeLimit) * 1e9) : UInt64.max
        var chunk = [UInt8](repeating: 0, count: 65536)
        func drain(_ fd: inout Int32, into bytes: inout [UInt8]) {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 { bytes.append(contentsOf: chunk[..<count]) } else if count == 0 || errno != EINTR && errno != EAGAIN { close(fd); fd = -1 }
        }
        while outputFd >= 0 || errorFd >= 0 || inputFd >= 0 {
            if monotonicNanoseconds() >= deadline { result.timedOut = true; break }
            if let interrupted, interrupted() { result.interrupted = true; break }
            var fds = [pollfd(fd: inputFd, events: Int16(POLLOUT), revents: 0),
                       pollfd(fd: outputFd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: errorFd, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 3, 50)
            if ready < 0 && errno != EINTR { break }
            if ready <= 0 { continue }
            if inputFd >= 0 && fds[0].revents != 0 {
                let count = input.withUnsafeBytes { write(inputFd, $0.baseAddress! + written, $0.count - written) }
                if count > 0 { written += count }
                if written == input.count || (count < 0 && errno != EAGAIN && errno != EINTR) { close(inputFd); inputFd = -1 }
            }
            if outputFd >= 0 && fds[1].revents != 0 { drain(&outputFd, into: &result.output) }
            if errorFd >= 0 && fds[2].revents != 0 { drain(&errorFd, into: &result.errorOutput) }
        }
        if result.timedOut || result.interrupted { kill(-pid, SIGKILL) }
        for fd in [inputFd, outputFd, errorFd] where fd >= 0 { close(fd) }
        // Whatever the program left running in its group goes with it; the group is killed while the
        // program is a zombie (waited for, not yet reaped), so its number cannot have been reused.
        var exited = siginfo_t()
        while waitid(P_PID, id_t(pid), &exited, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7F
        result.status = signal != 0 && signal != 0x7F ? signal : (status >> 8) & 0xFF
        return result
    }

    /// The error Foundation made of `errno` when reading a file.
    private static func readError(_ code: Int32) -> CocoaError {
        switch code {
        case EFBIG: return CocoaError(.fileReadTooLarge)
        case ENOENT: return CocoaError(.fileReadNoSuchFile)
        case EPERM, EACCES: return CocoaError(.fileReadNoPermission)
        default: return CocoaError(.fileReadUnknown)
        }
    }

    /// The file descriptors open in this process.
    private static func openDescriptors() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return Array(0..<Int32(min(getdtablesize(), 65536))) }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var result: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd != own { result.append(fd) }
        }
        return result
    }
}
