import Foundation
import XCTest
@testable import TapeLanguage

/// Generated Python cannot carry code (section 12 of the language): a session whose file names and
/// statements hold characters that could end a Python string or comment is exported, and every script is
/// parsed with Python's `ast`. Its statements must be exactly those of the same session with harmless
/// text in place of the hostile one, and the hostile text must survive only inside string constants.
final class ExportInjectionTests: XCTestCase {
    /// Texts that end a line, a string or a comment in Python, or hide what follows.
    static let breakers = ["\r", "\n", "\u{0B}", "\u{0C}", "\u{1C}", "\u{85}", "\u{2028}", "\u{2029}", "\u{202E}", "\u{00}"]
    static let payload = "import os; os.system('touch PWNED')"

    /// A session with `hole` in every place a session's text reaches the script.
    static func program(_ hole: (Int) -> String) -> String {
        """
        x = [1, 2]
        watch x
        y = sum(x^2)
        save x to "a\(hole(0)).npy"
        graph y to "g\(hole(1)).dot"
        explain grad y wrt x
        plot x^2 over x in 0..1
        grad y wrt x
        """
    }

    static func hostile(_ i: Int) -> String {
        let b = breakers[i % breakers.count], c = breakers[(i + 3) % breakers.count]
        return "\(b)\(payload)\(c)#\"\\\(b)\(payload)\(b)'''\(c)"
    }

    /// Runs python3 on `code` with `arguments`; nil when python3 is missing.
    func python(_ code: String, _ arguments: [String]) throws -> (status: Int32, output: String)? {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"].first(where: FileManager.default.isExecutableFile) else {
            return nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", code] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Prints each script's statements with every string constant replaced by `S`, then every string
    /// constant of the hostile script (the first argument), for the checks below.
    static let inspect = """
    import ast, sys
    def shape(path):
        tree = ast.parse(open(path, encoding="utf-8").read())
        strings = []
        class Blank(ast.NodeTransformer):
            def visit_Constant(self, node):
                if isinstance(node.value, str):
                    strings.append(node.value)
                    return ast.copy_location(ast.Constant("S"), node)
                return node
        return ast.dump(Blank().visit(tree)), strings, len(tree.body)
    hostile, hostile_strings, count = shape(sys.argv[1])
    benign, _, benign_count = shape(sys.argv[2])
    print("same" if hostile == benign else "different", count, benign_count)
    print(sum(1 for s in hostile_strings if "os.system" in s))
    """

    func testHostileTextStaysInsideStringsAndComments() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tapebook-inject-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for target in ExportTarget.allCases {
            for offset in 0..<ExportInjectionTests.breakers.count {
                // A tapebook string cannot hold a line break; every other character can.
                let inTape = { (i: Int) in Self.hostile(i + offset).replacingOccurrences(of: "\n", with: "\r").replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") }
                let hostileScript = try Exporter.export(Self.program(inTape), to: target,
                                                        origin: "evil\(Self.hostile(offset + 5)).tape")
                let benignScript = try Exporter.export(Self.program { _ in "plain" }, to: target, origin: "plain.tape")
                // No character that Python reads as the end of a line survives outside an escape.
                for breaker in ["\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{85}", "\u{2028}", "\u{2029}", "\u{00}"] {
                    XCTAssertFalse(hostileScript.unicodeScalars.contains(breaker.unicodeScalars.first!), "\(target): a raw \(breaker.debugDescription)")
                }
                let hostilePath = folder.appendingPathComponent("hostile.py").path, benignPath = folder.appendingPathComponent("benign.py").path
                try hostileScript.write(toFile: hostilePath, atomically: false, encoding: .utf8)
                try benignScript.write(toFile: benignPath, atomically: false, encoding: .utf8)
                guard let result = try python(Self.inspect, [hostilePath, benignPath]) else {
                    throw XCTSkip("python3 is not installed: the scripts' syntax trees cannot be compared")
                }
                XCTAssertEqual(result.status, 0, "\(target) \(offset): \(result.output)")
                let lines = result.output.split(separator: "\n")
                XCTAssertEqual(lines.first.map { String($0.split(separator: " ")[0]) }, "same",
                               "\(target) \(offset): the hostile script has statements the benign one has not: \(result.output)")
                // The file name of `save` is a string constant holding the payload, character for character.
                XCTAssertEqual(lines.dropFirst().first.flatMap { Int($0) }, 1, "\(target) \(offset): \(result.output)")
            }
        }
    }

    func testEscapesReadBackAsTheSameCharacters() throws {
        let text = "a\r\n\u{0B}\u{85}\u{2028}\u{202E}\u{1F600}\"\\b"
        let writer = PythonWriter(target: .torch, source: SourceText("", firstLine: 1))
        let literal = writer.quote(text)
        XCTAssertEqual(literal, #""a\x0d\x0a\x0b\x85\u2028\u202e😀\"\\b""#)
        guard let result = try python("import ast, sys; print(ast.literal_eval(sys.argv[1]) == sys.argv[2])", [literal, text]) else {
            throw XCTSkip("python3 is not installed")
        }
        XCTAssertEqual(result.output, "True\n")
    }
}
