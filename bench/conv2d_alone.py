#!/usr/bin/env python3
"""conv2d alone, tapebook against PyTorch's CPU convolution, on W9's two float64 shapes.

    bench/conv2d_alone.py [--reps N] [--threads T]

Each side runs N repetitions of the forward convolution and both gradients (input and filter, seeded
with a fixed cotangent: PyTorch's grad_outputs, tapebook's `seed`) in one process; the figure is the time per repetition, the median over 5
processes, both as wall time and as CPU time (user + system, all threads: on a machine shared with other
builds the wall time mostly measures the neighbours). tapebook's is its in-process `TIME_S` (`run --time`),
and its process's CPU time, less those of the same file with the convolution taken out, so start-up and
loading are left out on both sides. Checks that both give the
same sums first. Run from anywhere; writes nothing.
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
SHAPES = {  # name: (x shape NHWC, k shape HWIO), as in W9
    "conv1 [32,28,28,1] * [3,3,1,16]": ((32, 28, 28, 1), (3, 3, 1, 16)),
    "conv2 [32,13,13,16] * [3,3,16,32]": ((32, 13, 13, 16), (3, 3, 16, 32)),
}


def arg(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def main():
    # 200: PyTorch's side is timed warm (after one call), tapebook's `repeat` includes its first repetition
    # (OpenBLAS opening, first allocations), which 20 or 30 repetitions do not amortise.
    reps, threads = arg("--reps", 200), arg("--threads", 0)
    import torch
    if threads:
        torch.set_num_threads(threads)
    binary = os.environ.get("TAPEBOOK_BIN", os.path.join(REPO, ".build", "release", "tapebook"))
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        for label, (xs, ks) in SHAPES.items():
            x, k = rng.standard_normal(xs), rng.standard_normal(ks)
            oshape = (xs[0], xs[1] - ks[0] + 1, xs[2] - ks[1] + 1, ks[3])
            s = rng.standard_normal(oshape)
            for n, a in (("x", x), ("k", k), ("s", s)):
                np.save(os.path.join(tmp, n + ".npy"), a)
            # PyTorch: NCHW; the same work as tapebook's (forward, then both gradients).
            X = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
            K = torch.tensor(k.transpose(3, 2, 0, 1).copy(), requires_grad=True)
            S = torch.tensor(s.transpose(0, 3, 1, 2).copy())

            def once():
                y = torch.nn.functional.conv2d(X, K)
                return torch.autograd.grad(y, (X, K), grad_outputs=S)
            gx, gk = once()
            ref = [float(torch.sum(gx * gx)), float(torch.sum(gk * gk))]
            times, cpus = [], []
            for _ in range(5):
                start, cpu = time.perf_counter(), time.process_time()
                for _ in range(reps):
                    once()
                times.append((time.perf_counter() - start) / reps)
                cpus.append((time.process_time() - cpu) / reps)
            torch_ms, torch_cpu = statistics.median(times) * 1000, statistics.median(cpus) * 1000

            def tape(with_conv):
                # `seed s` is PyTorch's grad_outputs=S: the same work on both sides (before 2026-12-07 this was
                # grad sum(conv2d(x, k) * s), which added a product and a sum over the output to tapebook's side).
                body = ("  gx, gk = grad conv2d(x, k) wrt x, k seed s\n" if with_conv else "  gx, gk = grad sum(x * 2) + sum(k * 2) wrt x, k\n")
                path = os.path.join(tmp, f"t{int(with_conv)}.tape")
                with open(path, "w") as f:
                    f.write(f'var x = load("{tmp}/x.npy");\nvar k = load("{tmp}/k.npy");\ns = load("{tmp}/s.npy");\n'
                            f"repeat {reps} <\n{body}>\n[sum(gx^2), sum(gk^2)]\n")
                return path
            tb = {}
            for with_conv in (True, False):
                path, runs, cpus = tape(with_conv), [], []
                for _ in range(5):
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    p = subprocess.run([binary, "run", "--time", "--json", path], capture_output=True, text=True)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                    runs.append(float(re.findall(r"^TIME_S\s+(\S+)", p.stderr, re.M)[-1]))
                    out = p.stdout
                tb[with_conv] = (statistics.median(runs), out, statistics.median(cpus))
            got = json.loads(tb[True][1].strip().splitlines()[-1])["result"]["data"]
            agree = all(abs(a - b) <= 1e-9 * abs(b) for a, b in zip(got, ref))
            tb_ms = (tb[True][0] - tb[False][0]) / reps * 1000
            tb_cpu = (tb[True][2] - tb[False][2]) / reps * 1000
            print(f"{label}: wall: tapebook {tb_ms:.2f} ms, PyTorch {torch_ms:.2f} ms, ratio {tb_ms / torch_ms:.2f}x; "
                  f"CPU: tapebook {tb_cpu:.2f} ms, PyTorch {torch_cpu:.2f} ms, ratio {tb_cpu / torch_cpu:.2f}x "
                  f"(PyTorch threads {torch.get_num_threads()}); sums {'agree' if agree else f'DIFFER {got} {ref}'}")


if __name__ == "__main__":
    main()
