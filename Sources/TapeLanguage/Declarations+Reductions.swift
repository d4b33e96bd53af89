import TensorCore
import Autodiff

/// Statistics, logical reductions and running sums and products.
extension Declarations {
    static let statistics: [Declaration] = [
        Declaration("variance(x, axis=None, keepdims=0)", "mean squared deviation from the mean over axes (NumPy's var, ddof 0)",
                    export: .spelled([.torch: "torch.var({x}, dim={axis#}, unbiased=False, keepdim=bool({keepdims#}))",
                                      .tf: "tf.math.reduce_variance({x}, axis={axis#}, keepdims=bool({keepdims#}))",
                                      .jax: "jnp.var({x}, axis={axis#}, keepdims=bool({keepdims#}))"])) { args in
            try variance(args.value("x"), args.ints("axis", position: 1), args.flag("keepdims"))
        },
        Declaration("std(x, axis=None, keepdims=0)", "standard deviation over axes: sqrt(variance) (NumPy's std, ddof 0)",
                    export: .spelled([.torch: "torch.std({x}, dim={axis#}, unbiased=False, keepdim=bool({keepdims#}))",
                                      .tf: "tf.math.reduce_std({x}, axis={axis#}, keepdims=bool({keepdims#}))",
                                      .jax: "jnp.std({x}, axis={axis#}, keepdims=bool({keepdims#}))"])) { args in
            try variance(args.value("x"), args.ints("axis", position: 1), args.flag("keepdims")).map(.sqrt)
        },
        logical("any", "1 where any element over axes is non-zero, else 0 (no gradient)", .max,
                torch: "(torch.sum(({x} != 0).double(), dim={axis#}, keepdim=bool({keepdims#})) > 0).double()",
                tf: "tf.cast(tf.reduce_any({x} != 0, axis={axis#}, keepdims=bool({keepdims#})), tf.float64)",
                jax: "jnp.any({x} != 0, axis={axis#}, keepdims=bool({keepdims#})).astype(jnp.float64)"),
        logical("all", "1 where every element over axes is non-zero, else 0 (no gradient)", .min,
                torch: "(torch.sum(({x} == 0).double(), dim={axis#}, keepdim=bool({keepdims#})) == 0).double()",
                tf: "tf.cast(tf.reduce_all({x} != 0, axis={axis#}, keepdims=bool({keepdims#})), tf.float64)",
                jax: "jnp.all({x} != 0, axis={axis#}, keepdims=bool({keepdims#})).astype(jnp.float64)"),
        logical("count_nonzero", "the number of non-zero elements over axes (no gradient)", .sum,
                torch: "torch.sum(({x} != 0).double(), dim={axis#}, keepdim=bool({keepdims#}))",
                tf: "tf.cast(tf.math.count_nonzero({x}, axis={axis#}, keepdims=bool({keepdims#})), tf.float64)",
                jax: "jnp.sum({x} != 0, axis={axis#}, keepdims=bool({keepdims#})).astype(jnp.float64)"),
        Declaration("cumsum(x, axis)", "running sums along an axis",
                    export: .spelled([.torch: "torch.cumsum({x}, dim={axis#})", .tf: "tf.math.cumsum({x}, axis={axis#})",
                                      .jax: "jnp.cumsum({x}, axis={axis#})"])) { args in
            let x = try args.value("x")
            return try cumsum(axis: try Shape.axis(try args.int("axis"), rank: x.shape.count), reverse: false)(x)
        },
        Declaration("cumprod(x, axis)", "running products along an axis (exact gradient at zeros, as JAX's)",
                    export: .spelled([.torch: "torch.cumprod({x}, dim={axis#})", .tf: "tf.math.cumprod({x}, axis={axis#})",
                                      .jax: "jnp.cumprod({x}, axis={axis#})"])) { args in
            let x = try args.value("x")
            return try cumprod(x, axis: try Shape.axis(try args.int("axis"), rank: x.shape.count))
        },
    ]

    static func variance(_ x: Value, _ axes: [Int]?, _ keepDims: Bool) throws -> Value {
        let m = try x.mean(axes: axes, keepDims: true)
        return try (x - m).map(.square).mean(axes: axes, keepDims: keepDims)
    }

    /// A reduction of the 0/1 "non-zero" tensor: any (max), all (min), count_nonzero (sum).
    static func logical(_ name: String, _ help: String, _ kind: Reduction, torch: String, tf: String, jax: String) -> Declaration {
        Declaration("\(name)(x, axis=None, keepdims=0)", help, export: .spelled([.torch: torch, .tf: tf, .jax: jax])) { args in
            let x = try args.value("x")
            let nonzero = try Tensor.zip(x.tensor, Tensor(0), .notEqual)
            let axes = try args.ints("axis", position: 1) ?? Array(0..<x.shape.count)
            return args.ctx.nonDifferentiable(try nonzero.reduce(kind, axes: axes, keepDims: try args.flag("keepdims")),
                                              operation: name)
        }
    }

    /// Running sums along `axis` (from the end when `reverse`); its gradient is the running sum the other way.
    static func cumsum(axis: Int, reverse: Bool) -> Operation {
        Operation(name: reverse ? "cumsum_reverse" : "cumsum", arity: 1,
                  forward: { x in
                      let t = x[0]
                      var s = t.scalars
                      let n = t.shape[axis], inner = t.shape[(axis + 1)...].reduce(1, *), outer = t.count / max(1, n * inner)
                      for o in 0..<outer {
                          for i in 0..<inner {
                              var total = 0.0
                              for k in 0..<n {
                                  let j = o * n * inner + (reverse ? n - 1 - k : k) * inner + i
                                  total += s[j]
                                  s[j] = total
                              }
                          }
                      }
                      return Tensor(shape: t.shape, scalars: s)
                  },
                  pullback: { _, _, g in [try cumsum(axis: axis, reverse: !reverse)(g)] },
                  rule: { _ in .pullbacks([reverse ? "cumsum(g) along the axis" : "cumsum(g) from the end of the axis"],
                                          "each element adds into every running sum after it, so it gets the sum of their gradients") })
    }

    /// Running products, written as products over a triangular mask: element i multiplies the elements up to
    /// i and ones after, so `prod`'s rule (exact at zeros, no division) gives the gradient.
    static func cumprod(_ x: Value, axis: Int) throws -> Value {
        let rank = x.shape.count, n = x.shape[axis]
        let moved = try axis == rank - 1 ? x : x.transposed(Array(0..<axis) + Array((axis + 1)..<rank) + [axis])
        let mask = x.context.constant(Tensor(shape: [n, n], scalars: (0..<(n * n)).map { ($0 % n) <= ($0 / n) ? 1 : 0 }))
        let rows = try moved.expandDims(axis: -2).broadcast(to: Array(moved.shape.dropLast()) + [n, n])
        let products = try Value.select(mask, rows, x.context.constant(1)).reduce(.product, axes: [-1])
        if axis == rank - 1 { return products }
        var inverse = Array(0..<axis) + [rank - 1]
        inverse += Array(axis..<(rank - 1))
        return try products.transposed(inverse)
    }
}
