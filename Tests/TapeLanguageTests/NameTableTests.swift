import XCTest
@testable import TapeLanguage

/// The table behind the workspace, function scopes and built-ins.
final class NameTableTests: XCTestCase {
    func testBindLookUpRebindAndRemove() {
        var t = NameTable<Int>()
        XCTAssertNil(t["x"])
        XCTAssertNil(t.updateValue(1, forKey: "x"))
        XCTAssertEqual(t.updateValue(2, forKey: "x"), 1)
        t["y"] = 3
        XCTAssertEqual(t["x"], 2)
        XCTAssertEqual(t["y"], 3)
        XCTAssertEqual(t.count, 2)
        XCTAssertEqual(t.removeValue(forKey: "x"), 2)
        XCTAssertNil(t.removeValue(forKey: "x"))
        XCTAssertNil(t["x"])
        XCTAssertEqual(t["y"], 3)
        t["y"] = nil
        XCTAssertTrue(t.isEmpty)
    }

    func testManyNamesThroughGrowthAndRemovals() {
        var t = NameTable<Int>()
        let names = (0..<500).map { "n\($0)" } + ["", "é", "a_b", "日本", "K"]
        for (i, n) in names.enumerated() { t[n] = i }
        for (i, n) in names.enumerated() { XCTAssertEqual(t[n], i, n) }
        for (i, n) in names.enumerated() where i % 3 == 0 { t[n] = nil }
        for (i, n) in names.enumerated() { XCTAssertEqual(t[n], i % 3 == 0 ? nil : i, n) }
        XCTAssertEqual(t.count, names.count - (names.count + 2) / 3)
        XCTAssertNil(t["n500"])
    }

    func testNamesAreEqualAsStringsAre() {
        // "é" precomposed and decomposed are one String, and the Kelvin sign is "K"; with few names (searched
        // one by one) and with many (hashed).
        for fillers in [0, 20] {
            var t = NameTable<Int>()
            for i in 0..<fillers { t["f\(i)"] = -i }
            checkEquivalentNames(&t)
            XCTAssertEqual(t.count, fillers + 1)
        }
    }

    private func checkEquivalentNames(_ t: inout NameTable<Int>) {
        t["\u{E9}"] = 1
        XCTAssertEqual(t["e\u{301}"], 1)
        let count = t.count
        t["e\u{301}"] = 2
        XCTAssertEqual(t.count, count)
        t["K"] = 3
        XCTAssertEqual(t["\u{212A}"], 3)
        t["\u{212A}"] = nil
        XCTAssertNil(t["K"])
        t["\u{212A}"] = 4
        XCTAssertEqual(t["K"], 4)
        t["\u{212A}"] = nil
        t["\u{E9}"] = nil
        // With no name left that is not ASCII, lookups hash again (once there are many names).
        t["k"] = 5
        XCTAssertEqual(t["k"], 5)
        XCTAssertNil(t["K"])
    }

    func testIterationInTheOrderNamesWereFirstBound() {
        var t: NameTable<Int> = ["b": 1, "a": 2]
        t["c"] = 3
        t["b"] = 4
        XCTAssertEqual(t.map(\.key), ["b", "a", "c"])
        XCTAssertEqual(t.map(\.value), [4, 2, 3])
        XCTAssertEqual(t.keys, ["b", "a", "c"])
        // Removing while iterating a copy is safe.
        for (name, value) in t where value > 2 { t[name] = nil }
        XCTAssertEqual(t.keys, ["a"])
    }

    func testScopesFromParametersLetALaterDuplicateWin() {
        let t = NameTable(names: ["x", "y", "x"], elements: [1, 2, 3])
        XCTAssertEqual(t["x"], 3)
        XCTAssertEqual(t.count, 2)
    }

    func testUpdateEachKeepsNamesAndOrder() {
        var empty = NameTable<Int>()
        empty.updateEach { $0 += 1 }
        XCTAssertTrue(empty.isEmpty)
        var t = NameTable(names: (0..<12).map { "n\($0)" }, elements: Array(0..<12))
        t.updateEach { if $0 % 3 == 0 { $0 *= 10 } }
        XCTAssertEqual(t.keys, (0..<12).map { "n\($0)" })
        XCTAssertEqual(t.map(\.value), [0, 1, 2, 30, 4, 5, 60, 7, 8, 90, 10, 11])
        XCTAssertEqual(t["n9"], 90, "still found through the buckets")
    }
}
