import Foundation
import XCTest
@testable import Rendering

/// `NumberFormat.rounded` rounds the shortest digits instead of calling `printf`; it must give `printf`'s
/// text (the exact binary value correctly rounded) for every value and count of decimals.
final class NumberRoundingTests: XCTestCase {
    private func printfRounded(_ v: Double, _ decimals: Int) -> String {
        NumberFormat.trimZeros(String(format: "%.\(decimals)f", v))
    }

    private func assertRoundsLikePrintf(_ v: Double, file: StaticString = #filePath, line: UInt = #line) {
        let shortest = ShortestDigits(v)
        let decimals = max(0, shortest.digits.count - shortest.point)
        for shown in 0...min(decimals, 18) {
            XCTAssertEqual(NumberFormat.rounded(v, shortest, decimals: shown), printfRounded(v, shown),
                           "\(v) at \(shown) decimals", file: file, line: line)
        }
    }

    func testMidpointsAndCarries() {
        // Shortest digits that end at a midpoint (the exact value decides), binary midpoints, carries into a
        // new digit, values that round to zero (keeping a minus sign), one digit, many digits.
        let values: [Double] = [0.15, 0.25, 0.35, 1.005, 2.675, 0.125, 0.375, 2.5, -2.5, 0.5, -0.5, 9.995, 0.996, 99.95, 999.9999,
                  -0.0001, 0.0001234, -0.004, 1e-10, 4.35, 0.045, 1.0000000000000002, 123456.7890123, .leastNonzeroMagnitude,
                  0.30000000000000004, 1.0 / 3, -2.0 / 3, 0.9999546, 0.99995, 8.5e-5]
        for v in values {
            assertRoundsLikePrintf(v)
        }
    }

    func testRandomValuesAtEveryMagnitude() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        for _ in 0..<4_000 {
            let unit = Double(next() >> 11) / Double(1 << 53) * 2 - 1
            let exponent = Int(next() % 17) - 8
            let v = unit * pow(10, Double(exponent))
            assertRoundsLikePrintf(v)
            // A short decimal, often a midpoint at some count of decimals.
            let digits = Int(next() % 6)
            assertRoundsLikePrintf((v * pow(10, Double(digits))).rounded() / pow(10, Double(digits)) + 0.5 * pow(10, -Double(digits + 1)))
        }
    }
}
