import Glibc
import TensorCore
import Autodiff

/// The declared built-ins: each one's signature, help, export spellings and computation in one entry.
/// Adding one is its kernel (TensorCore), its entry here, and its row in the finite-difference table
/// (`BuiltinGradientTests`); the tests fail for a built-in without a row, help, export or README entry.
enum Declarations {
    static let all: [Declaration] = arithmetic + rounding + constructors + activations + statistics + movement + linearAlgebra + lossesAndLayers + convolution + linearAlgebraMore + sorting + eigen + factorizations + singularValues

    static let arithmetic: [Declaration] = [
        Declaration("atan2(y, x)", "the angle of the point (x, y) from the x axis, in (-π, π]",
                    export: .spelled([.torch: "torch.atan2({y}, {x})", .tf: "tf.math.atan2({y}, {x})", .jax: "jnp.arctan2({y}, {x})"]),
                    primitive: Operation(name: "atan2", arity: 2, elementwise: true,
                                         forward: { try Tensor.zipScalars($0[0], $0[1], Glibc.atan2) },
                                         pullback: { x, _, dy in
                                             let r = try x[0] * x[0] + x[1] * x[1]
                                             return [try dy * x[1] / r, try -dy * x[0] / r]
                                         },
                                         rule: { n in .elementwise(["\(n[1]) / (\(n[0])² + \(n[1])²)", "-\(n[0]) / (\(n[0])² + \(n[1])²)"],
                                                                   "the derivative of the angle of (x, y)") })),
        Declaration("mod(x, y)", "the remainder of x / y with the sign of y (NumPy's mod, Python's %); gradient 1 for x, -floor(x / y) for y",
                    export: .spelled([.torch: "torch.remainder({x}, {y})", .tf: "tf.math.floormod({x}, {y})", .jax: "jnp.mod({x}, {y})"]),
                    primitive: modOperation),
        Declaration("floor_divide(x, y)", "floor(x / y) (NumPy's floor_divide, Python's //); no gradient (None), as TensorFlow",
                    export: .spelled([.torch: "torch.floor_divide({x}, {y}).detach()", .tf: "tf.math.floordiv({x}, {y})", .jax: "jnp.floor_divide({x}, {y})"]),
                    noGradient: { try Tensor.zipScalars($0[0], $0[1], ScalarKernels.floorDivide) }, arity: 2),
    ]

    /// TensorFlow's FloorMod gradient: x gets g, y gets -g · floor_divide(x, y).
    static let modOperation = Operation(
        name: "mod", arity: 2, elementwise: true,
        forward: { try Tensor.zipScalars($0[0], $0[1], ScalarKernels.floorMod) },
        // floor_divide(x, y) has no gradient, so it is a constant here, as in TensorFlow's rule.
        pullback: { x, _, dy in [dy, try -dy * dy.context.constant(Tensor.zipScalars(x[0].tensor, x[1].tensor, ScalarKernels.floorDivide))] },
        rule: { n in .elementwise(["1", "-floor_divide(\(n[0]), \(n[1]))"], "TensorFlow's floormod rule: x - floor(x / y)·y with floor(x / y) held constant") })

    /// No gradient at all (None), as TensorFlow, which registers none for Floor, Ceil and Round (only Sign
    /// has a zero gradient).
    static let rounding: [Declaration] = [
        Declaration("floor(x)", "round down (no gradient: None, as TensorFlow)", export: .exporter, noGradient: { $0[0].map(.floor) }, arity: 1),
        Declaration("ceil(x)", "round up (no gradient: None, as TensorFlow)", export: .exporter, noGradient: { $0[0].map(.ceil) }, arity: 1),
        Declaration("round(x)", "round half to even (no gradient: None, as TensorFlow)", export: .exporter,
                    noGradient: { $0[0].map(.round) }, arity: 1),
    ]

    /// Constructors whose values are differentiable, as in TensorFlow and JAX.
    static let constructors: [Declaration] = [
        Declaration("fill(shape, value)", "a tensor of one value (differentiable in the value)",
                    export: .spelled([.torch: "torch.full({shape#}, 1.0, dtype=torch.float64) * {value}", .tf: "tf.fill({shape#}, {value})",
                                      .jax: "jnp.full({shape#}, {value}, jnp.float64)"])) { args in
            let shape = try args.ints("shape", position: 0) ?? []
            try Shape.checkAllocation(shape)
            let value = try args.value("value")
            guard value.tensor.count == 1 else { throw TensorError("fill: the value must be one number, got shape \(Shape.describe(value.shape))") }
            return try Operation(name: "fill", arity: 1,
                                 forward: { try Tensor(shape: shape, repeating: $0[0].firstScalar) },
                                 pullback: { x, _, g in [try g.sum().reshaped(x[0].shape)] },
                                 rule: { _ in .pullbacks(["sum(g)"], "every element is the value, so it gets the sum of the gradient") })(value)
        },
        Declaration("linspace(start, stop, count)", "count values from start to stop inclusive (differentiable in start and stop)",
                    export: .spelled([.torch: "{start} + ({stop} - {start}) * torch.linspace(0, 1, {count!}, dtype=torch.float64)",
                                      .tf: "tf.linspace({start}, {stop}, {count!})", .jax: "jnp.linspace({start}, {stop}, {count!})"])) { args in
            let start = try args.value("start"), stop = try args.value("stop"), count = try args.int("count")
            for (v, what) in [(start, "start"), (stop, "stop")] where v.tensor.count != 1 {
                throw TensorError("linspace: \(what) must be one number, got shape \(Shape.describe(v.shape))")
            }
            _ = try Tensor.linspace(0, 1, count)
            // Element i is start·(1 - tᵢ) + stop·tᵢ with tᵢ = i / (count - 1): the weights of the gradient.
            let t = start.context.constant(Tensor(shape: [count], scalars: (0..<count).map { count == 1 ? 0 : Double($0) / Double(count - 1) }))
            return try Operation(name: "linspace", arity: 2,
                                 forward: { try Tensor.linspace($0[0].firstScalar, $0[1].firstScalar, count) },
                                 pullback: { x, _, g in [try (g * (1 - t)).sum().reshaped(x[0].shape), try (g * t).sum().reshaped(x[1].shape)] },
                                 rule: { _ in .pullbacks(["sum(g · (1 - t))", "sum(g · t)"], "element i is start·(1 - t) + stop·t, t = i / (count - 1)") })(start, stop)
        },
    ]
}
