#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads lines without editing, echo or prompt; for pipes and files (standard input by default).
///
/// A line ending in `\r\n` loses both characters. If SIGINT arrives while waiting and
/// `Interrupt.install()` was called, the wait ends with `.interrupted`.
public struct PlainLineReader: LineReader {
    private let input: UnsafeMutablePointer<FILE>

    public init(input: UnsafeMutablePointer<FILE> = stdin) {
        self.input = input
    }

    public mutating func readLine(prompt: String) -> LineReadResult {
        var buffer: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(buffer) }
        while true {
            errno = 0
            let count = getline(&buffer, &capacity, input)
            if count >= 0, let buffer {
                // NOTE: trimmed as bytes: in Swift "\r\n" is one Character, so
                // `hasSuffix("\n")` is false for a CRLF line.
                var length = count
                if length > 0 && buffer[length - 1] == 0x0A { length -= 1 }
                if length > 0 && buffer[length - 1] == 0x0D { length -= 1 }
                let line = String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
                Interrupt.resetConsecutiveCount()
                return .line(line)
            }
            if errno == EINTR {
                clearerr(input)
                Interrupt.waitForHandler()
                if Interrupt.isRequested { return .interrupted }
                continue
            }
            return .endOfInput
        }
    }
}
