import Portable
import TensorCore
import Autodiff

/// Moving, repeating and padding: composites of slices, broadcasts and concatenations, so their gradients
/// come from those operations' rules.
extension Declarations {
    static let movement: [Declaration] = [
        Declaration("flip(x, axis)", "the elements in reverse order along an axis",
                    export: .spelled([.torch: "torch.flip({x}, dims=({axis#},))", .tf: "tf.reverse({x}, axis=[{axis#}])",
                                      .jax: "jnp.flip({x}, axis={axis#})"])) { args in
            let x = try args.value("x")
            let axis = try Shape.axis(try args.int("axis"), rank: x.shape.count)
            var subscripts = [AxisIndex](repeating: .all, count: x.shape.count)
            subscripts[axis] = .range(start: nil, stop: nil, step: -1)
            return try x.slice(subscripts)
        },
        Declaration("roll(x, shift, axis)", "the elements shifted along an axis, those pushed off the end coming back at the start",
                    export: .spelled([.torch: "torch.roll({x}, shifts={shift#}, dims={axis#})", .tf: "tf.roll({x}, shift={shift#}, axis={axis#})",
                                      .jax: "jnp.roll({x}, {shift#}, axis={axis#})"])) { args in
            let x = try args.value("x")
            let axis = try Shape.axis(try args.int("axis"), rank: x.shape.count)
            let n = x.shape[axis]
            guard n > 0 else { return x }
            let shift = ((try args.int("shift")) % n + n) % n
            if shift == 0 { return x }
            func part(_ start: Int, _ stop: Int) throws -> Value {
                var subscripts = [AxisIndex](repeating: .all, count: x.shape.count)
                subscripts[axis] = .range(start: start, stop: stop, step: 1)
                return try x.slice(subscripts)
            }
            return try Value.concat([part(n - shift, n), part(0, n - shift)], axis: axis)
        },
        Declaration("tile(x, reps)", "x repeated reps[i] times along axis i (NumPy's tile)",
                    export: .spelled([.torch: "torch.tile({x}, {reps#})", .tf: "tf.tile({x}, {reps#})", .jax: "jnp.tile({x}, {reps#})"])) { args in
            var x = try args.value("x")
            var reps = try args.ints("reps", position: 1) ?? []
            guard reps.allSatisfy({ $0 >= 0 }) else { throw TensorError("tile: repetitions must not be negative, got \(Shape.describe(reps))") }
            // NumPy: the shorter of the shape and the repetitions is padded with leading ones.
            if reps.count < x.shape.count { reps = [Int](repeating: 1, count: x.shape.count - reps.count) + reps }
            if x.shape.count < reps.count { x = try x.reshaped([Int](repeating: 1, count: reps.count - x.shape.count) + x.shape) }
            let interleaved = x.shape.flatMap { [1, $0] }
            let spread = zip(reps, x.shape).flatMap { [$0, $1] }
            try Shape.checkAllocation(spread)
            return try x.reshaped(interleaved).broadcast(to: spread).reshaped(zip(reps, x.shape).map { $0 * $1 })
        },
        Declaration("pad(x, widths, value=0)", "x with value added before and after each axis: widths [[before, after], ...] per axis",
                    export: .spelled([.torch: "torch.nn.functional.pad({x}, [int(w) for pair in reversed(np.reshape({widths#}, (-1, 2)).tolist()) for w in pair], value={value!})",
                                      .tf: "tf.pad({x}, np.reshape({widths#}, (-1, 2)).tolist(), constant_values={value!})",
                                      .jax: "jnp.pad({x}, np.reshape({widths#}, (-1, 2)).tolist(), constant_values={value!})"])) { args in
            var x = try args.value("x")
            guard let a = args.argument(named: "widths") else { throw TensorError("pad needs widths") }
            let w = try args.session.evaluate(a.value).tensor
            let rank = x.shape.count
            guard w.shape == [rank, 2] || (w.shape == [2] && rank == 1) else {
                throw EvaluationError("pad: widths must be [[before, after], ...] with one pair per axis (\(rank)), got shape \(Shape.describe(w.shape))",
                                      at: a.value.span)
            }
            guard w.scalars.allSatisfy({ $0 >= 0 && $0 == $0.rounded() && $0 < 1e9 }) else {
                throw EvaluationError("pad: widths must be whole numbers, not negative", at: a.value.span)
            }
            let widths: [Int] = w.scalars.map { Int($0) }
            var pairs: [(Int, Int)] = []
            for axis in 0..<rank { pairs.append((widths[2 * axis], widths[2 * axis + 1])) }
            let value = try args.number("value")
            for (axis, (before, after)) in pairs.enumerated() {
                var parts: [Value] = []
                for count in [before, after] {
                    var shape = x.shape
                    shape[axis] = count
                    try Shape.checkAllocation(shape)
                    parts.append(x.context.constant(try Tensor(shape: shape, repeating: value)))
                }
                x = try Value.concat([parts[0], x, parts[1]], axis: axis)
            }
            return x
        },
        Declaration("one_hot(indices, n)", "1 at each index's place in a new last axis of size n, else 0 (no gradient)",
                    export: .spelled([.torch: "torch.nn.functional.one_hot(({indices}).long(), {n#}).double()",
                                      .tf: "tf.one_hot(tf.cast({indices}, tf.int32), {n#}, dtype=tf.float64)",
                                      .jax: "jax.nn.one_hot({indices}, {n#}, dtype=jnp.float64)"])) { args in
            let indices = try args.value("indices").tensor, n = try args.int("n")
            guard n >= 0 else { throw TensorError("one_hot: n must not be negative") }
            try Shape.checkAllocation(indices.shape + [n])
            var out = [Double](repeating: 0, count: indices.count * n)
            for (i, index) in indices.scalars.enumerated() {
                guard index >= 0, index < Double(n), index == index.rounded() else {
                    throw TensorError("one_hot: \(plainNumber(index)) is not an index in 0..<\(n)")
                }
                out[i * n + Int(index)] = 1
            }
            return args.ctx.nonDifferentiable(Tensor(shape: indices.shape + [n], scalars: out), operation: "one_hot")
        },
    ]
}
