import XCTest
import TensorCore
@testable import Autodiff

/// The memory the values alive hold, and the limit that turns an out-of-memory kill into an error.
final class MemoryLimitTests: XCTestCase {
    override func tearDown() { Memory.liveLimitBytes = 0 }

    func testValuesAddTheirShareAndTakeItAwayWhenFreed() throws {
        let ctx = GradientContext()
        let before = Memory.liveWords
        var x: Value? = ctx.constant(try Tensor(shape: [100, 10], repeating: 1))
        XCTAssertEqual(Memory.liveWords - before, 1000 + Memory.valueWords)
        try ctx.watch(x!)
        var y: Value? = try x!.map(.sin).map(.cos)  // two recorded values; the first is kept by the second's node
        XCTAssertEqual(Memory.liveWords - before, 3 * (1000 + Memory.valueWords))
        x = nil
        y = nil
        XCTAssertNil(y)
        XCTAssertEqual(Memory.liveWords, before)
    }

    func testAnOperationPastTheLimitThrowsAndFreesWhatItMade() throws {
        let ctx = GradientContext()
        let x = ctx.constant(try Tensor(shape: [1000], repeating: 1))
        try ctx.watch(x)
        let before = Memory.liveWords
        Memory.liveLimitBytes = (before + 10_000) * 8
        func chain() throws -> Value {
            var y = x
            for _ in 0..<100 { y = try y * x }
            return y
        }
        XCTAssertThrowsError(try chain()) { error in
            XCTAssertEqual((error as? TensorError)?.message,
                           "not enough memory: the values alive would hold more than \(Memory.describeBytes(Memory.liveLimitBytes)) (the limit set with :set memory)")
        }
        XCTAssertEqual(Memory.liveWords, before)
        // A single tensor is refused before it is allocated.
        XCTAssertThrowsError(try Tensor(shape: [20_000], repeating: 0))
        Memory.liveLimitBytes = 0
        XCTAssertEqual(try chain().tensor.scalars.first, 1)
    }

    func testBytesAreDescribedInBinaryUnits() {
        XCTAssertEqual(Memory.describeBytes(512), "1 KiB")
        XCTAssertEqual(Memory.describeBytes(300 << 10), "300 KiB")
        XCTAssertEqual(Memory.describeBytes(64 << 20), "64 MiB")
        XCTAssertEqual(Memory.describeBytes(3 << 19), "1.5 MiB")
        XCTAssertEqual(Memory.describeBytes(Int(11.75 * Double(1 << 30))), "11.8 GiB")
    }
}
