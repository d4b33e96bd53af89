import XCTest
@testable import TensorCore

/// The header NumPy writes is read straight from its bytes (`NPY.plainHeader`); anything else goes to the
/// Python-literal parser (`NPY.generalHeader`). Where the byte reader answers, both must agree.
final class NPYHeaderTests: XCTestCase {
    func plain(_ header: String) -> (descr: String, fortranOrder: Bool, shape: [Int])? {
        Array(header.utf8).withUnsafeBytes { NPY.plainHeader($0) }
    }

    func general(_ header: String) throws -> (String, Bool, [Int]) {
        try Array(header.utf8).withUnsafeBytes { bytes in
            try NPY.generalHeader(bytes, version: 3, fail: { TensorError($0) })
        }
    }

    func testHeadersAsNumPyWritesThemAreReadByBytes() throws {
        let headers = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (512, 512), }" + String(repeating: " ", count: 50) + "\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (512,), }\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n",
            "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3, 4)}",
            "{\"shape\": (0, 3), \"descr\": \"|b1\", \"fortran_order\": False}",
            "  {'descr':'<f4','fortran_order':False,'shape':(007,1,)}\t\r\n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1 , 2 ,) , }",
        ]
        for header in headers {
            let byBytes = try XCTUnwrap(plain(header), header)
            let byParser = try general(header)
            XCTAssertEqual(byBytes.descr, byParser.0, header)
            XCTAssertEqual(byBytes.fortranOrder, byParser.1, header)
            XCTAssertEqual(byBytes.shape, byParser.2, header)
        }
        XCTAssertEqual(plain("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 30), }")?.shape, [2, 30])
    }

    /// Everything the byte reader does not handle is left to the parser, whatever that parser answers.
    func testOtherHeadersAreLeftToTheParser() {
        let headers = [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }",            // Python 2 long
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",            // negative
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1234567890123456789,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': [3], }",              // a list
            "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",    // structured
            "{'descr': '<\\f8', 'fortran_order': False, 'shape': (3,), }",           // an escape
            "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': Falsé, 'shape': (3,), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\u{A0}",
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3 4), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), } x",
            "{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}",
            "{,}",
            "",
        ]
        for header in headers { XCTAssertNil(plain(header), header) }
    }

    func testDTypesAreReadFromTheirBytes() {
        XCTAssertEqual(NPY.parseDType("<f8").map { "\($0.kind) \($0.size) \($0.bigEndian)" }, "float 8 false")
        XCTAssertEqual(NPY.parseDType(">u2").map { "\($0.kind) \($0.size) \($0.bigEndian)" }, "unsigned 2 true")
        XCTAssertEqual(NPY.parseDType("i+4").map { "\($0.kind) \($0.size) \($0.bigEndian)" }, "signed 4 false")
        XCTAssertEqual(NPY.parseDType("|?").map { "\($0.kind) \($0.size)" }, "bool 1")
        for bad in ["", "<", "<f", "<f16", "<c16", "<U2", "<f8 ", "<é8", "f\u{301}8", "<i-4"] {
            XCTAssertNil(NPY.parseDType(bad), bad)
        }
    }
}
