import XCTest
import Portable

/// printf-style formatting: the one-double path agrees with the CVarArg path, long results included.
final class FormatTests: XCTestCase {
    func testOneDoubleFormatsAsPrintfDoes() {
        XCTAssertEqual(String(cFormat: "%.3f", 2.0 / 3), "0.667")
        XCTAssertEqual(String(cFormat: "%.2e", 12345.678), "1.23e+04")
        XCTAssertEqual(String(cFormat: "%8.2f|", -1.005), "   -1.00|")
        XCTAssertEqual(String(cFormat: "%.1f µs", 12.25), "12.2 µs")
        XCTAssertEqual(String(cFormat: "%g", Double.infinity), "inf")
        XCTAssertEqual(String(cFormat: "%.0f", 0.5), "0")
    }

    func testResultsLongerThanTheStackBuffer() {
        let long = String(cFormat: "%.200f", 1.0 / 3)
        XCTAssertEqual(long.count, 202)
        XCTAssertTrue(long.hasPrefix("0.3333333333333333148"))
        let viaArguments = String(cFormat: "%.200f %d", 1.0 / 3, Int32(7))
        XCTAssertEqual(viaArguments, long + " 7")
    }

    func testBothPathsAgree() {
        for x in [0.0, -0.0, 1e-300, 123456789.125, -2.5e17, .nan] {
            for format in ["%.4f", "%.4e", "%.6g", "%+.1f"] {
                XCTAssertEqual(String(cFormat: format, x), String(cFormat: format + "%.0d", x, Int32(0)), "\(format) of \(x)")
            }
        }
    }
}
