import Glibc
import Portable
import Rendering

/// `tapebook kernel install`: the kernelspec directory Jupyter finds kernels by.
public enum KernelSpec {
    /// Where the kernelspec goes: `--prefix P` → P/share/jupyter/kernels/tapebook; `--user` → the user's
    /// Jupyter data directory (JUPYTER_DATA_DIR, else XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter);
    /// otherwise the system's, /usr/local/share/jupyter (where `jupyter kernelspec install` puts it).
    public static func directory(user: Bool, prefix: String?, name: String = "tapebook") -> String {
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
        return PathText.appending("kernels/" + name, to: base)
    }

    /// The kernelspec's name: `tapebook`, or `tapebook-confined` for the kernel whose cells write as a
    /// replayed file does (`--confined`).
    public static func name(confined: Bool) -> String { confined ? "tapebook-confined" : "tapebook" }

    /// kernel.json: how Jupyter starts the kernel; interrupts come as SIGINT.
    public static func kernelJSON(command: [String], confined: Bool = false) -> String {
        JSON.object([
            ("argv", .array((command + ["-f", "{connection_file}"] + (confined ? ["--confined"] : [])).map { .string($0) })),
            ("display_name", .string(confined ? "tapebook (confined)" : "tapebook")),
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

    /// The logo as `size`×`size` RGBA pixels, for the PNG files Jupyter's launchers show: a white ∂ (a ring
    /// and an arc, drawn with 4×4 samples a pixel) on the SVG's blue rounded square, transparent around it.
    static func logoPixels(size: Int) -> [UInt8] {
        let blue: (Double, Double, Double) = (0x00, 0x72, 0xB2)
        let samples = 4
        let stroke = 0.055  // half the line's width, in units of the side
        /// Distance from (x, y) to the arc of the circle at (cx, cy) of radius r between the angles (radians,
        /// counter-clockwise with y up) `from` and `to`.
        func arcDistance(_ x: Double, _ y: Double, _ cx: Double, _ cy: Double, _ r: Double, _ from: Double, _ to: Double) -> Double {
            let angle = atan2(cy - y, x - cx)
            if angle >= from && angle <= to { return abs(((x - cx) * (x - cx) + (y - cy) * (y - cy)).squareRoot() - r) }
            return [from, to].map { a in
                let px = cx + r * cos(a), py = cy - r * sin(a)
                return ((x - px) * (x - px) + (y - py) * (y - py)).squareRoot()
            }.min()!
        }
        func insideSquare(_ x: Double, _ y: Double) -> Bool {
            let radius = 10.0 / 64  // the SVG's rx
            let dx = max(radius - x, x - (1 - radius), 0), dy = max(radius - y, y - (1 - radius), 0)
            return dx * dx + dy * dy <= radius * radius
        }
        func onGlyph(_ x: Double, _ y: Double) -> Bool {
            // The bowl, and the back that rises from its right side and hooks to the left at the top.
            arcDistance(x, y, 0.46, 0.64, 0.17, -Double.pi, Double.pi) <= stroke
                || arcDistance(x, y, 0.44, 0.46, 0.23, -0.6, 2.5) <= stroke
        }
        var pixels = [UInt8](repeating: 0, count: size * size * 4)
        for row in 0..<size {
            for column in 0..<size {
                var square = 0, glyph = 0
                for sy in 0..<samples {
                    for sx in 0..<samples {
                        let x = (Double(column) + (Double(sx) + 0.5) / Double(samples)) / Double(size)
                        let y = (Double(row) + (Double(sy) + 0.5) / Double(samples)) / Double(size)
                        guard insideSquare(x, y) else { continue }
                        square += 1
                        if onGlyph(x, y) { glyph += 1 }
                    }
                }
                guard square > 0 else { continue }
                let white = Double(glyph) / Double(square)
                let i = (row * size + column) * 4
                pixels[i] = UInt8((blue.0 + (255 - blue.0) * white).rounded())
                pixels[i + 1] = UInt8((blue.1 + (255 - blue.1) * white).rounded())
                pixels[i + 2] = UInt8((blue.2 + (255 - blue.2) * white).rounded())
                pixels[i + 3] = UInt8((255 * Double(square) / Double(samples * samples)).rounded())
            }
        }
        return pixels
    }

    /// The files of the kernelspec: kernel.json and the logos (PNG at 32 and 64 pixels, and SVG).
    public static func files(command: [String], confined: Bool = false) -> [(name: String, bytes: [UInt8])] {
        [("kernel.json", Array(kernelJSON(command: command, confined: confined).utf8)), ("logo-svg.svg", Array(logo.utf8))]
            + [32, 64].map { size in ("logo-\(size)x\(size).png", PNG.encode(width: size, height: size, rgba: logoPixels(size: size))) }
    }

    /// Writes kernel.json and the logos; returns the directory, or throws with what failed.
    public static func install(command: [String], user: Bool, prefix: String?, confined: Bool = false) throws -> String {
        let directory = directory(user: user, prefix: prefix, name: name(confined: confined))
        try makeDirectories(directory)
        for (name, bytes) in files(command: command, confined: confined) {
            let path = PathText.appending(name, to: directory)
            let code = FileText.replace(path, with: bytes)
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
