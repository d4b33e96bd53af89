"""micrograd (karpathy), scalar Values. It runs W1 and W2b; the rest it cannot run (see SKIPPED).
See common.py for the protocol."""
import math
import sys

import common
from micrograd.engine import Value

# micrograd's backward() sorts the graph recursively: a 20000-step chain is ~100000 frames deep.
sys.setrecursionlimit(1_000_000)


def tanh(v):
    """micrograd 0.1.0 has no tanh; this one is written as micrograd writes its ops (as in its lecture)."""
    t = math.tanh(v.data)
    out = Value(t, (v,), "tanh")

    def _backward():
        v.grad += (1 - t * t) * out.grad
    out._backward = _backward
    return out


def w1(inp, jit):
    def work():
        xs = [Value(1.0), Value(2.0), Value(3.0)]
        y = sum(x ** 2 for x in xs)
        y.backward()
        return [x.grad for x in xs]
    return work


def w2b(inp, jit):
    def work():
        x = Value(common.W2_X)
        y = x
        for _ in range(common.W2_STEPS):
            y = tanh(y * 0.9 + x * 0.1)
        y.backward()
        return y.data, x.grad
    return work


SKIPPED = {
    "W2": "micrograd has no sin",
    "W3": "scalar Values: 50 steps of a 256x64 @ 64x256 MLP are ~10^9 Python objects",
    "W4": "no jacobian; 256 backward passes over 65536 scalar Values",
    "W5": "no second-order derivatives (backward is not recorded)",
    "W6": "scalar Values: a 1024x1024 matrix product is 10^9 Python objects",
    "W7": "no second-order derivatives (backward is not recorded)",
    "W8": "scalar Values: 100 steps of a 128x784 @ 784x256 MLP are ~10^10 Python objects",
}

if __name__ == "__main__":
    common.main({"W1": w1, "W2b": w2b, **SKIPPED})
