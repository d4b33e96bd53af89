import ArgumentParser
import Portable
import TapeLanguage

/// `tapebook convert FILE.tape --to ipynb`, `tapebook convert FILE.ipynb --to tape`.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a lesson between a session file (.tape) and a Jupyter notebook (.ipynb).",
        discussion: """
        Narration becomes Markdown cells, statements code cells, and #> lines the cells' stored outputs; \
        a notebook made from a .tape file converts back to the same file.
        """)

    @Option(help: "What to write: ipynb or tape.")
    var to: String

    @Option(name: .shortAndLong, help: "Where to write (- for standard output); by default FILE with the new extension.")
    var output: String?

    @Argument(help: "A session file (.tape) or a notebook (.ipynb).")
    var file: String

    func validate() throws {
        guard to == "ipynb" || to == "tape" else { throw ValidationError("--to must be ipynb or tape") }
    }

    func run() throws {
        let bytes: [UInt8]
        switch FileText.readBytes(file) {
        case .success(let read): bytes = read
        case .failure(let error):
            StandardStreams.writeError("tapebook: cannot read \(file): \(systemErrorText(error.code))\n")
            throw ExitCode(ExitStatus.failure)
        }
        let text: String
        if to == "ipynb" {
            text = NotebookConversion.notebook(fromTape: String(decoding: bytes, as: UTF8.self))
        } else {
            do {
                text = try NotebookConversion.tape(fromNotebook: bytes)
            } catch let e as NotebookError {
                StandardStreams.writeError("tapebook: \(file): \(e.message)\n")
                throw ExitCode(ExitStatus.failure)
            }
        }
        let destination = output ?? replacingExtension(of: file, with: to)
        if destination == "-" {
            print(text, terminator: "")
            return
        }
        if destination == file {
            StandardStreams.writeError("tapebook: \(file) is already a .\(to) file: give another name with --output\n")
            throw ExitCode(ExitStatus.usage)
        }
        let code = FileText.replace(destination, with: Array(text.utf8))
        guard code == 0 else {
            StandardStreams.writeError("tapebook: cannot write \(destination): \(systemErrorText(code))\n")
            throw ExitCode(ExitStatus.failure)
        }
        print("wrote \(destination)")
    }
}

/// `lesson.tape` → `lesson.ipynb`; a name with no extension gets one.
func replacingExtension(of path: String, with newExtension: String) -> String {
    let old = PathText.pathExtension(path)
    return (old.isEmpty ? path : String(path.dropLast(old.count + 1))) + "." + newExtension
}
