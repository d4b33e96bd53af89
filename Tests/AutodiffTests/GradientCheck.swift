import Foundation
import TensorCore
@testable import Autodiff

/// A finite-difference check of tape gradients, after JAX's `check_grads`.
///
/// For a function `f: [Value] -> Value` and input tensors `x`, the checked scalar is
/// `L(x) = sum(f(x) * w)`, where `w` is a fixed random (normal) weighting of the output, so every output
/// element matters and no symmetry hides a wrong sign or a transposed index.
///
/// **Order 1.** The tape's gradient `g = ∇L(x)` is compared with central differences
/// `(L(x + h·d) − L(x − h·d)) / 2`, where the step of element j is `h·max(1, |x_j|)` with `h = 1e-6`:
/// - along one random direction `d` (all inputs at once): `Σ g_j d_j` against the difference quotient;
/// - per coordinate (`d = e_j`), when the inputs have at most `perCoordinateLimit` elements in all.
///
/// **Order 2.** The first-order gradient is itself computed on the tape, and its directional derivative
/// `S(x) = Σ ∇L(x)_j u_j` (u random) is differentiated again by the tape: `∇S = Hᵀu`. That is compared with
/// central differences of `S` (each evaluation of `S` runs the first-order backward pass afresh), along a
/// random direction and per coordinate, as above. This exercises that every pullback is itself built from
/// differentiable, recorded operations.
///
/// **Tolerance.** A derivative `a` from the tape and its difference quotient `n` agree when
/// `|a − n| ≤ absolute + relative · scale`, with `relative = 1e-5` at order 1, `1e-4` at order 2, and an
/// absolute floor of `1e-7` at both. `scale` is `max(|a|, |n|)` per coordinate, and for a directional
/// derivative `max(|a|, |n|, Σ_j |g_j d_j|)` (the size of the terms, so cancellation in the sum does not
/// make the check ill-conditioned).
enum GradientCheck {
    struct Tolerance {
        var relative: Double
        var absolute: Double
        func accepts(_ a: Double, _ n: Double, scale: Double) -> Bool {
            guard a.isFinite, n.isFinite else { return false }
            return Swift.abs(a - n) <= absolute + relative * Swift.max(Swift.abs(a), Swift.abs(n), scale)
        }
    }

    static let firstOrder = Tolerance(relative: 1e-5, absolute: 1e-7)
    static let secondOrder = Tolerance(relative: 1e-4, absolute: 1e-7)
    /// The relative finite-difference step.
    static let step = 1e-6
    /// Per-coordinate checks are done when the inputs have at most this many elements in all.
    static let perCoordinateLimit = 16

    typealias Function = ([Value]) throws -> Value

    // MARK: Tape evaluations

    /// Fresh watched inputs in a fresh context.
    static func watched(_ inputs: [Tensor]) throws -> (GradientContext, [Value]) {
        let ctx = GradientContext()
        let xs = inputs.map { ctx.constant($0) }
        for x in xs { try ctx.watch(x) }
        return (ctx, xs)
    }

    /// `L(x) = sum(f(x) * w)`, untracked.
    static func objective(_ f: Function, _ inputs: [Tensor], weights: Tensor) throws -> Double {
        let ctx = GradientContext()
        let y = try f(inputs.map { ctx.constant($0) })
        return try (y.tensor * weights).scalars.reduce(0, +)
    }

    /// The output's shape (to draw the weights).
    static func outputShape(_ f: Function, _ inputs: [Tensor]) throws -> [Int] {
        let ctx = GradientContext()
        return try f(inputs.map { ctx.constant($0) }).shape
    }

    /// The recorded first-order gradients of `sum(f(x) * w)` (a symbolic zero becomes zeros), with their context and inputs.
    static func firstOrderGradients(_ f: Function, _ inputs: [Tensor], weights: Tensor) throws -> (GradientContext, [Value], [Value]) {
        let (ctx, xs) = try watched(inputs)
        let y = try f(xs)
        let loss = try (y * ctx.constant(weights)).sum()
        let grads = try ctx.gradient(of: loss, wrt: xs, unconnectedZero: true).map { g -> Value in
            guard let v = g.value else { throw GradientError("no gradient") }
            return v
        }
        for (g, x) in zip(grads, xs) where g.shape != x.shape {
            throw GradientError("gradient has shape \(g.shape) for an input of shape \(x.shape)")
        }
        return (ctx, xs, grads)
    }

    /// `∇ sum(f(x) * w)` as tensors.
    static func gradient(_ f: Function, _ inputs: [Tensor], weights: Tensor) throws -> [Tensor] {
        try firstOrderGradients(f, inputs, weights: weights).2.map(\.tensor)
    }

    /// `S(x) = Σ ∇L(x)·u` evaluated through the tape's first-order gradient.
    static func directionalFirstDerivative(_ f: Function, _ inputs: [Tensor], weights: Tensor, along u: [Tensor]) throws -> Double {
        let grads = try gradient(f, inputs, weights: weights)
        return try zip(grads, u).map { try ($0 * $1).scalars.reduce(0, +) }.reduce(0, +)
    }

    /// `∇S(x)`, the tape's gradient of its own (recorded) first-order directional derivative.
    static func secondOrderGradient(_ f: Function, _ inputs: [Tensor], weights: Tensor, along u: [Tensor]) throws -> [Tensor] {
        let (ctx, xs, grads) = try firstOrderGradients(f, inputs, weights: weights)
        var s: Value? = nil
        for (g, ui) in zip(grads, u) {
            let term = try (g * ctx.constant(ui)).sum()
            s = try s.map { try $0 + term } ?? term
        }
        guard let s else { return [] }
        return try ctx.gradient(of: s, wrt: xs, unconnectedZero: true).map { g -> Tensor in
            guard let v = g.value else { throw GradientError("no second-order gradient") }
            return v.tensor
        }
    }

    // MARK: Directions

    static func randomTensors(like inputs: [Tensor], _ rng: inout RandomGenerator) throws -> [Tensor] {
        try inputs.map { try rng.tensor(shape: $0.shape, normal: true) }
    }

    /// Scales a direction by the relative step of each element: `d_j · h · max(1, |x_j|)`.
    static func scaledSteps(_ inputs: [Tensor], _ direction: [Tensor]) -> [Tensor] {
        zip(inputs, direction).map { x, d in
            Tensor(shape: x.shape, scalars: zip(x.scalars, d.scalars).map { step * Swift.max(1, Swift.abs($0)) * $1 })
        }
    }

    static func shifted(_ inputs: [Tensor], by delta: [Tensor], _ sign: Double) -> [Tensor] {
        zip(inputs, delta).map { x, d in Tensor(shape: x.shape, scalars: zip(x.scalars, d.scalars).map { $0 + sign * $1 }) }
    }

    static func unit(_ inputs: [Tensor], input i: Int, element j: Int) -> [Tensor] {
        inputs.enumerated().map { k, x in
            var s = [Double](repeating: 0, count: x.count)
            if k == i { s[j] = 1 }
            return Tensor(shape: x.shape, scalars: s)
        }
    }

    // MARK: Checks

    /// Compares `analytic` (a gradient) with central differences of `scalar` at `inputs`.
    /// Returns a description of every disagreement.
    static func compare(_ label: String, analytic: [Tensor], inputs: [Tensor], tolerance: Tolerance,
                        direction: [Tensor], perCoordinate: Bool, scalar: ([Tensor]) throws -> Double) throws -> [String] {
        var failures: [String] = []
        // Along a random direction.
        let delta = scaledSteps(inputs, direction)
        let numeric = (try scalar(shifted(inputs, by: delta, 1)) - scalar(shifted(inputs, by: delta, -1))) / (2 * step)
        var a = 0.0, terms = 0.0
        for (g, d) in zip(analytic, delta) {
            for (gj, dj) in zip(g.scalars, d.scalars) { a += gj * dj / step; terms += Swift.abs(gj * dj / step) }
        }
        if !tolerance.accepts(a, numeric, scale: terms) {
            failures.append("\(label), random direction: tape \(a), finite differences \(numeric)")
        }
        guard perCoordinate else { return failures }
        for (i, x) in inputs.enumerated() {
            for j in 0..<x.count {
                let delta = scaledSteps(inputs, unit(inputs, input: i, element: j))
                let h = delta[i].scalars[j]
                let numeric = (try scalar(shifted(inputs, by: delta, 1)) - scalar(shifted(inputs, by: delta, -1))) / (2 * h)
                let a = analytic[i].scalars[j]
                if !tolerance.accepts(a, numeric, scale: 0) {
                    failures.append("\(label), input \(i) element \(j): tape \(a), finite differences \(numeric)")
                }
            }
        }
        return failures
    }

    /// The JAX-style check at orders 1 through `orders` (1 or 2). Returns the disagreements (empty: passed).
    static func check(_ f: @escaping Function, at inputs: [Tensor], orders: Int = 2, seed: UInt64 = 0x5EED) throws -> [String] {
        var rng = RandomGenerator(seed: seed)
        let weights = try rng.tensor(shape: outputShape(f, inputs), normal: true)
        let perCoordinate = inputs.reduce(0) { $0 + $1.count } <= perCoordinateLimit
        var failures: [String] = []

        let g = try gradient(f, inputs, weights: weights)
        failures += try compare("order 1", analytic: g, inputs: inputs, tolerance: firstOrder,
                                direction: randomTensors(like: inputs, &rng), perCoordinate: perCoordinate) {
            try objective(f, $0, weights: weights)
        }
        guard orders >= 2 else { return failures }

        let u = try randomTensors(like: inputs, &rng)
        let h = try secondOrderGradient(f, inputs, weights: weights, along: u)
        failures += try compare("order 2", analytic: h, inputs: inputs, tolerance: secondOrder,
                                direction: randomTensors(like: inputs, &rng), perCoordinate: perCoordinate) {
            try directionalFirstDerivative(f, $0, weights: weights, along: u)
        }
        return failures
    }

    /// For functions that are piecewise constant: the tape's gradients at orders 1 and 2 are exactly zero.
    static func checkExactlyZero(_ f: @escaping Function, at inputs: [Tensor], seed: UInt64 = 0x5EED) throws -> [String] {
        var rng = RandomGenerator(seed: seed)
        let weights = try rng.tensor(shape: outputShape(f, inputs), normal: true)
        var failures: [String] = []
        for (i, g) in try gradient(f, inputs, weights: weights).enumerated() where g.scalars.contains(where: { $0 != 0 }) {
            failures.append("order 1, input \(i): expected exactly zero, got \(g.scalars)")
        }
        let u = try randomTensors(like: inputs, &rng)
        for (i, g) in try secondOrderGradient(f, inputs, weights: weights, along: u).enumerated() where g.scalars.contains(where: { $0 != 0 }) {
            failures.append("order 2, input \(i): expected exactly zero, got \(g.scalars)")
        }
        return failures
    }

    /// The tape's gradient of `sum(f(x))` (seed ones) equals `expected` exactly: for ties and kinks,
    /// where a rule (TensorFlow's), not a limit, defines the answer.
    static func checkExact(_ f: @escaping Function, at inputs: [Tensor], expected: [[Double]]) throws -> [String] {
        let shape = try outputShape(f, inputs)
        let got = try gradient(f, inputs, weights: Tensor(shape: shape, repeating: 1))
        var failures: [String] = []
        for (i, (g, e)) in zip(got, expected).enumerated() where g.scalars != e {
            failures.append("input \(i): expected exactly \(e), got \(g.scalars)")
        }
        if got.count != expected.count { failures.append("expected \(expected.count) gradients, got \(got.count)") }
        return failures
    }
}
