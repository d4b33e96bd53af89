/// File path strings taken apart as Foundation's `NSString` path methods did: runs of `/` count as
/// one and a trailing `/` is ignored; nothing touches the file system.
public enum PathText {
    /// `a/b/c` → `a/b`, `/a` → `/`, `a` → `""`, `/` → `/` (`NSString.deletingLastPathComponent`).
    ///
    /// Foundation trapped on a one-character relative path such as `a`; this gives `""`, what it gives
    /// for any other single relative component.
    public static func deletingLastComponent(_ path: String) -> String {
        let fixed = normalized(path)
        if fixed == "/" || fixed.isEmpty { return fixed }
        let start = startOfLastComponent(fixed)
        if start == fixed.startIndex { return "" }
        if start == fixed.index(after: fixed.startIndex) { return "/" }
        return String(fixed[..<fixed.index(before: start)])
    }

    /// `dir` + `/` + `name`, without doubling a `/` that `dir` ends with; either one empty gives the
    /// other (`NSString.appendingPathComponent`).
    public static func appending(_ name: String, to directory: String) -> String {
        if name.isEmpty { return directory }
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// What follows the last `.` of the last component: `x.csv` → `csv`, `a.b.c` → `c`; `""` for none,
    /// for a leading dot (`.csv`), a trailing dot (`a.`) and `..` (`NSString.pathExtension`).
    public static func pathExtension(_ path: String) -> String {
        let fixed = normalized(path)
        if fixed.utf16.count <= 1 { return "" }
        let componentStart = startOfLastComponent(fixed)
        guard let dot = fixed[componentStart...].lastIndex(of: "."), dot != componentStart else { return "" }
        return String(fixed[fixed.index(after: dot)...])
    }

    /// Runs of `/` squeezed to one, then one trailing `/` dropped (a lone `/` stays).
    private static func normalized(_ path: String) -> String {
        if path == "/" { return path }
        var result = ""
        var previousWasSlash = false
        for c in path {
            if c == "/" && previousWasSlash { continue }
            previousWasSlash = c == "/"
            result.append(c)
        }
        if result.hasSuffix("/") { result.removeLast() }
        return result
    }

    private static func startOfLastComponent(_ path: String) -> String.Index {
        guard let slash = path.lastIndex(of: "/") else { return path.startIndex }
        return path.index(after: slash)
    }
}
