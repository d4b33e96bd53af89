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
        _ = FileText.appendRest(of: STDIN_FILENO, to: &data)
        return data
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
