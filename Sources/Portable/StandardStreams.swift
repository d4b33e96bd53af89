import Glibc

/// Unbuffered reads and writes on the standard file descriptors, as Foundation's `FileHandle` did.
public enum StandardStreams {
    /// Writes `text` to standard error at once (not through `stderr`'s buffer). Errors are ignored.
    public static func writeError(_ text: String) {
        writeAll(STDERR_FILENO, Array(text.utf8))
    }

    /// Everything left on standard input, up to end of file or the first read error.
    public static func readInputToEnd() -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count > 0 { data.append(contentsOf: chunk[..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            return data
        }
    }

    /// `fsync` on standard output, as `FileHandle.standardOutput.synchronizeFile()` did (failures, as on
    /// a pipe or terminal, are ignored).
    public static func synchronizeOutput() {
        _ = fsync(STDOUT_FILENO)
    }

    /// Writes all of `bytes` to `fd`, retrying after interruptions and short writes; stops at an error.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
