#!/usr/bin/env python3
"""Writes the benchmark inputs as float64 .npy files under bench/data/ (fixed seed).

    python3 bench/make_inputs.py [--force]

Every tool reads the same files: tapebook with load("bench/data/W3_X.npy"), the peers through
bench/peers/common.py. Existing files are kept unless --force.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def inputs():
    rng = np.random.default_rng(20240601)

    def normal(*shape, scale=1.0):
        return rng.standard_normal(shape) * scale

    yield "W3_X", normal(256, 64)
    yield "W3_Y", normal(256, 10)
    yield "W3_W1", normal(64, 256, scale=1 / np.sqrt(64))
    yield "W3_b1", np.zeros(256)
    yield "W3_W2", normal(256, 10, scale=1 / np.sqrt(256))
    yield "W3_b2", np.zeros(10)
    yield "W4_A", normal(256, 256, scale=1 / np.sqrt(256))
    yield "W4_x", normal(256)
    yield "W5_A", normal(128, 128, scale=1 / np.sqrt(128))
    yield "W5_x", normal(128)
    yield "W6_A", normal(1024, 1024)
    yield "W6_B", normal(1024, 1024)
    yield "W7_A", normal(512, 512, scale=1 / np.sqrt(512))
    yield "W7_x", normal(512)
    yield "W7_v", normal(512)
    # W8 (drawn after the others, so theirs keep their values): MNIST-sized inputs, 10 class indices.
    yield "W8_X", normal(128, 784)
    yield "W8_labels", rng.integers(0, 10, 128).astype(np.float64)
    yield "W8_W1", normal(784, 256, scale=1 / np.sqrt(784))
    yield "W8_b1", np.zeros(256)
    yield "W8_W2", normal(256, 10, scale=1 / np.sqrt(256))
    yield "W8_b2", np.zeros(10)
    # W9 (after W8, so earlier inputs keep their values): a batch of 28x28 images, NHWC, and a small CNN.
    yield "W9_X", normal(32, 28, 28, 1)
    yield "W9_labels", rng.integers(0, 10, 32).astype(np.float64)
    yield "W9_K1", normal(3, 3, 1, 16, scale=1 / 3)
    yield "W9_c1", np.zeros(16)
    yield "W9_K2", normal(3, 3, 16, 32, scale=1 / 12)
    yield "W9_c2", np.zeros(32)
    yield "W9_W", normal(800, 10, scale=1 / np.sqrt(800))
    yield "W9_b", np.zeros(10)


def main():
    force = "--force" in sys.argv[1:]
    os.makedirs(DATA, exist_ok=True)
    written = 0
    for name, array in inputs():  # NOTE: always draw every array, so each keeps its values
        path = os.path.join(DATA, name + ".npy")
        if force or not os.path.exists(path):
            np.save(path, np.ascontiguousarray(array, dtype="<f8"))
            written += 1
    print(f"bench/data: {written} file(s) written", file=sys.stderr)


if __name__ == "__main__":
    main()
