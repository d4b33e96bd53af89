"""TensorFlow, eager, float64 on the CPU; `--jit` wraps the work in tf.function. See common.py."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import common
import tensorflow as tf

f64 = tf.float64


def c(a):
    return tf.constant(a, dtype=f64)


def maybe_function(fn, jit):
    return tf.function(fn) if jit else fn


def w1(inp, jit):
    def work():
        x = c([1.0, 2.0, 3.0])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(x ** 2)
        return tape.gradient(y, x)
    return maybe_function(work, jit)


def chain(step):
    def prepare(inp, jit):
        def work():
            x = c(common.W2_X)
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = x
                # In a tf.function, autograph turns a loop over tf.range into a tf.while_loop.
                for _ in (tf.range(common.W2_STEPS) if jit else range(common.W2_STEPS)):
                    y = step(y, x)
            return y, tape.gradient(y, x)
        return maybe_function(work, jit)
    return prepare


def w3(inp, jit):
    X, Y = c(inp["X"]), c(inp["Y"])
    params = [tf.Variable(c(inp[k])) for k in ("W1", "b1", "W2", "b2")]

    def work():
        for p, k in zip(params, ("W1", "b1", "W2", "b2")):
            p.assign(inp[k])
        W1, b1, W2, b2 = params
        loss = c(0.0)
        for _ in (tf.range(common.W3_STEPS) if jit else range(common.W3_STEPS)):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((tf.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2)
            grads = tape.gradient(loss, params)
            for p, g in zip(params, grads):
                p.assign_sub(common.W3_LR * g)
        return [loss] + [tf.identity(p) for p in params]
    return maybe_function(work, jit)


def w4(inp, jit):
    A, x = c(inp["A"]), c(inp["x"])
    def work():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.tanh(tf.linalg.matvec(A, x))
        return tape.jacobian(y, x)
    return maybe_function(work, jit)


def w5(inp, jit):
    A, x = c(inp["A"]), c(inp["x"])
    def work():
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(tf.tanh(tf.linalg.matvec(A, x)) ** 2)
            g = inner.gradient(y, x)
        return outer.jacobian(g, x)
    return maybe_function(work, jit)


def w6(inp, jit):
    A, B = c(inp["A"]), c(inp["B"])
    def work():
        with tf.GradientTape() as tape:
            tape.watch([A, B])
            y = tf.reduce_sum(A @ B)
        return tape.gradient(y, [A, B])
    return maybe_function(work, jit)


def w7(inp, jit):
    A, x, v = c(inp["A"]), c(inp["x"]), c(inp["v"])
    def work():
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(tf.tanh(tf.linalg.matvec(A, x)) ** 2)
            g = inner.gradient(y, x)
        return outer.gradient(g, x, output_gradients=v)
    return maybe_function(work, jit)


def w9(inp, jit):
    X, labels = c(inp["X"]), tf.constant(inp["labels"].astype("int64"))
    init = [c(inp[k]) for k in ("K1", "c1", "K2", "c2", "W", "b")]
    def work():
        params = list(init)  # plain tensors, watched (tf.function allows no new tf.Variable per call)
        for _ in range(common.W9_STEPS):
            with tf.GradientTape() as tape:
                tape.watch(params)
                K1, c1, K2, c2, W, b = params
                h1 = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(X, K1, 1, "VALID") + c1), 2, 2, "VALID")
                h2 = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(h1, K2, 1, "VALID") + c2), 2, 2, "VALID")
                logits = tf.reshape(h2, [32, 800]) @ W + b
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
            grads = tape.gradient(loss, params)
            params = [p - common.W9_LR * g for p, g in zip(params, grads)]
        return [loss] + params
    return maybe_function(work, jit)

if __name__ == "__main__":
    common.main({
        "W1": w1,
        "W2": chain(lambda y, x: tf.sin(y) * 0.9 + x * 0.1),
        "W2b": chain(lambda y, x: tf.tanh(y * 0.9 + x * 0.1)),
        "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7,
        "W9": w9,
        "W8": "not written yet: Keras's Adam rounds lr and the betas through float32, so its checksum differs by ~1e-6",
    }, to_numpy=lambda r: r.numpy(), jit_supported=True)
