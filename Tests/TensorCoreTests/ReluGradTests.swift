import XCTest
@testable import TensorCore

/// relu's pullback in one pass (`relu_grad`) gives the two-pass product `dy * positive_mask(x)` to the bit.
final class ReluGradTests: XCTestCase {
    func testOnePassEqualsTheMaskedProductBitForBit() throws {
        let specials: [Double] = [0, -0.0, .leastNormalMagnitude / 4, -.leastNormalMagnitude / 4, 2.5, -2.5, .infinity, -.infinity, .nan]
        var xs: [Double] = [], dys: [Double] = []
        for x in specials { for dy in specials { xs.append(x); dys.append(dy) } }
        let x = Tensor(vector: xs), dy = Tensor(vector: dys)
        let fused = try Tensor.zip(x, dy, .reluGrad)
        let product = try dy * x.map(.positiveMask)
        XCTAssertEqual(fused.scalars.map(\.bitPattern), product.scalars.map(\.bitPattern))
        // The cases the mask decides: dy passes where x > 0; elsewhere dy·0 keeps -0 and turns inf into NaN.
        XCTAssertEqual(try Tensor.zip(Tensor(vector: [1, -1, 0]), Tensor(vector: [-3, -3, -3]), .reluGrad).scalars.map(\.bitPattern),
                       [-3.0, -0.0, -0.0].map(\.bitPattern))
        XCTAssertTrue(try Tensor.zip(Tensor(vector: [-1]), Tensor(vector: [.infinity]), .reluGrad).scalars[0].isNaN)
    }

    func testBroadcastsAsTheOtherBinaryFunctions() throws {
        let x = Tensor(shape: [2, 2], scalars: [1, -1, 0, 3]), dy = Tensor(vector: [10, 20])
        XCTAssertEqual(try Tensor.zip(x, dy, .reluGrad).scalars, [10, 0, 0, 20])
        XCTAssertEqual(try Tensor.zip(x, Tensor(7), .reluGrad).scalars, [7, 0, 0, 7])
    }
}
