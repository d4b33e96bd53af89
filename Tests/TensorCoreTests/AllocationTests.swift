import XCTest
@testable import TensorCore

/// The specialized array initializers: the same arrays as the standard ones, on both sides of the limit.
final class AllocationTests: XCTestCase {
    let limit = [Double].specializedAllocationLimit
    var counts: [Int] { [0, 1, 2, 7, limit, limit + 1, 100_000] }

    func testRepeatingMatchesTheStandardInitializer() {
        for count in counts {
            XCTAssertEqual([Double](specializedRepeating: -2.5, count: count), [Double](repeating: -2.5, count: count))
            XCTAssertEqual([Int](specializedRepeating: 3, count: count), [Int](repeating: 3, count: count))
        }
    }

    func testRepeatingKeepsSignedZeroAndNaN() {
        let zeros = [Double](specializedRepeating: -0.0, count: 3)
        XCTAssertTrue(zeros.allSatisfy { $0 == 0 && $0.sign == .minus })
        XCTAssertTrue([Double](specializedRepeating: .nan, count: limit + 1).allSatisfy(\.isNaN))
    }

    func testUninitializedCountHoldsWhatTheBodyWrote() {
        for count in counts {
            let squares = [Double](specializedUninitializedCount: count) { buffer in
                XCTAssertEqual(buffer.count, count)
                for i in buffer.indices { buffer[i] = Double(i * i) }
            }
            XCTAssertEqual(squares, (0..<count).map { Double($0 * $0) })
            let indices = [Int](specializedUninitializedCount: count) { buffer in
                for i in buffer.indices { buffer[i] = count - i }
            }
            XCTAssertEqual(indices, (0..<count).map { count - $0 })
        }
    }

    func testUninitializedCountPassesOnAThrow() {
        struct Refused: Error {}
        for count in [1, limit + 1] {
            XCTAssertThrowsError(try [Double](specializedUninitializedCount: count) { _ in throw Refused() }) {
                XCTAssertTrue($0 is Refused)
            }
        }
    }

    /// The result is an array of its own: writing to a copy leaves it alone.
    func testResultsHaveValueSemantics() {
        let original = [Double](specializedRepeating: 1, count: 4)
        var copy = original
        copy[0] = 9
        XCTAssertEqual(original, [1, 1, 1, 1])
    }
}
