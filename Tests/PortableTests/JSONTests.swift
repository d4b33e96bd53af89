import XCTest
import Portable

final class JSONTests: XCTestCase {
    func testReadsAndWritesBack() throws {
        let text = #"{"a":[1,2.5,-3e-2,true,false,null],"b":{"c":"x\ny\"z\\ \u00e9 \ud83d\ude00"},"e":[]}"#
        let value = try JSON.parse(text)
        XCTAssertEqual(value["b"]?["c"]?.string, "x\ny\"z\\ é 😀")
        XCTAssertEqual(value["a"]?.array?.count, 6)
        XCTAssertEqual(value["a"]?.array?[2].number, -0.03)
        XCTAssertEqual(value.serialized(), #"{"a":[1,2.5,-0.03,true,false,null],"b":{"c":"x\ny\"z\\ é 😀"},"e":[]}"#)
        XCTAssertEqual(try JSON.parse(value.serialized(indent: 1)), value)
    }

    func testIndentedAsJupyterWrites() {
        XCTAssertEqual(JSON.object([("a", .array([.number(1)])), ("b", .object([]))]).serialized(indent: 1), "{\n \"a\": [\n  1\n ],\n \"b\": {}\n}")
    }

    func testMultilineText() throws {
        XCTAssertEqual(try JSON.parse(#"["a\n", "b"]"#).text, "a\nb")
        XCTAssertEqual(try JSON.parse(#""ab""#).text, "ab")
        XCTAssertNil(try JSON.parse("[1]").text)
    }

    /// Hostile input: errors with an offset, never a crash (deep nesting included).
    func testBadInputIsAnError() {
        for bad in ["", "{", "[1,", "{\"a\" 1}", "tru", "\"abc", "[1] x", "{\"a\":}", "-", "\"\\u12\""] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
        XCTAssertThrowsError(try JSON.parse(String(repeating: "[", count: 100_000))) { error in
            XCTAssertEqual((error as? JSONError)?.message, "JSON nested too deeply")
        }
        XCTAssertEqual(try JSON.parse("\"\\u0001\"").serialized(), "\"\\u0001\"")
    }
}
