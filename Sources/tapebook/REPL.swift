import Portable
import Rendering
import TapeLanguage
import TapeSyntax
import LineEditing

/// The interactive notebook: numbered prompts, continuation lines, Ctrl-C and Ctrl-D.
struct REPL {
    let session: Session
    let color: Bool

    func loop() -> Int32 {
        session.settings.color = color
        session.settings.lineWidth = terminalWidth()
        Interrupt.install()
        session.interruptCheck = { Interrupt.isRequested }
        print("tapebook \(version) · :help for help")
        let progress = installProgressBar()
        var reader = makeStandardLineReader(completer: completer)
        var number = 1
        var buffer = ""
        var firstLine = 1
        var lineCount = 0
        while true {
            let prompt = buffer.isEmpty ? "[\(number)]> " : String(repeating: " ", count: max(0, String(number).count - 1)) + "...> "
            switch reader.readLine(prompt: prompt) {
            case .endOfInput:
                // The line editor has already moved to a fresh line; a plain reader has not.
                if !(reader is EditLineReader) { print("") }
                if buffer.isEmpty { return 0 }
                buffer = ""   // Ctrl-D on an empty continuation line drops the open block
                continue
            case .interrupted:
                buffer = ""
                if Interrupt.consecutiveCount >= 3 { print(""); return 0 }
                continue
            case .line(let line):
                Interrupt.resetConsecutiveCount()
                lineCount += 1
                if buffer.isEmpty { firstLine = lineCount }
                buffer += buffer.isEmpty ? line : "\n" + line
                if !Parser.isComplete(buffer) { continue }
                let text = buffer
                buffer = ""
                if text.trimmingWhitespace().isEmpty { continue }
                Interrupt.clear()
                let source = SourceText(text, firstLine: firstLine)
                var quit = false
                session.settings.lineWidth = terminalWidth()
                progress?.begin(shownName: ProgressReporter.shownName(in: text))
                // `print` in a loop shows each line as the loop goes.
                session.onPrint = { outcome in
                    progress?.clear()
                    print(OutputFormatter(settings: session.settings).human(outcome, source: source))
                    StandardStreams.synchronizeOutput()
                }
                session.run(text, firstLine: firstLine, keepGoing: false) { outcome in
                    progress?.clear()
                    let out = OutputFormatter(settings: session.settings).human(outcome, source: source)
                    if !out.isEmpty { print(terminalText(out, keepingColors: session.settings.color)) }
                    quit = quit || outcome.quit
                }
                progress?.clear()
                Interrupt.clear()
                number += 1
                if quit { return 0 }
            }
        }
    }

    func installProgressBar() -> ProgressReporter? { ProgressReporter.install(on: session) }

    /// Tab completion: keywords, built-ins, names, and file paths inside quotes.
    func completer(_ line: String, _ wordStart: Int, _ word: String) -> [String] {
        let before = String(line.prefix(wordStart))
        if before.filter({ $0 == "\"" }).count % 2 == 1 { return completeFilePath(word) }
        if before.trimmingWhitespace().hasPrefix(":help ") || before.trimmingWhitespace().hasPrefix(":h ") {
            return Help.allTopicNames.filter { $0.hasPrefix(word) }
        }
        if before.hasSuffix(":") || word.hasPrefix(":") {
            let commands = ["help", "vars", "grads", "save", "load", "reset", "set", "time", "quit"]
            let stem = word.hasPrefix(":") ? String(word.dropFirst()) : word
            return commands.filter { $0.hasPrefix(stem) }.map { word.hasPrefix(":") ? ":" + $0 : $0 }
        }
        var candidates: [String] = []
        candidates += Session.keywords.filter { $0.hasPrefix(word) }
        candidates += Session.builtinNames.filter { $0.hasPrefix(word) }.map { $0 + "(" }
        for (name, kind) in session.completionNames() where name.hasPrefix(word) {
            candidates.append(kind == .function ? name + "(" : name)
        }
        return Array(Set(candidates)).sorted()
    }
}
