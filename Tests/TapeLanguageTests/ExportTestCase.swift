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
}
