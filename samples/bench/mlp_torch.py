#!/usr/bin/python3
"""The same MLP as mlp_numpy.py in torch.nn: Sequential(Linear, act, ...,
Linear), CrossEntropyLoss or MSELoss (mean), torch.optim.SGD (no momentum).
Same initial weights and batches as mlp_numpy.py (copied in), so loss_first /
loss_last are comparable.

Variants (--variants, comma list, each timed in this process, one JSON line each):
  eager   the module as written
  script  torch.jit.script(model); backward via autograd, optimizer eager
  trace   torch.jit.trace(model, x0); same

Threads: --threads N calls torch.set_num_threads(N) (intra-op, OpenMP);
OpenBLAS (which torch's Debian build uses for matmul) follows
OPENBLAS_NUM_THREADS in the environment.

Example:
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 samples/bench/mlp_torch.py --workload c \
      --threads 1 --steps 100 --dtype float32 --variants eager,script,trace
"""
import numpy as np
import torch
import torch.nn as nn

import _common as C


def extra_args(p):
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--variants", default="eager,script,trace")


def build(a, dt):
    W64, b64 = C.make_params(a)
    mods = []
    for l, (w, b) in enumerate(zip(W64, b64)):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
        if l < len(W64) - 1:
            mods.append({"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[a.act]())
    return nn.Sequential(*mods).to(dt)


def main():
    a = C.parse_args(extra_args)
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    dt = {"float32": torch.float32, "float64": torch.float64}[a.dtype]
    xs64, ys64 = C.make_data(a)
    xs = [torch.from_numpy(x).to(dt).contiguous() for x in xs64]
    if a.loss == "ce":
        ys = [torch.from_numpy(y).long() for y in ys64]
        crit = nn.CrossEntropyLoss()
    else:
        ys = [torch.from_numpy(y).to(dt) for y in ys64]
        crit = nn.MSELoss()

    for variant in a.variants.split(","):
        model = build(a, dt)
        params = list(model.parameters())
        try:
            if variant == "script":
                model = torch.jit.script(model)
            elif variant == "trace":
                model = torch.jit.trace(model, (xs[0],))
            elif variant != "eager":
                raise ValueError(variant)
        except Exception as e:  # report, don't die
            print('{"bench":"mlp","impl":"torch","variant":"%s","error":%r}' % (variant, str(e)))
            continue
        opt = torch.optim.SGD(params, lr=a.lr)

        def step(i):
            opt.zero_grad(set_to_none=True)
            out = model(xs[i])
            loss = crit(out, ys[i])
            loss.backward()
            opt.step()
            return loss.detach()

        per, l0, l1 = C.time_steps(step, len(xs), a)
        assert params[0].dtype == dt
        C.record(a, "torch", variant, per, l0.item(), l1.item(),
                 dict(torch_threads=torch.get_num_threads(), torch=torch.__version__))


if __name__ == "__main__":
    main()
