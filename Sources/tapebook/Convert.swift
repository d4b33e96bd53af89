import Portable
import TapeLanguage

extension Actions {
    /// `tapebook convert FILE.tape --to ipynb`, `tapebook convert FILE.ipynb --to tape`.
    static func convert(_ file: String, to: String, output: String?) -> Int32 {
        let bytes: [UInt8]
        switch FileText.readBytes(file) {
        case .success(let read): bytes = read
        case .failure(let error):
            StandardStreams.writeError("tapebook: cannot read \(file): \(systemErrorText(error.code))\n")
            return ExitStatus.failure
        }
        let text: String
        if to == "ipynb" {
            text = NotebookConversion.notebook(fromTape: String(decoding: bytes, as: UTF8.self))
        } else {
            do {
                text = try NotebookConversion.tape(fromNotebook: bytes)
            } catch let e as NotebookError {
                StandardStreams.writeError("tapebook: \(file): \(e.message)\n")
                return ExitStatus.failure
            } catch {
                StandardStreams.writeError("tapebook: \(file): \(error)\n")
                return ExitStatus.failure
            }
        }
        let destination = output ?? replacingExtension(of: file, with: to)
        if destination == "-" {
            print(text, terminator: "")
            return ExitStatus.success
        }
        if destination == file {
            StandardStreams.writeError("tapebook: \(file) is already a .\(to) file: give another name with --output\n")
            return ExitStatus.usage
        }
        let code = FileText.replace(destination, with: Array(text.utf8))
        guard code == 0 else {
            StandardStreams.writeError("tapebook: cannot write \(destination): \(systemErrorText(code))\n")
            return ExitStatus.failure
        }
        print("wrote \(destination)")
        return ExitStatus.success
    }
}

/// `lesson.tape` → `lesson.ipynb`; a name with no extension gets one.
func replacingExtension(of path: String, with newExtension: String) -> String {
    let old = PathText.pathExtension(path)
    return (old.isEmpty ? path : String(path.dropLast(old.count + 1))) + "." + newExtension
}
