import Glibc
import Portable

/// `tapebook kernel install`: the kernelspec directory Jupyter finds kernels by.
public enum KernelSpec {
    /// Where the kernelspec goes: `--prefix P` → P/share/jupyter/kernels/tapebook; `--user` → the user's
    /// Jupyter data directory (JUPYTER_DATA_DIR, else XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter);
    /// otherwise the system's, /usr/local/share/jupyter (where `jupyter kernelspec install` puts it).
    public static func directory(user: Bool, prefix: String?) -> String {
        let base: String
        if let prefix {
            base = PathText.appending("share/jupyter", to: prefix)
        } else if user {
            if let data = Environment.value("JUPYTER_DATA_DIR"), !data.isEmpty { base = data }
            else if let xdg = Environment.value("XDG_DATA_HOME"), !xdg.isEmpty { base = PathText.appending("jupyter", to: xdg) }
            else { base = PathText.appending(".local/share/jupyter", to: Environment.value("HOME") ?? "/") }
        } else {
            base = "/usr/local/share/jupyter"
        }
        return PathText.appending("kernels/tapebook", to: base)
    }

    /// kernel.json: how Jupyter starts the kernel; interrupts come as SIGINT.
    public static func kernelJSON(command: [String]) -> String {
        JSON.object([
            ("argv", .array((command + ["-f", "{connection_file}"]).map { .string($0) })),
            ("display_name", .string("tapebook")),
            ("language", .string("tape")),
            ("interrupt_mode", .string("signal")),
            ("metadata", .object([])),
        ]).serialized(indent: 1) + "\n"
    }

    /// A small logo: ∂ on a tape-coloured square.
    public static let logo = """
    <svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
    <rect width="64" height="64" rx="10" fill="#0072B2"/>
    <text x="32" y="46" font-family="Georgia, serif" font-size="42" text-anchor="middle" fill="white">∂</text>
    </svg>

    """

    /// Writes kernel.json and the logo; returns the directory, or throws with what failed.
    public static func install(command: [String], user: Bool, prefix: String?) throws -> String {
        let directory = directory(user: user, prefix: prefix)
        try makeDirectories(directory)
        for (name, text) in [("kernel.json", kernelJSON(command: command)), ("logo-svg.svg", logo)] {
            let path = PathText.appending(name, to: directory)
            let code = FileText.replace(path, with: Array(text.utf8))
            if code != 0 { throw KernelError("cannot write \(path): \(systemErrorText(code))") }
        }
        return directory
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            current = PathText.appending(String(part), to: current)
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw KernelError("cannot make \(current): \(systemErrorText(errno))")
            }
        }
    }
}
