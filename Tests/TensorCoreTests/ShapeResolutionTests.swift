import XCTest
@testable import TensorCore

/// `Shape.reshaped(_:count:to:)` and `Shape.checkBroadcast(_:to:)`: the shapes and the exact errors of
/// `Tensor.reshaped` and `broadcast(to:)`.
final class ShapeResolutionTests: XCTestCase {
    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch let e as TensorError { return e.message } catch { return "\(error)" }
    }

    func testReshapeInfersTheOneUnknownDimension() throws {
        XCTAssertEqual(try Shape.reshaped([2, 3], count: 6, to: [3, -1]), [3, 2])
        XCTAssertEqual(try Shape.reshaped([2, 3], count: 6, to: [-1]), [6])
        XCTAssertEqual(try Shape.reshaped([6], count: 6, to: [1, 2, 3]), [1, 2, 3])
        XCTAssertEqual(try Shape.reshaped([], count: 1, to: []), [])
        XCTAssertEqual(try Shape.reshaped([], count: 1, to: [-1, 1]), [1, 1])
        XCTAssertEqual(try Shape.reshaped([0, 4], count: 0, to: [2, 0, 8]), [2, 0, 8])
    }

    func testReshapeErrorsInOrder() {
        XCTAssertEqual(message { try Shape.reshaped([6], count: 6, to: [-1, -1, -2]) },
                       "reshape: only one dimension can be -1, got [-1, -1, -2]")
        XCTAssertEqual(message { try Shape.reshaped([6], count: 6, to: [-2, 3]) }, "reshape: negative dimension in [-2, 3]")
        XCTAssertEqual(message { try Shape.reshaped([6], count: 6, to: [4, -1]) }, "cannot reshape a tensor of shape [6] into [4, -1]")
        XCTAssertEqual(message { try Shape.reshaped([0], count: 0, to: [0, -1]) }, "cannot reshape a tensor of shape [0] into [0, -1]")
        XCTAssertEqual(message { try Shape.reshaped([6], count: 6, to: [4]) },
                       "cannot reshape a tensor of shape [6] (6 elements) into [4]")
        XCTAssertEqual(message { try Shape.reshaped([0], count: 0, to: [0, 1_000_000_000_000]) },
                       "a tensor of shape [0, 1000000000000] has a dimension over 100000000 (the limit)")
    }

    /// Known dimensions whose product overflows are an error, not a crash.
    func testReshapeWithAnOverflowingProductIsRefused() {
        XCTAssertEqual(message { try Shape.reshaped([6], count: 6, to: [-1, Int.max / 2, 4]) },
                       "cannot reshape a tensor of shape [6] into [-1, \(Int.max / 2), 4]")
    }

    func testTensorReshapeAgreesWithTheShape() throws {
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try t.reshaped([-1, 2]), Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]))
        XCTAssertEqual(try Tensor(7).reshaped([1, -1]).shape, [1, 1])
    }

    func testCheckBroadcast() {
        XCTAssertNoThrow(try Shape.checkBroadcast([3], to: [2, 3]))
        XCTAssertNoThrow(try Shape.checkBroadcast([], to: [2, 3]))
        XCTAssertNoThrow(try Shape.checkBroadcast([1, 1], to: [4, 5]))
        XCTAssertNoThrow(try Shape.checkBroadcast([0], to: [2, 0]))
        XCTAssertEqual(message { try Shape.checkBroadcast([2], to: [3]) }, "cannot broadcast [2] with [3]")
        XCTAssertEqual(message { try Shape.checkBroadcast([3], to: [1]) }, "cannot broadcast [3] to [1]")
        XCTAssertEqual(message { try Shape.checkBroadcast([2, 3], to: [3]) }, "cannot broadcast [2, 3] to [3]")
    }

    func testBroadcastStrides() {
        XCTAssertEqual(Shape.broadcastStrides([3, 1], to: [2, 3, 4]), [0, 1, 0])
        XCTAssertEqual(Shape.broadcastStrides([2, 3, 4], to: [2, 3, 4]), [12, 4, 1])
        XCTAssertEqual(Shape.broadcastStrides([], to: [2]), [0])
        XCTAssertEqual(Shape.broadcastStrides([5], to: [5]), [1])
    }

    /// NumPy's broadcasting, including the cases where one operand's shape is the answer as it is (a scalar,
    /// a row, ones) and the cases where neither is.
    func testBroadcastOfTwoShapes() throws {
        XCTAssertEqual(try Shape.broadcast([], [3]), [3])
        XCTAssertEqual(try Shape.broadcast([2, 3], []), [2, 3])
        XCTAssertEqual(try Shape.broadcast([], []), [])
        XCTAssertEqual(try Shape.broadcast([3], [2, 3]), [2, 3])
        XCTAssertEqual(try Shape.broadcast([2, 3], [1, 3]), [2, 3])
        XCTAssertEqual(try Shape.broadcast([1], [0]), [0])
        XCTAssertEqual(try Shape.broadcast([0], [1]), [0])
        XCTAssertEqual(try Shape.broadcast([2, 1], [1, 3]), [2, 3])
        XCTAssertEqual(try Shape.broadcast([4, 1, 5], [3, 1]), [4, 3, 5])
        XCTAssertEqual(try Shape.broadcast([1, 1], [1]), [1, 1])
        XCTAssertEqual(message { try Shape.broadcast([2], [3]) }, "cannot broadcast [2] with [3]")
        XCTAssertEqual(message { try Shape.broadcast([2, 3], [3, 3]) }, "cannot broadcast [2, 3] with [3, 3]")
    }

    func testStretches() {
        XCTAssertTrue(Shape.stretches([], to: []))
        XCTAssertTrue(Shape.stretches([], to: [4, 5]))
        XCTAssertTrue(Shape.stretches([1, 5], to: [4, 5]))
        XCTAssertTrue(Shape.stretches([5], to: [4, 5]))
        XCTAssertFalse(Shape.stretches([4, 5], to: [5]))
        XCTAssertFalse(Shape.stretches([4, 1], to: [4, 5, 1]))
        XCTAssertFalse(Shape.stretches([2], to: [0]))
    }

    /// Reduced shapes: axes removed, or kept as ones; a reduction of every axis is a scalar's shape.
    func testReducedShape() {
        let t = Tensor(shape: [2, 3, 4], scalars: Array(repeating: 0, count: 24))
        XCTAssertEqual(t.reducedShape([0, 1, 2], keepDims: false), [])
        XCTAssertEqual(t.reducedShape([0, 1, 2], keepDims: true), [1, 1, 1])
        XCTAssertEqual(t.reducedShape([1], keepDims: false), [2, 4])
        XCTAssertEqual(t.reducedShape([1], keepDims: true), [2, 1, 4])
        XCTAssertEqual(t.reducedShape([0, 2], keepDims: false), [3])
        XCTAssertEqual(t.reducedShape([], keepDims: false), [2, 3, 4])
        XCTAssertEqual(Tensor(5).reducedShape([], keepDims: true), [])
        XCTAssertEqual(Tensor(shape: [0, 2], scalars: []).reducedShape([0], keepDims: false), [2])
    }
}
