#!/usr/bin/env python3
"""Ring-allreduce cost model for data-parallel training (README, "Data-parallel
training over MPI"): per step, each of N machines sends and receives
2 (N - 1) / N x the gradient bytes, in 2 (N - 1) steps of one latency each:

    t_comm(N) = 2 (N - 1) / N x bytes / bandwidth + 2 (N - 1) x latency

It hides behind the backward pass while t_comm <= b x t_backward_per_sample
(b: rows per machine), so the smallest per-machine batch that still hides it is
b* = t_comm / t_backward_per_sample. Prints markdown tables.

usage: allreduce_cost.py [--d-backward-us X] [--cnn-backward-us Y]
  X: workload d's backward time per sample, float32, one thread (default: 2/3 of the README's 29.12 ms / 256)
  Y: the CNN's (default: 2/3 of its 66 MFLOP per sample at 30 GFLOP/s)
"""
import argparse
import math

def mlp_params(widths):
    return sum(a * b + b for a, b in zip(widths, widths[1:]))

# issue 13's CNN: conv 5x5x32, pool, conv 5x5x64, pool ("same" padding), dense 128, dense 10, batch norm
# (scale and shift) after each convolution.
CNN_PARAMS = (5 * 5 * 1 * 32 + 32) + (5 * 5 * 32 * 64 + 64) + (7 * 7 * 64 * 128 + 128) + (128 * 10 + 10) + 2 * (32 + 64)
CNN_FLOP_PER_SAMPLE = 3 * 2 * (28 * 28 * 32 * 25 + 14 * 14 * 64 * 25 * 32 + 7 * 7 * 64 * 128 + 128 * 10)

p = argparse.ArgumentParser()
p.add_argument("--d-backward-us", type=float, default=29.12e3 / 256 * 2 / 3)
p.add_argument("--cnn-backward-us", type=float, default=CNN_FLOP_PER_SAMPLE / 30e9 * 1e6 * 2 / 3)
a = p.parse_args()

models = [("workload d (784-1024-1024-10)", mlp_params([784, 1024, 1024, 10]), a.d_backward_us),
          ("CNN of issue 13", CNN_PARAMS, a.cnn_backward_us)]
links = [("10 Gb/s", 10e9 / 8, 50e-6), ("100 Gb/s", 100e9 / 8, 5e-6)]  # TCP over Ethernet; RDMA
machines = [2, 4, 8, 16, 32, 64]

for name, params, backward_us in models:
    size = params * 4  # float32 gradients
    print(f"\n{name}: {params:,} parameters, {size / 1e6:.2f} MB of float32 gradients; "
          f"backward {backward_us:.1f} us per sample\n")
    print("| link (latency) | " + " | ".join(f"N={n}" for n in machines) + " |")
    print("|---|" + "---|" * len(machines))
    for link, bandwidth, latency in links:
        cells = []
        for n in machines:
            t = 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * latency
            cells.append(f"{t * 1e3:.2f} ms, b* {math.ceil(t * 1e6 / backward_us)}")
        print(f"| {link} ({latency * 1e6:g} us) | " + " | ".join(cells) + " |")
