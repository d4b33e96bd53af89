import XCTest
import TensorCore
@testable import Autodiff

/// The bookkeeping of the gradient machinery on its own: how a dying graph is let go, the forward of one
/// or two tensors without an array, and the plan's source slots.
final class GradientMachineryTests: XCTestCase {
    /// A chain far longer than the stack allows recursion for is let go, and the memory it counted with it.
    func testALongChainIsReleasedInALoop() throws {
        let ctx = GradientContext()
        let before = Memory.liveWords
        do {
            let x = ctx.variable(Tensor(1), identity: VariableIdentity(name: "x"))
            var v = try x * 2
            for i in 0..<200_000 {
                // A cut now and then: the chain also runs through `stop_gradient`'s link to what it cut.
                v = i % 1000 == 999 ? try ctx.stopGradient(v) + x : try v + x
            }
            XCTAssertTrue(v.isTracked)
        }
        XCTAssertEqual(Memory.liveWords, before)
    }

    /// A value whose two inputs die with it (a tree, not a chain): every value goes, none is left behind.
    func testATreeOfDyingInputsIsReleased() throws {
        let ctx = GradientContext()
        let before = Memory.liveWords
        do {
            let x = ctx.variable(Tensor(1), identity: VariableIdentity(name: "x"))
            var level = try (0..<4096).map { _ in try x * 1 }
            while level.count > 1 {
                level = try stride(from: 0, to: level.count, by: 2).map { try level[$0] + level[$0 + 1] }
            }
            XCTAssertEqual(level[0].tensor.firstScalar, 4096)
        }
        XCTAssertEqual(Memory.liveWords, before)
    }

    /// A value still held elsewhere keeps its node and its inputs when what was computed from it dies.
    func testAHeldValueKeepsItsGraph() throws {
        let ctx = GradientContext()
        let x = ctx.variable(Tensor(3), identity: VariableIdentity(name: "x"))
        let held = try (x * x).map(.sin)
        do {
            let y = try held * 2 + held
            XCTAssertNotNil(y.storedNode)
        }
        XCTAssertNotNil(held.storedNode)
        let g = try ctx.gradient(of: held, wrt: [x])[0].value
        XCTAssertEqual(g?.tensor.firstScalar ?? 0, 6 * cos(9.0), accuracy: 1e-12)
    }

    /// The one- and two-tensor forwards give what the forward over an array gives.
    func testForwardWithoutAnArray() throws {
        let m = Tensor(shape: [2, 3], scalars: [1, -2, 3, 4, 5, -6])
        let one: [Primitive] = [.unary(.exp), .reduce(.sum, axes: [1], keepDims: false), .reshape([3, 2]),
                                .view(StridedView(offset: 0, shape: [3, 2], strides: [1, 3]), .transpose)]
        for p in one {
            XCTAssertEqual(try p.forward(m), try p.forward([m]), p.name)
        }
        let n = Tensor(shape: [3, 2], scalars: [0.5, 1, -1, 2, 3, 0])
        XCTAssertEqual(try Primitive.matmul(transposeA: false, transposeB: false).forward(m, n),
                       try Tensor.matmul(m, n, transposeA: false, transposeB: false))
        XCTAssertEqual(try Primitive.binary(.multiply).forward(m, Tensor(2)), try Tensor.zip(m, Tensor(2), .multiply))
        // A primitive of more inputs, given two, takes the array's path.
        XCTAssertEqual(try Primitive.concat(axis: 0).forward(m, m).shape, [4, 3])
    }

    /// A reduction's gradient skips its reshape when the kept shape is the gradient's with ones in front.
    func testOnesThen() {
        XCTAssertTrue(Shape.onesThen([], are: []))
        XCTAssertTrue(Shape.onesThen([], are: [1, 1, 1]))
        XCTAssertTrue(Shape.onesThen([3], are: [1, 3]))
        XCTAssertTrue(Shape.onesThen([2, 3], are: [2, 3]))
        XCTAssertTrue(Shape.onesThen([1, 0], are: [1, 1, 0]))
        XCTAssertFalse(Shape.onesThen([3], are: [3, 1]), "a trailing axis reduced: the reshape is needed")
        XCTAssertFalse(Shape.onesThen([2, 4], are: [2, 1, 4]))
        XCTAssertFalse(Shape.onesThen([3], are: [2, 3]))
        XCTAssertFalse(Shape.onesThen([1, 3], are: [3]))
        XCTAssertFalse(Shape.onesThen([4], are: []))
        // Without making the kept shape: the same answers as with it, for every reduction of these shapes.
        let inputs: [[Int]] = [[], [3], [1], [2, 3], [1, 3], [2, 1, 4], [0, 2], [1, 1, 5]]
        let gradients: [[Int]] = [[], [1], [3], [4], [2, 3], [1, 3], [3, 1], [2, 4], [1, 4], [2], [5], [1, 5], [0, 2]]
        for input in inputs {
            for mask in 0..<(1 << input.count) {
                let axes = input.indices.filter { mask & (1 << $0) != 0 }
                let kept = input.indices.map { axes.contains($0) ? 1 : input[$0] }
                for g in gradients {
                    XCTAssertEqual(Shape.onesThen(g, areKept: axes, of: input), Shape.onesThen(g, are: kept), "\(g) \(axes) \(input)")
                }
            }
        }
    }

    /// Sources share a slot when they share a key; none is reached until the walk says so.
    func testSourceSlots() {
        let ctx = GradientContext()
        XCTAssertEqual(BackwardPlan.SourceSlots([]).count, 0)
        let a = ctx.constant(Tensor(1)), b = ctx.constant(Tensor(2))
        var slots = BackwardPlan.SourceSlots([a, b, a])
        XCTAssertEqual(slots.count, 2)
        XCTAssertEqual(slots[a.gradientKey], 0)
        XCTAssertEqual(slots[b.gradientKey], 1)
        XCTAssertNil(slots[ctx.constant(Tensor(3)).gradientKey])
        XCTAssertFalse(slots.reaches(b.gradientKey))
        slots.markReached(1)
        XCTAssertTrue(slots.reaches(b.gradientKey))
        XCTAssertFalse(slots.reaches(a.gradientKey))
        let many = (0..<300).map { _ in ctx.constant(Tensor(0)) }
        let large = BackwardPlan.SourceSlots(many + many)
        XCTAssertEqual(large.count, 300)
        XCTAssertEqual(large[many[299].gradientKey], 299)
    }

    /// The first target's slot is inline, the others in an array, in order.
    func testTargetSlots() {
        var slots = BackwardPlan.TargetSlots()
        XCTAssertEqual(slots.count, 0)
        slots.append(7)
        XCTAssertEqual(slots.count, 1)
        XCTAssertEqual(slots[0], 7)
        for s in 0..<1000 { slots.append(Int32(s) - 1) }
        XCTAssertEqual(slots.count, 1001)
        XCTAssertEqual(slots[0], 7)
        XCTAssertEqual(slots[1], -1)
        XCTAssertEqual(slots[1000], 998)
    }

    /// Cotangents are found by slot through growth of the pool (more alive at once than its first
    /// capacity), positions freed by `take` are used again, and what is left is released with the store.
    func testCotangentStoreGrowsAndReuses() {
        let ctx = GradientContext()
        let before = Memory.liveWords
        do {
            _ = CotangentStore<Value>(slots: 0)
            let store = CotangentStore<Value>(slots: 100)
            for slot in 0..<100 { store.put(ctx.constant(Double(slot)), into: slot) }
            for slot in stride(from: 0, to: 100, by: 3) { XCTAssertEqual(store.take(slot)?.tensor.firstScalar, Double(slot)) }
            XCTAssertNil(store.take(0))
            XCTAssertNil(store[3])
            for slot in stride(from: 0, to: 100, by: 3) { store.put(ctx.constant(-Double(slot)), into: slot) }
            for slot in 0..<100 {
                XCTAssertEqual(store[slot]?.tensor.firstScalar, slot % 3 == 0 ? -Double(slot) : Double(slot))
            }
            let one = CotangentStore<Transient>(slots: 1)
            XCTAssertNil(one[0])
            one.put(try! Transient(ctx.constant(2)), into: 0)
            XCTAssertEqual(one[0]?.scalar, 2)
        }
        XCTAssertEqual(Memory.liveWords, before)
    }

    /// The plan orders values by counting consumers (a value after all of them): shared inputs, a target
    /// that feeds another target, and a target named twice all get their gradients, and every mark is put
    /// back afterwards.
    func testPlanOrdersSharedInputsAndTargetsThatFeedEachOther() throws {
        let ctx = GradientContext()
        let x = ctx.variable(Tensor(0.5), identity: VariableIdentity(name: "x"))
        let a = try x * x                    // x^2, used three times
        let b = try a.map(.sin) + a          // sin(x^2) + x^2
        let c = try b * a                    // (sin(x^2) + x^2) x^2
        let x2 = 0.25, s = sin(x2), co = cos(x2)
        // d/dx of b + c + b, with b both a target and an input of c.
        let db = (co + 1) * 2 * 0.5
        let dc = ((co + 1) * x2 + (s + x2)) * 2 * 0.5
        let g = try ctx.gradient(of: [b, c, b], wrt: [x], seeds: [nil, nil, nil])[0].value
        XCTAssertEqual(g?.tensor.firstScalar ?? .nan, db + dc + db, accuracy: 1e-12)
        // A target that is an input of the source's own path, alone.
        XCTAssertEqual(try ctx.gradient(of: c, wrt: [x])[0].value?.tensor.firstScalar ?? .nan, dc, accuracy: 1e-12)
        for v in [x, a, b, c] { XCTAssertEqual(v.planSlot, BackwardPlan.unvisited) }
    }

    /// A long chain plans without a deep walk: its gradient is right, and its marks are put back.
    func testALongChainPlansAndUnmarks() throws {
        let ctx = GradientContext()
        let x = ctx.variable(Tensor(0.5), identity: VariableIdentity(name: "x"))
        var y = x
        var values: [Value] = []
        for _ in 0..<50_000 {
            y = try y.map(.sin) * 0.5 + x * 0.25
            values.append(y)
        }
        // The same recurrence by hand, forward mode: y' = cos(y) y' * 0.5 + 0.25.
        var (value, derivative) = (0.5, 1.0)
        for _ in 0..<50_000 { (value, derivative) = (sin(value) * 0.5 + 0.5 * 0.25, cos(value) * derivative * 0.5 + 0.25) }
        XCTAssertEqual(y.tensor.firstScalar, value)
        let g = try ctx.gradient(of: y, wrt: [x])[0].value
        XCTAssertEqual(g?.tensor.firstScalar ?? .nan, derivative, accuracy: 1e-12)
        XCTAssertTrue(values.allSatisfy { $0.planSlot == BackwardPlan.unvisited })
    }

    /// The loop-history walk counts what a root reaches since a serial number and puts every mark back.
    func testRecordedSinceCountsAndUnmarks() throws {
        let ctx = GradientContext()
        let x = ctx.variable(Tensor(2), identity: VariableIdentity(name: "x"))
        let before = try x * 3
        let start = ctx.currentSerial
        let a = try before + x
        let b = try a * a                    // a reached twice: counted once
        let c = try b.map(.exp) + a
        let (count, oldest) = ctx.recordedSince(start, reachableFrom: [c, b])
        XCTAssertEqual(count, 4)
        XCTAssertEqual(oldest, a.serial)
        XCTAssertEqual(ctx.recordedSince(ctx.currentSerial, reachableFrom: [c]).count, 0)
        XCTAssertNil(ctx.recordedSince(ctx.currentSerial, reachableFrom: [c]).oldest)
        for v in [x, before, a, b, c] { XCTAssertEqual(v.planSlot, BackwardPlan.unvisited) }
    }
}
