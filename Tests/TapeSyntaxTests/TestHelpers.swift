import XCTest
import TapeSyntax

/// The statements of `source` as S-expressions, one per line.
func parsed(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    do {
        return try Parser.parseAll(source).map(\.sExpression).joined(separator: "\n")
    } catch {
        XCTFail("unexpected error \(error) in \(source)", file: file, line: line)
        return ""
    }
}

/// The syntax error `source` gives.
func syntaxError(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> SyntaxError? {
    do {
        let statements = try Parser.parseAll(source)
        XCTFail("expected an error, parsed \(statements.map(\.sExpression))", file: file, line: line)
        return nil
    } catch let error as SyntaxError {
        return error
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: line)
        return nil
    }
}

/// Asserts the message and the `line:column` of the error `source` gives.
func assertError(_ source: String, _ message: String, at position: String, incomplete: Bool = false,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard let error = syntaxError(source, file: file, line: line) else { return }
    XCTAssertEqual(error.message, message, file: file, line: line)
    XCTAssertEqual(error.span.start.description, position, file: file, line: line)
    XCTAssertEqual(error.isIncomplete, incomplete, "isIncomplete", file: file, line: line)
}
