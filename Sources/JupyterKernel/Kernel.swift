import Glibc
import CZMQ
import Portable
import TapeLanguage
import TapeSyntax
import LineEditing
import Rendering

/// A Jupyter kernel (messaging protocol 5.3) around one `Session`, the REPL's.
/// Shell and control requests are served one at a time on the main thread; heartbeats are echoed on a
/// thread of their own. Interrupts come as SIGINT (interrupt_mode "signal"), as Ctrl-C at the REPL, or as
/// an interrupt_request on the control channel (interrupt_mode "message"), which a running cell looks for
/// between loop iterations.
public final class Kernel {
    public static let version = "0.1"
    let channels: Channels
    let session = Session()
    var executionCount = 0
    /// Cells run, for history_request: execution count, code, and the text of its outputs.
    var history: [(count: Int, code: String, output: String)] = []
    var running = true
    /// The progress output of a long `repeat`, as the terminal's progress bar.
    let progress = ProgressDisplay()
    /// An interrupt_request arrived while the cell ran (message mode); SIGINT sets `Interrupt` instead.
    var interruptRequested = false
    /// Control requests that arrived while a cell ran and wait for it to end (all but interrupt,
    /// kernel_info and shutdown, which are answered at once).
    var deferredControl: [Message] = []
    /// When the running cell last looked at the control channel (monotonic nanoseconds).
    var lastControlPoll: UInt64 = 0
    /// A running cell looks at the control channel at most this often: a poll is a system call, and a loop
    /// iteration may take a microsecond.
    static let controlPollInterval: UInt64 = 20_000_000

    /// `confined`: the cells write as a replayed file does (spec §12), only inside the kernel's working
    /// directory (Jupyter starts a kernel in its notebook's folder): for notebooks one did not write.
    public init(connectionFile: String, confined: Bool = false) throws {
        let bytes: [UInt8]
        switch FileText.readBytes(connectionFile) {
        case .success(let read): bytes = read
        case .failure(let error): throw KernelError("cannot read \(connectionFile): \(systemErrorText(error.code))")
        }
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw KernelError("\(connectionFile) is not JSON: \(error)") }
        channels = try Channels(try ConnectionInfo(json: json))
        session.settings.lineWidth = 80
        session.settings.unicode = true
        session.settings.color = false
        // As `tapebook check` does: a notebook's random numbers are the same on every run, so its stored
        // outputs can be reproduced (set_seed changes it).
        session.setSeed(0)
        if confined { session.replayFolder = ConfinedFile.resolvedFolder(".") ?? "/nonexistent-folder" }
        session.interruptCheck = { [unowned self] in Interrupt.isRequested || self.controlWhileRunning() }
        if let text = Environment.value("TAPEBOOK_PROGRESS_DELAY"), let seconds = Double(text), seconds >= 0 {
            progress.reporter.delay = seconds
        }
        session.progress = { [unowned self] count, total, last in
            progress.reporter.precision = session.settings.precision
            progress.reporter.report(count: count, total: total, last: last)
        }
    }

    /// Serves requests until a shutdown request.
    public func serve() -> Int32 {
        Interrupt.install()
        channels.startHeartbeat()
        channels.publish("status", .object([("execution_state", .string("starting"))]), parent: nil)
        var items = [
            zmq_pollitem_t(socket: channels.control.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0),
            zmq_pollitem_t(socket: channels.shell.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0),
        ]
        defer { channels.close() }
        while running {
            if !deferredControl.isEmpty {
                handle(deferredControl.removeFirst(), on: channels.control)
                continue
            }
            if zmq_poll(&items, 2, -1) < 0 {
                if zmq_errno() == EINTR { continue }
                StandardStreams.writeError("tapebook kernel: \(String(cString: zmq_strerror(zmq_errno())))\n")
                return 1
            }
            // Control first: a shutdown or an interrupt request must not wait behind queued cells.
            if items[0].revents & Int16(ZMQ_POLLIN) != 0, let message = channels.read(channels.control) {
                handle(message, on: channels.control)
            } else if items[1].revents & Int16(ZMQ_POLLIN) != 0, let message = channels.read(channels.shell) {
                handle(message, on: channels.shell)
            }
        }
        return 0
    }

    func handle(_ message: Message, on socket: Socket) {
        channels.publish("status", .object([("execution_state", .string("busy"))]), parent: message)
        defer { channels.publish("status", .object([("execution_state", .string("idle"))]), parent: message) }
        let content = message.content
        switch message.type {
        case "kernel_info_request":
            reply(message, on: socket, "kernel_info_reply", kernelInfo())
        case "execute_request":
            execute(message, on: socket)
        case "complete_request":
            reply(message, on: socket, "complete_reply", complete(content["code"]?.string ?? "", cursor: content["cursor_pos"]?.int))
        case "inspect_request":
            reply(message, on: socket, "inspect_reply", inspect(content["code"]?.string ?? "", cursor: content["cursor_pos"]?.int))
        case "is_complete_request":
            reply(message, on: socket, "is_complete_reply", isComplete(content["code"]?.string ?? ""))
        case "history_request":
            reply(message, on: socket, "history_reply", historyReply(content))
        case "comm_info_request":
            reply(message, on: socket, "comm_info_reply", .object([("status", .string("ok")), ("comms", .object([]))]))
        case "interrupt_request":
            // Between cells there is nothing to stop (a running cell answers it itself: controlWhileRunning).
            Interrupt.clear()
            reply(message, on: socket, "interrupt_reply", .object([("status", .string("ok"))]))
        case "shutdown_request":
            let restart = content["restart"]?.bool ?? false
            reply(message, on: socket, "shutdown_reply", .object([("status", .string("ok")), ("restart", .bool(restart))]))
            running = false
        default:
            // Unknown requests (comm_open, a future type) get no reply, as the protocol allows; the log says so.
            StandardStreams.writeError("tapebook kernel: no handler for \(message.type)\n")
        }
    }

    /// While a cell runs (called between loop iterations): answers the control requests that arrived, and
    /// says whether one of them asked to interrupt. No busy/idle status goes out for them, so that a front
    /// end keeps showing the cell as running.
    func controlWhileRunning() -> Bool {
        let now = monotonicNanoseconds()
        guard now &- lastControlPoll >= Kernel.controlPollInterval else { return interruptRequested }
        lastControlPoll = now
        var item = zmq_pollitem_t(socket: channels.control.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        while zmq_poll(&item, 1, 0) > 0, item.revents & Int16(ZMQ_POLLIN) != 0, let message = channels.read(channels.control) {
            switch message.type {
            case "interrupt_request":
                interruptRequested = true
                reply(message, on: channels.control, "interrupt_reply", .object([("status", .string("ok"))]))
            case "kernel_info_request":
                reply(message, on: channels.control, "kernel_info_reply", kernelInfo())
            case "shutdown_request":
                // The cell stops as if interrupted; the reply goes out now, and the kernel ends after the cell.
                let restart = message.content["restart"]?.bool ?? false
                reply(message, on: channels.control, "shutdown_reply", .object([("status", .string("ok")), ("restart", .bool(restart))]))
                interruptRequested = true
                running = false
            default:
                deferredControl.append(message)
            }
        }
        return interruptRequested
    }

    func reply(_ message: Message, on socket: Socket, _ type: String, _ content: JSON) {
        channels.send(socket, type, content, parent: message)
    }

    // MARK: kernel_info

    func kernelInfo() -> JSON {
        .object([
            ("status", .string("ok")),
            ("protocol_version", .string("5.3")),
            ("implementation", .string("tapebook")),
            ("implementation_version", .string(Kernel.version)),
            ("language_info", .object([
                ("name", .string("tape")),
                ("version", .string(Kernel.version)),
                ("mimetype", .string("text/x-tape")),
                ("file_extension", .string(".tape")),
                ("pygments_lexer", .string("text")),
                ("codemirror_mode", .string("null")),
            ])),
            ("banner", .string("tapebook \(Kernel.version): a notebook for gradients · :help for help")),
            ("help_links", .array([])),
        ])
    }

    // MARK: execute

    func execute(_ message: Message, on socket: Socket) {
        let code = message.content["code"]?.string ?? ""
        let silent = message.content["silent"]?.bool ?? false
        let storeHistory = message.content["store_history"]?.bool ?? !silent
        if !silent && storeHistory { executionCount += 1 }
        let count = executionCount
        var outputText: [String] = []
        let source = SourceText(code, firstLine: 1)
        var failure: JSON?
        // NOTE: cleared before execute_input goes out: an interrupt sent once a client has seen it stops this cell.
        Interrupt.clear()
        interruptRequested = false
        lastControlPoll = 0
        if !silent {
            channels.publish("execute_input", .object([("code", .string(code)), ("execution_count", .number(Double(count)))]), parent: message)
        }
        // `print` writes to the cell's standard output as it runs (a loop's lines as the loop goes), as
        // Python's print does in IPython: stream messages, in order with the results.
        session.onPrint = { [self] outcome in
            let text = OutputFormatter(settings: session.settings).human(outcome, source: source)
            outputText.append(text)
            if !silent {
                channels.publish("stream", .object([("name", .string("stdout")), ("text", .string(text + "\n"))]), parent: message)
            }
        }
        defer { session.onPrint = nil }
        if !silent { progress.publish = { [self] type, content in channels.publish(type, content, parent: message) } }
        progress.begin(shownName: ProgressReporter.shownName(in: code))
        session.run(code, keepGoing: false) { outcome in
            let formatter = OutputFormatter(settings: session.settings)
            let text = formatter.human(outcome, source: source)
            if case .error(let error) = outcome.result {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { JSON.string(String($0)) }
                let content: JSON = .object([("ename", .string("error")), ("evalue", .string(error.message)), ("traceback", .array(lines))])
                if !silent { channels.publish("error", content, parent: message) }
                outputText.append(text)
                failure = content
                return
            }
            guard !silent, !text.isEmpty else { return }
            outputText.append(text)
            let bundle = Outputs.bundle(for: outcome, text: text, session: session)
            if outcome.figure != nil {
                channels.publish("display_data", .object([("data", bundle), ("metadata", .object([])), ("transient", .object([]))]), parent: message)
            } else {
                channels.publish("execute_result", .object([("execution_count", .number(Double(count))), ("data", bundle), ("metadata", .object([]))]), parent: message)
            }
            if outcome.quit { running = false }
        }
        progress.end()
        progress.publish = nil
        Interrupt.clear()
        interruptRequested = false
        if storeHistory { history.append((count, code, outputText.joined(separator: "\n"))) }
        var reply: [(String, JSON)] = [("execution_count", .number(Double(count)))]
        if let failure, case .object(let members) = failure {
            reply = [("status", .string("error"))] + reply + members
        } else {
            reply = [("status", .string("ok"))] + reply + [("user_expressions", .object([])), ("payload", .array([]))]
        }
        channels.send(socket, "execute_reply", .object(reply), parent: message)
    }

    // MARK: complete, inspect, is_complete

    /// The word that ends at `cursor` (a code point offset, as Jupyter counts): start and end offsets.
    static func word(in code: String, at cursor: Int?) -> (start: Int, end: Int, text: String) {
        let scalars = Array(code.unicodeScalars)
        let end = max(0, min(cursor ?? scalars.count, scalars.count))
        var start = end
        func isWord(_ s: Unicode.Scalar) -> Bool { s == "_" || s == ":" || (s.properties.isAlphabetic) || ("0"..."9").contains(s) }
        while start > 0, isWord(scalars[start - 1]) { start -= 1 }
        // A `:` counts only at the start of a command (`:vars`), not inside a word.
        var text = String(String.UnicodeScalarView(scalars[start..<end]))
        while let colon = text.dropFirst().firstIndex(of: ":") {
            let offset = text.distance(from: text.startIndex, to: colon)
            start += offset
            text = String(text[colon...])
        }
        return (start, end, text)
    }

    static let commands = [":help", ":vars", ":grads", ":save", ":load", ":export", ":set", ":time", ":reset", ":quit"]

    func complete(_ code: String, cursor: Int?) -> JSON {
        let (start, end, word) = Kernel.word(in: code, at: cursor)
        var matches: [String] = []
        if word.hasPrefix(":") {
            matches = Kernel.commands.filter { $0.hasPrefix(word) }
        } else {
            var candidates = Set(Session.keywords + Session.builtinNames)
            for (name, _) in session.completionNames() { candidates.insert(name) }
            matches = candidates.filter { $0.hasPrefix(word) }.sorted()
        }
        return .object([
            ("status", .string("ok")),
            ("matches", .array(matches.map { .string($0) })),
            ("cursor_start", .number(Double(start))),
            ("cursor_end", .number(Double(end))),
            ("metadata", .object([])),
        ])
    }

    /// The `:help` topic of the name under the cursor (or just before it).
    func inspect(_ code: String, cursor: Int?) -> JSON {
        let scalars = Array(code.unicodeScalars)
        var end = max(0, min(cursor ?? scalars.count, scalars.count))
        while end < scalars.count, scalars[end] == "_" || scalars[end].properties.isAlphabetic || ("0"..."9").contains(scalars[end]) { end += 1 }
        let name = Kernel.word(in: code, at: end).text
        var data: [(String, JSON)] = []
        if !name.isEmpty, case .found(let text) = Help.lookup(name, width: 80) {
            data.append(("text/plain", .string(text)))
        } else if !name.isEmpty, let v = session.value(named: name) {
            data.append(("text/plain", .string(name + ": tensor of shape " + describeShape(v.shape))))
        }
        return .object([
            ("status", .string("ok")),
            ("found", .bool(!data.isEmpty)),
            ("data", .object(data)),
            ("metadata", .object([])),
        ])
    }

    func isComplete(_ code: String) -> JSON {
        if Parser.isComplete(code) {
            let valid = (try? Parser.parseAll(code)) != nil
            return .object([("status", .string(valid ? "complete" : "invalid"))])
        }
        return .object([("status", .string("incomplete")), ("indent", .string("  "))])
    }

    // MARK: history

    /// history_request: tail, range (by execution count) and search (a glob, as IPython's), with outputs
    /// where asked. The session number is 0: one kernel process keeps one history.
    func historyReply(_ content: JSON) -> JSON {
        var entries = history
        let n = content["n"]?.int
        switch content["hist_access_type"]?.string {
        case "tail":
            entries = Array(entries.suffix(max(0, n ?? 10)))
        case "range":
            let start = content["start"]?.int ?? 0, stop = content["stop"]?.int ?? Int.max
            entries = entries.filter { $0.count >= start && $0.count < stop }
        case "search":
            let pattern = content["pattern"]?.string ?? "*"
            entries = entries.filter { fnmatch(pattern, $0.code, 0) == 0 }
            if content["unique"]?.bool == true {
                var seen = Set<String>()
                entries = Array(entries.reversed().filter { seen.insert($0.code).inserted }.reversed())
            }
            if let n, n > 0 { entries = Array(entries.suffix(n)) }
        default:
            entries = []
        }
        let output = content["output"]?.bool ?? false
        return .object([
            ("status", .string("ok")),
            ("history", .array(entries.map { entry in
                .array([.number(0), .number(Double(entry.count)), output ? .array([.string(entry.code), .string(entry.output)]) : .string(entry.code)])
            })),
        ])
    }
}

func describeShape(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
