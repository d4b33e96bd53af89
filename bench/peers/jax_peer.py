"""JAX, float64 on the CPU: eager (op by op, no jit) by default; `--jit` compiles the work with jax.jit.
See common.py for the protocol."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import common
import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)


def ready(tree):
    return jax.block_until_ready(tree)


def maybe_jit(fn, jit):
    return jax.jit(fn) if jit else fn


def w1(inp, jit):
    grad = maybe_jit(jax.grad(lambda x: jnp.sum(x ** 2)), jit)
    return lambda: ready(grad(jnp.array([1.0, 2.0, 3.0], dtype=jnp.float64)))


def chain(step):
    def prepare(inp, jit):
        if jit:
            # Compiled, the loop is a lax.fori_loop (a Python loop would unroll 20000 steps).
            def f(x):
                return jax.lax.fori_loop(0, common.W2_STEPS, lambda i, y: step(y, x), x)
        else:
            def f(x):
                y = x
                for _ in range(common.W2_STEPS):
                    y = step(y, x)
                return y
        value_and_grad = maybe_jit(jax.value_and_grad(f), jit)
        return lambda: ready(value_and_grad(jnp.float64(common.W2_X)))
    return prepare


def w3(inp, jit):
    X, Y = jnp.asarray(inp["X"]), jnp.asarray(inp["Y"])

    def loss_fn(params):
        W1, b1, W2, b2 = params
        return jnp.mean((jnp.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2)

    def step(params):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        return loss, tuple(p - common.W3_LR * g for p, g in zip(params, grads))

    step = maybe_jit(step, jit)  # with --jit, one compiled step called 50 times, as JAX users write it

    def work():
        params = tuple(jnp.asarray(inp[k]) for k in ("W1", "b1", "W2", "b2"))
        for _ in range(common.W3_STEPS):
            loss, params = step(params)
        return ready([loss, *params])
    return work


def w4(inp, jit):
    A, x = jnp.asarray(inp["A"]), jnp.asarray(inp["x"])
    jac = maybe_jit(jax.jacrev(lambda x: jnp.tanh(A @ x)), jit)
    return lambda: ready(jac(x))


def w5(inp, jit):
    A, x = jnp.asarray(inp["A"]), jnp.asarray(inp["x"])
    hess = maybe_jit(jax.hessian(lambda x: jnp.sum(jnp.tanh(A @ x) ** 2)), jit)
    return lambda: ready(hess(x))


def w6(inp, jit):
    A, B = jnp.asarray(inp["A"]), jnp.asarray(inp["B"])
    grads = maybe_jit(jax.grad(lambda A, B: jnp.sum(A @ B), argnums=(0, 1)), jit)
    return lambda: ready(grads(A, B))


def w7(inp, jit):
    A, x, v = (jnp.asarray(inp[k]) for k in ("A", "x", "v"))
    grad_f = jax.grad(lambda x: jnp.sum(jnp.tanh(A @ x) ** 2))

    def hvp(x, v):  # the gradient of the gradient, seeded with v: a vector-Jacobian product of grad_f
        _, pullback = jax.vjp(grad_f, x)
        return pullback(v)[0]
    hvp = maybe_jit(hvp, jit)
    return lambda: ready(hvp(x, v))


def w8(inp, jit):
    X, labels = jnp.asarray(inp["X"]), jnp.asarray(inp["labels"]).astype(jnp.int32)

    def loss_fn(params):
        W1, b1, W2, b2 = params
        logp = jax.nn.log_softmax(jnp.tanh(X @ W1 + b1) @ W2 + b2, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    def step(params, ms, vs, alpha):  # Keras's Adam
        loss, grads = jax.value_and_grad(loss_fn)(params)
        ms = tuple(m + (g - m) * (1 - common.W8_BETA1) for m, g in zip(ms, grads))
        vs = tuple(v + (g * g - v) * (1 - common.W8_BETA2) for v, g in zip(vs, grads))
        params = tuple(p - alpha * m / (jnp.sqrt(v) + common.W8_EPSILON) for p, m, v in zip(params, ms, vs))
        return loss, params, ms, vs

    step = maybe_jit(step, jit)  # with --jit, one compiled step called 100 times

    def work():
        params = tuple(jnp.asarray(inp[k]) for k in ("W1", "b1", "W2", "b2"))
        ms = tuple(jnp.zeros_like(p) for p in params)
        vs = ms
        for i in range(1, common.W8_STEPS + 1):
            loss, params, ms, vs = step(params, ms, vs, jnp.float64(common.adam_alpha(i)))
        return ready([loss, *params])
    return work


def w9(inp, jit):
    X, labels = jnp.asarray(inp["X"]), jnp.asarray(inp["labels"]).astype(jnp.int32)

    def conv(x, k):
        return jax.lax.conv_general_dilated(x, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def loss_fn(params):
        K1, c1, K2, c2, W, b = params
        h1 = pool(jax.nn.relu(conv(X, K1) + c1))
        h2 = pool(jax.nn.relu(conv(h1, K2) + c2))
        logp = jax.nn.log_softmax(h2.reshape(32, 800) @ W + b, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    def step(params):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        return loss, tuple(p - common.W9_LR * g for p, g in zip(params, grads))

    step = maybe_jit(step, jit)  # with --jit, one compiled step called 20 times

    def work():
        params = tuple(jnp.asarray(inp[k]) for k in ("K1", "c1", "K2", "c2", "W", "b"))
        for _ in range(common.W9_STEPS):
            loss, params = step(params)
        return ready([loss, *params])
    return work


if __name__ == "__main__":
    import numpy as np
    common.main({
        "W1": w1,
        "W2": chain(lambda y, x: jnp.sin(y) * 0.9 + x * 0.1),
        "W2b": chain(lambda y, x: jnp.tanh(y * 0.9 + x * 0.1)),
        "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W8": w8, "W9": w9,
    }, to_numpy=np.asarray, jit_supported=True)
