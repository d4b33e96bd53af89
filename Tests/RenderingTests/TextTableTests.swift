import XCTest
import Rendering

final class TextTableTests: XCTestCase {
    func testAlignsByDisplayWidth() {
        let table = renderTable(headers: ["name", "shape", "norm"],
                                rows: [["x", "3×3", "1.5"], ["∂y/∂x", "[3]", "…"], ["w"]],
                                alignments: [.left, .center, .right])
        XCTAssertEqual(table, """
            name   shape  norm
            ─────  ─────  ────
            x       3×3    1.5
            ∂y/∂x   [3]      …
            w
            """)
    }

    func testWideCharactersAndNoHeaders() {
        XCTAssertEqual(renderTable(headers: [], rows: [["日本", "1"], ["a", "22"]], alignments: [.left, .right]), """
            日本   1
            a     22
            """)
    }

    func testDisplayWidth() {
        XCTAssertEqual(displayWidth("∂y/∂x"), 5)
        XCTAssertEqual(displayWidth("3×3…"), 4)
        XCTAssertEqual(displayWidth("日本"), 4)
        XCTAssertEqual(displayWidth("e\u{301}"), 1)
        XCTAssertEqual(displayWidth("⠤▁"), 2)
        // Printable ASCII is a column a byte; a control character takes none.
        XCTAssertEqual(displayWidth("grad loss wrt w, b"), 18)
        XCTAssertEqual(displayWidth("a\u{7}b\tc"), 3)
    }
}
