"""What every peer script shares: arguments, inputs, timing and the checksum lines.

A peer script is run as

    bench/.venv/bin/python bench/peers/<tool>_peer.py WORKLOAD [--jit]

from the repository root. It prints, on stdout:

    CHECKSUM v1 v2 ...      the workload's checksum (see CHECKSUMS), 17 significant digits
    TIME_S t                seconds for the work alone: after imports and input loading
    TIME_WARM_S t           a second call in the same process (caches warm, compilation done); printed
                            for --jit rows, and for others when the first call took under WARM_LIMIT_S

or `SKIP reason` and exit status 3 when the tool cannot run that workload.
"""
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "bench", "data")

# The inputs each workload reads from bench/data (written by bench/make_inputs.py).
INPUTS = {
    "W1": [], "W2": [], "W2b": [],
    "W3": ["W3_X", "W3_Y", "W3_W1", "W3_b1", "W3_W2", "W3_b2"],
    "W4": ["W4_A", "W4_x"],
    "W5": ["W5_A", "W5_x"],
    "W6": ["W6_A", "W6_B"],
    "W7": ["W7_A", "W7_x", "W7_v"],
    "W8": ["W8_X", "W8_labels", "W8_W1", "W8_b1", "W8_W2", "W8_b2"],
    "W9": ["W9_X", "W9_labels", "W9_K1", "W9_c1", "W9_K2", "W9_c2", "W9_W", "W9_b"],
}

WARM_LIMIT_S = 2.0
# Workloads whose goal is stated against the warm time: it is measured however long the first call took.
ALWAYS_WARM = {"W8", "W9"}
W2_STEPS = 20000
W2_X = 0.5
W3_STEPS = 50
W3_LR = 0.1
W8_STEPS = 100
W9_STEPS = 20
W9_LR = 0.05
# Keras 3's Adam defaults; the peers write its update as Keras does (epsilon outside the bias correction):
#   m += (g - m)(1 - b1); v += (g² - v)(1 - b2); w -= lr·sqrt(1 - b2^t)/(1 - b1^t) · m / (sqrt(v) + eps)
W8_LR, W8_BETA1, W8_BETA2, W8_EPSILON = 1e-3, 0.9, 0.999, 1e-7


def adam_alpha(t):
    """Keras's step size at step t (1-based)."""
    return W8_LR * (1 - W8_BETA2 ** t) ** 0.5 / (1 - W8_BETA1 ** t)


def _sums(a):
    a = np.asarray(a, dtype=np.float64)
    return [float(np.sum(a)), float(np.sum(a * a))]


# A workload's result (what its work returns, as arrays) -> its checksum, the same numbers the
# last statement of bench/workloads/Wn.tape computes.
CHECKSUMS = {
    "W1": lambda g: _sums(g),
    "W2": lambda r: [float(np.asarray(r[0])), float(np.asarray(r[1]))],
    "W2b": lambda r: [float(np.asarray(r[0])), float(np.asarray(r[1]))],
    "W3": lambda r: [float(np.asarray(r[0]))] + _sums(r[1]) + [float(np.sum(r[2]))] + _sums(r[3]) + [float(np.sum(r[4]))],
    "W4": lambda J: _sums(J),
    "W5": lambda H: _sums(H),
    "W6": lambda r: _sums(r[0]) + _sums(r[1]),
    "W7": lambda hv: _sums(hv),
    "W8": lambda r: [float(np.asarray(r[0]))] + _sums(r[1]) + [float(np.sum(r[2]))] + _sums(r[3]) + [float(np.sum(r[4]))],
    "W9": lambda r: ([float(np.asarray(r[0]))] + _sums(r[1]) + [float(np.sum(r[2]))] + _sums(r[3]) + [float(np.sum(r[4]))]
                     + _sums(r[5]) + [float(np.sum(np.asarray(r[6]) ** 2))]),  # sum(b) is ~1e-17: its square instead
}


def load_inputs(workload):
    return {name.split("_", 1)[1]: np.load(os.path.join(DATA, name + ".npy")) for name in INPUTS[workload]}


def skip(reason):
    print(f"SKIP {reason}")
    sys.stdout.flush()
    sys.exit(3)


def main(workloads, to_numpy=np.asarray, jit_supported=False):
    """`workloads[W](inputs, jit)` prepares the work and returns a callable doing it.

    The callable returns the workload's result arrays, already computed (the peer blocks on
    asynchronous results inside it); `to_numpy` turns each into a NumPy array.
    A workload missing from `workloads`, or mapped to a string (the reason), is skipped.
    """
    args = sys.argv[1:]
    jit = "--jit" in args
    names = [a for a in args if not a.startswith("--")]
    if len(names) != 1 or names[0] not in INPUTS:
        sys.exit(f"usage: {sys.argv[0]} W1|W2|W2b|W3|W4|W5|W6|W7|W8|W9 [--jit]")
    workload = names[0]
    if jit and not jit_supported:
        skip("no --jit variant for this tool")
    prepare = workloads.get(workload, "not implemented for this tool")
    if isinstance(prepare, str):
        skip(prepare)
    inputs = load_inputs(workload)
    work = prepare(inputs, jit)

    start = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - start

    if isinstance(result, (tuple, list)):
        result = [to_numpy(r) for r in result]
    else:
        result = to_numpy(result)
    checksum = CHECKSUMS[workload](result)
    print("CHECKSUM " + " ".join(f"{v:.17g}" for v in checksum))
    print(f"TIME_S {elapsed:.6f}")
    if jit or elapsed < WARM_LIMIT_S or workload in ALWAYS_WARM:
        start = time.perf_counter()
        work()
        print(f"TIME_WARM_S {time.perf_counter() - start:.6f}")
    sys.stdout.flush()
