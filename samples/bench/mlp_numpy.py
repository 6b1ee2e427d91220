#!/usr/bin/python3
"""Plain-numpy MLP training step, written the way the textbook seeds do it
(seeds 001 and 004): weights stored (out, in), forward x @ W.T + b, hidden
activation, linear output, MSE (mean) or softmax + cross-entropy with the fused
(p - onehot)/B gradient, backward by hand (d.T @ a_prev, d @ W, activation
derivative), plain SGD update in place. The loss value is computed every step.
The input layer gets no gradient (as in the textbook and in torch).

Example:
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 samples/bench/mlp_numpy.py --layers 784,256,10 \
      --batch 128 --steps 100 --dtype float32
  /usr/bin/python3 samples/bench/mlp_numpy.py --workload a --steps 20000

Prints one JSON line. Threads: OPENBLAS_NUM_THREADS in the environment.
"""
import numpy as np

import _common as C


def main():
    a = C.parse_args()
    dt = np.dtype(a.dtype)
    xs64, ys64 = C.make_data(a)
    xs = [x.astype(dt) for x in xs64]
    if a.loss == "ce":
        ys = [y.astype(np.int64) for y in ys64]
    else:
        ys = [y.astype(dt) for y in ys64]
    W64, b64 = C.make_params(a)
    Ws = [w.astype(dt) for w in W64]
    bs = [b.astype(dt) for b in b64]
    L = len(Ws)
    lr = a.lr
    rows = np.arange(a.batch)

    if a.act == "relu":
        act = lambda z: np.maximum(0, z)
        act_back = lambda h, d: (h > 0) * d
    elif a.act == "tanh":
        act = np.tanh
        act_back = lambda h, d: (1 - h * h) * d
    else:
        act = lambda z: 1 / (1 + np.exp(-z))
        act_back = lambda h, d: h * (1 - h) * d

    def step(i):
        x, y = xs[i], ys[i]
        # forward
        outs = [x]
        h = x
        for l in range(L):
            z = h @ Ws[l].T + bs[l]
            h = act(z) if l < L - 1 else z
            outs.append(h)
        out = outs[-1]
        # loss and output gradient
        if a.loss == "ce":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            r = rows[: len(y)]
            loss = -np.log(p[r, y]).mean()
            d = p
            d[r, y] -= 1
            d /= len(y)
        else:
            diff = out - y
            loss = (diff ** 2).mean()
            d = 2 * diff / diff.size
        # backward + SGD
        for l in reversed(range(L)):
            h_prev = outs[l]
            dW = d.T @ h_prev
            db = np.sum(d, axis=0)
            if l > 0:
                d = act_back(h_prev, d @ Ws[l])
            Ws[l] -= dW * lr
            bs[l] -= db * lr
        return loss

    per, l0, l1 = C.time_steps(step, len(xs), a)
    assert Ws[0].dtype == dt, Ws[0].dtype
    C.record(a, "numpy", "textbook", per, l0, l1, dict(threads_setting="OPENBLAS_NUM_THREADS"))


if __name__ == "__main__":
    main()
