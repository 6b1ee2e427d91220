#!/usr/bin/python3
"""The conv_fashion network in PyTorch eager mode, for graphnn-bench --workload cnn.

Same layers as samples/conv_fashion (conv 5x5x16 "same", batch norm, relu, max
pool 2; conv 5x5x32 the same; dense 128, relu; dense 10), in PyTorch's own NCHW
layout; cross-entropy on class ids, Adam (lr 1e-3), float32. One training step
(zero_grad, forward, backward, step) on 8 cycled random batches, timed in
--reps repetitions of --steps steps after --warmup steps; prints one JSON line.

Threads: --threads N calls torch.set_num_threads(N); run with
OPENBLAS_NUM_THREADS=1 as well so both sides use one thread:
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 samples/bench/cnn_torch.py --threads 1
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def network(f1, f2, kernel, dense):
    pad = kernel // 2
    return nn.Sequential(
        nn.Conv2d(1, f1, kernel, padding=pad), nn.BatchNorm2d(f1, eps=1e-3, momentum=0.1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(f1, f2, kernel, padding=pad), nn.BatchNorm2d(f2, eps=1e-3, momentum=0.1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * f2, dense), nn.ReLU(), nn.Linear(dense, 10))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--filters1", type=int, default=16)
    p.add_argument("--filters2", type=int, default=32)
    p.add_argument("--kernel", type=int, default=5)
    p.add_argument("--dense", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = network(a.filters1, a.filters2, a.kernel, a.dense).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    xs = [torch.rand(a.batch, 1, 28, 28) for _ in range(8)]
    ys = [torch.randint(0, 10, (a.batch,)) for _ in range(8)]

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = crit(model(xs[i % 8]), ys[i % 8])
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    per = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for i in range(a.steps):
            loss = step(i)
        per.append((time.perf_counter() - t0) / a.steps * 1e6)
    print(json.dumps(dict(bench="cnn", impl="torch", variant="eager", batch=a.batch, dtype="float32",
                          layers="conv%dx%dx%d,pool2,conv%dx%dx%d,pool2,dense%d,dense10" % (
                              a.kernel, a.kernel, a.filters1, a.kernel, a.kernel, a.filters2, a.dense),
                          threads=torch.get_num_threads(), us_per_step_median=statistics.median(per),
                          us_per_step_all=per, loss_last=float(loss), torch=torch.__version__)))


if __name__ == "__main__":
    main()
