import Glibc
import Portable

/// `tapebook kernel -f CONNECTION_FILE`, `tapebook kernel install [--user] [--prefix P]`: runs the Jupyter
/// kernel, a second executable beside this one (`tapebook-kernel`), so that the notebook's own start-up
/// does not load ZeroMQ and libcrypto. `exec` keeps the process id, to which Jupyter sends interrupts.
extension Actions {
    static func kernel(_ arguments: [String]) -> Int32 {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let own = count > 0 ? String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        let kernel = PathText.appending("tapebook-kernel", to: PathText.deletingLastComponent(own))
        let argv = ([kernel] + arguments).map { strdup($0) } + [nil]
        execv(kernel, argv)
        StandardStreams.writeError("tapebook: cannot run \(kernel): \(systemErrorText(errno))\n")
        return ExitStatus.failure
    }
}
