import XCTest
import TensorCore
@testable import Autodiff

/// A deferred pass over scalars carries transients instead of values (see `Transient`). Everything a user or a
/// later pass can see must be what the pass on values gives: the numbers, each result's serial number,
/// tapes, untracked reason, NaN origin and identity, the serial numbers used, and the graph recorded when a
/// result is differentiated again.
final class TransientPassTests: XCTestCase {
    // Every pass counts as large here, so that small graphs defer.
    override func setUp() { BackwardPlan.largeOperations = 0 }
    override func tearDown() { BackwardPlan.largeOperations = 256 }

    /// What one gradient gave: its results and what differentiating them again records.
    struct Outcome: Equatable {
        var results: [String]
        var lastSerial: Int
        var secondOrder: [String]
        var graph: [String]
        var transientPasses: Int
    }

    /// Runs `make` (which returns target, sources and seed) in a fresh context and takes the gradient.
    func outcome(transients: Bool, anomalies: Bool = true,
                 _ make: (GradientContext) throws -> (Value, [Value], Value?)) throws -> Outcome {
        let ctx = GradientContext()
        ctx.usesTransientPasses = transients
        ctx.detectsAnomalies = anomalies
        ctx.currentLine = 1
        let (target, sources, seed) = try make(ctx)
        ctx.currentLine = 2
        let gradients = try ctx.gradient(of: target, wrt: sources, seed: seed)
        let values = gradients.map(\.value)
        let results = values.enumerated().map { i, g -> String in
            guard let g else { return "None" }
            let same = values[..<i].firstIndex { $0 === g }.map { " same as \($0)" } ?? ""
            let origin = g.nonFiniteOrigin.map { " origin \($0.operation) \($0.pass) \($0.explanation ?? "")" } ?? ""
            return "\(g.tensor.scalars) serial \(g.serial) tapes \(g.tapes) reason \(String(describing: g.untrackedReason))"
                + " node \(g.storedNode != nil) deferred \(g.deferred != nil)\(same)\(origin)"
        }
        let lastSerial = ctx.lastSerial
        ctx.currentLine = 3
        var secondOrder: [String] = []
        for g in values.compactMap({ $0 }) where g.isTracked {
            let again = try ctx.gradient(of: try g.sum(), wrt: sources)
            secondOrder.append(again.map { $0.value.map { "\($0.tensor.scalars)" } ?? "None" }.joined(separator: " "))
        }
        return Outcome(results: results, lastSerial: lastSerial, secondOrder: secondOrder,
                       graph: recordedGraph(values.compactMap { $0 }), transientPasses: ctx.transientPasses)
    }

    /// The outcome with transients equals the one on values; returns whether the pass ran on transients.
    @discardableResult
    func assertSame(_ what: String, anomalies: Bool = true, file: StaticString = #filePath, line: UInt = #line,
                    _ make: (GradientContext) throws -> (Value, [Value], Value?)) throws -> Bool {
        let onValues = try outcome(transients: false, anomalies: anomalies, make)
        let onTransients = try outcome(transients: true, anomalies: anomalies, make)
        XCTAssertEqual(onValues.transientPasses, 0, what, file: file, line: line)
        XCTAssertEqual(onTransients.results, onValues.results, what, file: file, line: line)
        XCTAssertEqual(onTransients.lastSerial, onValues.lastSerial, what, file: file, line: line)
        XCTAssertEqual(onTransients.secondOrder, onValues.secondOrder, what, file: file, line: line)
        XCTAssertEqual(onTransients.graph, onValues.graph, what, file: file, line: line)
        return onTransients.transientPasses > 0
    }

    /// A transient is plain data: the pass copies and drops several a step without reference counting.
    func testATransientIsPlainData() {
        XCTAssertTrue(_isPOD(Transient.self))
        XCTAssertLessThanOrEqual(MemoryLayout<Transient>.size, 32)
    }

    func testEveryElementwiseRuleGivesWhatValuesGive() throws {
        for f in UnaryFunction.allCases {
            let ran = try assertSame("\(f)") { ctx in
                let x = ctx.constant(Tensor(0.3))
                try ctx.watch(x)
                let inner = try x * 0.5 + 0.1
                return (try inner.map(f) * x, [x], nil)
            }
            XCTAssertTrue(ran, "\(f) ran on values")
        }
        let binary: [BinaryFunction] = [.add, .subtract, .multiply, .divide, .power, .maximum, .minimum, .tanhGrad, .reluGrad]
        // Alone, the rule sees the seed (untracked): a maximum's gradient then says it comes from a comparison.
        for f in binary {
            for (a, b) in [(0.7, 0.4), (0.4, 0.4), (0.2, 0.9)] {
                for alone in [false, true] {
                    let ran = try assertSame("\(f) \(a) \(b) \(alone)") { ctx in
                        let x = ctx.constant(Tensor(a)), w = ctx.constant(Tensor(b))
                        try ctx.watch(x)
                        try ctx.watch(w)
                        let y = try x.binary(f, w)
                        return (alone ? y : try y * x, [x, w], nil)
                    }
                    XCTAssertTrue(ran, "\(f) ran on values")
                }
            }
        }
    }

    /// W2's loop, with a result used again.
    func testALongChain() throws {
        let ran = try assertSame("chain") { ctx in
            let x = ctx.constant(Tensor(0.5))
            try ctx.watch(x)
            var y = x
            for _ in 0..<300 { y = try y.map(.sin) * 0.9 + x * 0.1 }
            return (y, [x], nil)
        }
        XCTAssertTrue(ran)
    }

    /// Results that are untracked (a linear function), shared (one gradient for two sources), None, or
    /// an existing value handed through (the seed).
    func testUntrackedSharedAndHandedThroughResults() throws {
        XCTAssertTrue(try assertSame("linear") { ctx in
            let x = ctx.constant(Tensor(2))
            try ctx.watch(x)
            return (try x * 3 + 1, [x], nil)
        })
        XCTAssertTrue(try assertSame("shared") { ctx in
            let a = ctx.constant(Tensor(2)), b = ctx.constant(Tensor(5))
            try ctx.watch(a)
            try ctx.watch(b)
            return (try (a + b) * 2, [a, b], nil)
        })
        XCTAssertTrue(try assertSame("unconnected") { ctx in
            let a = ctx.constant(Tensor(2)), b = ctx.constant(Tensor(5))
            try ctx.watch(a)
            try ctx.watch(b)
            return (try a.map(.exp), [a, b], nil)
        })
        let handed = try assertSame("seed handed through") { ctx in
            let x = ctx.constant(Tensor(2))
            try ctx.watch(x)
            return (try x + 1, [x], ctx.constant(Tensor(4)))
        }
        XCTAssertFalse(handed, "the result is the seed itself: only values can give it")
    }

    /// What a transient cannot carry runs on values: a `stop_gradient` reason, a NaN while anomalies are
    /// detected, a tensor, a custom gradient. The outcome is the same either way.
    func testWhatTransientsCannotCarryRunsOnValues() throws {
        XCTAssertFalse(try assertSame("stop_gradient") { ctx in
            let x = ctx.constant(Tensor(2))
            try ctx.watch(x)
            let cut = ctx.stopGradient(try x * x)
            return (try cut * 3 + x * cut, [x], nil)
        })
        XCTAssertFalse(try assertSame("NaN") { ctx in
            let x = ctx.constant(Tensor(0))
            try ctx.watch(x)
            return (try x.map(.sqrt) * 2, [x], nil)
        })
        XCTAssertTrue(try assertSame("NaN without anomaly detection", anomalies: false) { ctx in
            let x = ctx.constant(Tensor(0))
            try ctx.watch(x)
            return (try x.map(.sqrt) * 2, [x], nil)
        })
        XCTAssertFalse(try assertSame("vector") { ctx in
            let x = ctx.constant(Tensor(vector: [1, 2]))
            try ctx.watch(x)
            return (try x.map(.sin).sum(), [x], nil)
        })
        XCTAssertFalse(try assertSame("custom") { ctx in
            let x = ctx.constant(Tensor(0.5))
            try ctx.watch(x)
            let custom = CustomGradient(name: "twice") { _, dy in [try dy * 2] }
            let y = ctx.record(.custom(custom), NodeInputs(x), Tensor(1.0))
            return (try y * x, [x], nil)
        })
    }

    /// Operations that are not elementwise (`where`, reshape, sum) run on values inside a transient pass.
    func testOtherOperationsInAScalarChain() throws {
        XCTAssertTrue(try assertSame("where, reshape, sum") { ctx in
            let x = ctx.constant(Tensor(0.5))
            try ctx.watch(x)
            let positive = try x.compare(.greater, ctx.constant(Tensor(0)))
            let y = try Value.select(positive, x.map(.sin), x * 2).reshaped([]).sum()
            return (try y * x, [x], nil)
        })
    }
}
