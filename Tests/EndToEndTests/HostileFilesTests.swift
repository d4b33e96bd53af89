import TestSupport
import XCTest
import Foundation

/// Replaying a file someone else wrote (section 12 of the language): every attack of issue 17, run
/// against the real executable. Victims live outside the replayed file's folder; each test checks that
/// the victim is unchanged and that the statement failed with a message naming the rule.
final class HostileFilesTests: XCTestCase {
    var root = ""
    var lesson: String { root + "/lesson" }
    var victims: String { root + "/victims" }
    let victimText = "VICTIM\n"

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tapebook-hostile-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: lesson, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: victims, withIntermediateDirectories: true)
        for name in ["v.npy", "v.tape", "v.py", "v.dot", "v.svg", "bashrc"] { try victimText.write(toFile: victims + "/" + name, atomically: false, encoding: .utf8) }
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func tapebook(_ arguments: [String], environment: [String: String] = [:]) throws -> Tapebook.Output {
        try Tapebook.skipUnlessBuilt()
        return try Tapebook.run(arguments, stdin: "", environment: environment.mapValues { Optional($0) })
    }

    /// Writes `statements` to lesson/attack.tape and runs it (`run` unless told otherwise).
    func replay(_ statements: String, command: [String] = ["run"], file: String = "attack.tape",
                environment: [String: String] = [:]) throws -> Tapebook.Output {
        let path = lesson + "/" + file
        try statements.write(toFile: path, atomically: false, encoding: .utf8)
        return try tapebook(command + [path], environment: environment)
    }

    func assertVictimsUnchanged(file: StaticString = #filePath, line: UInt = #line) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: victims).sorted()
        XCTAssertEqual(names, ["bashrc", "v.dot", "v.npy", "v.py", "v.svg", "v.tape"], "a file appeared among the victims", file: file, line: line)
        for name in names {
            XCTAssertEqual(try String(contentsOfFile: victims + "/" + name, encoding: .utf8), victimText, "\(name) changed", file: file, line: line)
        }
    }

    func assertRefused(_ statement: String, _ rule: String, command: [String] = ["run"], file: StaticString = #filePath, line: UInt = #line) throws {
        // `check` reports the first line that differs from the file's `#>` lines: the refusal.
        let r = try replay("x = [1, 2]\n#> x = [1, 2]\n" + statement + "\n", command: command)
        XCTAssertEqual(r.status, 1, "\(statement) did not fail", file: file, line: line)
        XCTAssertTrue((r.stdout + r.stderr).contains(rule), "\(statement): no '\(rule)' in\n\(r.stdout)\(r.stderr)", file: file, line: line)
        try assertVictimsUnchanged(file: file, line: line)
    }

    // MARK: Outside the folder

    func testAbsolutePathsAndParentFoldersAreRefused() throws {
        let outside = "outside the replayed file's folder"
        try assertRefused("save x to \"\(victims)/v.npy\"", outside)
        try assertRefused("save x to \"../victims/v.npy\"", outside)
        try assertRefused(":save \"../victims/v.tape\"", outside)
        try assertRefused(":export torch \"../victims/v.py\"", outside)
        try assertRefused("graph x to \"../victims/v.dot\"", outside)
        try assertRefused("save x to \"/dev/null\"", outside)
        // `check` replays as `run` does.
        try assertRefused("save x to \"../victims/v.npy\"", outside, command: ["check"])
    }

    func testSymbolicLinksAreNotFollowed() throws {
        try FileManager.default.createSymbolicLink(atPath: lesson + "/link", withDestinationPath: victims)
        try FileManager.default.createSymbolicLink(atPath: lesson + "/v.npy", withDestinationPath: victims + "/v.npy")
        try FileManager.default.createSymbolicLink(atPath: lesson + "/dangling.tape", withDestinationPath: victims + "/new.tape")
        try assertRefused("save x to \"link/v.npy\"", "link is a symbolic link")
        try assertRefused("save x to \"v.npy\"", "v.npy is a symbolic link")
        try assertRefused(":save \"dangling.tape\"", "dangling.tape is a symbolic link")
    }

    func testHiddenNamesWrongExtensionsAndSpecialFilesAreRefused() throws {
        try assertRefused("save x to \".git/hooks/x.npy\"", "a hidden name (.git)")
        try assertRefused(":save \".bashrc.tape\"", "a hidden name (.bashrc.tape)")
        try assertRefused("save x to \"$(touch${IFS}PWNED).sh\"", "save ... to writes only .npy .csv files")
        try assertRefused(":save \"pre-commit\"", ":save writes only .tape files")
        try assertRefused(":export jax \"x.sh\"", ":export writes only .py files")
        try assertRefused("graph x to \"g.html\"", "graph writes .dot, .svg, .png or .pdf files")
        XCTAssertEqual(mkfifo(lesson + "/fifo.npy", 0o644), 0)
        try assertRefused("save x to \"fifo.npy\"", "not a regular file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: lesson + "/PWNED"))
    }

    /// A replaced file loses any execute bit: a saved statement never becomes a runnable script.
    func testAReplacedFileIsNeverExecutable() throws {
        try victimText.write(toFile: lesson + "/run.npy", atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(lesson + "/run.npy", 0o755), 0)
        let r = try replay("save [1] to \"run.npy\"\n")
        XCTAssertEqual(r.status, 0, r.stdout)
        var info = stat()
        XCTAssertEqual(stat(lesson + "/run.npy", &info), 0)
        XCTAssertEqual(info.st_mode & 0o111, 0)
    }

    /// `:load` is a replay, even when typed: the loaded file writes only in its own folder.
    func testLoadedFilesAreConfinedToTheirFolder() throws {
        try FileManager.default.createDirectory(atPath: lesson + "/sub", withIntermediateDirectories: true)
        try "save [1] to \"../../victims/v.npy\"\n".write(toFile: lesson + "/sub/b.tape", atomically: false, encoding: .utf8)
        let typed = try tapebook(["-e", ":load \"\(lesson)/sub/b.tape\""])
        XCTAssertEqual(typed.status, 1)
        XCTAssertTrue((typed.stdout + typed.stderr).contains("outside the replayed file's folder"), typed.stdout + typed.stderr)
        try assertVictimsUnchanged()
        // Relative names in the loaded file resolve against its folder.
        try "save [1] to \"here.npy\"\n".write(toFile: lesson + "/sub/c.tape", atomically: false, encoding: .utf8)
        let r = try replay(":load \"sub/c.tape\"\n")
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: lesson + "/sub/here.npy"))
    }

    /// What a person types (`-e`) and files run with `--trust` write anywhere.
    func testTypedStatementsAndTrustedFilesWriteAnywhere() throws {
        let typed = try tapebook(["-e", "save [1] to \"\(root)/typed.npy\""])
        XCTAssertEqual(typed.status, 0, typed.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/typed.npy"))
        let trusted = try replay("save [1] to \"../trusted.npy\"\n", command: ["run", "--trust"])
        XCTAssertEqual(trusted.status, 0, trusted.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/trusted.npy"))
        // `run` resolves relative names against the file's folder, wherever it is run from.
        XCTAssertTrue(FileManager.default.fileExists(atPath: lesson + "/attack.tape"))
        let relative = try replay("save [1] to \"beside.npy\"\n")
        XCTAssertEqual(relative.status, 0, relative.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: lesson + "/beside.npy"))
    }

    /// Names up to NAME_MAX save atomically: the temporary file's name does not grow with the target's.
    func testLongNamesSave() throws {
        for length in [248, 251, 254] {
            let name = String(repeating: "a", count: length - 4) + ".npy"
            let r = try replay("save [1] to \"\(name)\"\n")
            XCTAssertEqual(r.status, 0, "\(length): \(r.stdout)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: lesson + "/" + name))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: lesson).filter { $0.hasPrefix(".") }, [],
                       "a temporary file was left")
    }

    /// `tapebook export` runs the file as a replay would: the script may save only beside itself. A save
    /// the replay refuses fails, and a failing statement is exported as a comment that says why (issue 20).
    func testExportRefusesSavesOutsideTheFolder() throws {
        let r = try replay("x = [1, 2]\nsave x to \"/tmp/evil.npy\"\n", command: ["export", "--to", "torch"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("# tapebook: error: refused to write /tmp/evil.npy: outside the replayed file's folder"), r.stdout)
        XCTAssertFalse(r.stdout.contains("_save(\"/tmp/evil.npy\""), r.stdout)
        let trusted = try replay("x = [1, 2]\nsave x to \"/tmp/evil.npy\"\n", command: ["export", "--to", "torch", "--trust"])
        XCTAssertEqual(trusted.status, 0, trusted.stderr)
    }

    // MARK: Control characters

    /// Narration, echoed statements, file names and error texts reach the terminal with their control
    /// characters as visible escapes: ESC cannot clear the screen, OSC set the title, CR overwrite a line.
    func testControlCharactersAreShownAsEscapes() throws {
        let r = try replay("# narration \u{1B}[2J cleared\rover\nx = 1 # \u{1B}]0;title\u{07}\nsave x to \"\u{1B}[2J.sh\"\n")
        XCTAssertFalse(r.stdout.unicodeScalars.contains("\u{1B}"), r.stdout)
        XCTAssertFalse(r.stdout.unicodeScalars.contains("\u{07}"), r.stdout)
        XCTAssertFalse(r.stdout.contains("\r"), r.stdout)
        XCTAssertTrue(r.stdout.contains("# narration \\u{1b}[2J cleared\\rover"), r.stdout)
        XCTAssertTrue(r.stdout.contains("refused to write \\u{1b}[2J.sh"), r.stdout)
        let typed = try tapebook(["-e", "load(\"\u{1B}]0;x\u{07}.npy\")"])
        XCTAssertFalse((typed.stdout + typed.stderr).unicodeScalars.contains("\u{1B}"), typed.stdout)
    }

    // MARK: External programs

    /// A fake `dot` first on the PATH records its arguments: no file name ever reaches it.
    func testDotGetsNoFileName() throws {
        let bin = root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\nprintf '%s\\n' \"$@\" >> \(root)/dot-arguments\ncat > /dev/null\necho '<svg/>'\n"
            .write(toFile: bin + "/dot", atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(bin + "/dot", 0o755), 0)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let r = try replay("x = [1, 2]\ngraph x to \"-c.svg\"\n", environment: ["PATH": path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(try String(contentsOfFile: root + "/dot-arguments", encoding: .utf8), "-Tsvg\n")
        XCTAssertEqual(try String(contentsOfFile: lesson + "/-c.svg", encoding: .utf8), "<svg/>\n")
    }

    /// A `dot` that never ends is stopped at its time limit, with whatever it started.
    func testDotIsStoppedAtItsTimeLimit() throws {
        let bin = root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try "#!/bin/sh\nsleep 600 &\necho $! > \(root)/sleeper\nwait\n".write(toFile: bin + "/dot", atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(bin + "/dot", 0o755), 0)
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let r = try replay("x = [1, 2]\ngraph x to \"g.svg\"\n", environment: ["PATH": path, "TAPEBOOK_DOT_SECONDS": "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("dot did not finish in 1 s and was stopped"), r.stdout)
        let sleeper = try String(contentsOfFile: root + "/sleeper", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // Killed: gone, or a zombie waiting for init to reap it.
        let state = (try? String(contentsOfFile: "/proc/\(sleeper)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
        XCTAssertTrue(state == nil || state == "Z", "the sleeper is still running: \(state ?? "")")
        XCTAssertFalse(FileManager.default.fileExists(atPath: lesson + "/g.svg"))
    }
}

/// Bounded work on hostile input: printing cheap, huge lines refused.
final class BoundedInputTests: XCTestCase {
    func run(_ arguments: [String], stdin: String? = nil) throws -> (out: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["NO_COLOR": "1"]) { $1 }
        let out = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = out
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        input.fileHandleForWriting.closeFile()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    /// A tensor with no elements prints without walking its other axes (this took 4 GB).
    func testZeroSizeTensorsPrintCheaply() throws {
        let r = try run(["-e", "zeros([0, 100000000, 100000000])"])
        XCTAssertEqual(r.out, "0×100000000×100000000 []\n")
    }

    /// `:load` reads regular files only: `/dev/zero` was read forever.
    func testLoadRefusesDevices() throws {
        let r = try run(["-e", ":load \"/dev/zero\""])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.out.hasPrefix("error: cannot read /dev/zero\n"), r.out)
    }

    /// Each `grad` of a `grad` doubles the recorded graph, most of it a pass whose recording was deferred:
    /// this loop grew to 7.7 GB under a limit of 3000 MiB, and once the deferred recording was cut short
    /// silently. It stops with an error at the limit.
    func testGradientsOfGradientsStopAtTheMemoryLimit() throws {
        let r = try run([], stdin: ":set memory 40\nx = [1.0, 2.0]\nwatch x\ny = x * x\nrepeat 40 < y = y * grad y wrt x >\n")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.out.contains("\nerror: not enough memory: "), r.out)
        XCTAssertTrue(r.out.contains(" 40 MiB (the limit set with :set memory)\n --> 5:21\n"), r.out)
    }

    /// A 100 MB literal line aborted at 4.8 GB; a line past 4 MiB is an error, and what came before it ran.
    func testHugeLinesAreAnError() throws {
        let line = "x = [" + String(repeating: "1, ", count: 2_000_000) + "1]"
        let r = try run([], stdin: "a = 1\n" + line + "\nb = 2\n")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.out.hasPrefix("a = 1\nerror: this line is 5 MiB long, more than tapebook reads (4 MiB): put data in a .npy or .csv file and load it; nothing after this line was read"), String(r.out.prefix(400)))
    }
}

/// Output errors end the run with a message and status 1; Ctrl-C during `run` keeps what was printed.
final class OutputErrorTests: XCTestCase {
    func testAFullDiskIsAnError() throws {
        guard FileManager.default.fileExists(atPath: "/dev/full") else { throw XCTSkip("no /dev/full here") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = ["-e", "x = 1"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let err = Pipe()
        process.standardError = err
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertEqual(message, "tapebook: cannot write the output: No space left on device\n")
    }

    /// The replay saves a file when its loop starts (the test waits for it: readiness, not a guess of time),
    /// then SIGINT stops the loop; the transcript so far, redirected to a file, is complete.
    func testInterruptingARunKeepsItsTranscript() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tapebook-sigint-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "x = 1\nsave x to \"ready.npy\"; repeat 1000000000 < x = x + 1 >\n".write(toFile: folder + "/long.tape", atomically: false, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: folder + "/out.txt", contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = ["run", folder + "/long.tape"]
        process.environment = ProcessInfo.processInfo.environment.merging(["NO_COLOR": "1"]) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: folder + "/out.txt")
        process.standardError = FileHandle.nullDevice
        try process.run()
        while !FileManager.default.fileExists(atPath: folder + "/ready.npy") && process.isRunning { usleep(10_000) }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let transcript = try String(contentsOfFile: folder + "/out.txt", encoding: .utf8)
        XCTAssertTrue(transcript.hasPrefix(">>> x = 1\nx = 1\n>>> save x to \"ready.npy\"; repeat 1000000000 < x = x + 1 >\n"), transcript)
        // The loop keeps its finished iterations and says so (spec §7); the replay stops there and fails.
        XCTAssertTrue(transcript.contains("note: stopped after "), transcript)
        XCTAssertEqual(process.terminationStatus, 1)
    }
}
