#if canImport(Glibc)
import Glibc
#endif

/// Environment variables read one by one with `getenv`.
///
/// `ProcessInfo.processInfo.environment` copies the whole environment into a dictionary, which costs a
/// fifth of a short session's running time; the settings read only a handful of variables.
public enum Environment {
    /// The value of `name`, or nil when it is not set.
    public static func value(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }

    /// The set ones among `names`, as a dictionary.
    public static func variables(_ names: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for name in names { if let v = value(name) { result[name] = v } }
        return result
    }
}
