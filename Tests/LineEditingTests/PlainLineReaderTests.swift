import LineEditing
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class PlainLineReaderTests: XCTestCase {
    func read(_ text: String) throws -> [LineReadResult] {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let bytes = Array(text.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }, bytes.count)
        close(fds[1])
        let input = try XCTUnwrap(fdopen(fds[0], "r"))
        defer { fclose(input) }
        var reader = PlainLineReader(input: input)
        var results: [LineReadResult] = []
        repeat { results.append(reader.readLine(prompt: "ignored> ")) } while results.last != .endOfInput
        return results
    }

    func testLinesThenEndOfInput() throws {
        XCTAssertEqual(try read("x = [1, 2, 3]\n\nθ\n"),
                       [.line("x = [1, 2, 3]"), .line(""), .line("θ"), .endOfInput])
    }

    func testCarriageReturnsAndAMissingFinalNewline() throws {
        XCTAssertEqual(try read("a\r\nb"), [.line("a"), .line("b"), .endOfInput])
    }

    func testEmptyInput() throws {
        XCTAssertEqual(try read(""), [.endOfInput])
    }
}
