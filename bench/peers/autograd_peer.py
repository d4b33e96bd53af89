"""autograd (HIPS), on NumPy float64. See common.py for the protocol."""
import autograd.numpy as anp
import common
from autograd import grad, hessian, jacobian, make_vjp, value_and_grad


def w1(inp, jit):
    g = grad(lambda x: anp.sum(x ** 2))
    return lambda: g(anp.array([1.0, 2.0, 3.0]))


def chain(step):
    def prepare(inp, jit):
        def f(x):
            y = x
            for _ in range(common.W2_STEPS):
                y = step(y, x)
            return y
        return lambda: value_and_grad(f)(common.W2_X)
    return prepare


def w3(inp, jit):
    X, Y = inp["X"], inp["Y"]

    def loss_fn(params):
        W1, b1, W2, b2 = params
        return anp.mean((anp.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2)

    def work():
        params = tuple(inp[k] for k in ("W1", "b1", "W2", "b2"))
        for _ in range(common.W3_STEPS):
            loss, grads = value_and_grad(loss_fn)(params)
            params = tuple(p - common.W3_LR * g for p, g in zip(params, grads))
        return [loss, *params]
    return work


def w4(inp, jit):
    A, x = inp["A"], inp["x"]
    return lambda: jacobian(lambda x: anp.tanh(A @ x))(x)


def w5(inp, jit):
    A, x = inp["A"], inp["x"]
    return lambda: hessian(lambda x: anp.sum(anp.tanh(A @ x) ** 2))(x)


def w6(inp, jit):
    A, B = inp["A"], inp["B"]
    return lambda: grad(lambda AB: anp.sum(AB[0] @ AB[1]))((A, B))


def w7(inp, jit):
    A, x, v = inp["A"], inp["x"], inp["v"]
    grad_f = grad(lambda x: anp.sum(anp.tanh(A @ x) ** 2))

    def work():
        pullback, _ = make_vjp(grad_f)(x)  # the gradient of the gradient, seeded with v
        return pullback(v)
    return work


def w8(inp, jit):
    import numpy as np
    X, labels = inp["X"], inp["labels"].astype(int)
    rows = np.arange(len(labels))

    def loss_fn(params):
        W1, b1, W2, b2 = params
        z = anp.tanh(X @ W1 + b1) @ W2 + b2
        shift = anp.max(z, axis=1, keepdims=True)
        logp = z - shift - anp.log(anp.sum(anp.exp(z - shift), axis=1, keepdims=True))
        return -anp.mean(logp[rows, labels])

    def work():
        params = tuple(inp[k] for k in ("W1", "b1", "W2", "b2"))
        ms = tuple(np.zeros_like(p) for p in params)
        vs = ms
        for i in range(1, common.W8_STEPS + 1):  # Keras's Adam
            loss, grads = value_and_grad(loss_fn)(params)
            ms = tuple(m + (g - m) * (1 - common.W8_BETA1) for m, g in zip(ms, grads))
            vs = tuple(v + (g * g - v) * (1 - common.W8_BETA2) for v, g in zip(vs, grads))
            alpha = common.adam_alpha(i)
            params = tuple(p - alpha * m / (np.sqrt(v) + common.W8_EPSILON) for p, m, v in zip(params, ms, vs))
        return [loss, *params]
    return work


if __name__ == "__main__":
    common.main({
        "W1": w1,
        "W2": chain(lambda y, x: anp.sin(y) * 0.9 + x * 0.1),
        "W2b": chain(lambda y, x: anp.tanh(y * 0.9 + x * 0.1)),
        "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W8": w8,
    })
