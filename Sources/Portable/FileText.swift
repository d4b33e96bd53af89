import Glibc
import CPortable

/// Whole files read with `open`/`read`.
public enum FileText {
    /// Why a file could not be read: the `errno` of the call that failed.
    public struct ReadError: Error {
        public let code: Int32
    }

    /// The bytes of the file at `path`. A directory fails with `EISDIR` (from `read`).
    public static func readBytes(_ path: String) -> Result<[UInt8], ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(ReadError(code: errno)) }
        defer { close(fd) }
        return readBytes(fd: fd)
    }

    /// The bytes of the open file `fd`, from its current offset.
    public static func readBytes(fd: Int32) -> Result<[UInt8], ReadError> {
        var info = stat()
        let expected = fstat(fd, &info) == 0 && info.st_size > 0 ? Int(info.st_size) : 0
        // Read straight into a buffer of the file's size (one more byte tells whether it grew), then in
        // chunks for whatever is left: a small file costs one read and no zeroed scratch buffer.
        var bytes: [UInt8] = []
        var failure: Int32 = 0
        let capacity = expected + 1
        bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            while initialized < capacity {
                let count = Glibc.read(fd, buffer.baseAddress! + initialized, capacity - initialized)
                if count > 0 { initialized += count; continue }
                if count < 0 && errno == EINTR { continue }
                if count < 0 { failure = errno }
                return
            }
        }
        if failure != 0 { return .failure(ReadError(code: failure)) }
        guard bytes.count == capacity else { return .success(bytes) }
        let code = appendRest(of: fd, to: &bytes)
        return code == 0 ? .success(bytes) : .failure(ReadError(code: code))
    }

    /// Reads from `fd` at `offset` until `buffer` is full or the file ends; how many bytes it read (fewer on
    /// an error).
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var done = 0
        while done < buffer.count {
            let count = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if count > 0 { done += count; continue }
            if count < 0 && errno == EINTR { continue }
            break
        }
        return done
    }

    /// Reads `fd` to its end in 64 KiB chunks, appending to `bytes`; 0, or the `errno` of a failed read.
    static func appendRest(of fd: Int32, to bytes: inout [UInt8]) -> Int32 {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 { bytes.append(contentsOf: chunk[..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            return count < 0 ? errno : 0
        }
    }

    /// Whether `path` is a regular file (following links), found without reading it or waiting on a pipe.
    public static func isRegularFile(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        return fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// The text of the file at `path` as UTF-8 (a leading byte-order mark dropped), or nil when it cannot
    /// be read or is not valid UTF-8 — what `String(contentsOfFile:encoding: .utf8)` answered, without
    /// Foundation's first-use costs on the way to a session's first statement.
    public static func read(_ path: String) -> String? {
        guard case .success(let bytes) = readBytes(path) else { return nil }
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes[3...] : bytes[...]
        return validUTF8(body)
    }

    /// The text of `bytes` when they are UTF-8, else nil. Decoding repairs an invalid sequence with U+FFFD,
    /// so the text is the same bytes exactly when there was none to repair. `String(validating:as:)` is
    /// generic: its first use looked up metadata and witnesses (14K instructions, 1% of `tapebook run` of a
    /// one-line file).
    public static func validUTF8(_ bytes: ArraySlice<UInt8>) -> String? {
        var text = String(decoding: bytes, as: UTF8.self)
        guard text.utf8.count == bytes.count else { return nil }
        if bytes.isEmpty { return text }
        let same = text.withUTF8 { decoded in
            bytes.withUnsafeBufferPointer { memcmp(decoded.baseAddress!, $0.baseAddress!, $0.count) == 0 }
        }
        return same ? text : nil
    }

    /// Makes `bytes` the whole content of the file at `path`; 0, or the `errno` of the step that failed.
    ///
    /// A regular file (new or old) is replaced atomically: a temporary file beside it, then a rename, so a
    /// failed write leaves the old content. A symbolic link is followed, not replaced; a path that is not a
    /// regular file (`/dev/null`, a pipe) is written in place, since renaming over it would destroy it.
    public static func replace(_ path: String, with bytes: [UInt8]) -> Int32 {
        var target = path
        if let resolved = realpath(path, nil) {
            target = String(cString: resolved)
            free(resolved)
        }
        var info = stat()
        let exists = stat(target, &info) == 0
        var link = stat()
        let danglingLink = !exists && lstat(target, &link) == 0 && link.st_mode & S_IFMT == S_IFLNK
        if (exists && info.st_mode & S_IFMT != S_IFREG) || danglingLink {
            if exists && info.st_mode & S_IFMT == S_IFDIR { return EISDIR }
            let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
            guard fd >= 0 else { return errno }
            let code = writeAll(fd, bytes)
            return close(fd) != 0 && code == 0 ? errno : code
        }
        let temporary = PathText.appending(temporaryName(), to: PathText.deletingLastComponent(target))
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
        guard fd >= 0 else { return errno }
        let slot = tapebook_cleanup_add_file(temporary)
        defer { tapebook_cleanup_remove_file(slot) }
        // A replaced file keeps its permissions.
        if exists { _ = fchmod(fd, info.st_mode & 0o7777) }
        var code = writeAll(fd, bytes)
        if close(fd) != 0 && code == 0 { code = errno }
        if code == 0 && rename(temporary, target) != 0 { code = errno }
        if code != 0 { unlink(temporary) }
        return code
    }

    nonisolated(unsafe) private static var temporaryCount = 0

    /// A short hidden name for an atomic save's temporary file, so that it fits NAME_MAX beside a target
    /// of any allowed length (a suffix on the target's own name does not fit one of 248 bytes or more).
    static func temporaryName() -> String {
        temporaryCount += 1
        return ".tapebook-\(getpid())-\(temporaryCount).tmp"
    }

    /// Writes all of `bytes` to `fd`; 0, or the `errno` of a failed write.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let count = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if count > 0 { done += count; continue }
                if count < 0 && errno == EINTR { continue }
                return count < 0 ? errno : EIO
            }
            return 0
        }
    }
}
