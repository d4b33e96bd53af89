import Foundation
import XCTest
@testable import TapeLanguage

/// The export tests' scaffolding: a program's exported script cut to the session's statements, after the
/// helper functions every script starts with.
class ExportTestCase: ScratchFolderTestCase {
    func statements(of program: String, _ target: ExportTarget) throws -> String {
        let script = try Exporter.export(program, to: target, origin: "test.tape")
        guard let marker = script.range(of: "\n# The session's statements\n") else { return script }
        return String(script[marker.upperBound...].dropLast())
    }

    /// `statements(of:)`, with an export error as the test's failure.
    func body(_ program: String, _ target: ExportTarget, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            return try statements(of: program, target)
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return ""
        }
    }

    /// Exports `program` to each target, runs the script in the fidelity test's environment (.peers/, which
    /// `make test` and `make peers` make; without it the test skips, or fails under CI=true) and checks that
    /// it prints each of `expected` as a line of its own.
    func assertScriptsPrint(_ expected: [String], for program: String, in targets: [ExportTarget] = ExportTarget.allCases,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let python = try ExportFidelityTests.peersPython()
        for target in targets {
            let script = try Exporter.export(program, to: target, origin: "test.tape")
            let path = NSTemporaryDirectory() + "tapebook-export-\(target.rawValue)-\(getpid()).py"
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            defer { unlink(path) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [path]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = Pipe()
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(target.library):\n\(text)", file: file, line: line)
            let lines = text.split(separator: "\n").map(String.init)
            for want in expected { XCTAssertTrue(lines.contains(want), "\(target.library) printed no '\(want)':\n\(text)", file: file, line: line) }
        }
    }
}
