import XCTest
import TensorCore
@testable import Autodiff

/// Semantics from TensorFlow's backprop_test.py and the GradientTape guide.
final class TapeSemanticsTests: XCTestCase {
    var ctx: GradientContext!
    override func setUp() { ctx = GradientContext() }

    func value(_ v: [Double]) -> Value { ctx.constant(Tensor(vector: v)) }
    func scalar(_ v: Double) -> Value { ctx.constant(Tensor(v)) }
    func grad(_ y: Value, _ x: Value, tape: Tape? = nil) throws -> Gradient { try ctx.gradient(of: y, wrt: [x], tape: tape)[0] }

    func testBasicGradient() throws {
        let x = value([1, 2, 3])
        ctx.watch(x)
        let y = try x.pow(2).sum()
        XCTAssertEqual(try grad(y, x).value?.tensor.scalars, [2, 4, 6])
    }

    func testThirdOrderOfCube() throws {
        let x = scalar(3)
        ctx.watch(x)
        let y = try x.pow(3)
        let d1 = try XCTUnwrap(grad(y, x).value)
        let d2 = try XCTUnwrap(grad(d1, x).value)
        let d3 = try XCTUnwrap(grad(d2, x).value)
        XCTAssertEqual([d1, d2, d3].map { $0.tensor.scalars[0] }, [27, 18, 6])
    }

    func testUnwatchedSourceIsNone() throws {
        let x = scalar(3)
        let y = try x * x
        guard case .none(let reason) = try grad(y, x) else { return XCTFail("expected None") }
        XCTAssertEqual(reason, .sourceNotWatched)
    }

    func testComputedBeforeWatch() throws {
        let x = scalar(3)
        let y = try x * x
        ctx.watch(x)
        guard case .none(let reason) = try grad(y, x) else { return XCTFail("expected None") }
        XCTAssertEqual(reason, .targetComputedBeforeWatch)
    }

    func testStopRecording() throws {
        let x = scalar(3)
        ctx.watch(x)
        let z = try ctx.withRecordingStopped { try x * 2 }
        guard case .none(let reason) = try grad(z, x) else { return XCTFail("expected None") }
        XCTAssertEqual(reason, .targetComputedWhileStopped)
    }

    func testStopGradientCuts() throws {
        let x = scalar(3)
        ctx.watch(x)
        let y = try ctx.stopGradient(x * x) * 2
        guard case .none(let reason) = try grad(y, x) else { return XCTFail("expected None") }
        XCTAssertEqual(reason, .cutByStopGradient)
        let w = try ctx.stopGradient(x * x) * x
        XCTAssertEqual(try grad(w, x).value?.tensor.scalars, [9])
    }

    func testIntermediateSource() throws {
        let x = scalar(3)
        ctx.watch(x)
        let y = try x * x
        let z = try y * y
        XCTAssertEqual(try grad(z, y).value?.tensor.scalars, [18])
    }

    func testRepeatedIndicesAccumulate() throws {
        let x = value([1, 2, 3])
        ctx.watch(x)
        let y = try x.gather(axis: 0, indices: [0, 0, 2], indexShape: [3]).sum()
        XCTAssertEqual(try grad(y, x).value?.tensor.scalars, [2, 0, 1])
    }

    func testSeed() throws {
        let x = value([1, 2, 3])
        ctx.watch(x)
        let y = try x * x
        let g = try ctx.gradient(of: y, wrt: [x], seed: value([1, 0, 2]))[0]
        XCTAssertEqual(g.value?.tensor.scalars, [2, 0, 12])
    }

    func testNonPersistentTapeAnswersOnce() throws {
        let x = scalar(3)
        let t = try ctx.openTape(name: "t", persistent: false, watchesVariables: true)
        ctx.watch(x, on: t.bit)
        let y = try x * x
        ctx.closeTape(t)
        XCTAssertEqual(try grad(y, x, tape: t).value?.tensor.scalars, [6])
        XCTAssertThrowsError(try grad(y, x, tape: t)) { error in
            XCTAssertTrue("\(error)".contains("not persistent"))
        }
    }

    func testNestedTapesGiveSecondDerivative() throws {
        let x = scalar(3)
        let outer = try ctx.openTape(name: "outer", persistent: false, watchesVariables: true)
        ctx.watch(x, on: outer.bit)
        let inner = try ctx.openTape(name: "inner", persistent: false, watchesVariables: true)
        ctx.watch(x, on: inner.bit)
        let y = try x.pow(3)
        ctx.closeTape(inner)
        let dy = try XCTUnwrap(grad(y, x, tape: inner).value)
        ctx.closeTape(outer)
        XCTAssertEqual(dy.tensor.scalars, [27])
        XCTAssertEqual(try grad(dy, x, tape: outer).value?.tensor.scalars, [18])
    }

    func testVariablesWatchedAutomaticallyUnlessNowatch() throws {
        let id = VariableIdentity(name: "w")
        let w = ctx.variable(Tensor(2), identity: id)
        let t = try ctx.openTape(name: "t", persistent: true, watchesVariables: false)
        let y = try w * w
        ctx.closeTape(t)
        guard case .none = try grad(y, w, tape: t) else { return XCTFail("nowatch tape should not see w") }
        XCTAssertEqual(try grad(y, w).value?.tensor.scalars, [4])
    }

    func testVariableUpdatedInPlaceStillConnected() throws {
        let id = VariableIdentity(name: "w")
        let w = ctx.variable(Tensor(2), identity: id)
        let y = try w * 3
        let w2 = ctx.variable(Tensor(1), identity: id)
        XCTAssertEqual(try grad(y, w2).value?.tensor.scalars, [3])
    }

    func testWhereTrapGivesNaNWithOrigin() throws {
        let x = scalar(0)
        ctx.watch(x)
        let positive = try x.compare(.greater, scalar(0))
        let y = try Value.select(positive, x.map(.log), x)
        XCTAssertEqual(y.tensor.scalars, [0])
        let g = try XCTUnwrap(grad(y, x).value)
        XCTAssertTrue(g.tensor.scalars[0].isNaN)
        XCTAssertEqual(g.nonFiniteOrigin?.operation, "log")
        XCTAssertEqual(g.nonFiniteOrigin?.pass, .backward)
        XCTAssertTrue(g.nonFiniteOrigin?.explanation?.contains("where") ?? false)
    }

    func testJacobianShapeAndValues() throws {
        let x = value([1, 2, 3])
        ctx.watch(x)
        let y = try x * x
        let j = try XCTUnwrap(ctx.jacobian(of: y, wrt: x).value)
        XCTAssertEqual(j.shape, [3, 3])
        XCTAssertEqual(j.tensor.scalars, [2, 0, 0, 0, 4, 0, 0, 0, 6])
    }

    func testBatchJacobianChecksBatch() throws {
        let x = ctx.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        ctx.watch(x)
        let y = try x * x
        let j = try XCTUnwrap(ctx.batchJacobian(of: y, wrt: x).value)
        XCTAssertEqual(j.shape, [2, 3, 3])
        XCTAssertEqual(Array(j.tensor.scalars[9..<18]), [8, 0, 0, 0, 10, 0, 0, 0, 12])
        let z = try y.slice([.range(start: 0, stop: 1, step: 1)])
        XCTAssertThrowsError(try ctx.batchJacobian(of: z, wrt: x))
    }

    func testHessianAndJVP() throws {
        let x = value([1, 2])
        ctx.watch(x)
        let y = try (x.pow(3)).sum()
        let h = try XCTUnwrap(ctx.hessian(of: y, wrt: x).value)
        XCTAssertEqual(h.tensor.scalars, [6, 0, 0, 12])
        let z = try x * x
        let jv = try XCTUnwrap(ctx.jvp(of: z, wrt: x, along: value([1, 1])).value)
        XCTAssertEqual(jv.tensor.scalars, [2, 4])
    }

    func testLongChainReleasesWithoutStackOverflow() throws {
        let x = scalar(0.5)
        ctx.watch(x)
        var y = x
        for _ in 0..<50_000 { y = try y.map(.sin) * 0.9 + x * 0.1 }
        let g = try XCTUnwrap(grad(y, x).value)
        XCTAssertTrue(g.tensor.scalars[0].isFinite)
        y = x // the chain is released here
    }

    func testEdgeCases() throws {
        let x = scalar(0)
        ctx.watch(x)
        XCTAssertEqual(try grad(x.pow(2), x).value?.tensor.scalars, [0])
        XCTAssertEqual(try grad(x.map(.relu), x).value?.tensor.scalars, [0])
        XCTAssertEqual(try grad(x.map(.abs), x).value?.tensor.scalars, [0])
        XCTAssertEqual(try grad(x.map(.sqrt), x).value?.tensor.scalars, [.infinity])
        XCTAssertEqual(try grad(x.map(.log), x).value?.tensor.scalars, [.infinity])
        XCTAssertTrue(try grad(x.norm(), x).value!.tensor.scalars[0].isNaN)
        let v = value([1, 3, 3])
        ctx.watch(v)
        XCTAssertEqual(try grad(v.reduce(.max), v).value?.tensor.scalars, [0, 0.5, 0.5])
        let a = scalar(2), b = scalar(2)
        ctx.watch(a); ctx.watch(b)
        let m = try a.maximum(b)
        let gs = try ctx.gradient(of: m, wrt: [a, b])
        XCTAssertEqual(gs.map { $0.value?.tensor.scalars }, [[1], [0]])
    }
}

final class JVPTests: XCTestCase {
    func testJVPOfSqrtIsNotZeroedBySeed() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(vector: [1, 4]))
        ctx.watch(x)
        let y = try x.map(.sqrt)
        let jv = try XCTUnwrap(ctx.jvp(of: y, wrt: x, along: ctx.constant(Tensor(vector: [1, 1]))).value)
        XCTAssertEqual(jv.tensor.scalars, [0.5, 0.25])
    }
}

final class LayoutTests: XCTestCase {
    /// A recorded value stores its node inline; the primitive must stay small for that to pay.
    func testPrimitiveIsSmall() {
        XCTAssertLessThanOrEqual(MemoryLayout<Primitive>.size, 9)
    }
}
