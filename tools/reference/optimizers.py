# Reference numbers for Tests/TapeLanguageTests/OptimizerTests.swift: 100 steps of each optimizer on one
# least-squares problem, by Keras 3's formulas in float64 (NumPy) and by tf.keras.optimizers.
# Run with the environment of HELPERS.md: /work/pyenv/bin/python tools/reference/optimizers.py
import numpy as np
X = np.array([[1.0, 2.0, -1.0], [0.5, -1.5, 2.0], [-2.0, 0.3, 1.0], [1.5, 1.0, 0.5]])
Y = np.array([1.0, -2.0, 0.5, 3.0])
def grads(w, b):
    r = X @ w + b - Y
    return 2 * X.T @ r / len(Y), 2 * r.sum() / len(Y)
configs = {
 "sgd(0.05)": ("sgd", dict(lr=0.05, momentum=0, nesterov=False)),
 "sgd(0.05, momentum=0.9)": ("sgd", dict(lr=0.05, momentum=0.9, nesterov=False)),
 "sgd(0.05, momentum=0.9, nesterov=1)": ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True)),
 "adam(0.01)": ("adam", dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-7, amsgrad=False)),
 "adam(0.05, amsgrad=1)": ("adam", dict(lr=0.05, beta1=0.9, beta2=0.999, eps=1e-7, amsgrad=True)),
 "adam(0.05)": ("adam", dict(lr=0.05, beta1=0.9, beta2=0.999, eps=1e-7, amsgrad=False)),
 "rmsprop()": ("rmsprop", dict(lr=0.001, rho=0.9, momentum=0, eps=1e-7)),
 "rmsprop(0.001, momentum=0.5)": ("rmsprop", dict(lr=0.001, rho=0.9, momentum=0.5, eps=1e-7)),
 "adagrad(0.1)": ("adagrad", dict(lr=0.1, init=0.1, eps=1e-7)),
}
def run(kind, c, steps=100):
    ps = [np.array([1.0, -2.0, 0.5]), np.array(0.3)]
    slots = [dict(), dict()]
    for t in range(1, steps + 1):
        gs = grads(*ps)
        for i, (p, g) in enumerate(zip(ps, gs)):
            s = slots[i]
            if kind == "sgd":
                if c["momentum"] != 0:
                    m = s.get("m", np.zeros_like(p))
                    m = m * c["momentum"] - g * c["lr"]
                    s["m"] = m
                    p = p + (m * c["momentum"] - g * c["lr"] if c["nesterov"] else m)
                else:
                    p = p - g * c["lr"]
            elif kind == "adam":
                m = s.get("m", np.zeros_like(p)); v = s.get("v", np.zeros_like(p)); vh = s.get("vh", np.zeros_like(p))
                alpha = c["lr"] * np.sqrt(1 - c["beta2"] ** t) / (1 - c["beta1"] ** t)
                m = m + (g - m) * (1 - c["beta1"]); v = v + (g * g - v) * (1 - c["beta2"])
                vv = v
                if c["amsgrad"]: vh = np.maximum(vh, v); vv = vh
                p = p - m * alpha / (np.sqrt(vv) + c["eps"])
                s.update(m=m, v=v, vh=vh)
            elif kind == "rmsprop":
                v = s.get("v", np.zeros_like(p)); mo = s.get("mo", np.zeros_like(p))
                v = c["rho"] * v + (1 - c["rho"]) * g * g
                inc = c["lr"] * g / np.sqrt(v + c["eps"])
                if c["momentum"] > 0:
                    mo = c["momentum"] * mo + inc; p = p - mo
                else:
                    p = p - inc
                s.update(v=v, mo=mo)
            elif kind == "adagrad":
                a = s.get("a", np.full_like(p, c["init"]))
                a = a + g * g
                p = p - c["lr"] * g / np.sqrt(a + c["eps"])
                s["a"] = a
            ps[i] = p
    return ps
import tensorflow as tf
def keras(kind, c, steps=100):
    w = tf.Variable(np.array([1.0, -2.0, 0.5]), dtype=tf.float64); b = tf.Variable(0.3, dtype=tf.float64)
    if kind == "sgd": o = tf.keras.optimizers.SGD(learning_rate=c["lr"], momentum=float(c["momentum"]), nesterov=c["nesterov"])
    if kind == "adam": o = tf.keras.optimizers.Adam(learning_rate=c["lr"], amsgrad=c["amsgrad"])
    if kind == "rmsprop": o = tf.keras.optimizers.RMSprop(learning_rate=c["lr"], momentum=float(c["momentum"]))
    if kind == "adagrad": o = tf.keras.optimizers.Adagrad(learning_rate=c["lr"])
    Xt = tf.constant(X); Yt = tf.constant(Y)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((tf.linalg.matvec(Xt, w) + b - Yt) ** 2)
        gw, gb = tape.gradient(loss, [w, b])
        o.apply_gradients([(gw, w), (gb, b)])
    return [w.numpy(), b.numpy()]

for name, (kind, c) in configs.items():
    ref = run(kind, c); k = keras(kind, c)
    flat = list(ref[0]) + [float(ref[1])]; kflat = list(k[0]) + [float(k[1])]
    rel = max(abs(a - b) for a, b in zip(flat, kflat)) / max(abs(a) for a in flat)
    print('OUT ("%s", [%s], [%s]), // keras differs by %.1e' % (name, ", ".join(repr(float(v)) for v in flat), ", ".join(repr(float(v)) for v in kflat), rel))
