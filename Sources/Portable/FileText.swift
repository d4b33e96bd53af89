import Glibc

/// Whole files read with `open`/`read`.
public enum FileText {
    /// The text of the file at `path` as UTF-8 (a leading byte-order mark dropped), or nil when it cannot
    /// be read or is not valid UTF-8 — what `String(contentsOfFile:encoding: .utf8)` answered, without
    /// Foundation's first-use costs on the way to a session's first statement.
    public static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 { bytes.append(contentsOf: chunk[..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            break
        }
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes[3...] : bytes[...]
        return String(validating: body, as: UTF8.self)
    }
}
