import Glibc
import TensorCore
import Autodiff

/// The declared built-ins: each one's signature, help, export spellings and computation in one entry.
/// Adding one is its kernel (TensorCore), its entry here, and its row in the finite-difference table
/// (`BuiltinGradientTests`); the tests fail for a built-in without a row, help, export or README entry.
enum Declarations {
    static let all: [Declaration] = arithmetic

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
                    export: .spelled([.torch: "torch.floor_divide({x}, {y})", .tf: "tf.math.floordiv({x}, {y})", .jax: "jnp.floor_divide({x}, {y})"]),
                    noGradient: { try Tensor.zipScalars($0[0], $0[1], ScalarKernels.floorDivide) }, arity: 2),
    ]

    /// TensorFlow's FloorMod gradient: x gets g, y gets -g · floor_divide(x, y).
    static let modOperation = Operation(
        name: "mod", arity: 2, elementwise: true,
        forward: { try Tensor.zipScalars($0[0], $0[1], ScalarKernels.floorMod) },
        // floor_divide(x, y) has no gradient, so it is a constant here, as in TensorFlow's rule.
        pullback: { x, _, dy in [dy, try -dy * dy.context.constant(Tensor.zipScalars(x[0].tensor, x[1].tensor, ScalarKernels.floorDivide))] },
        rule: { n in .elementwise(["1", "-floor_divide(\(n[0]), \(n[1]))"], "TensorFlow's floormod rule: x - floor(x / y)·y with floor(x / y) held constant") })
}
