import XCTest
@testable import TensorCore

/// Broadcast elementwise functions against the definition, element by element: a short block repeated along
/// the leading axes (a bias, laid out end to end in `combineRepeatingRows`) on either side, and the shapes
/// that take the row-by-row walk.
final class BroadcastTests: XCTestCase {
    /// f(a[i], b[i]) with each operand read through its broadcast strides.
    func definition(_ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Double) throws -> [Double] {
        let shape = try Shape.broadcast(a.shape, b.shape)
        let x = try a.broadcast(to: shape).scalars, y = try b.broadcast(to: shape).scalars
        return zip(x, y).map(f)
    }

    func testRepeatedBlocksOnEitherSide() throws {
        var random = RandomGenerator(seed: 12)
        for (whole, block) in [([3, 5, 16], [16]), ([2, 2, 3, 3], [3]), ([4, 3, 1], [3, 1]), ([7, 255], [255]), ([3, 256], [256]),
                               ([2, 4, 5], [1, 1, 5]), ([130, 10], [10]), ([2, 3, 4], [3, 4]), ([0, 16], [16]), ([5, 2, 3], [2, 1])] {
            let a = try random.tensor(shape: whole, normal: true)
            var blockValues = try random.tensor(shape: block, normal: true).scalars
            if blockValues.count > 1 { blockValues[1] = .nan }
            let b = Tensor(shape: block, scalars: blockValues)
            for (function, f) in [(BinaryFunction.add, { (x: Double, y: Double) in x + y }), (.subtract, { $0 - $1 }), (.reluGrad, { $1 * ($0 > 0 ? 1 : 0) })] {
                let forward = try Tensor.zipNotingNonFinite(a, b, function)
                XCTAssertEqual(forward.tensor.scalars.map(\.bitPattern), try definition(a, b, f).map(\.bitPattern), "\(whole) \(function) \(block)")
                XCTAssertEqual(forward.hasNonFinite, forward.tensor.scalars.contains { !$0.isFinite }, "\(whole) \(function) \(block)")
                let backward = try Tensor.zipNotingNonFinite(b, a, function)
                XCTAssertEqual(backward.tensor.scalars.map(\.bitPattern), try definition(b, a, f).map(\.bitPattern), "\(block) \(function) \(whole)")
                XCTAssertEqual(forward.tensor.shape, try Shape.broadcast(whole, block))
            }
        }
    }

    func testFiniteBlocksNoteNothing() throws {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), b = Tensor(vector: [10, 20, 30])
        let sum = try Tensor.zipNotingNonFinite(a, b, .add)
        XCTAssertEqual(sum.tensor.scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertFalse(sum.hasNonFinite)
        XCTAssertTrue(try Tensor.zipNotingNonFinite(a, Tensor(vector: [1e308, 0, 0]), .multiply).hasNonFinite)
    }
}
