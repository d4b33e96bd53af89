/// What one call to `LineReader.readLine(prompt:)` produced.
public enum LineReadResult: Equatable, Sendable {
    /// A line, without its newline.
    case line(String)
    /// Ctrl-C at the prompt: the partial line was discarded.
    case interrupted
    /// Ctrl-D on an empty line, or the end of the input stream.
    case endOfInput
}

/// A source of input lines for the REPL. It knows nothing of the language: continuation
/// lines are read by calling `readLine` again with a different prompt.
///
/// A REPL loop, in outline:
///
///     Interrupt.install()
///     var reader = makeStandardLineReader(completer: { line, wordStart, word in ... })
///     loop: while true {
///         switch reader.readLine(prompt: "[\(n)]> ") {
///         case .endOfInput: break loop
///         case .interrupted:
///             if Interrupt.consecutiveCount >= 3 { break loop }
///             continue                      // the line was discarded; prompt again
///         case .line(let text):
///             // more lines: reader.readLine(prompt: "...> ") until the statement is complete
///             Interrupt.clear()
///             run(text)                     // polls Interrupt.isRequested between iterations
///         }
///     }
public protocol LineReader {
    mutating func readLine(prompt: String) -> LineReadResult
}

/// The reader for the current process: line editing when both standard input and
/// standard output are terminals and libedit can be opened, plain lines otherwise (pipes,
/// files, `--batch`).
public func makeStandardLineReader(
    historyFile: String? = HistoryFile.defaultPath(),
    completer: EditLineReader.Completer? = nil
) -> any LineReader {
    if isTerminal(0) && isTerminal(1), let reader = EditLineReader(historyFile: historyFile, completer: completer) {
        return reader
    }
    return PlainLineReader()
}
