import Glibc
import CPortable

/// Writes confined to one folder, as `sqlite3 -safe` confines a script: the file must lie inside the
/// folder (its subfolders included), carry one of the allowed extensions, have no hidden component below
/// the folder, and be reached without a symbolic link; an existing target must be a regular file.
///
/// Every component is opened with `O_NOFOLLOW` from the folder down (`openat`), and the content goes to
/// a new temporary file (`O_CREAT | O_EXCL | O_NOFOLLOW`) renamed over the target, so a link swapped in
/// after the checks is replaced, never followed.
public enum ConfinedFile {
    /// Why a write was refused, before anything was written.
    public enum Refusal: Error, Equatable {
        /// The path leaves the folder (an absolute path elsewhere, or `..`).
        case outsideFolder
        /// The last component's extension is not one the statement writes.
        case wrongExtension
        /// A component below the folder starts with `.` (`.git`, `.bashrc`).
        case hiddenName(String)
        /// A component below the folder is a symbolic link.
        case symbolicLink(String)
        /// The target exists and is not a regular file (a device, a pipe, a folder).
        case specialFile
    }

    public enum Failure: Error {
        case refused(Refusal)
        /// A system call failed with this `errno`.
        case system(Int32)
    }

    /// `base/name` with `.`, `..` and repeated `/` resolved by their text alone; `base` is made absolute
    /// against the working directory.
    public static func absolute(_ name: String, base: String) -> [Substring] {
        var start = name.hasPrefix("/") ? "" : base
        if !start.hasPrefix("/") && !name.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil { start = PathText.appending(start, to: String(cString: buffer)) }
        }
        var components: [Substring] = []
        for part in (start + "/" + name).split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !components.isEmpty { components.removeLast() }; continue }
            components.append(part)
        }
        return components
    }

    /// The folder's path with its symbolic links resolved (`realpath`), or nil when it does not exist.
    public static func resolvedFolder(_ folder: String) -> String? {
        guard let resolved = realpath(folder.isEmpty ? "." : folder, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Checks `name` (resolved against `base`) against the rules for `folder` (already resolved, see
    /// `resolvedFolder`) and the allowed extensions (lower case, without the dot), then writes `bytes`
    /// atomically. Nothing is written when it fails.
    /// With `performing` false, only checks: what a write would refuse, nothing written.
    public static func write(_ bytes: [UInt8], to name: String, base: String, folder: String, extensions: [String],
                             performing: Bool = true) -> Result<Void, Failure> {
        let path = absolute(name, base: resolvedFolder(base) ?? base)
        let root = absolute(folder, base: "/")
        guard path.count > root.count, Array(path.prefix(root.count)) == root else { return .failure(.refused(.outsideFolder)) }
        let below = Array(path.dropFirst(root.count))
        let last = String(below.last!)
        guard extensions.contains(PathText.pathExtension(last).lowercased()) else { return .failure(.refused(.wrongExtension)) }
        if let hidden = below.first(where: { $0.hasPrefix(".") }) { return .failure(.refused(.hiddenName(String(hidden)))) }

        var directory = open("/" + root.joined(separator: "/"), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return .failure(.system(errno)) }
        defer { close(directory) }
        for component in below.dropLast() {
            let next = openat(directory, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 {
                let code = errno
                var info = stat()
                if fstatat(directory, String(component), &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFLNK {
                    return .failure(.refused(.symbolicLink(String(component))))
                }
                return .failure(.system(code == ELOOP ? ENOTDIR : code))
            }
            close(directory)
            directory = next
        }
        var info = stat()
        var mode: mode_t = 0o666
        var replacing = false
        if fstatat(directory, last, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFLNK: return .failure(.refused(.symbolicLink(last)))
            case S_IFREG:
                mode = info.st_mode & 0o666  // read and write bits only: never an executable
                replacing = true
            default: return .failure(.refused(.specialFile))
            }
        } else if errno != ENOENT {
            return .failure(.system(errno))
        }
        if !performing { return .success(()) }
        let temporary = FileText.temporaryName()
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { return .failure(.system(errno)) }
        let slot = tapebook_cleanup_add_file("/" + (path.dropLast() + [Substring(temporary)]).joined(separator: "/"))
        defer { tapebook_cleanup_remove_file(slot) }
        if replacing { _ = fchmod(fd, mode) }
        var code = FileText.writeAll(fd, bytes)
        if close(fd) != 0 && code == 0 { code = errno }
        if code == 0 && renameat(directory, temporary, directory, last) != 0 { code = errno }
        if code != 0 {
            unlinkat(directory, temporary, 0)
            return .failure(.system(code))
        }
        return .success(())
    }
}

/// Bytes the heap has handed out and not taken back: all memory the process allocated, counted or not.
public func heapBytesInUse() -> Int { Int(tapebook_heap_bytes_in_use()) }

/// What a signal that ends the process cleans up first: atomic saves' temporary files and a running
/// child's process group (see `tapebook_cleanup_install`).
public enum SignalCleanup {
    /// Installs the handlers for SIGTERM and SIGHUP, and for SIGINT while its disposition is the default.
    public static func install() { tapebook_cleanup_install() }
}
