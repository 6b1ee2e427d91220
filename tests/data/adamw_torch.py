#!/usr/bin/python3
"""Reference weights for tests/test_optimizers.cpp's AdamW case, from PyTorch.

Five steps of torch.optim.AdamW in float64 on W (2x3) with
loss = sum(W * C) + 0.5 * sum(W * W), so the gradient C + W changes every step.
Prints the weights after each step as the C++ initialiser the test pastes in.
Run: /usr/bin/python3 tests/data/adamw_torch.py
"""
import torch

W0 = [[0.5, -1.0, 2.0], [0.25, -0.75, 1.5]]
C = [[0.3, -0.7, 1.1], [-0.2, 0.9, -1.3]]
CONFIGS = [  # lr, beta1, beta2, eps, weight_decay
    (0.05, 0.9, 0.99, 1e-8, 0.5),
    (0.01, 0.8, 0.999, 0.1, 0.01),
]


def run(lr, beta1, beta2, eps, weight_decay, steps=5):
    w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(C, dtype=torch.float64)
    opt = torch.optim.AdamW([w], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = (w * c).sum() + 0.5 * (w * w).sum()
        loss.backward()
        opt.step()
        out.append(w.detach().clone().reshape(-1).tolist())
    return out


print(f"// torch {torch.__version__}")
for cfg in CONFIGS:
    print("{" + ", ".join(repr(v) for v in cfg) + ",")
    print(" {" + ",\n  ".join("{" + ", ".join(repr(x) for x in row) + "}" for row in run(*cfg)) + "}},")
