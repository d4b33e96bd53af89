import FoundationEssentials
import Glibc
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

/// The command line, declared once: `Commands.root.parse` reads it and `help` prints from it.
enum Commands {
    static let output: [CommandInterface.Option] = [
        .init(long: "json", help: "Print one JSON object per statement."),
        .init(long: "color", value: "WHEN", help: "Colour: on a terminal unless NO_COLOR is set (auto), always or never.",
              choices: ColorChoice.allCases.map(\.rawValue)),
        .init(long: "precision", value: "DIGITS", help: "Digits after the point, 0 to 17 (default 4)."),
    ]
    static let trust = CommandInterface.Option(long: "trust", help: "Let the files write anywhere, as typed statements do (see `:help trust`).")
    static let files = CommandInterface.Positional(name: "FILE", help: "Session files (.tape).")

    static let run = CommandInterface(
        name: "run", abstract: "Replay session files, printing a transcript of narration, statements and outputs.",
        options: [
            .init(long: "keep-going", help: "Go on after a statement fails."),
            .init(long: "markdown", help: "Print the transcript as Markdown."),
            .init(long: "step", help: "Wait for Enter before each statement (q stops)."),
            trust,
            .init(long: "time", help: "Print the time spent running statements, apart from start-up and reading input files, to stderr as TIME_S <seconds>, and the last statement's share of it as TIME_LAST_S <seconds>."),
        ] + output,
        positional: files)
    static let check = CommandInterface(
        name: "check", abstract: "Replay session files and compare each statement's output with its #> lines.",
        options: [
            .init(long: "update", help: "Rewrite the #> lines from what the statements print."), trust,
            .init(long: "jobs", short: "j", value: "N", help: "Check up to N files at once, each in a process of its own (default: one per core)."),
        ],
        positional: files)
    static let export = CommandInterface(
        name: "export", abstract: "Print a session file as a Python script for PyTorch, TensorFlow or JAX.",
        options: [
            .init(long: "to", value: "LIBRARY", help: "The library: tf, jax or torch.", choices: ExportTarget.allCases.map(\.rawValue),
                  required: true),
            .init(long: "trust", help: "Let the script save files anywhere the session file names (see `:help trust`)."),
        ],
        positional: .init(name: "FILE", help: "A session file (.tape).", most: 1))
    static let convert = CommandInterface(
        name: "convert", abstract: "Convert a lesson between a session file (.tape) and a Jupyter notebook (.ipynb).",
        discussion: "Narration becomes Markdown cells, statements code cells, and #> lines the cells' stored outputs; a notebook made from a .tape file converts back to the same file.",
        options: [
            .init(long: "to", value: "FORMAT", help: "What to write: ipynb or tape.", choices: ["ipynb", "tape"], required: true),
            .init(long: "output", short: "o", value: "PATH", help: "Where to write (- for standard output); by default FILE with the new extension."),
        ],
        positional: .init(name: "FILE", help: "A session file (.tape) or a notebook (.ipynb).", most: 1))
    static let kernel = CommandInterface(
        name: "kernel", abstract: "Run tapebook as a Jupyter kernel, or install its kernelspec.",
        discussion: "tapebook kernel -f CONNECTION_FILE serves Jupyter (protocol 5.3); tapebook kernel install [--user] [--prefix P] writes the kernelspec so that JupyterLab, VS Code and nbconvert find it.",
        positional: .init(name: "-f CONNECTION_FILE | install [--user] [--prefix P]", help: "", least: 0),
        passesThrough: true)

    static let root = CommandInterface(
        name: "tapebook", abstract: "A terminal notebook for gradients.",
        discussion: "With no arguments: an interactive notebook when stdin is a terminal; otherwise statements are read from stdin and their outputs printed.",
        options: [.init(long: "e", short: "e", value: "STATEMENTS",
                        help: "Run STATEMENTS and print their outputs; several -e run in order, as lines of one program.")] + output,
        subcommands: [run, check, export, convert, kernel])
}

/// `--color`: when output is coloured.
enum ColorChoice: String, CaseIterable {
    case auto, always, never
}

/// The output options as plain values.
struct OutputSettings {
    var json = false
    var color = ColorChoice.auto
    var precision = 4

    init() {}

    /// From `--json`, `--color` and `--precision`.
    init(_ arguments: ParsedArguments) throws {
        json = arguments.flag("json")
        if let c = arguments.value("color") { color = ColorChoice(rawValue: c)! }
        if let p = arguments.value("precision") {
            guard let n = Int(p), (0...17).contains(n) else {
                throw UsageError(message: "--precision must be a whole number from 0 to 17, not '\(p)'", path: arguments.path)
            }
            precision = n
        }
    }

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
}

extension Actions {
    /// `tapebook check [--update] [--trust] [--jobs N] FILE...`: the files are checked on up to `jobs`
    /// processes at once, and their reports printed in the order of the files.
    static func check(_ files: [String], update: Bool, trust: Bool, jobs: Int) -> Int32 {
        var ok = true
        if jobs > 1 && files.count > 1 {
            // Each process has a core's worth of the machine: OpenBLAS's own threads would only compete with
            // the other processes, and its idle ones spin for a while before they sleep.
            setenv("OPENBLAS_NUM_THREADS", "1", 1)
        }
        WorkerProcesses.run(count: files.count, processes: jobs, job: { index in
            checkFile(files[index], update: update, trust: trust)
        }, deliver: { _, report in
            print(report.text)
            ok = report.succeeded && ok
        })
        return ok ? ExitStatus.success : ExitStatus.failure
    }

    /// One file's check (or update), and the line that reports it.
    static func checkFile(_ file: String, update: Bool, trust: Bool) -> WorkerProcesses.Report {
        guard let text = FileText.read(file) else { return .init(succeeded: false, text: "\(file): cannot read") }
        let result = Checker.check(SessionFile(text: text), file: file, trusted: trust)
        guard update else {
            if let mismatch = result.firstMismatch { return .init(succeeded: false, text: mismatch) }
            return .init(succeeded: true, text: "\(file): ok (\(result.checked) statement\(result.checked == 1 ? "" : "s"))")
        }
        // Outputs may quote line numbers, which move when #> lines are inserted: settle them.
        var updated = result.updated
        for _ in 0..<3 {
            let again = Checker.check(SessionFile(text: updated), file: file, trusted: trust)
            let againUpdated = again.updated
            if againUpdated == updated { break }
            updated = againUpdated
        }
        guard updated != text else { return .init(succeeded: true, text: "\(file): up to date") }
        let code = FileText.replace(file, with: Array(updated.utf8))
        if code != 0 { return .init(succeeded: false, text: "\(file): cannot write: \(systemErrorText(code))") }
        return .init(succeeded: true, text: "\(file): updated")
    }

    /// `--jobs N`: a whole number from 1; by default the cores this process may use.
    static func jobs(_ arguments: ParsedArguments) throws -> Int {
        guard let text = arguments.value("jobs") else { return WorkerProcesses.cores }
        guard let n = Int(text), n >= 1 else {
            throw UsageError(message: "--jobs must be a whole number from 1, not '\(text)'", path: arguments.path)
        }
        return n
    }

    /// `tapebook export --to LIBRARY FILE`.
    static func export(_ file: String, to target: ExportTarget, trust: Bool) -> Int32 {
        guard let text = FileText.read(file) else {
            StandardStreams.writeError("tapebook: cannot read \(visibleText(file))\n")
            return ExitStatus.failure
        }
        do {
            // The file runs as `run` runs it (a replay of the file) so that statements that fail in tapebook
            // become comments.
            print(try Exporter.export(text, to: target, origin: file, replaying: file, trusted: trust), terminator: "")
            return ExitStatus.success
        } catch let e as ExportError {
            StandardStreams.writeError("\(file):\(e.line): cannot export `\(e.statement)`: \(e.message)\n")
            return ExitStatus.failure
        } catch {
            StandardStreams.writeError("\(file): cannot export: \(error)\n")
            return ExitStatus.failure
        }
    }

    /// Runs what the command line asks for; usage errors exit with 2, as the spec asks.
    static func perform(_ arguments: [String]) -> Int32 {
        do {
            switch try Commands.root.parse(arguments) {
            case .version:
                print("tapebook \(version)")
                return ExitStatus.success
            case .help(let path):
                print(Commands.root.interface(at: path).help(path: path), terminator: "")
                return ExitStatus.success
            case .run(let a):
                switch a.path.last! {
                case "run":
                    let output = try OutputSettings(a)
                    if a.flag("markdown") && output.json {
                        throw UsageError(message: "--markdown and --json cannot be combined", path: a.path)
                    }
                    return replay(a.positional, output, keepGoing: a.flag("keep-going"), markdown: a.flag("markdown"),
                                  step: a.flag("step"), time: a.flag("time"), trust: a.flag("trust"))
                case "check":
                    return check(a.positional, update: a.flag("update"), trust: a.flag("trust"), jobs: try jobs(a))
                case "export":
                    return export(a.positional[0], to: ExportTarget(rawValue: a.value("to")!)!, trust: a.flag("trust"))
                case "convert":
                    return convert(a.positional[0], to: a.value("to")!, output: a.value("output"))
                case "kernel":
                    return kernel(a.positional)
                default:
                    let statements = a.values("e")
                    return notebook(statements: statements.isEmpty ? nil : statements.joined(separator: "\n"), try OutputSettings(a))
                }
            }
        } catch let e as UsageError {
            let interface = Commands.root.interface(at: e.path)
            let command = e.path.joined(separator: " ")
            StandardStreams.writeError("tapebook: \(e.message)\nusage: \(interface.usage(path: e.path))\n(see '\(command) --help')\n")
            return ExitStatus.usage
        } catch {
            StandardStreams.writeError("tapebook: \(error)\n")
            return ExitStatus.failure
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

finish(Actions.perform(Array(CommandLine.arguments.dropFirst())))
