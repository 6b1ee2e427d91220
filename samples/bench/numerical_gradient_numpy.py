#!/usr/bin/env python3
"""Seed 003's own numpy numerical gradient, timed (the reference for graphnn's).

The TwoLayerNet (784-50-10, sigmoid, softmax + cross-entropy, weights
N(0, 0.01)) and numerical_gradient are the textbook's code; the batch is the
first 100 Fashion-MNIST training images. It visits --params parameters in the
textbook's order (W1, b1, W2, b2, one element at a time; 0 = all 39760) and
prints the time and the time extrapolated to every parameter, for comparison
with `two_layer_digits --numeric-params N` (same h, same batch size):

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 samples/bench/numerical_gradient_numpy.py --params 1000
  OPENBLAS_NUM_THREADS=1 build/samples/two_layer_digits/two_layer_digits --numeric-params 1000 --epochs 1
"""
import argparse
import gzip
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
    args = p.parse_args()
    with gzip.open(args.images) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)[: 100 * 784].reshape(100, 784) / 255.0
    with gzip.open(args.labels) as f:
        t = np.frombuffer(f.read(), np.uint8, offset=8)[:100].astype(np.int64)
    np.random.seed(1)
    net = TwoLayerNet(784, 50, 10)
    total = sum(v.size for v in net.params.values())
    budget = total if args.params <= 0 else args.params
    start = time.perf_counter()
    visited = 0
    for key in ("W1", "b1", "W2", "b2"):
        _, done = numerical_gradient(lambda _: net.loss(x, t), net.params[key], budget - visited)
        visited += done
    seconds = time.perf_counter() - start
    print(f"numpy (seed 003 code): {visited} of {total} parameters in {seconds:.3f} s, "
          f"so about {seconds / visited * total:.1f} s for all")


if __name__ == "__main__":
    main()
