import XCTest
@testable import TensorCore

/// A scalar keeps its element inline; every way of making or reading one must agree with the array form.
final class StorageTests: XCTestCase {
    func testScalarsAreTheSameHoweverMade() throws {
        let inline = Tensor(2.5)
        XCTAssertEqual(Tensor(shape: [], scalars: [2.5]), inline)
        XCTAssertEqual(try Tensor(shape: [], repeating: 2.5), inline)
        XCTAssertEqual(try Tensor(vector: [2.5]).reshaped([]), inline)
        XCTAssertTrue(inline.isScalar)
        XCTAssertEqual(inline.shape, [])
        XCTAssertEqual(inline.count, 1)
        XCTAssertEqual(inline.scalars, [2.5])
        XCTAssertEqual(inline.scalarValue, 2.5)
        XCTAssertEqual(inline.firstScalar, 2.5)
        XCTAssertEqual(inline.withUnsafeBufferPointer { Array($0) }, [2.5])
    }

    func testOneElementArraysAreNotScalars() throws {
        let vector = Tensor(vector: [2.5]), scalar = Tensor(2.5)
        XCTAssertNotEqual(vector, scalar)
        XCTAssertFalse(vector.isScalar)
        XCTAssertFalse(vector.hasSameShape(as: scalar))
        XCTAssertTrue(vector.hasSameShape(as: Tensor(vector: [7])))
        XCTAssertEqual(vector.scalarValue, 2.5)
        XCTAssertEqual(try scalar.reshaped([1, 1]).shape, [1, 1])
        XCTAssertEqual(try scalar.reshaped([1, 1]).scalars, [2.5])
    }

    func testScalarKernelsMatchTheArrayPath() throws {
        let a = Tensor(0.75), b = Tensor(-2)
        let va = Tensor(vector: [0.75]), vb = Tensor(vector: [-2])
        for f in BinaryFunction.allCases {
            XCTAssertEqual(try Tensor.zip(a, b, f).scalars, try Tensor.zip(va, vb, f).scalars, "\(f)")
            XCTAssertEqual(try Tensor.zip(a, vb, f).shape, [1], "\(f)")
        }
        for f in UnaryFunction.allCases {
            XCTAssertEqual(a.map(f).scalars, va.map(f).scalars, "\(f)")
            XCTAssertTrue(a.map(f).isScalar, "\(f)")
        }
        XCTAssertTrue(Tensor(.nan).hasNonFinite)
        XCTAssertFalse(Tensor(1).hasNonFinite)
        XCTAssertEqual(try a.broadcast(to: [2, 2]).scalars, [0.75, 0.75, 0.75, 0.75])
    }

    /// A tensor with no elements may still not have a dimension over the limit: reducing `[0, 10^14]` over
    /// its first axis would allocate 10^14 elements (the process aborted).
    func testEveryDimensionIsWithinTheLimit() {
        XCTAssertThrowsError(try Shape.checkAllocation([0, 100_000_000_000_000])) { error in
            XCTAssertEqual((error as? TensorError)?.message,
                           "a tensor of shape [0, 100000000000000] has a dimension over 100000000 (the limit)")
        }
        XCTAssertThrowsError(try Tensor.zeros([100_000_000_000_000, 0]))
        XCTAssertNoThrow(try Shape.checkAllocation([0, 100_000_000]))
    }

    /// The norm that `:grads` and the inspections show: scaled, so no square overflows or underflows.
    func testEuclideanNormNeitherOverflowsNorUnderflows() {
        XCTAssertEqual(Tensor(vector: [3, 4]).euclideanNorm, 5)
        XCTAssertEqual(Tensor(vector: [1e300, 1]).euclideanNorm, 1e300)
        XCTAssertEqual(Tensor(vector: [3e-300, 4e-300]).euclideanNorm, 5e-300, accuracy: Double("1e-314")!)
        XCTAssertEqual(Tensor(vector: [0, 0]).euclideanNorm, 0)
        XCTAssertEqual(Tensor(vector: [.infinity, 1]).euclideanNorm, .infinity)
        XCTAssertTrue(Tensor(vector: [.nan, 1]).euclideanNorm.isNaN)
        XCTAssertEqual(Tensor(vector: []).euclideanNorm, 0)
        XCTAssertEqual(Tensor(7).euclideanNorm, 7)
    }

    /// The first pass finds NaN and Inf in any lane and in the tail (past a multiple of 4): NaN wins.
    func testEuclideanNormFindsNonFiniteElementsAnywhere() {
        for count in [1, 4, 5, 9] {
            for position in 0..<count {
                var values = (0..<count).map { Double($0) - 2.5 }
                values[position] = -.infinity
                XCTAssertEqual(Tensor(vector: values).euclideanNorm, .infinity, "count \(count), inf at \(position)")
                values[(position + 1) % count] = .nan
                XCTAssertTrue(Tensor(vector: values).euclideanNorm.isNaN, "count \(count), NaN after inf at \(position)")
            }
        }
        XCTAssertEqual(Tensor(vector: [.greatestFiniteMagnitude, 1, 2, 3, 4]).euclideanNorm, .greatestFiniteMagnitude)
    }
}
