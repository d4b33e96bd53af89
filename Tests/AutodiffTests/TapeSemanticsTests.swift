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
        try ctx.watch(x)
        let y = try x.pow(2).sum()
        XCTAssertEqual(try grad(y, x).value?.tensor.scalars, [2, 4, 6])
    }

    /// Ctrl-C stops a backward pass: it is looked for every 256 steps and at the last one, so a long pass
    /// stops soon and a short one still sees it.
    func testInterruptStopsABackwardPass() throws {
        let x = scalar(0.5)
        try ctx.watch(x)
        var y = x
        for _ in 0..<1000 { y = try y.map(.sin) }
        var checks = 0
        ctx.interruptCheck = { checks += 1; return checks == 2 }
        XCTAssertThrowsError(try grad(y, x)) { XCTAssertEqual(($0 as? GradientError)?.message, "interrupted") }
        XCTAssertEqual(checks, 2)
        checks = 0
        ctx.interruptCheck = { checks += 1; return false }
        _ = try grad(y, x)
        XCTAssertEqual(checks, 4)  // steps 768, 512, 256 and 0 of 1,000
        let short = try x.map(.cos)
        ctx.interruptCheck = { true }
        XCTAssertThrowsError(try grad(short, x))
    }

    func testThirdOrderOfCube() throws {
        let x = scalar(3)
        try ctx.watch(x)
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
        try ctx.watch(x)
        guard case .none(let reason) = try grad(y, x) else { return XCTFail("expected None") }
        XCTAssertEqual(reason, .targetComputedBeforeWatch)
    }

    func testStopRecording() throws {
        let x = scalar(3)
        try ctx.watch(x)
        let z = try ctx.withRecordingStopped { try x * 2 }
        guard case .none(let reason) = try grad(z, x) else { return XCTFail("expected None") }
        XCTAssertEqual(reason, .targetComputedWhileStopped)
    }

    func testStopGradientCuts() throws {
        let x = scalar(3)
        try ctx.watch(x)
        let y = try ctx.stopGradient(x * x) * 2
        guard case .none(let reason) = try grad(y, x) else { return XCTFail("expected None") }
        XCTAssertEqual(reason, .cutByStopGradient)
        let w = try ctx.stopGradient(x * x) * x
        XCTAssertEqual(try grad(w, x).value?.tensor.scalars, [9])
    }

    func testIntermediateSource() throws {
        let x = scalar(3)
        try ctx.watch(x)
        let y = try x * x
        let z = try y * y
        XCTAssertEqual(try grad(z, y).value?.tensor.scalars, [18])
    }

    func testRepeatedIndicesAccumulate() throws {
        let x = value([1, 2, 3])
        try ctx.watch(x)
        let y = try x.gather(axis: 0, indices: [0, 0, 2], indexShape: [3]).sum()
        XCTAssertEqual(try grad(y, x).value?.tensor.scalars, [2, 0, 1])
    }

    func testSeed() throws {
        let x = value([1, 2, 3])
        try ctx.watch(x)
        let y = try x * x
        let g = try ctx.gradient(of: y, wrt: [x], seed: value([1, 0, 2]))[0]
        XCTAssertEqual(g.value?.tensor.scalars, [2, 0, 12])
    }

    func testNonPersistentTapeAnswersOnce() throws {
        let x = scalar(3)
        let t = try ctx.openTape(name: "t", persistent: false, watchesVariables: true)
        try ctx.watch(x, on: t.bit)
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
        try ctx.watch(x, on: outer.bit)
        let inner = try ctx.openTape(name: "inner", persistent: false, watchesVariables: true)
        try ctx.watch(x, on: inner.bit)
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
        try ctx.watch(x)
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
        try ctx.watch(x)
        let y = try x * x
        let j = try XCTUnwrap(ctx.jacobian(of: y, wrt: x).value)
        XCTAssertEqual(j.shape, [3, 3])
        XCTAssertEqual(j.tensor.scalars, [2, 0, 0, 0, 4, 0, 0, 0, 6])
    }

    func testBatchJacobianChecksBatch() throws {
        let x = ctx.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        try ctx.watch(x)
        let y = try x * x
        let j = try XCTUnwrap(ctx.batchJacobian(of: y, wrt: x).value)
        XCTAssertEqual(j.shape, [2, 3, 3])
        XCTAssertEqual(Array(j.tensor.scalars[9..<18]), [8, 0, 0, 0, 10, 0, 0, 0, 12])
        let z = try y.slice([.range(start: 0, stop: 1, step: 1)])
        XCTAssertThrowsError(try ctx.batchJacobian(of: z, wrt: x))
    }

    func testHessianAndJVP() throws {
        let x = value([1, 2])
        try ctx.watch(x)
        let y = try (x.pow(3)).sum()
        let h = try XCTUnwrap(ctx.hessian(of: y, wrt: x).value)
        XCTAssertEqual(h.tensor.scalars, [6, 0, 0, 12])
        let z = try x * x
        let jv = try XCTUnwrap(ctx.jvp(of: z, wrt: x, along: value([1, 1])).value)
        XCTAssertEqual(jv.tensor.scalars, [2, 4])
    }

    func testLongChainReleasesWithoutStackOverflow() throws {
        let x = scalar(0.5)
        try ctx.watch(x)
        var y = x
        for _ in 0..<50_000 { y = try y.map(.sin) * 0.9 + x * 0.1 }
        let g = try XCTUnwrap(grad(y, x).value)
        XCTAssertTrue(g.tensor.scalars[0].isFinite)
        y = x // the chain is released here
    }

    func testEdgeCases() throws {
        let x = scalar(0)
        try ctx.watch(x)
        XCTAssertEqual(try grad(x.pow(2), x).value?.tensor.scalars, [0])
        XCTAssertEqual(try grad(x.map(.relu), x).value?.tensor.scalars, [0])
        XCTAssertEqual(try grad(x.map(.abs), x).value?.tensor.scalars, [0])
        XCTAssertEqual(try grad(x.map(.sqrt), x).value?.tensor.scalars, [.infinity])
        XCTAssertEqual(try grad(x.map(.log), x).value?.tensor.scalars, [.infinity])
        XCTAssertTrue(try grad(x.norm(), x).value!.tensor.scalars[0].isNaN)
        let v = value([1, 3, 3])
        try ctx.watch(v)
        XCTAssertEqual(try grad(v.reduce(.max), v).value?.tensor.scalars, [0, 0.5, 0.5])
        let a = scalar(2), b = scalar(2)
        try ctx.watch(a); try ctx.watch(b)
        let m = try a.maximum(b)
        let gs = try ctx.gradient(of: m, wrt: [a, b])
        XCTAssertEqual(gs.map { $0.value?.tensor.scalars }, [[1], [0]])
    }

    /// Softmax of nothing is nothing and logsumexp of nothing is -inf, as in TensorFlow, PyTorch and JAX;
    /// the max they shift by used to fail ("max of an empty tensor has no identity").
    func testSoftmaxAndLogSumExpOfEmptyTensors() throws {
        let x = ctx.constant(try Tensor.zeros([0]))
        try ctx.watch(x)
        XCTAssertEqual(try x.softmax().shape, [0])
        XCTAssertEqual(try x.logSoftmax().shape, [0])
        let lse = try x.logSumExp()
        XCTAssertEqual(lse.shape, [])
        XCTAssertEqual(lse.tensor.scalars, [-.infinity])
        XCTAssertNil(lse.nonFiniteOrigin, "-inf is the answer here, not a fault to trace back to log")
        let rows = ctx.constant(try Tensor.zeros([2, 0]))
        XCTAssertEqual(try rows.logSumExp(axes: [1]).tensor.scalars, [-.infinity, -.infinity])
        XCTAssertEqual(try rows.logSumExp(axes: [0]).shape, [0])
        XCTAssertEqual(try rows.softmax(axis: 0).shape, [2, 0])
        // Their gradients are empty gradients, not errors and not None.
        for y in [try x.softmax().sum(), try x.logSoftmax().sum(), lse] {
            let g = try XCTUnwrap(grad(y, x).value)
            XCTAssertEqual(g.shape, [0])
        }
    }
}

final class JVPTests: XCTestCase {
    func testJVPOfSqrtIsNotZeroedBySeed() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(vector: [1, 4]))
        try ctx.watch(x)
        let y = try x.map(.sqrt)
        let jv = try XCTUnwrap(ctx.jvp(of: y, wrt: x, along: ctx.constant(Tensor(vector: [1, 1]))).value)
        XCTAssertEqual(jv.tensor.scalars, [0.5, 0.25])
    }
}

@_silgen_name("malloc_usable_size") private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int  // <malloc.h>

final class LayoutTests: XCTestCase {
    /// A recorded value stores its node inline; the primitive must stay small for that to pay (a payload
    /// without spare bits, such as an Int, would add a ninth byte).
    func testPrimitiveIsSmall() {
        XCTAssertEqual(MemoryLayout<Primitive>.size, 8)
    }

    /// Inputs inline in 16 bytes and a node in 28, optional included: the plan's 4-byte mark fits after it.
    func testNodeIsSmall() {
        XCTAssertEqual(MemoryLayout<NodeInputs>.size, 16)
        XCTAssertLessThanOrEqual(MemoryLayout<Node?>.size, 28)
    }

    /// The serial number and the tape mask share a word without disturbing each other.
    func testSerialAndTapesShareAWord() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(2))
        let serial = x.serial
        XCTAssertGreaterThan(serial, 0)
        x.tapes = 0xFFFF
        XCTAssertEqual(x.tapes, 0xFFFF)
        XCTAssertEqual(x.serial, serial)
        x.tapes = 0b101
        XCTAssertEqual(x.tapes, 0b101)
        XCTAssertEqual(x.serial, serial)
        XCTAssertEqual(ctx.constant(Tensor(3)).serial, serial + 1)
    }

    /// A sixteenth scoped tape alive at once is refused with a message, not tracked on a bit that is not there.
    func testScopedTapesAreLimitedToTheBitsAValueHas() throws {
        let ctx = GradientContext()
        var open: [Tape] = []
        for i in 1..<Value.tapeSlots { open.append(try ctx.openTape(name: "t\(i)", persistent: false, watchesVariables: true)) }
        XCTAssertEqual(open.last?.slot, Value.tapeSlots - 1)
        XCTAssertThrowsError(try ctx.openTape(name: "one too many", persistent: false, watchesVariables: true)) { error in
            XCTAssertEqual(String(describing: error), "too many tapes are alive at once (15); rebind or `tape reset`")
        }
    }

    /// A recorded value is one 96-byte heap block (88 usable bytes): W2 records 80,000 of them.
    /// (malloc may hand a request a larger free block, so the smallest of many allocations is checked.)
    func testRecordedValueIsSmall() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(2))
        try ctx.watch(x, on: ctx.implicitTape.bit)
        var values: [Value] = []
        for _ in 0..<64 { values.append(try x * x) }
        XCTAssertNotNil(values[0].node)
        let smallest = values.map { mallocUsableSize(Unmanaged.passUnretained($0).toOpaque()) }.min()!
        XCTAssertLessThanOrEqual(smallest, 88)
    }

    /// The anomaly check's mark shares the serial number's word: a checked value keeps its serial number
    /// and tapes, a value with a NaN is never marked, and the mark is what spares the backward pass a
    /// second reading of a gradient.
    func testCheckedFiniteMarkKeepsTheSerialNumberAndTapes() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(shape: [3], scalars: [1, 2, 0]))
        try ctx.watch(x, on: ctx.implicitTape.bit)
        let y = try x * x
        XCTAssertTrue(y.isCheckedFinite)
        let (serial, tapes) = (y.serial, y.tapes)
        y.isCheckedFinite = false
        XCTAssertEqual(y.serial, serial)
        XCTAssertEqual(y.tapes, tapes)
        y.isCheckedFinite = true
        XCTAssertEqual(y.serial, serial)
        XCTAssertEqual(y.tapes, tapes)
        XCTAssertEqual(y.packedSerialAndTapes >> UInt64(Value.tapeSlots), UInt64(serial), "transients see no mark")
        XCTAssertFalse(y.hasNonFinite)
        let z = try x.map(.log)
        XCTAssertFalse(z.isCheckedFinite)
        XCTAssertTrue(z.hasNonFinite)
        XCTAssertEqual(z.nonFiniteOrigin?.operation, "log")
        ctx.detectsAnomalies = false
        XCTAssertFalse(try (x * x).isCheckedFinite, "not read, so not marked, when anomalies are not detected")
    }

    /// A tensor is 16 bytes whether it holds a scalar inline or an array.
    func testTensorIsSmall() {
        XCTAssertEqual(MemoryLayout<Tensor>.size, 16)
    }
}

/// Every recorded operation reachable from `values`, oldest first: (serial, operation, input serials, line).
func recordedGraph(_ values: [Value]) -> [String] {
    var pending = values, seen = Set<ObjectIdentifier>(), found: [Value] = []
    while let v = pending.popLast() {
        guard seen.insert(ObjectIdentifier(v)).inserted else { continue }
        if let n = v.node { found.append(v); pending.append(contentsOf: n.inputs) }
    }
    return found.sorted { $0.serial < $1.serial }.map { v in
        "\(v.serial) \(v.node!.primitive.name) \(v.node!.inputs.map { String($0.serial) }.joined(separator: ",")) line \(v.node!.line) tapes \(v.tapes)"
    }
}

/// A gradient read from the implicit tape alone records its backward pass only when something needs the
/// recorded graph; the graph it then records must be exactly the one recording at once gives.
final class DeferredRecordingTests: XCTestCase {
    // Every pass counts as large here, so that small graphs defer.
    override func setUp() { BackwardPlan.largeOperations = 0 }
    override func tearDown() { BackwardPlan.largeOperations = 256; Memory.liveLimitBytes = 0 }

    /// Small passes are recorded at once (deferring them would run them twice when differentiated).
    func testSmallPassesRecordAtOnce() throws {
        BackwardPlan.largeOperations = 256
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(vector: [1, 2]))
        try ctx.watch(x)
        let small = try XCTUnwrap(ctx.gradient(of: try x.map(.sin).sum(), wrt: [x])[0].value)
        XCTAssertNotNil(small.storedNode)
        var y = x
        for _ in 0..<300 { y = try y.map(.sin) }
        let long = try XCTUnwrap(ctx.gradient(of: try y.sum(), wrt: [x])[0].value)
        XCTAssertNil(long.storedNode)
        XCTAssertNotNil(long.deferred)
        let big = ctx.constant(try Tensor(shape: [200, 200], repeating: 0.5))
        try ctx.watch(big)
        let wide = try XCTUnwrap(ctx.gradient(of: try big.map(.tanh).sum(), wrt: [big])[0].value)
        XCTAssertNotNil(wide.deferred)
    }
    func graph(_ values: [Value]) -> [String] { recordedGraph(values) }

    /// A deferred gradient whose recording fails (the memory limit) is an error where the recording is
    /// needed, never a constant: a second-order gradient through it throws, and once memory allows it
    /// gives the right numbers.
    func testARecordingThatFailsThrowsInsteadOfCuttingTheGraph() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(vector: [1, 2]))
        try ctx.watch(x)
        let g = try XCTUnwrap(ctx.gradient(of: try (x * x * x).sum(), wrt: [x])[0].value)  // 3x², deferred
        XCTAssertNotNil(g.deferred)
        let s = try g.sum()
        Memory.liveLimitBytes = (Memory.liveWords + 1) * 8
        XCTAssertThrowsError(try ctx.gradient(of: s, wrt: [x])) { error in
            XCTAssertTrue((error as? TensorError)?.message.hasPrefix("not enough memory") == true, "\(error)")
        }
        XCTAssertNil(g.storedNode)
        Memory.liveLimitBytes = 0
        XCTAssertEqual(try XCTUnwrap(ctx.gradient(of: s, wrt: [x])[0].value).tensor.scalars, [6, 12])
    }

    /// A session-like script: gradients of a small network, a watch after the first gradient, a second
    /// order through a deferred gradient, and values computed after it. Returns what it printed.
    func script(deferring: Bool) throws -> (graph: [String], numbers: [[Double]], deferredBeforeUse: Bool) {
        let ctx = GradientContext()
        ctx.defersRecording = deferring
        ctx.currentLine = 1
        let x = ctx.constant(Tensor(vector: [0.3, -1.2, 2]))
        let c = ctx.constant(Tensor(vector: [1.5, 0.5, -2]))
        try ctx.watch(x)
        let y = try (x * c).map(.tanh).sum() + (x * x * c).sum()
        ctx.currentLine = 2
        let g = try XCTUnwrap(ctx.gradient(of: y, wrt: [x])[0].value)
        let deferredBeforeUse = g.storedNode == nil && g.deferred != nil
        ctx.currentLine = 3
        let later = try g * 2                       // recorded after the gradient, before it is recorded
        ctx.currentLine = 4
        try ctx.watch(c)                                // records pending passes first
        ctx.currentLine = 5
        let h = try XCTUnwrap(ctx.gradient(of: try later.sum(), wrt: [x, c]).map(\.value))
        ctx.currentLine = 6
        let k = try XCTUnwrap(ctx.gradient(of: try (g * g).sum(), wrt: [x])[0].value)
        let numbers = [g, later, h[0]!, h[1]!, k].map(\.tensor.scalars)
        return (graph([g, later, h[0]!, h[1]!, k]), numbers, deferredBeforeUse)
    }

    func testRecordsTheSameGraphAsRecordingAtOnce() throws {
        let eager = try script(deferring: false), lazy = try script(deferring: true)
        XCTAssertFalse(eager.deferredBeforeUse)
        XCTAssertTrue(lazy.deferredBeforeUse)
        XCTAssertEqual(lazy.numbers, eager.numbers)
        XCTAssertEqual(lazy.graph, eager.graph)
        XCTAssertGreaterThan(lazy.graph.count, 10)
    }

    /// Not deferred: a gradient that needs no recording (untracked), one read from a scoped tape, one
    /// taken while a scoped tape records, and one taken with recording stopped.
    func testOnlyTheImplicitTapeAloneDefers() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(vector: [1, 2]))
        try ctx.watch(x)
        let linear = try XCTUnwrap(ctx.gradient(of: try (x * 3).sum(), wrt: [x])[0].value)
        XCTAssertEqual(linear.tapes, 0, "the gradient of a linear function is a constant")
        XCTAssertNil(linear.deferred)
        let t = try ctx.openTape(name: "t", persistent: true, watchesVariables: true)
        try ctx.watch(x, on: t.bit)
        let y = try (x * x).sum()
        let whileOpen = try XCTUnwrap(ctx.gradient(of: y, wrt: [x])[0].value)
        XCTAssertNotNil(whileOpen.storedNode)
        ctx.closeTape(t)
        let fromScoped = try XCTUnwrap(ctx.gradient(of: y, wrt: [x], tape: t)[0].value)
        XCTAssertNil(fromScoped.deferred)
        let stopped = try XCTUnwrap(ctx.withRecordingStopped { try ctx.gradient(of: y, wrt: [x])[0].value })
        XCTAssertEqual(stopped.tapes, 0)
        let deferred = try XCTUnwrap(ctx.gradient(of: y, wrt: [x])[0].value)
        XCTAssertNotNil(deferred.deferred)
        XCTAssertEqual(try XCTUnwrap(ctx.gradient(of: try deferred.sum(), wrt: [x])[0].value).tensor.scalars, [2, 2])
        XCTAssertNil(deferred.deferred)
        XCTAssertNotNil(deferred.storedNode)
    }

    /// `tape reset` forgets a deferred pass with the rest: nothing is recorded afterwards.
    func testResetForgetsDeferredPasses() throws {
        let ctx = GradientContext()
        let x = ctx.constant(Tensor(vector: [1, 2]))
        try ctx.watch(x)
        let g = try XCTUnwrap(ctx.gradient(of: try x.map(.sin).sum(), wrt: [x])[0].value)
        XCTAssertNotNil(g.deferred)
        ctx.reset([g])
        XCTAssertNil(g.deferred)
        XCTAssertNil(g.node)
        XCTAssertEqual(g.tapes, 0)
    }
}
