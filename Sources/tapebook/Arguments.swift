/// A command's interface, declared once: the parser reads the command line with it and the help is
/// printed from it.
// NOTE: tapebook's own parser instead of swift-argument-parser, whose reflection and dynamic casts tripled
// the start-up of `tapebook -e` (measurements: docs/DECISIONS.md, "One parser for the command line").
struct CommandInterface {
    struct Option {
        let long: String
        var short: Character? = nil
        /// The value's name in the help; nil for a flag.
        var value: String? = nil
        let help: String
        /// The values the option accepts, where they are few (the help text names them).
        var choices: [String]? = nil
        var required = false

        /// `--long`, or `-e` for an option that has only a letter.
        var spelled: String { long.count == 1 ? "-" + long : "--" + long }
    }

    /// Positional arguments: their name in the help, what they are, and how many (at least, at most).
    struct Positional {
        let name: String
        let help: String
        var least = 1
        var most: Int? = nil
    }

    let name: String
    let abstract: String
    var discussion: String? = nil
    var options: [Option] = []
    var positional: Positional? = nil
    /// Everything after the command's name is handed on unread (`kernel`, another executable's interface).
    var passesThrough = false
    var subcommands: [CommandInterface] = []

    func option(named long: String) -> Option? { options.first { $0.long == long } }
    func option(short: Character) -> Option? { options.first { $0.short == short } }
    func subcommand(named name: String) -> CommandInterface? { subcommands.first { $0.name == name } }
}

/// What a command line said, by option name.
struct ParsedArguments {
    /// The command's names from the root (`["tapebook", "run"]`).
    var path: [String]
    var flags: Set<String> = []
    /// Each option's values in order; a single-valued option reads the last.
    var values: [String: [String]] = [:]
    var positional: [String] = []

    func flag(_ long: String) -> Bool { flags.contains(long) }
    func value(_ long: String) -> String? { values[long]?.last }
    func values(_ long: String) -> [String] { values[long] ?? [] }
}

/// A command line that does not fit the interface: the message, and the command whose usage to show.
struct UsageError: Error {
    let message: String
    let path: [String]
}

enum CommandLineRequest {
    case run(ParsedArguments)
    /// `--help`, `-h` or `help COMMAND`: the help of the command at this path.
    case help([String])
    case version
}

extension CommandInterface {
    /// Reads `arguments` (without the program's name). A subcommand's name comes first; then options, in
    /// any order with the positional arguments, as `--name value`, `--name=value`, `-x value` or `-xvalue`;
    /// `--` ends the options.
    func parse(_ arguments: [String]) throws -> CommandLineRequest {
        var command = self
        var parsed = ParsedArguments(path: [name])
        var rest = arguments[...]
        if rest.first == "help" && !subcommands.isEmpty {
            let names = Array(rest.dropFirst())
            var path = [name], at = self
            for n in names {
                guard let sub = at.subcommand(named: n) else { throw UsageError(message: "no command '\(n)'", path: path) }
                path.append(n)
                at = sub
            }
            return .help(path)
        }
        while let first = rest.first, let sub = command.subcommand(named: first) {
            command = sub
            parsed.path.append(first)
            rest = rest.dropFirst()
        }
        if command.passesThrough {
            parsed.positional = Array(rest)
            return .run(parsed)
        }
        var onlyPositional = false
        while let argument = rest.popFirst() {
            if onlyPositional || argument == "-" || !argument.hasPrefix("-") {
                parsed.positional.append(argument)
                continue
            }
            if argument == "--" { onlyPositional = true; continue }
            if argument == "--help" || argument == "-h" { return .help(parsed.path) }
            if argument == "--version" && parsed.path.count == 1 { return .version }
            var option: Option?
            var attached: String?
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                option = parts[0].count > 1 ? command.option(named: String(parts[0])) : nil
                if parts.count == 2 { attached = String(parts[1]) }
            } else {
                let letter = argument.dropFirst().first!
                option = command.option(short: letter)
                if argument.count > 2 { attached = String(argument.dropFirst(2)) }
            }
            guard let option else {
                throw UsageError(message: "unknown option '\(argument)'", path: parsed.path)
            }
            let spelled = option.spelled
            guard option.value != nil else {
                if attached != nil { throw UsageError(message: "\(spelled) takes no value", path: parsed.path) }
                parsed.flags.insert(option.long)
                continue
            }
            guard let value = attached ?? rest.popFirst() else {
                throw UsageError(message: "\(spelled) needs a value (\(option.value!))", path: parsed.path)
            }
            if let choices = option.choices, !choices.contains(value) {
                throw UsageError(message: "\(spelled) must be \(Self.listing(choices)), not '\(value)'", path: parsed.path)
            }
            parsed.values[option.long, default: []].append(value)
        }
        for option in command.options where option.required && parsed.values[option.long] == nil {
            throw UsageError(message: "give \(option.spelled) \(option.value ?? "")", path: parsed.path)
        }
        let count = parsed.positional.count
        if let positional = command.positional {
            if count < positional.least {
                throw UsageError(message: "give \(positional.most == 1 ? "a" : "at least one") \(positional.name)", path: parsed.path)
            }
            if let most = positional.most, count > most {
                throw UsageError(message: "give one \(positional.name), not \(count): '\(parsed.positional[most])' is one too many",
                                 path: parsed.path)
            }
        } else if count > 0 {
            let hint = subcommands.isEmpty ? "" : " (the commands are \(Self.listing(command.subcommands.map(\.name))))"
            throw UsageError(message: "unexpected argument '\(parsed.positional[0])'\(hint)", path: parsed.path)
        }
        return .run(parsed)
    }

    /// `a, b or c`.
    static func listing(_ words: [String]) -> String {
        words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " or " + words.last!
    }

    /// The command at `path` below this one (the root's own path is `[name]`).
    func interface(at path: [String]) -> CommandInterface {
        var at = self
        for n in path.dropFirst() { at = at.subcommand(named: n) ?? at }
        return at
    }

    /// One line: the command's options and arguments.
    func usage(path: [String]) -> String {
        var words = [path.joined(separator: " ")]
        if passesThrough, let positional { return (words + [positional.name]).joined(separator: " ") }
        for option in options {
            let spelled = option.short.map { "-\($0)" } ?? option.spelled
            let word = spelled + (option.value.map { " " + $0 } ?? "")
            words.append(option.required ? word : "[" + word + "]")
        }
        if let positional {
            let many = positional.most == 1 ? "" : " ..."
            words.append(positional.least == 0 ? "[\(positional.name)\(many)]" : positional.name + many)
        }
        let lead = "usage: ".count + words[0].count + 1
        var line = Self.wrap(words.dropFirst().joined(separator: " "), width: 80, indent: lead)
            .joined(separator: "\n").dropFirst(lead).description
        line = words[0] + " " + line
        if !subcommands.isEmpty { line += "\n       \(path.joined(separator: " ")) COMMAND ..." }
        return line
    }

    /// The whole help of the command at `path`, wrapped at 80 columns.
    func help(path: [String]) -> String {
        var out = Self.wrap("\(path.joined(separator: " ")): \(abstract)", width: 80, indent: 0) + ["", "usage: " + usage(path: path)]
        if let discussion { out += [""] + Self.wrap(discussion, width: 80, indent: 0) }
        var rows: [(String, String)] = []
        if let positional, !passesThrough { rows.append((positional.name, positional.help)) }
        for option in options {
            let names = option.long.count == 1 ? option.spelled : (option.short.map { "-\($0), " } ?? "") + option.spelled
            rows.append((names + (option.value.map { " " + $0 } ?? ""), option.help))
        }
        rows.append(("-h, --help", "Show this help."))
        if path.count == 1 { rows.append(("--version", "Show the version.")) }
        out += ["", "options:"] + Self.table(rows)
        if !subcommands.isEmpty {
            out += ["", "commands:"] + Self.table(subcommands.map { ($0.name, $0.abstract) })
            out += ["", "'\(path[0]) help COMMAND' or '\(path[0]) COMMAND --help' shows a command's help."]
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Two columns, the second wrapped.
    private static func table(_ rows: [(String, String)]) -> [String] {
        let left = min(26, (rows.map(\.0.count).max() ?? 0) + 4)
        var lines: [String] = []
        for (name, text) in rows {
            let wrapped = wrap(text, width: 80, indent: left)
            let head = "  " + name
            if head.count + 2 <= left {
                lines.append(head + String(repeating: " ", count: left - head.count) + wrapped[0].dropFirst(left))
                lines += wrapped.dropFirst()
            } else {
                lines.append(head)
                lines += wrapped
            }
        }
        return lines
    }

    /// Words in lines of at most `width` columns, each indented by `indent` spaces.
    static func wrap(_ text: String, width: Int, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && indent + line.count + 1 + word.count > width {
                lines.append(pad + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(pad + line)
        return lines
    }
}
