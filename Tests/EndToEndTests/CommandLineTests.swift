import Foundation
import TestSupport
import XCTest

/// Runs the real executable and compares exact text (plain mode, width 80).
final class CommandLineTests: XCTestCase {
    static var binary: String { Tapebook.binary }

    func tapebook(_ arguments: [String], stdin: String? = nil, in directory: String? = nil) throws -> Tapebook.Output {
        try Tapebook.skipUnlessBuilt()
        return try Tapebook.run(arguments, stdin: stdin, in: directory)
    }

    func temporaryFile(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tapebook-e2e-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Under an address-space limit (`ulimit -v`) large products still finish, with the same numbers: OpenBLAS
    /// 0.3.21 retries forever a buffer it cannot map, so tapebook neither splits products between threads
    /// (each call maps its own) nor opens OpenBLAS without room for one. Before, W3-like steps hung at
    /// 150–250 MB. `timeout` only bounds how long a broken binary can hang the test.
    func testProductsFinishUnderAnAddressSpaceLimit() throws {
        try Tapebook.skipUnlessBuilt()
        guard let timeout = which("timeout") else { throw XCTSkip("no timeout(1) to bound a hang") }
        let file = try temporaryFile("limit.tape", """
            set_seed(0)
            X = randn([256, 64])
            W = randn([64, 256])
            repeat 3 <
              H = tanh(X @ W)
              W = W - 0.001 * (transpose(X) @ H)
            >
            [sum(H * H), sum(W)]

            """)
        let free = try tapebook(["run", file])
        XCTAssertEqual(free.status, 0, free.stderr)
        for kilobytes in [1_000_000, 400_000, 250_000, 200_000, 150_000] {
            let limited = try Tapebook.runProgram(timeout, ["300", "sh", "-c", "ulimit -v \(kilobytes) && exec \"$0\" run \"$1\"", Self.binary, file],
                                                  environment: Tapebook.environment())
            XCTAssertEqual(limited.status, 0, "ulimit -v \(kilobytes): \(limited.stderr)")
            XCTAssertEqual(limited.stdout, free.stdout, "ulimit -v \(kilobytes)")
        }
    }

    func testStatementsFromArgument() throws {
        let r = try tapebook(["-e", "x = [1, 2, 3]\nwatch x\ny = sum(x^2)\ngrad y wrt x"])
        XCTAssertEqual(r.stdout, "x = [1, 2, 3]\ny = 14\n∂y/∂x = [2, 4, 6]\n")
        XCTAssertEqual(r.status, 0)
    }

    /// Several `-e` are lines of one program, in order (as perl's and sed's), with or without other options;
    /// an error names the line of its own `-e`.
    func testSeveralStatementArgumentsRunInOrder() throws {
        let r = try tapebook(["-e", "x = 3", "-e", "watch x", "-e", "grad x^2 wrt x"])
        XCTAssertEqual(r.stdout, "x = 3\n∂(x^2)/∂x = 6\n")
        XCTAssertEqual(r.status, 0)
        let failing = try tapebook(["-e", "a = 1", "--precision", "2", "-e", "b + a"])
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.stdout.contains("error: unknown name 'b'\n --> 2:1"), failing.stdout)
    }

    /// Statements on stdin print results only; a leading byte-order mark is dropped, as from a file.
    func testStatementsFromStdinHaveNoPrompt() throws {
        let r = try tapebook([], stdin: "\u{FEFF}x = 3\nwatch x\ngrad x^3 wrt x\n")
        XCTAssertEqual(r.stdout, "x = 3\n∂(x^3)/∂x = 27\n")
        XCTAssertEqual(r.status, 0)
    }

    func testFailureExitsWithOneAndPointsAtTheFault() throws {
        let r = try tapebook(["-e", "a = [1, 2]\na + [1, 2, 3]"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, """
        a = [1, 2]
        error: cannot broadcast [2] with [3]
         --> 2:3
          │
        2 │ a + [1, 2, 3]
          │   ^

        """)
    }

    func testUsageErrorExitsWithTwo() throws {
        XCTAssertEqual(try tapebook(["--no-such-flag"]).status, 2)
        XCTAssertEqual(try tapebook(["run"]).status, 2)
        XCTAssertEqual(try tapebook(["--color", "sometimes", "-e", "1"]).status, 2)
    }

    /// One parser reads the command line: `--name=value`, `-eVALUE`, `--` before a name that looks like an
    /// option, `help COMMAND`; a usage error names the fault and the command's usage, exit status 2.
    func testTheCommandLineParser() throws {
        XCTAssertEqual(try tapebook(["--precision=2", "-e1/3"]).stdout, "0.33\n")
        let file = try temporaryFile("-dash.tape", "x = 2\n")
        let folder = (file as NSString).deletingLastPathComponent
        XCTAssertEqual(try tapebook(["run", "--", "-dash.tape"], in: folder).stdout, ">>> x = 2\nx = 2\n")
        XCTAssertEqual(try tapebook(["run", "-dash.tape"], in: folder).status, 2)
        let unknown = try tapebook(["run", "--keepgoing", "a.tape"])
        XCTAssertEqual(unknown.stderr, """
        tapebook: unknown option '--keepgoing'
        usage: tapebook run [--keep-going] [--markdown] [--step] [--trust] [--time]
                            [--json] [--color WHEN] [--precision DIGITS] FILE ...
        (see 'tapebook run --help')

        """)
        XCTAssertEqual(unknown.status, 2)
        XCTAssertEqual(try tapebook(["export", "a.tape"]).stderr, """
        tapebook: give --to LIBRARY
        usage: tapebook export --to LIBRARY [--trust] FILE
        (see 'tapebook export --help')

        """)
        XCTAssertTrue(try tapebook(["export", "--to", "numpy", "a.tape"]).stderr.hasPrefix("tapebook: --to must be torch, tf or jax, not 'numpy'\n"))
        XCTAssertTrue(try tapebook(["export", "--to", "tf", "a.tape", "b.tape"]).stderr.hasPrefix("tapebook: give one FILE, not 2: 'b.tape' is one too many\n"))
        XCTAssertTrue(try tapebook(["--json=yes"]).stderr.hasPrefix("tapebook: --json takes no value\n"))
        XCTAssertTrue(try tapebook(["-e"]).stderr.hasPrefix("tapebook: -e needs a value (STATEMENTS)\n"))
        XCTAssertTrue(try tapebook(["--precision", "x", "-e", "1"]).stderr.hasPrefix("tapebook: --precision must be a whole number from 0 to 17, not 'x'\n"))
        XCTAssertTrue(try tapebook(["frob"]).stderr.hasPrefix("tapebook: unexpected argument 'frob' (the commands are run, check, export, convert or kernel)\n"))
        let help = try tapebook(["help", "check"])
        XCTAssertEqual(help.stdout, """
        tapebook check: Replay session files and compare each statement's output with
        its #> lines.

        usage: tapebook check [--update] [--trust] [-j N] FILE ...

        options:
          FILE          Session files (.tape).
          --update      Rewrite the #> lines from what the statements print.
          --trust       Let the files write anywhere, as typed statements do (see `:help
                        trust`).
          -j, --jobs N  Check up to N files at once, each in a process of its own
                        (default: one per core).
          -h, --help    Show this help.

        """)
        XCTAssertEqual(try tapebook(["check", "--help"]).stdout, help.stdout)
    }

    /// NumPy at `precision=17`: the shortest digits that read back, at most 17 decimals.
    func testHighestPrecisionPrintsShortestDigits() throws {
        let r = try tapebook(["--precision", "17", "-e", "0.1\n[0.1, 1/3]\n0.1 + 0.2\n[5e-324]"])
        XCTAssertEqual(r.stdout, "0.1\n[0.1               , 0.3333333333333333]\n0.30000000000000004\n[5e-324]\n")
        XCTAssertEqual(r.status, 0)
    }

    func testVersionAndHelp() throws {
        XCTAssertEqual(try tapebook(["--version"]).stdout, "tapebook 0.1\n")
        let help = try tapebook(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("run"), help.stdout)
        XCTAssertTrue(help.stdout.contains("check"), help.stdout)
    }

    func testJSON() throws {
        let file = try temporaryFile("j.tape", "x = [1, 2]\nwatch x\ngrad x * x wrt x\nwith stop < z = 2 * x >\ngrad z wrt x\nlog(0) - [0, nan]\n:set precision 4\nbad +\n")
        let r = try tapebook(["run", "--json", "--keep-going", file])
        XCTAssertEqual(r.stdout, """
        {"line": 1, "source": "x = [1, 2]", "result": {"name": "x", "kind": "tensor", "shape": [2], "data": [1.0, 2.0]}}
        {"line": 2, "source": "watch x", "result": {"kind": "silent"}}
        {"line": 3, "source": "grad x * x wrt x", "result": {"kind": "tensor", "shape": [2], "data": [2.0, 4.0]}}
        {"line": 4, "source": "z = 2 * x", "result": {"name": "z", "kind": "tensor", "shape": [2], "data": [2.0, 4.0]}}
        {"line": 5, "source": "grad z wrt x", "result": {"kind": "none", "reason": "z was computed while recording was stopped"}}
        {"line": 6, "source": "log(0) - [0, nan]", "result": {"kind": "tensor", "shape": [2], "data": ["-inf", "nan"]}}
        {"line": 7, "source": ":set precision 4", "result": {"kind": "text", "text": "precision 4"}}
        {"line": 8, "source": "bad +", "result": {"kind": "error", "message": "expected an expression after '+'", "line": 8, "column": 6}}

        """)
        XCTAssertEqual(r.status, 1)
    }

    /// A block left open at the end of a file: the transcript shows the statement from its first line and
    /// the error just after its last token, and the run ends (under `timeout`, so that a loop fails the test
    /// instead of hanging the suite; the bound is far beyond any machine's time for three lines).
    func testABlockLeftOpenAtTheEndOfAFile() throws {
        let file = try temporaryFile("open.tape", "x = 1\nwith stop <\n y = 2\n")
        try Tapebook.skipUnlessBuilt()
        let r = try Tapebook.runProgram("/usr/bin/timeout", ["300", Self.binary, "run", file], environment: Tapebook.environment())
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, """
        >>> x = 1
        x = 1
        >>> with stop <
        ...  y = 2
        error: expected '>' to close '<' at 2:11
         --> \(file):3:7
          │
        3 │  y = 2
          │       ^

        """)
    }

    func testTranscriptAndMarkdown() throws {
        let file = try temporaryFile("t.tape", "# Squares\nx = [1, 2]\nx^2\n")
        XCTAssertEqual(try tapebook(["run", file]).stdout, "# Squares\n>>> x = [1, 2]\nx = [1, 2]\n>>> x^2\n[1, 4]\n")
        XCTAssertEqual(try tapebook(["run", "--markdown", file]).stdout,
                       "# Squares\n\n```\nx = [1, 2]\n```\n```text\nx = [1, 2]\n```\n\n```\nx^2\n```\n```text\n[1, 4]\n```\n\n")
    }

    /// `run --time`: the statements' time on stderr, and the last statement's share of it (a benchmark's
    /// checksum). How the two compare depends on the machine's speed, so it is not asserted.
    func testTimeReportsTotalAndLastStatement() throws {
        let file = try temporaryFile("timed.tape", "x = [1, 2];\ny = sum(x^2);\nrepeat 20000 < y = sin(y) >\n")
        let r = try tapebook(["run", "--time", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        func seconds(_ key: String) -> Double? {
            r.stderr.split(separator: "\n").first { $0.hasPrefix(key + " ") }.flatMap { Double($0.dropFirst(key.count + 1)) }
        }
        let total = try XCTUnwrap(seconds("TIME_S"), r.stderr), last = try XCTUnwrap(seconds("TIME_LAST_S"), r.stderr)
        XCTAssertGreaterThan(last, 0)
        XCTAssertLessThanOrEqual(last, total)
        XCTAssertNil(try tapebook(["run", file]).stderr.range(of: "TIME_"))
    }

    /// Session files are read as UTF-8: a byte-order mark is dropped, invalid UTF-8 or a directory is refused.
    func testSessionFileEncoding() throws {
        let bom = try temporaryFile("bom.tape", "\u{FEFF}x = 2\nx * 3\n")
        XCTAssertEqual(try tapebook(["run", bom]).stdout, ">>> x = 2\nx = 2\n>>> x * 3\n6\n")
        let bad = try temporaryFile("latin1.tape", "")
        try Data([0x78, 0x20, 0x3D, 0x20, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: bad))
        let r = try tapebook(["run", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "tapebook: cannot read \(bad)\n")
        let directory = (bad as NSString).deletingLastPathComponent
        XCTAssertEqual(try tapebook(["run", directory]).stderr, "tapebook: cannot read \(directory)\n")
    }

    /// `save` to a `.csv` name writes CSV that `load` reads back; CSV that cannot be read is an error that
    /// says why, and the session goes on.
    func testSaveAndLoadCSV() throws {
        let session = try temporaryFile("files.tape", """
            x = [0.1, 1/3, -2]
            #> x = [ 0.1   ,  0.3333, -2     ]
            save x to "saved.csv"
            #> saved [3] to saved.csv
            load("saved.csv") - x
            #> [0, 0, 0]
            save [[1, 2], [3, 4]] to "saved.csv"
            #> saved [2, 2] to saved.csv
            load("saved.csv")
            #> 2×2
            #>  1  2
            #>  3  4
            save ones([2, 2, 2]) to "cube.csv"
            #> error: cube.csv: a CSV file holds a scalar, a vector or a matrix, not a tensor of shape [2, 2, 2] (save it as .npy)
            #>   --> 13:1
            #>    │
            #> 13 │ save ones([2, 2, 2]) to "cube.csv"
            #>    │ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
            load("spaces.csv")
            #> error: spaces.csv line 1, column 1: '1 2 3' is not a number (numbers are separated by commas)
            #>   --> 19:1
            #>    │
            #> 19 │ load("spaces.csv")
            #>    │ ^^^^^^^^^^^^^^^^^^
            load("header.csv")
            #> error: header.csv: no rows of numbers
            #>   --> 25:1
            #>    │
            #> 25 │ load("header.csv")
            #>    │ ^^^^^^^^^^^^^^^^^^
            """)
        let directory = (session as NSString).deletingLastPathComponent
        _ = try temporaryFile("spaces.csv", "1 2 3\n")
        _ = try temporaryFile("header.csv", "x,y\n")
        // Run from the file's directory, so that the messages name the files as the session does.
        let r = try tapebook(["check", "files.tape"], in: directory)
        XCTAssertEqual(r.stdout, "files.tape: ok (8 statements)\n")
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(try String(contentsOfFile: directory + "/saved.csv", encoding: .utf8), "1,2\n3,4\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/cube.csv"))
    }

    func testCheckReportsFileAndLine() throws {
        let good = try temporaryFile("good.tape", "x = 2\n#> x = 2\nx * 3\n#> 6\n")
        let r = try tapebook(["check", good])
        XCTAssertEqual(r.status, 0, r.stdout)
        let bad = try temporaryFile("bad.tape", "x = 2\n#> x = 2\nx * 3\n#> 7\n")
        let b = try tapebook(["check", bad])
        XCTAssertEqual(b.status, 1)
        XCTAssertTrue(b.stdout.hasPrefix("\(bad):4: output differs"), b.stdout)
        let u = try tapebook(["check", "--update", bad])
        XCTAssertEqual(u.status, 0)
        XCTAssertEqual(try String(contentsOfFile: bad, encoding: .utf8), "x = 2\n#> x = 2\nx * 3\n#> 6\n")
    }

    /// `--jobs`: the reports come in the files' order, the same as from one process, and one failure
    /// makes the exit status 1 whichever process found it.
    func testCheckOnSeveralProcesses() throws {
        var files: [String] = []
        for i in 0..<7 {
            // The fifth file's second output is wrong.
            files.append(try temporaryFile("jobs\(i).tape", "x = \(i)\n#> x = \(i)\nx * 3\n#> \(i == 4 ? -1 : 3 * i)\n"))
        }
        files.insert("/nonexistent/x.tape", at: 2)
        let one = try tapebook(["check", "--jobs", "1"] + files)
        XCTAssertEqual(one.status, 1)
        XCTAssertTrue(one.stdout.contains("/nonexistent/x.tape: cannot read\n"), one.stdout)
        for jobs in ["2", "3", "16"] {
            let several = try tapebook(["check", "-j", jobs] + files)
            XCTAssertEqual(several.stdout, one.stdout, "--jobs \(jobs)")
            XCTAssertEqual(several.status, 1)
            XCTAssertTrue(several.stderr.isEmpty, several.stderr)
        }
        let lines = one.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.filter { $0.hasSuffix(": ok (2 statements)") }.count, 6)
        XCTAssertTrue(one.stdout.hasPrefix("\(files[0]): ok (2 statements)\n\(files[1]): ok (2 statements)\n/nonexistent/x.tape: cannot read\n"))
        XCTAssertTrue(one.stdout.contains("\(files[5]):4: output differs"), one.stdout)
        XCTAssertTrue(try tapebook(["check", "--jobs", "0", files[0]]).stderr.hasPrefix("tapebook: --jobs must be a whole number from 1, not '0'\n"))
        XCTAssertTrue(try tapebook(["check", "-j", "two", files[0]]).stderr.hasPrefix("tapebook: --jobs must be a whole number from 1, not 'two'\n"))
    }

    func testHostileInputNeverCrashes() throws {
        let inputs = [
            String(repeating: "(", count: 100_000),
            String(repeating: "[", count: 100_000) + "1",
            String(repeating: "-", count: 100_000) + "1",
            "zeros([100000, 100000])",
            "reshape(ones([4]), [-1, -1])",
            "x = [[1, 2], [3]]",
            "\u{0}\u{1}\u{7f}ÿ",
            "f(x) = f(x)\nf(1)",
            "repeat -1 < x = 1 >",
            "1e400 * 0",
            "eye(-3)",
            "x = [1, 2, 3]\nx[10]",
            "x = [1, 2, 3]\nx[::0]",
            ":load \"/nonexistent.tape\"",
            "load(\"/nonexistent.npy\")",
        ]
        for input in inputs {
            let r = try tapebook([], stdin: input)
            XCTAssertTrue(r.status == 0 || r.status == 1, "status \(r.status) for \(input.prefix(40)): \(r.stderr.prefix(300))")
            XCTAssertTrue(r.stderr.isEmpty, "stderr for \(input.prefix(40)): \(r.stderr.prefix(300))")
        }
    }
}
