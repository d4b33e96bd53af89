import XCTest
@testable import TensorCore

/// Summing a broadcast back (`sumToShape`, `scatterStrided`): the rows of a bias's gradient added in
/// registers (`sumRows`) give the element walk's sums to the bit, at every row length around the lanes.
final class SumToShapeTests: XCTestCase {
    /// Each element summed over the rows in row order, starting from zero: what the element walk computes.
    func rowOrderSums(_ values: [Double], length: Int) -> [Double] {
        var sums = [Double](repeating: 0, count: length)
        for (position, value) in values.enumerated() { sums[position % length] += value }
        return sums
    }

    func testRowsOfABiasSumAsTheWalk() throws {
        var random = RandomGenerator(seed: 11)
        for (leading, length) in [([1], 1), ([3], 3), ([5, 2], 4), ([7], 5), ([2, 3, 3], 16), ([9], 17), ([4, 5], 21),
                                  ([32, 13, 13], 32), ([6], 63), ([3], 64), ([1, 1], 16)] {
            let shape = leading + [length]
            // Large and small magnitudes mixed, so that the order of the additions shows in the last bits.
            let values = try random.tensor(shape: shape, normal: true).scalars.enumerated().map { $1 * ($0 % 3 == 0 ? 1e6 : 1e-3) }
            let summed = Tensor(shape: shape, scalars: values).sumToShape([length])
            XCTAssertEqual(summed.shape, [length])
            XCTAssertEqual(summed.scalars.map(\.bitPattern), rowOrderSums(values, length: length).map(\.bitPattern), "\(shape)")
            // Kept axes of size one take the same route.
            XCTAssertEqual(Tensor(shape: shape, scalars: values).sumToShape([1, length]).scalars.map(\.bitPattern),
                           rowOrderSums(values, length: length).map(\.bitPattern), "\(shape) to [1, \(length)]")
        }
    }

    func testOtherBroadcastsStillSum() throws {
        // Rows longer than 64 and broadcasts along a middle or last axis take the element walk.
        let wide = Tensor(shape: [2, 65], scalars: (0..<130).map(Double.init))
        XCTAssertEqual(wide.sumToShape([65]).scalars, (0..<65).map { Double($0 + $0 + 65) })
        let columns = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(columns.sumToShape([2, 1]).scalars, [6, 15])
        XCTAssertEqual(columns.sumToShape([1, 1]).scalars, [21])
        // NaN and infinities pass through the sums.
        let special = Tensor(shape: [3, 2], scalars: [1, .infinity, 2, 3, .nan, 4]).sumToShape([2]).scalars
        XCTAssertTrue(special[0].isNaN)
        XCTAssertEqual(special[1], .infinity)
    }
}
