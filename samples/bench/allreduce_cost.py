#!/usr/bin/env python3
"""Ring-allreduce cost model for data-parallel training (README, "Data-parallel
training over MPI"): per step, each of N machines sends and receives
2 (N - 1) / N x the gradient bytes, in 2 (N - 1) steps of one latency each:

    t_comm(N) = 2 (N - 1) / N x bytes / bandwidth + 2 (N - 1) x latency

It hides behind the backward pass while t_comm <= b x t_backward_per_sample
(b: rows per machine), so the smallest per-machine batch that still hides it is
b* = t_comm / t_backward_per_sample. The backward pass is taken as 2/3 of a
measured training step (its products are twice the forward's). Prints markdown
tables.

usage: allreduce_cost.py [--d-step-ms X] [--cnn-step-ms Y]
  X: workload d's step, float32, batch 256, one OpenBLAS thread
     (default: data_parallel_scaling.py's one process, 2026-12-03)
  Y: the CNN's step (graphnn-bench --workload cnn), float32, batch 64, one thread
     (default: the README's median, 2026-12-02)
"""
import argparse
import math


def mlp_params(widths):
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


def conv_params(kernel, channels_in, filters):
    return kernel * kernel * channels_in * filters + filters


# The CNN that graphnn-bench --workload cnn and samples/conv_fashion train: conv 5x5x16 "same", BatchNorm
# (scale and shift), pool 2; conv 5x5x32 the same; dense 128; dense 10.
CNN_PARAMS = (conv_params(5, 1, 16) + 2 * 16 + conv_params(5, 16, 32) + 2 * 32 +
              mlp_params([7 * 7 * 32, 128, 10]))

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--d-step-ms", type=float, default=23.0)
p.add_argument("--cnn-step-ms", type=float, default=22.0)
a = p.parse_args()

models = [("workload d (784-1024-1024-10)", mlp_params([784, 1024, 1024, 10]), a.d_step_ms, 256),
          ("CNN (conv_fashion's network)", CNN_PARAMS, a.cnn_step_ms, 64)]
links = [("10 Gb/s", 10e9 / 8, 50e-6), ("100 Gb/s", 100e9 / 8, 5e-6)]  # TCP over Ethernet; RDMA
machines = [2, 4, 8, 16, 32, 64]

for name, params, step_ms, batch in models:
    size = params * 4  # float32 gradients
    backward_us = step_ms * 1e3 / batch * 2 / 3
    print(f"\n{name}: {params:,} parameters, {size / 1e6:.2f} MB of float32 gradients; "
          f"step {step_ms:g} ms at batch {batch}, backward {backward_us:.1f} us per sample\n")
    print("| link (latency) | " + " | ".join(f"N={n}" for n in machines) + " |")
    print("|---|" + "---|" * len(machines))
    for link, bandwidth, latency in links:
        cells = []
        for n in machines:
            t = 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * latency
            cells.append(f"{t * 1e3:.2f} ms, b* {math.ceil(t * 1e6 / backward_us)}")
        print(f"| {link} ({latency * 1e6:g} us) | " + " | ".join(cells) + " |")
