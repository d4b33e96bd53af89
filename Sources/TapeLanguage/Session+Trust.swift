import Glibc
import Portable
import TapeSyntax

/// The kinds of file a statement writes, with the extensions a replayed file may give them.
enum WrittenFile {
    case tensor, session, script, graph

    /// The statement, as the rule names it.
    var statement: String {
        switch self {
        case .tensor: return "save ... to"
        case .session: return ":save"
        case .script: return ":export"
        case .graph: return "graph ... to"
        }
    }

    var extensions: [String] {
        switch self {
        case .tensor: return ["npy", "csv"]
        case .session: return ["tape"]
        case .script: return ["py"]
        case .graph: return ["dot", "gv", "svg", "png", "pdf"]
        }
    }
}

/// The texts of refused writes (section 12 of the language: trust).
enum TrustMessages {
    static let note = "`tapebook run --trust FILE` lifts this rule for a file you vouch for (see :help trust)"

    static func refused(_ name: String, _ refusal: ConfinedFile.Refusal, _ kind: WrittenFile) -> String {
        let file = visibleText(name)
        switch refusal {
        case .outsideFolder:
            return "refused to write \(file): outside the replayed file's folder"
        case .wrongExtension:
            return "refused to write \(file): in a replayed file, \(kind.statement) writes only " +
                kind.extensions.map { "." + $0 }.joined(separator: " ") + " files"
        case .hiddenName(let component):
            return "refused to write \(file): a hidden name (\(visibleText(component))) in a replayed file"
        case .symbolicLink(let component):
            return "refused to write \(file): \(visibleText(component)) is a symbolic link, which a replayed file does not write through"
        case .specialFile:
            return "refused to write \(file): not a regular file, which a replayed file does not write"
        }
    }
}

extension Session {
    /// Writes `bytes` to the file `name` (resolved against the session's directory). While a replayed file
    /// runs (`replayFolder` is set), the write is confined to its folder (see `ConfinedFile`); what a person
    /// typed, and files run with `--trust`, write anywhere, atomically (see `FileText.replace`).
    func writeFile(_ bytes: [UInt8], to name: String, kind: WrittenFile, span: SourceSpan) throws {
        // A reader (export): a write the rules allow is kept in memory, where later reads in the session find
        // it; one they refuse fails as it would in a replay, and nothing is kept.
        let keeping = keptFiles != nil
        guard let folder = replayFolder else {
            if keeping { keptFiles?[path(name)] = bytes; return }
            let code = FileText.replace(path(name), with: bytes)
            if code != 0 { throw EvaluationError("cannot write \(visibleText(name)): \(systemErrorText(code))", at: span) }
            return
        }
        switch ConfinedFile.write(bytes, to: name, base: directory ?? ".", folder: folder, extensions: kind.extensions, performing: !keeping) {
        case .success:
            if keeping { keptFiles?[path(name)] = bytes }
        case .failure(.refused(let refusal)):
            throw EvaluationError(TrustMessages.refused(name, refusal, kind), at: span, note: TrustMessages.note)
        case .failure(.system(let code)):
            throw EvaluationError("cannot write \(visibleText(name)): \(systemErrorText(code))", at: span)
        }
    }

    /// Runs `body` as a replay of the file at `path`: relative names resolve against its folder, and,
    /// unless the session trusts its files, writes are confined there.
    func replaying<T>(_ path: String, _ body: () throws -> T) rethrows -> T {
        let saved = (directory, replayFolder)
        defer { (directory, replayFolder) = saved }
        let folder = PathText.deletingLastComponent(path)
        directory = folder.isEmpty ? nil : folder
        if !trustsFiles { replayFolder = ConfinedFile.resolvedFolder(folder) ?? "/nonexistent-folder" }
        return try body()
    }

    /// Starts replaying the file at `path` for the whole session (`run`, `check`).
    public func beginReplay(of path: String, trusted: Bool) {
        trustsFiles = trusted
        let folder = PathText.deletingLastComponent(path)
        directory = folder.isEmpty ? nil : folder
        replayFolder = trusted ? nil : (ConfinedFile.resolvedFolder(folder) ?? "/nonexistent-folder")
    }
}

/// `text` with control characters shown as escapes (`\r`, `\u{1b}`), so that a file name or a name from a
/// file cannot move the cursor, clear the screen or set the terminal's title when it is shown.
public func visibleText(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: isInvisibleControl) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        guard isInvisibleControl(scalar) else { out.unicodeScalars.append(scalar); continue }
        switch scalar {
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\n": out += "\\n"
        default: out += "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }
    return out
}

/// Output text as it may reach a terminal or a transcript: control characters from the session (a file's
/// narration, statements, file names, error texts) become visible escapes, so none can move the cursor,
/// clear the screen or set the title. Line breaks and tabs stay; with `keepingColors`, so do the colour
/// sequences tapebook writes itself (`ESC [ digits ; m`), which change nothing but colour.
public func terminalText(_ text: String, keepingColors: Bool) -> String {
    guard text.unicodeScalars.contains(where: { isInvisibleControl($0) && $0 != "\n" && $0 != "\t" }) else { return text }
    var out = ""
    let scalars = Array(text.unicodeScalars)
    var i = 0
    while i < scalars.count {
        let scalar = scalars[i]
        if scalar == "\u{1B}", keepingColors, i + 1 < scalars.count, scalars[i + 1] == "[" {
            var j = i + 2
            while j < scalars.count, ("0"..."9").contains(scalars[j]) || scalars[j] == ";" { j += 1 }
            if j < scalars.count, scalars[j] == "m" {
                for k in i...j { out.unicodeScalars.append(scalars[k]) }
                i = j + 1
                continue
            }
        }
        if scalar == "\n" || scalar == "\t" || !isInvisibleControl(scalar) {
            out.unicodeScalars.append(scalar)
        } else {
            out += visibleText(String(scalar))
        }
        i += 1
    }
    return out
}

/// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
func isInvisibleControl(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    return v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029
}
