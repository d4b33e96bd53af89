import Portable
import TensorCore
import Autodiff

/// Losses and layers, composites written as TensorFlow writes them, so their gradients (at ties and
/// kinks too) are TensorFlow's.
extension Declarations {
    static let lossesAndLayers: [Declaration] = [
        Declaration("sigmoid_cross_entropy(logits, labels)",
                    "mean of TensorFlow's sigmoid_cross_entropy_with_logits: max(x, 0) - x·z + log(1 + exp(-|x|))",
                    export: .spelled([.torch: "torch.nn.functional.binary_cross_entropy_with_logits({logits}, {labels} + 0 * {logits})",
                                      .tf: "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels={labels} + 0 * {logits}, logits={logits}))",
                                      .jax: "(lambda x, z: jnp.mean(jnp.where(x >= 0, x, 0.0) - x * z + jnp.log1p(jnp.exp(jnp.where(x >= 0, -x, x)))))({logits}, {labels})"])) { args in
            let x = try args.value("logits"), z = try args.value("labels")
            let zero = x.context.constant(0)
            // TensorFlow's formulation: where(x >= 0, x, 0) - x·z + log1p(exp(where(x >= 0, -x, x))).
            let nonNegative = try x.compare(.greaterEqual, zero)
            let relu = try Value.select(nonNegative, x, zero)
            let negativeAbs = try Value.select(nonNegative, -x, x)
            return try (relu - x * z + negativeAbs.map(.exp).map(.log1p)).mean()
        },
        Declaration("huber(prediction, target, delta=1)", "mean Huber loss: ½e² where |e| ≤ delta, else delta·(|e| - ½delta), e = prediction - target",
                    export: .spelled([.torch: "torch.nn.functional.huber_loss({prediction}, {target} + 0 * {prediction}, delta={delta!})",
                                      .tf: "tf.reduce_mean(tf.keras.losses.Huber(delta={delta!}, reduction='none')(tf.reshape({target} + 0 * {prediction}, [-1, 1]), tf.reshape({prediction}, [-1, 1])))",
                                      .jax: "jnp.mean(jnp.where(jnp.abs({prediction} - {target}) <= {delta!}, 0.5 * ({prediction} - {target}) ** 2, {delta!} * jnp.abs({prediction} - {target}) - 0.5 * {delta!} ** 2))"])) { args in
            let e = try args.value("prediction") - args.value("target")
            let delta = try args.number("delta")
            guard delta > 0 else { throw TensorError("huber: delta must be positive, got \(plainNumber(delta))") }
            let size = try e.map(.abs)
            // Keras: where(|e| <= delta, ½e², delta·|e| - ½delta²); at |e| = delta both sides have slope delta.
            let small = try size.compare(.lessEqual, e.context.constant(delta))
            return try Value.select(small, e.map(.square) * 0.5, size * delta - 0.5 * delta * delta).mean()
        },
        Declaration("layer_norm(x, axis=-1, epsilon=0.001)", "(x - mean) / sqrt(variance + epsilon) over an axis (Keras LayerNormalization without scale and offset)",
                    export: .spelled([.torch: "(({x} - torch.mean({x}, dim={axis#}, keepdim=True)) / torch.sqrt(torch.var({x}, dim={axis#}, unbiased=False, keepdim=True) + {epsilon!}))",
                                      .tf: "(({x} - tf.reduce_mean({x}, axis={axis#}, keepdims=True)) * tf.math.rsqrt(tf.math.reduce_variance({x}, axis={axis#}, keepdims=True) + {epsilon!}))",
                                      .jax: "(({x} - jnp.mean({x}, axis={axis#}, keepdims=True)) / jnp.sqrt(jnp.var({x}, axis={axis#}, keepdims=True) + {epsilon!}))"])) { args in
            let x = try args.value("x"), axis = try args.int("axis"), epsilon = try args.number("epsilon")
            let axes = [try Shape.axis(axis, rank: x.shape.count)]
            let centered = try x - x.mean(axes: axes, keepDims: true)
            return try centered / (try variance(x, axes, true) + epsilon).map(.sqrt)
        },
        Declaration("dropout(x, rate)", "x with each element set to 0 with probability rate and the others scaled by 1 / (1 - rate); random, reproducible after set_seed",
                    export: .exporter) { args in
            let x = try args.value("x"), rate = try args.number("rate")
            guard rate >= 0, rate < 1 else { throw TensorError("dropout: rate must be in [0, 1), got \(plainNumber(rate))") }
            let u = try args.session.random.tensor(shape: x.shape, normal: false)
            let mask = Tensor(shape: x.shape, scalars: u.scalars.map { $0 >= rate ? 1 / (1 - rate) : 0 })
            return try x * x.context.constant(mask)
        },
        Declaration("gather(x, indices, axis=0)", "the slices of x at the indices along an axis (negative ones count from the end); repeated indices add up in the gradient",
                    export: .spelled([.torch: "torch.movedim(torch.movedim({x}, {axis#}, 0)[({indices}).long()], list(range(({indices}).dim())), list(range({axis#} % {x}.dim(), {axis#} % {x}.dim() + ({indices}).dim())))",
                                      .tf: "tf.gather({x}, tf.cast({indices}, tf.int64) % tf.shape({x}, out_type=tf.int64)[{axis#}], axis={axis#})",
                                      .jax: "jnp.take({x}, ({indices}).astype(int), axis={axis#})"])) { args in
            let x = try args.value("x"), indices = try args.value("indices").tensor
            let axis = try Shape.axis(try args.int("axis"), rank: x.shape.count)
            let n = x.shape[axis]
            var list: [Int] = []
            for d in indices.scalars {
                guard d == d.rounded(), d >= Double(-n), d < Double(n) else {
                    throw TensorError("gather: \(plainNumber(d)) is not an index of an axis of size \(n)")
                }
                list.append(Int(d))
            }
            return try x.gather(axis: axis, indices: list, indexShape: indices.shape)
        },
    ]
}
