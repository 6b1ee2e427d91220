#!/usr/bin/env python3
"""Seed 003's own numpy numerical gradient, timed (the reference for graphnn's).

The TwoLayerNet (784-50-10, sigmoid, softmax + cross-entropy, weights
N(0, 0.01)) and numerical_gradient are the textbook's code; the batch is the
first 100 Fashion-MNIST training images. It visits --params parameters in the
textbook's order (W1, b1, W2, b2, one element at a time; 0 = all 39760) and
prints the time and the time extrapolated to every parameter. With --graphnn
it then runs graphnn's version of the same numerical gradient
(`two_layer_digits --numeric-params N`: same network, h, batch size and
parameter count, each loss evaluation through gn::element_function) and
prints both times and their ratio, measured in the same run:

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 samples/bench/numerical_gradient_numpy.py --params 0 \
      --graphnn build/samples/two_layer_digits/two_layer_digits
"""
import argparse
import gzip
import os
import re
import subprocess
import tempfile
import time

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t, eps=1e-7):
    if t.size == y.size:
        t = t.argmax(axis=1)
    return -np.sum(np.log(y[np.arange(y.shape[0]), t] + eps)) / y.shape[0]


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {
            "W1": weight_init_std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": weight_init_std * np.random.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }

    def predict(self, x):
        z1 = sigmoid(np.dot(x, self.params["W1"]) + self.params["b1"])
        return softmax(np.dot(z1, self.params["W2"]) + self.params["b2"])

    def loss(self, x, t):
        return cross_entropy_error(self.predict(x), t)


def numerical_gradient(f, x, budget, h=1e-4):
    """The textbook's loop over x's elements, stopping after `budget` of them."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    done = 0
    while not it.finished and done < budget:
        idx = it.multi_index
        tmp = x[idx]
        x[idx] = tmp + h
        y1 = f(x)
        x[idx] = tmp - h
        y2 = f(x)
        grad[idx] = (y1 - y2) / (2 * h)
        x[idx] = tmp
        done += 1
        it.iternext()
    return grad, done


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", type=int, default=1000, help="parameters to visit (0: all)")
    p.add_argument("--images", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    p.add_argument("--labels", default="/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")
    p.add_argument("--graphnn", metavar="TWO_LAYER_DIGITS",
                   help="also time graphnn's numerical gradient with this two_layer_digits binary")
    p.add_argument("--rounds", type=int, default=1, help="alternate numpy and graphnn this many times (medians)")
    args = p.parse_args()
    with gzip.open(args.images) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)[: 100 * 784].reshape(100, 784) / 255.0
    with gzip.open(args.labels) as f:
        t = np.frombuffer(f.read(), np.uint8, offset=8)[:100].astype(np.int64)
    numpy_s, graphnn_s = [], []
    for _ in range(max(1, args.rounds)):
        seconds, visited, total = time_numpy(x, t, args.params)
        numpy_s.append(seconds / visited * total)
        print(f"numpy (seed 003 code): {visited} of {total} parameters in {seconds:.3f} s, "
              f"so about {numpy_s[-1]:.2f} s for all", flush=True)
        if args.graphnn:
            seconds, visited, total = time_graphnn(args.graphnn, args.params)
            graphnn_s.append(seconds / visited * total)
            print(f"graphnn (two_layer_digits): {visited} of {total} parameters in {seconds:.3f} s, "
                  f"so about {graphnn_s[-1]:.3f} s for all", flush=True)
    if graphnn_s:
        n, g = sorted(numpy_s)[len(numpy_s) // 2], sorted(graphnn_s)[len(graphnn_s) // 2]
        print(f"every parameter (medians of {len(numpy_s)}): numpy {n:.2f} s, graphnn {g:.3f} s, "
              f"graphnn is {n / g:.1f}x faster")


def time_numpy(x, t, params):
    np.random.seed(1)
    net = TwoLayerNet(784, 50, 10)
    total = sum(v.size for v in net.params.values())
    budget = total if params <= 0 else params
    start = time.perf_counter()
    visited = 0
    for key in ("W1", "b1", "W2", "b2"):
        _, done = numerical_gradient(lambda _: net.loss(x, t), net.params[key], budget - visited)
        visited += done
    return time.perf_counter() - start, visited, total


def time_graphnn(binary, params):
    """Runs the sample with as little else as it allows and reads its timing line."""
    with tempfile.TemporaryDirectory() as out:
        text = subprocess.run([binary, "--numeric-params", str(params), "--epochs", "1", "--limit", "100",
                               "--check-samples", "1", "--train-eval-rows", "100", "--out", out],
                              check=True, capture_output=True, text=True, env=dict(os.environ)).stdout
    m = re.search(r"(\d+) of (\d+) parameters in ([\d.e+-]+) (s|ms|us)", text)
    if not m:
        raise SystemExit("no timing line in the output of " + binary + ":\n" + text)
    scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6}[m.group(4)]
    return float(m.group(3)) * scale, int(m.group(1)), int(m.group(2))


if __name__ == "__main__":
    main()
