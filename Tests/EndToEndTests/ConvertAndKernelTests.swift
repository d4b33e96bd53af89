import XCTest
import Foundation

/// `tapebook convert` and `tapebook kernel` from the command line: round trips, kernelspecs, and bad input.
final class ConvertAndKernelTests: XCTestCase {
    /// The binary run as `CommandLineTests` runs it (TAPEBOOK_BIN, else the package's build).
    struct Output { var stdout: String; var stderr: String; var status: Int32 }

    func tapebook(_ arguments: [String], in directory: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self),
                      status: process.terminationStatus)
    }

    func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tapebook-convert-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.path
    }

    func testConvertsBothWaysBesideTheFile() throws {
        let dir = try directory()
        let lesson = "# A lesson\nx = 2\n#> x = 2\n\n# More.\ngrad x^2 wrt x\n"
        try lesson.write(toFile: dir + "/l.tape", atomically: true, encoding: .utf8)
        let there = try tapebook(["convert", "l.tape", "--to", "ipynb"], in: dir)
        XCTAssertEqual(there.stdout, "wrote l.ipynb\n")
        XCTAssertEqual(there.status, 0)
        try FileManager.default.removeItem(atPath: dir + "/l.tape")
        let back = try tapebook(["convert", "l.ipynb", "--to", "tape"], in: dir)
        XCTAssertEqual(back.stdout, "wrote l.tape\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/l.tape", encoding: .utf8), lesson)
        let printed = try tapebook(["convert", "l.ipynb", "--to", "tape", "-o", "-"], in: dir)
        XCTAssertEqual(printed.stdout, lesson)
    }

    func testConvertRefusesBadInput() throws {
        let dir = try directory()
        try "{\"nbformat\": 4, \"cells\": 3}".write(toFile: dir + "/bad.ipynb", atomically: true, encoding: .utf8)
        let bad = try tapebook(["convert", "bad.ipynb", "--to", "tape"], in: dir)
        XCTAssertEqual(bad.stderr, "tapebook: bad.ipynb: the notebook has no list of cells\n")
        XCTAssertEqual(bad.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.tape"))
        let missing = try tapebook(["convert", "nothing.tape", "--to", "ipynb"], in: dir)
        XCTAssertEqual(missing.stderr, "tapebook: cannot read nothing.tape: No such file or directory\n")
        XCTAssertEqual(missing.status, 1)
        let format = try tapebook(["convert", "bad.ipynb", "--to", "pdf"], in: dir)
        XCTAssertTrue(format.stderr.contains("--to must be ipynb or tape"), format.stderr)
        XCTAssertEqual(format.status, 2)
        let same = try tapebook(["convert", "bad.ipynb", "--to", "ipynb"], in: dir)
        XCTAssertEqual(same.stderr, "tapebook: bad.ipynb is already a .ipynb file: give another name with --output\n")
        XCTAssertEqual(same.status, 2)
    }

    func testKernelInstallWritesTheKernelspec() throws {
        let dir = try directory()
        let r = try tapebook(["kernel", "install", "--prefix", dir])
        let spec = dir + "/share/jupyter/kernels/tapebook"
        XCTAssertEqual(r.stdout, "installed the tapebook kernel in \(spec)\n")
        XCTAssertEqual(r.status, 0)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spec + "/kernel.json"))) as! [String: Any]
        let argv = json["argv"] as! [String]
        XCTAssertEqual(Array(argv.suffix(3)), ["kernel", "-f", "{connection_file}"])
        XCTAssertTrue(argv[0].hasSuffix("/tapebook"), argv[0])
        XCTAssertEqual(json["language"] as? String, "tape")
        XCTAssertEqual(json["interrupt_mode"] as? String, "signal")
        XCTAssertTrue(FileManager.default.fileExists(atPath: spec + "/logo-svg.svg"))
    }

    func testKernelRefusesBadArguments() throws {
        let dir = try directory()
        let usage = try tapebook(["kernel"])
        XCTAssertTrue(usage.stderr.hasPrefix("usage: tapebook kernel -f CONNECTION_FILE"), usage.stderr)
        XCTAssertEqual(usage.status, 2)
        let missing = try tapebook(["kernel", "-f", dir + "/none.json"])
        XCTAssertEqual(missing.stderr, "tapebook kernel: cannot read \(dir)/none.json: No such file or directory\n")
        XCTAssertEqual(missing.status, 1)
        try "{\"shell_port\": 1}".write(toFile: dir + "/c.json", atomically: true, encoding: .utf8)
        let incomplete = try tapebook(["kernel", "-f", dir + "/c.json"])
        XCTAssertEqual(incomplete.stderr, "tapebook kernel: the connection file has no valid iopub_port\n")
        XCTAssertEqual(incomplete.status, 1)
        try "[".write(toFile: dir + "/j.json", atomically: true, encoding: .utf8)
        let notJSON = try tapebook(["kernel", "-f", dir + "/j.json"])
        XCTAssertTrue(notJSON.stderr.hasPrefix("tapebook kernel: \(dir)/j.json is not JSON"), notJSON.stderr)
        XCTAssertEqual(notJSON.status, 1)
    }
}
