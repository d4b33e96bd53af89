import Glibc
import Portable
import TensorCore
import Autodiff

/// Activations (TensorFlow's definitions and gradient rules, including at 0) and the NaN tests.
extension Declarations {
    static let seluAlpha = 1.6732632423543772848170429916717
    static let seluScale = 1.0507009873554804934193349852946

    static let activations: [Declaration] = [
        Declaration("elu(x)", "x where x > 0, else exp(x) - 1 (gradient 1 at 0, as TensorFlow)",
                    export: .spelled([.torch: "torch.nn.functional.elu({x})", .tf: "tf.nn.elu({x})", .jax: "jax.nn.elu({x})"]),
                    primitive: Operation(name: "elu", arity: 1, elementwise: true,
                                         forward: { $0[0].mapScalars { $0 > 0 ? $0 : expm1($0) } },
                                         // TensorFlow's EluGrad, from the output: g where y ≥ 0, else g·(y + 1).
                                         pullback: { x, y, g in
                                             [try g * Value.select(y.compare(.less, y.context.constant(0)), y + 1, y.context.constant(1))]
                                         },
                                         rule: { n in .elementwise(["1 where \(n[0]) ≥ 0, else exp(\(n[0]))"], "from the output: 1 where y ≥ 0, else y + 1") })),
        Declaration("selu(x)", "scale·elu with TensorFlow's scale and alpha (self-normalizing)",
                    export: .spelled([.torch: "torch.nn.functional.selu({x})", .tf: "tf.nn.selu({x})", .jax: "jax.nn.selu({x})"]),
                    primitive: Operation(name: "selu", arity: 1, elementwise: true,
                                         forward: { $0[0].mapScalars { seluScale * ($0 > 0 ? $0 : seluAlpha * expm1($0)) } },
                                         // TensorFlow's SeluGrad: g·scale where y ≥ 0, else g·(y + scale·alpha).
                                         pullback: { x, y, g in
                                             [try g * Value.select(y.compare(.less, y.context.constant(0)), y + seluScale * seluAlpha,
                                                                   y.context.constant(seluScale))]
                                         },
                                         rule: { n in .elementwise(["scale where \(n[0]) ≥ 0, else scale·alpha·exp(\(n[0]))"],
                                                                   "from the output: scale where y ≥ 0, else y + scale·alpha") })),
        Declaration("leaky_relu(x, alpha=0.2)", "x where x > 0, else alpha·x (gradient alpha at 0, as TensorFlow)",
                    export: .spelled([.torch: "torch.nn.functional.leaky_relu({x}, {alpha!})", .tf: "tf.nn.leaky_relu({x}, alpha={alpha!})",
                                      .jax: "jnp.where({x} > 0, {x}, {alpha!} * {x})"])) { args in
            let alpha = try args.number("alpha")
            return try Operation(name: "leaky_relu", arity: 1, elementwise: true,
                                 forward: { $0[0].mapScalars { $0 > 0 ? $0 : alpha * $0 } },
                                 pullback: { x, _, g in [try g * Value.select(x[0].compare(.greater, x[0].context.constant(0)),
                                                                              x[0].context.constant(1), x[0].context.constant(alpha))] },
                                 rule: { n in .elementwise(["1 where \(n[0]) > 0, else \(plainNumber(alpha))"], "the slope of the side the input is on (alpha at 0)") })(try args.value("x"))
        },
        Declaration("gelu(x)", "x·Φ(x), Φ the standard normal distribution (exact, with erf)",
                    export: .spelled([.torch: "torch.nn.functional.gelu({x})", .tf: "tf.nn.gelu({x}, approximate=False)",
                                      .jax: "jax.nn.gelu({x}, approximate=False)"]),
                    primitive: Operation(name: "gelu", arity: 1, elementwise: true,
                                         forward: { $0[0].mapScalars { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) } },
                                         // Φ(x) + x·φ(x).
                                         pullback: { x, _, g in
                                             let x = x[0]
                                             let cdf = try ((x * (1 / 2.0.squareRoot())).map(.erf) + 1) * 0.5
                                             let pdf = try (x * x * -0.5).map(.exp) * (1 / (2 * Double.pi).squareRoot())
                                             return [try g * (cdf + x * pdf)]
                                         },
                                         rule: { n in .elementwise(["Φ(\(n[0])) + \(n[0])·φ(\(n[0]))"], "the product rule on x·Φ(x)") })),
        Declaration("silu(x)", "x·sigmoid(x) (also called swish)",
                    export: .spelled([.torch: "torch.nn.functional.silu({x})", .tf: "tf.nn.silu({x})", .jax: "jax.nn.silu({x})"]),
                    primitive: Operation(name: "silu", arity: 1, elementwise: true,
                                         forward: { $0[0].mapScalars { v in v >= 0 ? v / (1 + exp(-v)) : v * exp(v) / (1 + exp(v)) } },
                                         pullback: { x, _, g in
                                             let s = try x[0].map(.sigmoid)
                                             return [try g * (s + x[0] * s * (1 - s))]
                                         },
                                         rule: { n in .elementwise(["s + \(n[0])·s·(1 - s), s = sigmoid(\(n[0]))"], "the product rule on x·sigmoid(x)") })),
        Declaration("isnan(x)", "1 where x is NaN, else 0 (no gradient)",
                    export: .spelled([.torch: "torch.isnan({x}).double()", .tf: "tf.cast(tf.math.is_nan({x}), tf.float64)",
                                      .jax: "jnp.isnan({x}).astype(jnp.float64)"]),
                    noGradient: { $0[0].mapScalars { $0.isNaN ? 1 : 0 } }, arity: 1),
        Declaration("isinf(x)", "1 where x is inf or -inf, else 0 (no gradient)",
                    export: .spelled([.torch: "torch.isinf({x}).double()", .tf: "tf.cast(tf.math.is_inf({x}), tf.float64)",
                                      .jax: "jnp.isinf({x}).astype(jnp.float64)"]),
                    noGradient: { $0[0].mapScalars { $0.isInfinite ? 1 : 0 } }, arity: 1),
        Declaration("isfinite(x)", "1 where x is neither NaN nor infinite, else 0 (no gradient)",
                    export: .spelled([.torch: "torch.isfinite({x}).double()", .tf: "tf.cast(tf.math.is_finite({x}), tf.float64)",
                                      .jax: "jnp.isfinite({x}).astype(jnp.float64)"]),
                    noGradient: { $0[0].mapScalars { $0.isFinite ? 1 : 0 } }, arity: 1),
    ]
}
