import Portable

/// Why a notebook could not be converted.
public struct NotebookError: Error, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Lessons both ways between `.tape` files and Jupyter notebooks (nbformat 4):
/// narration becomes Markdown cells, each cell of statements a code cell, its `#>` lines stored outputs.
/// A notebook made from a `.tape` file converts back to the same file: the blank lines between cells are
/// kept in each cell's metadata where they differ from the usual layout (one blank line before prose).
public enum NotebookConversion {
    /// The kernel a converted notebook asks for, and how it names the language.
    public static let kernelName = "tapebook"
    public static let languageInfo: JSON = .object([
        ("name", .string("tape")),
        ("file_extension", .string(".tape")),
        ("mimetype", .string("text/x-tape")),
        ("pygments_lexer", .string("text")),
        ("codemirror_mode", .string("null")),
    ])

    // MARK: .tape to .ipynb

    /// The notebook for a `.tape` file, as JSON text (indented by one space, as Jupyter writes it).
    public static func notebook(fromTape text: String) -> String {
        let file = SessionFile(text: text)
        let lines = file.source.lines
        var cells: [JSON] = []
        var prose: [String] = []
        var proseBlanks = 0
        var blanks = 0
        func flushProse() {
            guard !prose.isEmpty else { return }
            cells.append(cell("markdown", source: prose.joined(separator: "\n"), blanksBefore: proseBlanks, index: cells.count))
            prose = []
        }
        for item in file.items {
            switch item {
            case .blank:
                flushProse()
                blanks += 1
            case .narration(_, let text):
                if prose.isEmpty { proseBlanks = blanks }
                prose.append(SessionFile.prose(text))
                blanks = 0
            case .cell(let c):
                flushProse()
                let source = (c.firstLine...max(c.firstLine, c.lastLine)).map { $0 - 1 < lines.count ? lines[$0 - 1] : "" }.joined(separator: "\n")
                var code = cell("code", source: source, blanksBefore: blanks, index: cells.count)
                code.set("execution_count", .null)
                code.set("outputs", .array(outputs(c.expectations.map(\.text))))
                cells.append(code)
                blanks = 0
            }
        }
        flushProse()
        var metadata: [(String, JSON)] = [
            ("kernelspec", .object([("display_name", .string("tapebook")), ("language", .string("tape")), ("name", .string(kernelName))])),
            ("language_info", languageInfo),
        ]
        if blanks > 0 { metadata.append(("tapebook", .object([("blank_lines_after", .number(Double(blanks)))]))) }
        let notebook: JSON = .object([
            ("cells", .array(cells)),
            ("metadata", .object(metadata)),
            ("nbformat", .number(4)),
            ("nbformat_minor", .number(5)),
        ])
        return notebook.serialized(indent: 1) + "\n"
    }

    /// A cell with an id, its source as a list of lines, and the blank lines before it where unusual.
    private static func cell(_ type: String, source: String, blanksBefore: Int, index: Int) -> JSON {
        let isFirst = index == 0
        var metadata: [(String, JSON)] = []
        let usual = isFirst ? 0 : (type == "markdown" ? 1 : 0)
        if blanksBefore != usual { metadata.append(("tapebook", .object([("blank_lines_before", .number(Double(blanksBefore)))]))) }
        return .object([
            ("cell_type", .string(type)),
            ("id", .string("cell-\(index + 1)")),
            ("metadata", .object(metadata)),
            ("source", sourceLines(source)),
        ])
    }

    /// Jupyter's multi-line text: a list of lines, each but the last ending in a newline.
    static func sourceLines(_ text: String) -> JSON {
        guard !text.isEmpty else { return .array([]) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return .array(lines.enumerated().compactMap { i, line in
            i == lines.count - 1 ? (line.isEmpty ? nil : .string(String(line))) : .string(String(line) + "\n")
        })
    }

    /// Stored outputs for a cell's `#>` lines: the text before an error as a result, the error as an error.
    static func outputs(_ lines: [String]) -> [JSON] {
        guard !lines.isEmpty else { return [] }
        let errorStart = lines.firstIndex { $0.hasPrefix("error: ") } ?? lines.count
        var result: [JSON] = []
        if errorStart > 0 {
            result.append(.object([
                ("data", .object([("text/plain", sourceLines(lines[..<errorStart].joined(separator: "\n")))])),
                ("execution_count", .null),
                ("metadata", .object([])),
                ("output_type", .string("execute_result")),
            ]))
        }
        if errorStart < lines.count {
            result.append(.object([
                ("ename", .string("error")),
                ("evalue", .string(String(lines[errorStart].dropFirst("error: ".count)))),
                ("output_type", .string("error")),
                ("traceback", .array(lines[errorStart...].map { .string($0) })),
            ]))
        }
        return result
    }

    // MARK: .ipynb to .tape

    /// The `.tape` file for a notebook's JSON: Markdown as narration, code as statements, outputs as `#>` lines.
    public static func tape(fromNotebook bytes: [UInt8]) throws -> String {
        let notebook: JSON
        do { notebook = try JSON.parse(bytes) } catch let e as JSONError {
            throw NotebookError("not a notebook: the JSON is invalid (\(e.description))")
        }
        guard notebook["nbformat"]?.int == 4 else {
            throw NotebookError("not a notebook of nbformat 4" + (notebook["nbformat"]?.int.map { " (it says \($0))" } ?? ""))
        }
        guard let cells = notebook["cells"]?.array else { throw NotebookError("the notebook has no list of cells") }
        var lines: [String] = []
        for (index, cell) in cells.enumerated() {
            let type = cell["cell_type"]?.string ?? ""
            guard let source = cell["source"]?.text else { throw NotebookError("cell \(index + 1) has no source text") }
            let usual = index == 0 ? 0 : (type == "code" ? 0 : 1)
            let blanks = cell["metadata"]?["tapebook"]?["blank_lines_before"]?.int ?? usual
            lines += Array(repeating: "", count: max(0, min(blanks, 1000)))
            let sourceLines = source.isEmpty ? [] : source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let body = source.hasSuffix("\n") ? Array(sourceLines.dropLast()) : sourceLines
            if type == "code" {
                lines += body
                for output in cell["outputs"]?.array ?? [] {
                    lines += outputText(output).map { $0.isEmpty ? "#>" : "#> " + $0 }
                }
            } else {
                lines += body.map { $0.isEmpty ? "#" : "# " + $0 }
            }
        }
        let after = notebook["metadata"]?["tapebook"]?["blank_lines_after"]?.int ?? 0
        lines += Array(repeating: "", count: max(0, min(after, 1000)))
        return lines.joined(separator: "\n") + "\n"
    }

    /// The lines of text an output shows: a stream's text, a result's `text/plain`, an error's traceback.
    public static func outputText(_ output: JSON) -> [String] {
        let text: String
        switch output["output_type"]?.string {
        case "stream": text = output["text"]?.text ?? ""
        case "execute_result", "display_data": text = output["data"]?["text/plain"]?.text ?? ""
        case "error":
            let traceback = output["traceback"]?.array?.compactMap(\.string) ?? []
            text = traceback.isEmpty ? "\(output["ename"]?.string ?? "error"): \(output["evalue"]?.string ?? "")"
                                     : withoutEscapes(traceback.joined(separator: "\n"))
        default: return []
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { lines.removeLast() }
        return lines
    }

    /// Text without terminal colour codes (`ESC [ … m`), which other kernels put in tracebacks.
    static func withoutEscapes(_ text: String) -> String {
        var out = "", escaping = false
        for c in text.unicodeScalars {
            if escaping { if (0x40...0x7E).contains(c.value) && c != "[" { escaping = false }; continue }
            if c == "\u{1B}" { escaping = true; continue }
            out.unicodeScalars.append(c)
        }
        return out
    }
}
