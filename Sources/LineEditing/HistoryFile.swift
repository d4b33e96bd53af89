import FoundationEssentials
import Glibc
import Portable

/// The persistent history: one entry per line in a UTF-8 text file, appended as lines
/// are entered, so a later session recalls them (Up arrow, Ctrl-R).
///
/// Empty (all-whitespace) lines and a line equal to the one before it are not stored.
/// Writing is best effort: a read-only or missing directory never stops the REPL, it only
/// loses history. Kept apart from libedit so the file logic is testable without a terminal.
public struct HistoryFile {
    /// Where the file lives.
    public let path: String
    /// How many of the most recent entries are kept on load.
    public let maximumEntries: Int
    /// The entries, oldest first, as loaded and recorded so far.
    public private(set) var entries: [String] = []

    public init(path: String, maximumEntries: Int = 1000) {
        self.path = path
        self.maximumEntries = max(1, maximumEntries)
    }

    /// `${XDG_STATE_HOME:-~/.local/state}/tapebook/history`; `nil` without a usable home.
    ///
    /// A relative `XDG_STATE_HOME` is ignored, as the XDG base directory spec requires.
    public static func defaultPath(
        environment: [String: String] = Environment.variables(["XDG_STATE_HOME", "HOME"])
    ) -> String? {
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return state + "/tapebook/history"
        }
        guard let home = environment["HOME"], !home.isEmpty else { return nil }
        return home + "/.local/state/tapebook/history"
    }

    /// Whether `line` belongs in the history when `previous` is the newest entry.
    public static func shouldRecord(_ line: String, after previous: String?) -> Bool {
        if line.allSatisfy(\.isWhitespace) { return false }
        return line != previous
    }

    /// Reads the file (a missing file is an empty history), dropping empty lines and
    /// consecutive duplicates and keeping the newest `maximumEntries`. When the file holds
    /// more than twice that many lines it is rewritten with the kept ones.
    @discardableResult
    public mutating func load() -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            entries = []
            return entries
        }
        let lines = String(decoding: data, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
        var kept: [String] = []
        for line in lines {
            let entry = String(line)
            if Self.shouldRecord(entry, after: kept.last) { kept.append(entry) }
        }
        entries = Array(kept.suffix(maximumEntries))
        if lines.count > 2 * maximumEntries { rewrite() }
        return entries
    }

    /// Adds `line` to the entries and appends it to the file, unless it is empty or repeats
    /// the newest entry. Returns whether it was recorded. Newlines inside become spaces.
    @discardableResult
    public mutating func record(_ line: String) -> Bool {
        let entry = line.replacingText("\n", with: " ")
        guard Self.shouldRecord(entry, after: entries.last) else { return false }
        entries.append(entry)
        if entries.count > 2 * maximumEntries {
            entries.removeFirst(entries.count - maximumEntries)
        }
        append(entry + "\n")
        return true
    }

    private func createDirectory() {
        let directory = PathText.deletingLastComponent(path)
        guard !directory.isEmpty else { return }
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true)
    }

    private func append(_ text: String) {
        createDirectory()
        // "a" opens with O_APPEND: two sessions writing at once interleave whole lines.
        guard let file = fopen(path, "a") else { return }
        fputs(text, file)
        fclose(file)
    }

    private func rewrite() {
        createDirectory()
        let text = entries.map { $0 + "\n" }.joined()
        _ = FileText.replace(path, with: Array(text.utf8))
    }
}
