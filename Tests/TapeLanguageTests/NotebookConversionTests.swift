import XCTest
import Portable
@testable import TapeLanguage

final class NotebookConversionTests: XCTestCase {
    let lesson = """
    # Lesson: a title
    #
    # Some narration.
    x = 2
    #> x = 2
    watch x

    # More narration.
    grad x^2 wrt x
    #> ∂(x^2)/∂x = 4
    y = nope
    #> error: unknown name 'nope'
    #>  --> 11:5

    """

    func testTapeToNotebook() throws {
        let notebook = try JSON.parse(NotebookConversion.notebook(fromTape: lesson))
        XCTAssertEqual(notebook["nbformat"]?.int, 4)
        XCTAssertEqual(notebook["metadata"]?["kernelspec"]?["name"]?.string, "tapebook")
        XCTAssertEqual(notebook["metadata"]?["language_info"]?["file_extension"]?.string, ".tape")
        let cells = notebook["cells"]!.array!
        XCTAssertEqual(cells.map { $0["cell_type"]!.string! }, ["markdown", "code", "code", "markdown", "code", "code"])
        XCTAssertEqual(cells[0]["source"]?.text, "Lesson: a title\n\nSome narration.")
        XCTAssertEqual(cells[1]["source"]?.text, "x = 2")
        XCTAssertEqual(cells[1]["outputs"]?.array?.first?["data"]?["text/plain"]?.text, "x = 2")
        XCTAssertEqual(cells[2]["outputs"]?.array?.count, 0)
        let error = cells[5]["outputs"]!.array![0]
        XCTAssertEqual(error["output_type"]?.string, "error")
        XCTAssertEqual(error["evalue"]?.string, "unknown name 'nope'")
        XCTAssertEqual(error["traceback"]?.array?.compactMap(\.string), ["error: unknown name 'nope'", " --> 11:5"])
        XCTAssertEqual(Set(cells.compactMap { $0["id"]?.string }).count, cells.count)
    }

    func testRoundTrip() throws {
        let notebook = NotebookConversion.notebook(fromTape: lesson)
        XCTAssertEqual(try NotebookConversion.tape(fromNotebook: Array(notebook.utf8)), lesson)
        let unusual = "\n\nx = 1\n\n\ny = 2\n# note\nz = 3\n\n"
        XCTAssertEqual(try NotebookConversion.tape(fromNotebook: Array(NotebookConversion.notebook(fromTape: unusual).utf8)), unusual)
    }

    /// A notebook written elsewhere: outputs of every kind become #> lines, colour codes dropped.
    func testForeignNotebook() throws {
        let text = #"""
        {"nbformat": 4, "nbformat_minor": 2, "metadata": {}, "cells": [
          {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "\n", "text"]},
          {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "a = 1\nb = 2\n", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": ["printed\n"]},
            {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": ["b = 2"], "image/png": "AAAA"}},
            {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["\u001b[31mred\u001b[0m"]}]}]}
        """#
        XCTAssertEqual(try NotebookConversion.tape(fromNotebook: Array(text.utf8)),
                       "# # Title\n#\n# text\na = 1\nb = 2\n#> printed\n#> b = 2\n#> red\n")
    }

    func testBadNotebooksAreErrors() {
        func message(_ text: String) -> String? {
            do { _ = try NotebookConversion.tape(fromNotebook: Array(text.utf8)); return nil } catch { return "\(error)" }
        }
        XCTAssertEqual(message("{"), "not a notebook: the JSON is invalid (expected a member name at byte 1)")
        XCTAssertEqual(message(#"{"nbformat": 3, "cells": []}"#), "not a notebook of nbformat 4 (it says 3)")
        XCTAssertEqual(message(#"{"nbformat": 4}"#), "the notebook has no list of cells")
        XCTAssertEqual(message(#"{"nbformat": 4, "cells": [{"cell_type": "code"}]}"#), "cell 1 has no source text")
        XCTAssertEqual(message("[]"), "not a notebook of nbformat 4")
    }
}
