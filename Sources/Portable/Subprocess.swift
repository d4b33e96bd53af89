import FoundationEssentials
import Glibc

/// Runs programs as Foundation's `Process` did on Linux, with standard input fed from a buffer,
/// standard error read back and standard output sent to `/dev/null`.
public enum Subprocess {
    /// Runs `program` (a path) with `arguments`, writes `input` to its standard input and closes it,
    /// reads its standard error to the end and waits for it. Returns its exit status (the signal's
    /// number when a signal ended it) and what it wrote to standard error.
    ///
    /// As with `Process`: the child gets this process's environment and working directory, only the
    /// three standard file descriptors, and a process group of its own (so Ctrl-C at the terminal does
    /// not reach it). A program that is missing, not a regular file or not executable throws the
    /// `CocoaError` Foundation threw.
    public static func run(_ program: String, arguments: [String], input: [UInt8]) throws -> (status: Int32, errorOutput: [UInt8]) {
        var info = stat()
        guard stat(program, &info) == 0 else { throw readError(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw CocoaError(.fileNoSuchFile) }
        guard access(program, X_OK) == 0 else { throw readError(errno) }

        var inputPipe: [Int32] = [-1, -1], errorPipe: [Int32] = [-1, -1]
        guard pipe(&inputPipe) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard pipe(&errorPipe) == 0 else {
            close(inputPipe[0]); close(inputPipe[1])
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        let devNull = open("/dev/null", O_RDWR)
        defer { if devNull >= 0 { close(devNull) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, devNull, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], STDERR_FILENO)
        for fd in openDescriptors() where fd > STDERR_FILENO {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))

        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0)=\($1)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        close(inputPipe[0])
        close(errorPipe[1])
        guard spawned == 0 else {
            close(inputPipe[1]); close(errorPipe[0])
            throw readError(spawned)
        }

        StandardStreams.writeAll(inputPipe[1], input)
        close(inputPipe[1])
        var errorOutput: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(errorPipe[0], $0.baseAddress, $0.count) }
            if count > 0 { errorOutput.append(contentsOf: chunk[..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            break
        }
        close(errorPipe[0])

        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let signal = status & 0x7F
        return (signal != 0 && signal != 0x7F ? signal : (status >> 8) & 0xFF, errorOutput)
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
