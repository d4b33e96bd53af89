"""PyTorch, eager, float64 on the CPU. See common.py for the protocol."""
import common
import torch

f64 = torch.float64


def t(a, grad=False):
    return torch.tensor(a, dtype=f64, requires_grad=grad)


def w1(inp, jit):
    def work():
        x = t([1.0, 2.0, 3.0], grad=True)
        y = torch.sum(x ** 2)
        (g,) = torch.autograd.grad(y, x)
        return g
    return work


def chain(step):
    def prepare(inp, jit):
        def work():
            x = t(common.W2_X, grad=True)
            y = x
            for _ in range(common.W2_STEPS):
                y = step(y, x)
            (g,) = torch.autograd.grad(y, x)
            return y.detach(), g
        return work
    return prepare


def w3(inp, jit):
    X, Y = t(inp["X"]), t(inp["Y"])
    def work():
        params = [t(inp[k], grad=True) for k in ("W1", "b1", "W2", "b2")]
        W1, b1, W2, b2 = params
        for _ in range(common.W3_STEPS):
            loss = torch.mean((torch.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= common.W3_LR * g
        return [loss.detach()] + [p.detach() for p in params]
    return work


def w4(inp, jit):
    A, x = t(inp["A"]), t(inp["x"])
    return lambda: torch.func.jacrev(lambda x: torch.tanh(A @ x))(x)


def w5(inp, jit):
    A, x = t(inp["A"]), t(inp["x"])
    return lambda: torch.func.hessian(lambda x: torch.sum(torch.tanh(A @ x) ** 2))(x)


def w6(inp, jit):
    A, B = t(inp["A"], grad=True), t(inp["B"], grad=True)
    def work():
        return torch.autograd.grad(torch.sum(A @ B), (A, B))
    return work


def w7(inp, jit):
    A, v = t(inp["A"]), t(inp["v"])
    def work():
        x = t(inp["x"], grad=True)
        (g,) = torch.autograd.grad(torch.sum(torch.tanh(A @ x) ** 2), x, create_graph=True)
        (hv,) = torch.autograd.grad(g, x, grad_outputs=v)
        return hv
    return work


def w8(inp, jit):
    X, labels = t(inp["X"]), torch.tensor(inp["labels"], dtype=torch.long)
    def work():
        params = [t(inp[k], grad=True) for k in ("W1", "b1", "W2", "b2")]
        W1, b1, W2, b2 = params
        ms = [torch.zeros_like(p) for p in params]
        vs = [torch.zeros_like(p) for p in params]
        for step in range(1, common.W8_STEPS + 1):
            loss = torch.nn.functional.cross_entropy(torch.tanh(X @ W1 + b1) @ W2 + b2, labels)
            grads = torch.autograd.grad(loss, params)
            alpha = common.adam_alpha(step)
            with torch.no_grad():  # Keras's Adam, in place (torch.optim.Adam puts epsilon elsewhere)
                for p, g, m, v in zip(params, grads, ms, vs):
                    m.add_(g - m, alpha=1 - common.W8_BETA1)
                    v.add_(g * g - v, alpha=1 - common.W8_BETA2)
                    p.sub_(alpha * m / (v.sqrt() + common.W8_EPSILON))
        return [loss.detach()] + [p.detach() for p in params]
    return work


def w9(inp, jit):
    F = torch.nn.functional
    X = t(inp["X"]).permute(0, 3, 1, 2).contiguous()  # NCHW, PyTorch's layout
    labels = torch.tensor(inp["labels"], dtype=torch.long)
    def work():
        # Kernels as [out, in, kh, kw]; the flatten goes back to NHWC so W's rows match tapebook's order.
        K1 = t(inp["K1"].transpose(3, 2, 0, 1), grad=True)
        K2 = t(inp["K2"].transpose(3, 2, 0, 1), grad=True)
        params = [K1, t(inp["c1"], grad=True), K2, t(inp["c2"], grad=True), t(inp["W"], grad=True), t(inp["b"], grad=True)]
        _, c1, _, c2, W, b = params
        for _ in range(common.W9_STEPS):
            h1 = F.max_pool2d(torch.relu(F.conv2d(X, K1, c1)), 2)
            h2 = F.max_pool2d(torch.relu(F.conv2d(h1, K2, c2)), 2)
            loss = F.cross_entropy(h2.permute(0, 2, 3, 1).reshape(32, 800) @ W + b, labels)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.sub_(common.W9_LR * g)
        return [loss.detach(), K1.detach().permute(2, 3, 1, 0)] + [p.detach() for p in params[1:]]
    return work


if __name__ == "__main__":
    common.main({
        "W1": w1,
        "W2": chain(lambda y, x: torch.sin(y) * 0.9 + x * 0.1),
        "W2b": chain(lambda y, x: torch.tanh(y * 0.9 + x * 0.1)),
        "W3": w3, "W4": w4, "W5": w5, "W6": w6, "W7": w7, "W8": w8, "W9": w9,
    }, to_numpy=lambda r: r.detach().numpy())
