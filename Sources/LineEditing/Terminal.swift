import CLibEdit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether the file descriptor is a terminal.
public func isTerminal(_ fd: Int32) -> Bool {
    isatty(fd) == 1
}

/// Columns of the terminal on standard output; 80 when it is not a terminal or reports 0.
public func terminalWidth() -> Int {
    let columns = Int(tb_terminal_columns(STDOUT_FILENO))
    return columns > 0 ? columns : 80
}

/// Whether to colour output, following https://no-color.org and `TERM=dumb`.
public struct ColorPolicy {
    /// Decides colour from the `--color` flag, whether output is a terminal, and the environment.
    ///
    /// - `"always"` and `"never"` win over everything else.
    /// - Otherwise (`"auto"`, `nil`, or anything unrecognised): no colour when `NO_COLOR` is
    ///   set to a non-empty value, when `TERM` is `dumb`, or when output is not a terminal.
    public static func resolve(flag: String?, isTerminal: Bool, environment: [String: String]) -> Bool {
        resolve(flag: flag, isTerminal: isTerminal) { environment[$0] }
    }

    /// The same, reading each variable with `variable` (`Environment.value`: no copy of the environment).
    public static func resolve(flag: String?, isTerminal: Bool, variable: (String) -> String?) -> Bool {
        switch flag?.lowercased() {
        case "always": return true
        case "never": return false
        default: break
        }
        if let noColor = variable("NO_COLOR"), !noColor.isEmpty { return false }
        if variable("TERM") == "dumb" { return false }
        return isTerminal
    }
}
