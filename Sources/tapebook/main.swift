import FoundationEssentials
import Glibc
import ArgumentParser
import TapeLanguage
import LineEditing
import Portable
import TensorCore

/// Exit codes: 0 all went well, 1 a statement failed or a check did not match, 2 a usage error.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
}

let version = "0.1"

/// Sessions live until the process exits (see `makeSession`).
nonisolated(unsafe) var retainedSessions: [Session] = []

struct Tapebook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tapebook",
        abstract: "A terminal notebook for gradients.",
        discussion: """
        With no arguments: an interactive notebook when stdin is a terminal; otherwise statements are read \
        from stdin and their outputs printed.
        """,
        version: "tapebook \(version)",
        subcommands: [Run.self, Check.self, Export.self, Convert.self, KernelCommand.self])

    // NOTE: repeatable, as perl's and sed's `-e`: each one is a line of one program (`-e 'x = 1' -e 'x + 1'`).
    @Option(name: .customShort("e"), parsing: .singleValue,
            help: ArgumentHelp("Run STATEMENTS and print their outputs; several -e run in order, as lines of one program.",
                               valueName: "statements"))
    var statements: [String] = []

    @OptionGroup var output: OutputOptions

    func run() throws {
        throw ExitCode(Actions.notebook(statements: statements.isEmpty ? nil : statements.joined(separator: "\n"), output.settings))
    }
}

/// `--color`: when output is coloured.
enum ColorChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON object per statement.")
    var json = false

    @Option(help: "Colour: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    @Option(help: "Digits after the point.")
    var precision: Int = 4

    func validate() throws {
        guard (0...17).contains(precision) else { throw ValidationError("--precision must be from 0 to 17") }
    }

    var settings: OutputSettings { OutputSettings(json: json, color: color, precision: precision) }
}

/// The output options as plain values (ArgumentParser's property wrappers can only be read after parsing).
struct OutputSettings {
    var json = false
    var color = ColorChoice.auto
    var precision = 4

    var useColor: Bool {
        ColorPolicy.resolve(flag: color.rawValue, isTerminal: isTerminal(1), variable: Environment.value)
    }

    func makeSession() -> Session {
        let session = Session()
        // NOTE: the process exits without tearing sessions down; releasing a large graph only costs time.
        retainedSessions.append(session)
        session.settings.precision = precision
        session.settings.color = !json && useColor
        session.settings.lineWidth = isTerminal(1) ? terminalWidth() : 80
        session.settings.unicode = Settings.unicodeSupported(variable: Environment.value)
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

    @Flag(help: "Let the files write anywhere, as typed statements do (see `:help trust`).")
    var trust = false

    @Flag(help: "Print the time spent running statements, apart from start-up and reading input files, to stderr as TIME_S <seconds>, and the last statement's share of it as TIME_LAST_S <seconds>.")
    var time = false

    @OptionGroup var output: OutputOptions

    @Argument(help: "Session files (.tape).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
        if markdown && output.json { throw ValidationError("--markdown and --json cannot be combined") }
    }

    func run() throws {
        throw ExitCode(Actions.replay(files, output.settings, keepGoing: keepGoing, markdown: markdown, step: step, time: time, trust: trust))
    }
}

/// What the commands do, apart from how their arguments were read.
enum Actions {
    /// `tapebook [-e STATEMENTS]`: the REPL on a terminal, else statements from the argument or stdin.
    static func notebook(statements: String?, _ output: OutputSettings) -> Int32 {
        let session = output.makeSession()
        if let statements {
            return Runner(session: session, output: output).runPlain(statements) ? ExitStatus.success : ExitStatus.failure
        }
        if isTerminal(0) && !output.json {
            return REPL(session: session, color: output.useColor).loop()
        }
        var text = String(decoding: StandardStreams.readInputToEnd(), as: UTF8.self)
        // A leading byte-order mark is dropped, as from a session file.
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return Runner(session: session, output: output).runPlain(text) ? ExitStatus.success : ExitStatus.failure
    }

    /// `tapebook run FILE...`.
    static func replay(_ files: [String], _ output: OutputSettings, keepGoing: Bool, markdown: Bool, step: Bool, time: Bool,
                       trust: Bool = false) -> Int32 {
        var ok = true
        var statements = 0.0, last = 0.0
        for file in files {
            guard let text = FileText.read(file) else {
                StandardStreams.writeError("tapebook: cannot read \(file)\n")
                return ExitStatus.failure
            }
            let session = output.makeSession()
            session.beginReplay(of: file, trusted: trust)
            let runner = Runner(session: session, output: output)
            let mode: Runner.Mode = output.json ? .json : markdown ? .markdown : .transcript
            let run = runner.runFile(SessionFile(text: text), file: file, mode: mode, keepGoing: keepGoing, step: step)
            ok = run.ok && ok
            statements += run.statementSeconds
            last = run.lastStatementSeconds
            if !ok && !keepGoing { break }
        }
        if time {
            StandardStreams.writeError("TIME_S \(statements)\nTIME_LAST_S \(last)\n")
        }
        return ok ? ExitStatus.success : ExitStatus.failure
    }

    /// The most common exact invocations, read without building ArgumentParser's command tree, which costs
    /// a few milliseconds of start-up: `tapebook`, `tapebook -e STATEMENTS`, and
    /// `tapebook run [--json] [--time] [--keep-going] FILE...`. Anything else (help, errors, other flags) goes
    /// to ArgumentParser, which defines the interface.
    static func fastPath(_ arguments: [String]) -> Int32? {
        if arguments.isEmpty { return notebook(statements: nil, OutputSettings()) }
        if arguments.count == 2 && arguments[0] == "-e" { return notebook(statements: arguments[1], OutputSettings()) }
        guard arguments.first == "run" else { return nil }
        var output = OutputSettings()
        var keepGoing = false, time = false
        var files: [String] = []
        for a in arguments.dropFirst() {
            switch a {
            case "--json": output.json = true
            case "--time": time = true
            case "--keep-going": keepGoing = true
            default:
                if a.hasPrefix("-") { return nil }
                files.append(a)
            }
        }
        if files.isEmpty { return nil }
        return replay(files, output, keepGoing: keepGoing, markdown: false, step: false, time: time)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay session files and compare each statement's output with its #> lines.")

    @Flag(help: "Rewrite the #> lines from what the statements print.")
    var update = false

    @Flag(help: "Let the files write anywhere, as typed statements do (see `:help trust`).")
    var trust = false

    @Argument(help: "Session files (.tape).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }

    func run() throws {
        var ok = true
        for file in files {
            guard let text = FileText.read(file) else {
                print("\(file): cannot read")
                ok = false
                continue
            }
            var result = Checker.check(SessionFile(text: text), file: file, trusted: trust)
            if update {
                // Outputs may quote line numbers, which move when #> lines are inserted: settle them.
                for _ in 0..<3 {
                    let again = Checker.check(SessionFile(text: result.updated), file: file, trusted: trust)
                    if again.updated == result.updated { break }
                    result = again
                }
                if result.updated != text {
                    let code = FileText.replace(file, with: Array(result.updated.utf8))
                    if code != 0 {
                        print("\(file): cannot write: \(systemErrorText(code))")
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

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a session file as a Python script for PyTorch, TensorFlow or JAX.")

    @Option(help: "The library: tf, jax or torch.")
    var to: String

    @Argument(help: "A session file (.tape).")
    var file: String

    @Flag(help: "Let the script save files anywhere the session file names (see `:help trust`).")
    var trust = false

    func validate() throws {
        if ExportTarget(rawValue: to) == nil { throw ValidationError("--to must be tf, jax or torch") }
    }

    func run() throws {
        guard let text = FileText.read(file) else {
            StandardStreams.writeError("tapebook: cannot read \(visibleText(file))\n")
            throw ExitCode(ExitStatus.failure)
        }
        do {
            // The file runs as `run` runs it (a replay of the file) so that statements that fail in tapebook
            // become comments.
            print(try Exporter.export(text, to: ExportTarget(rawValue: to)!, origin: file, replaying: file, trusted: trust),
                  terminator: "")
        } catch let e as ExportError {
            StandardStreams.writeError("\(file):\(e.line): cannot export `\(e.statement)`: \(e.message)\n")
            throw ExitCode(ExitStatus.failure)
        }
    }
}

/// Ends the process after writing what is still buffered for stdout; an output that could not be written
/// (a full disk, a closed pipe) is an error with exit status 1, never a silent success.
func finish(_ status: Int32) -> Never {
    if fflush(stdout) != 0 || ferror(stdout) != 0 {
        StandardStreams.writeError("tapebook: cannot write the output: \(systemErrorText(errno))\n")
        exit(ExitStatus.failure)
    }
    exit(status)
}

Memory.configureProcessHeap()
SignalCleanup.install()
// A closed pipe is a write error (EPIPE) that `finish` reports, not a silent death.
signal(SIGPIPE, SIG_IGN)

if let status = Actions.fastPath(Array(CommandLine.arguments.dropFirst())) { finish(status) }

// Parse by hand so usage errors exit with 2, as the spec asks.
do {
    var command = try Tapebook.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    finish(code.rawValue)
} catch {
    let exitCode = Tapebook.exitCode(for: error)
    let message = Tapebook.fullMessage(for: error)
    if exitCode == .success {
        print(message)
        finish(ExitStatus.success)
    }
    StandardStreams.writeError(message + "\n")
    finish(exitCode == .validationFailure ? ExitStatus.usage : ExitStatus.failure)
}
