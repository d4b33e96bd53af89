import Foundation
import XCTest

/// The tapebook executable the end-to-end tests run, and how they run it.
public enum Tapebook {
    /// `TAPEBOOK_BIN` when it names an executable (`make test` sets it to the release binary), else the
    /// package's own release or debug build.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["TAPEBOOK_BIN"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        for candidate in [".build/release/tapebook", ".build/debug/tapebook"] {
            let path = repositoryRoot.appendingPathComponent(candidate).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return repositoryRoot.appendingPathComponent(".build/debug/tapebook").path
    }

    /// The package's root directory, found from this file's path.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Skips the calling test when there is no binary to run.
    public static func skipUnlessBuilt() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: binary),
                          "no tapebook binary: run `make test`, or set TAPEBOOK_BIN to the executable")
    }

    /// The environment every end-to-end run gets: the caller's without colour, with `changes` (nil unsets).
    public static func environment(_ changes: [String: String?] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        for (name, value) in changes { environment[name] = value }
        return environment
    }

    /// What a finished run printed, and how it exited.
    public struct Output {
        public var stdout: String
        public var stderr: String
        public var status: Int32

        public init(stdout: String, stderr: String, status: Int32) {
            self.stdout = stdout
            self.stderr = stderr
            self.status = status
        }
    }

    /// Runs the binary with `arguments` and `stdin` (closed after it is written), in `directory`.
    public static func run(_ arguments: [String], stdin: String? = nil, in directory: String? = nil,
                           environment changes: [String: String?] = [:]) throws -> Output {
        try runProgram(binary, arguments, stdin: stdin, in: directory, environment: environment(changes))
    }

    /// Runs any program to its end; standard output and error are read on their own threads, so a child
    /// that fills one pipe while the other is read cannot block.
    public static func runProgram(_ program: String, _ arguments: [String], stdin: String? = nil, in directory: String? = nil,
                                  environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let stderrData = Received()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { stderrData.data = err.fileHandleForReading.readDataToEndOfFile() }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        input.fileHandleForWriting.closeFile()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData.data, as: UTF8.self),
                      status: process.terminationStatus)
    }
}

/// What a reading thread hands back; read only after `DispatchGroup.wait`, which orders the two.
private final class Received: @unchecked Sendable {
    var data = Data()
}
