import CLibEdit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Line editing at a terminal through libedit's readline-compatible API.
///
/// - Emacs keys; `~/.editrc` (or `$EDITRC`) is read at start, and lines there may be
///   scoped to the program as `tapebook:bind ...`.
/// - History: loaded from `historyFile` at start and appended as lines are entered
///   (see `HistoryFile`); Up/Down recall it and Ctrl-R searches it (`em-inc-search-prev`).
/// - Tab calls `completer`; Ctrl-C at the prompt discards the line and returns
///   `.interrupted`; Ctrl-D on an empty line returns `.endOfInput`.
/// - Non-ASCII input (θ, ∂) works: the locale is set before libedit starts.
///
/// Prompt colour: ANSI escape sequences in the prompt are wrapped in
/// `RL_PROMPT_START_IGNORE`/`RL_PROMPT_END_IGNORE` so libedit does not count them
/// as columns (see `markingInvisibleSequences(in:)`).
///
/// NOTE: libedit is a process-wide singleton; create one `EditLineReader` per process.
///
/// NOTE: libedit prints the prompt a moment before it switches the terminal to raw mode.
/// A Ctrl-C typed in that instant sets `Interrupt.isRequested` but does not end the read;
/// the next key continues the line as usual and the next Ctrl-C is seen.
public final class EditLineReader: LineReader {
    /// Candidates for the word before the cursor. `line` is the whole line being edited,
    /// `wordStart` the Character offset in it where `word` begins. A candidate replaces
    /// `word` verbatim: nothing is appended, so a function may complete as `sigmoid(` and
    /// a keyword may carry its own trailing space.
    public typealias Completer = (_ line: String, _ wordStart: Int, _ word: String) -> [String]

    /// Characters that end a word for completion. `/ . ~ - : _` are not among them, so a
    /// quoted path (`"data/x-1.csv"`) and a meta command (`:load`) are each one word.
    public static let defaultWordBreakCharacters = " \t\n\"'`()[]{},;=+*<>!&|^%"

    private var historyFile: HistoryFile?
    private var newestEntry: String?

    /// Tab completion; may be replaced once the session it reads names from exists.
    public var completer: Completer? {
        get { CompletionBridge.completer }
        set { CompletionBridge.completer = newValue }
    }

    /// Nil when libedit cannot be opened: it is loaded here, on first use, not linked, so that a run
    /// that edits no lines does not load it.
    ///
    /// - Parameters:
    ///   - historyFile: where history persists; `nil` keeps it for this session only.
    ///   - maximumHistoryEntries: how many entries are loaded and kept.
    ///   - completer: Tab completion; `nil` makes Tab do nothing.
    public init?(
        historyFile: String? = HistoryFile.defaultPath(),
        maximumHistoryEntries: Int = 1000,
        completer: Completer? = nil,
        wordBreakCharacters: String = EditLineReader.defaultWordBreakCharacters
    ) {
        guard tb_editline_open() != 0 else { return nil }
        Interrupt.install()
        _ = tb_editline_initialize("tapebook", wordBreakCharacters)
        tb_editline_stifle_history(Int32(max(1, maximumHistoryEntries)))

        CompletionBridge.completer = completer
        tb_editline_set_completion(completeForEditLine)

        if let path = historyFile {
            var file = HistoryFile(path: path, maximumEntries: maximumHistoryEntries)
            for entry in file.load() { tb_editline_add_history(entry) }
            newestEntry = file.entries.last
            self.historyFile = file
        }
    }

    deinit {
        CompletionBridge.completer = nil
    }

    /// Reads one edited line. After `.interrupted` and `.endOfInput` the cursor has been
    /// moved to a fresh line, so the caller can print straight away.
    public func readLine(prompt: String) -> LineReadResult {
        Interrupt.clear()
        var interrupted: Int32 = 0
        guard let raw = tb_editline_read(Self.markingInvisibleSequences(in: prompt), &interrupted) else {
            if interrupted != 0 || Interrupt.isRequested {
                Interrupt.waitForHandler()
                Interrupt.clear()
                writeToTerminal("^C\n")
                return .interrupted
            }
            writeToTerminal("\n")
            return .endOfInput
        }
        let line = String(cString: raw)
        free(raw)
        Interrupt.resetConsecutiveCount()
        remember(line)
        return .line(line)
    }

    private func remember(_ line: String) {
        if historyFile != nil {
            guard historyFile!.record(line) else { return }
        } else {
            guard HistoryFile.shouldRecord(line, after: newestEntry) else { return }
        }
        newestEntry = line
        tb_editline_add_history(line)
    }

    private func writeToTerminal(_ text: String) {
        fputs(text, stdout)
        fflush(stdout)
    }

    /// `prompt` with each ANSI escape sequence (`ESC [ … final`) wrapped in `\u{1}`…`\u{2}`,
    /// the readline markers for characters that take no column.
    ///
    /// NOTE: libedit miscounts the width when the prompt ends with an invisible sequence, so
    /// escape sequences after the last visible character are moved in front of any trailing
    /// spaces (`"\e[1m>\e[0m "` and `"\e[1m> \e[0m"` both display the same). A coloured
    /// prompt without a trailing space must end with a visible character.
    public static func markingInvisibleSequences(in prompt: String) -> String {
        enum Piece { case visible(Unicode.Scalar), invisible(String) }
        var pieces: [Piece] = []
        let scalars = Array(prompt.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\u{1B}", index + 1 < scalars.count, scalars[index + 1] == "[" {
                var end = index + 2
                while end < scalars.count, !(0x40...0x7E).contains(scalars[end].value) { end += 1 }
                end = min(end, scalars.count - 1)
                var sequence = ""
                sequence.unicodeScalars.append(contentsOf: scalars[index...end])
                pieces.append(.invisible(sequence))
                index = end + 1
            } else {
                pieces.append(.visible(scalar))
                index += 1
            }
        }

        // Move trailing escapes in front of trailing spaces.
        var tailStart = pieces.endIndex
        while tailStart > pieces.startIndex {
            if case .visible(let scalar) = pieces[tailStart - 1], scalar != " " { break }
            tailStart -= 1
        }
        let tail = pieces[tailStart...]
        let reordered = Array(pieces[..<tailStart])
            + tail.filter { if case .invisible = $0 { return true } else { return false } }
            + tail.filter { if case .visible = $0 { return true } else { return false } }

        var result = ""
        for piece in reordered {
            switch piece {
            case .visible(let scalar): result.unicodeScalars.append(scalar)
            case .invisible(let sequence): result += "\u{1}" + sequence + "\u{2}"
            }
        }
        return result
    }
}

/// The bridge from libedit's C completion callback to the Swift closure: the one piece of
/// global mutable state in LineEditing. libedit calls back into a plain C function with no
/// context pointer, so the closure of the (single) `EditLineReader` is parked here.
enum CompletionBridge {
    nonisolated(unsafe) static var completer: EditLineReader.Completer?
}

/// libedit's `rl_attempted_completion_function`.
///
/// `start` and `end` count characters (code points), not bytes. The result is the readline
/// match array, allocated with `malloc` because libedit frees it: the text replacing the
/// word (the candidates' common prefix), then the candidates, then NULL.
private func completeForEditLine(
    _ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32
) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    // NOTE: without this, libedit falls back to completing file names in the cwd.
    tb_editline_mark_completion_over()
    guard let completer = CompletionBridge.completer else { return nil }
    let word = text.map { String(cString: $0) } ?? ""
    let line = String(cString: tb_editline_line_buffer())
    var prefix = String.UnicodeScalarView()
    prefix.append(contentsOf: line.unicodeScalars.prefix(Int(start)))
    let wordStart = String(prefix).count

    let candidates = completer(line, wordStart, word)
    guard !candidates.isEmpty else { return nil }
    var replacement = candidates.count == 1 ? candidates[0] : commonPrefix(of: candidates)
    if !replacement.hasPrefix(word) { replacement = word }

    // NOTE: libedit reads matches[2] even when matches[1] is NULL (single match), so the
    // array always has room for two NULLs; calloc zeroes them.
    let slots = max(3, candidates.count + 2)
    guard let raw = calloc(slots, MemoryLayout<UnsafeMutablePointer<CChar>?>.stride) else {
        return nil
    }
    let matches = raw.bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: slots)
    matches[0] = strdup(replacement)
    if candidates.count > 1 {
        for (offset, candidate) in candidates.enumerated() { matches[offset + 1] = strdup(candidate) }
    }
    return matches
}

private func commonPrefix(of strings: [String]) -> String {
    guard var prefix = strings.first else { return "" }
    for string in strings.dropFirst() {
        prefix = String(zip(prefix, string).prefix { $0 == $1 }.map(\.0))
    }
    return prefix
}
