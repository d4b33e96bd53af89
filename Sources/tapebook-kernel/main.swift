import Glibc
import JupyterKernel
import Portable

// `tapebook-kernel -f CONNECTION_FILE` serves Jupyter; `tapebook-kernel install [--user] [--prefix P]` writes
// the kernelspec. `tapebook kernel ...` execs this program with the same arguments.
let arguments = Array(CommandLine.arguments.dropFirst())
let usage = "usage: tapebook kernel -f CONNECTION_FILE [--confined]\n       tapebook kernel install [--user] [--prefix P] [--confined]\n"

/// The directory of this executable (where `tapebook` is too).
func ownDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { return "." }
    return PathText.deletingLastComponent(String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self))
}

if arguments.first == "install" {
    var user = false, confined = false, prefix: String?
    var rest = arguments.dropFirst()
    while let a = rest.popFirst() {
        switch a {
        case "--user": user = true
        case "--confined": confined = true
        case "--prefix":
            guard let p = rest.popFirst() else { StandardStreams.writeError("tapebook kernel install: --prefix needs a directory\n"); exit(2) }
            prefix = p
        case "--sys-prefix":
            prefix = Environment.value("VIRTUAL_ENV") ?? "/usr/local"
        default:
            StandardStreams.writeError("tapebook kernel install: unknown option \(a)\n" + usage)
            exit(2)
        }
    }
    let directory = ownDirectory()
    let tapebook = PathText.appending("tapebook", to: directory)
    let command = access(tapebook, X_OK) == 0 ? [tapebook, "kernel"] : [PathText.appending("tapebook-kernel", to: directory)]
    do {
        let path = try KernelSpec.install(command: command, user: user, prefix: prefix, confined: confined)
        print("installed the \(KernelSpec.name(confined: confined)) kernel in \(path)")
        exit(0)
    } catch {
        StandardStreams.writeError("tapebook kernel install: \(error)\n")
        exit(1)
    }
}

// -f FILE and --confined, in either order.
var connectionFile: String?, confined = false
var rest = arguments[...]
while let a = rest.popFirst() {
    switch a {
    case "-f", "--connection-file":
        guard connectionFile == nil, let file = rest.popFirst() else { StandardStreams.writeError(usage); exit(2) }
        connectionFile = file
    case "--confined": confined = true
    default:
        StandardStreams.writeError("tapebook kernel: unknown option \(a)\n" + usage)
        exit(2)
    }
}
guard let connectionFile else {
    StandardStreams.writeError(usage)
    exit(2)
}
do {
    let kernel = try Kernel(connectionFile: connectionFile, confined: confined)
    exit(kernel.serve())
} catch {
    StandardStreams.writeError("tapebook kernel: \(error)\n")
    exit(1)
}
