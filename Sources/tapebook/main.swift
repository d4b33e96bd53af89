import Foundation
import ArgumentParser
import TapeLanguage
import LineEditing

/// Exit codes: 0 all went well, 1 a statement failed or a check did not match, 2 a usage error.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
}

let version = "0.1"

struct Tapebook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tapebook",
        abstract: "A terminal notebook for gradients.",
        discussion: """
        With no arguments: an interactive notebook when stdin is a terminal; otherwise statements are read \
        from stdin and their outputs printed.
        """,
        version: "tapebook \(version)",
        subcommands: [Run.self, Check.self])

    @Option(name: .customShort("e"), help: ArgumentHelp("Run STATEMENTS and print their outputs.", valueName: "statements"))
    var statements: String?

    @OptionGroup var output: OutputOptions

    func run() throws {
        let session = output.makeSession()
        if let statements {
            let ok = Runner(session: session, output: output).runPlain(statements)
            throw ExitCode(ok ? ExitStatus.success : ExitStatus.failure)
        }
        if isTerminal(0) && !output.json {
            throw ExitCode(REPL(session: session, color: output.useColor).loop())
        }
        let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        let ok = Runner(session: session, output: output).runPlain(text)
        throw ExitCode(ok ? ExitStatus.success : ExitStatus.failure)
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object per statement.")
    var json = false

    @Option(help: "Colour: auto, always or never.")
    var color: String = "auto"

    @Option(help: "Digits after the point.")
    var precision: Int = 4

    func validate() throws {
        guard ["auto", "always", "never"].contains(color) else {
            throw ValidationError("--color must be auto, always or never")
        }
        guard (0...17).contains(precision) else { throw ValidationError("--precision must be from 0 to 17") }
    }

    var useColor: Bool {
        ColorPolicy.resolve(flag: color, isTerminal: isTerminal(1), environment: ProcessInfo.processInfo.environment)
    }

    func makeSession() -> Session {
        let session = Session()
        session.settings.precision = precision
        session.settings.color = !json && useColor
        session.settings.lineWidth = isTerminal(1) ? terminalWidth() : 80
        session.settings.unicode = Settings.unicodeSupported(environment: ProcessInfo.processInfo.environment)
        return session
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay session files, printing a transcript of narration, statements and outputs.")

    @Flag(help: "Go on after a statement fails.")
    var keepGoing = false

    @Flag(help: "Print the transcript as Markdown.")
    var markdown = false

    @Flag(help: "Wait for Enter before each statement (q stops).")
    var step = false

    @Flag(help: "Print the time spent running statements, apart from start-up, to stderr as TIME_S <seconds>.")
    var time = false

    @OptionGroup var output: OutputOptions

    @Argument(help: "Session files (.tape).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
        if markdown && output.json { throw ValidationError("--markdown and --json cannot be combined") }
    }

    func run() throws {
        var ok = true
        let start = DispatchTime.now().uptimeNanoseconds
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                FileHandle.standardError.write("tapebook: cannot read \(file)\n".data(using: .utf8)!)
                throw ExitCode(ExitStatus.failure)
            }
            let session = output.makeSession()
            session.directory = nil
            let runner = Runner(session: session, output: output)
            let mode: Runner.Mode = output.json ? .json : markdown ? .markdown : .transcript
            ok = runner.runFile(SessionFile(text: text), file: file, mode: mode, keepGoing: keepGoing, step: step) && ok
            if !ok && !keepGoing { break }
        }
        if time {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            FileHandle.standardError.write("TIME_S \(seconds)\n".data(using: .utf8)!)
        }
        throw ExitCode(ok ? ExitStatus.success : ExitStatus.failure)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay session files and compare each statement's output with its #> lines.")

    @Flag(help: "Rewrite the #> lines from what the statements print.")
    var update = false

    @Argument(help: "Session files (.tape).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }

    func run() throws {
        var ok = true
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                print("\(file): cannot read")
                ok = false
                continue
            }
            var result = Checker.check(SessionFile(text: text), file: file)
            if update {
                // Outputs may quote line numbers, which move when #> lines are inserted: settle them.
                for _ in 0..<3 {
                    let again = Checker.check(SessionFile(text: result.updated), file: file)
                    if again.updated == result.updated { break }
                    result = again
                }
                if result.updated != text {
                    do { try result.updated.write(toFile: file, atomically: true, encoding: .utf8) } catch {
                        print("\(file): cannot write: \(error.localizedDescription)")
                        ok = false
                        continue
                    }
                    print("\(file): updated")
                } else {
                    print("\(file): up to date")
                }
            } else if let mismatch = result.firstMismatch {
                print(mismatch)
                ok = false
            } else {
                print("\(file): ok (\(result.checked) statement\(result.checked == 1 ? "" : "s"))")
            }
        }
        throw ExitCode(ok ? ExitStatus.success : ExitStatus.failure)
    }
}

// Parse by hand so usage errors exit with 2, as the spec asks.
do {
    var command = try Tapebook.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    exit(code.rawValue)
} catch {
    let exitCode = Tapebook.exitCode(for: error)
    let message = Tapebook.fullMessage(for: error)
    if exitCode == .success {
        print(message)
        exit(ExitStatus.success)
    }
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
    exit(exitCode == .validationFailure ? ExitStatus.usage : ExitStatus.failure)
}
