#!/usr/bin/env python3
"""graphnn-bench against the anchor benches next to this script, in one run.

Runs, for each workload and dtype, graphnn-bench (whose JSON includes the GEMM
limit timed in the same process), the textbook numpy step and PyTorch eager,
in R interleaved rounds with the same OPENBLAS_NUM_THREADS, and prints a
Markdown table of medians (of the per-process medians) and ratios.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 samples/bench/compare.py --rounds 3

--bench defaults to build/samples/bench/graphnn-bench of this checkout and
--anchors (mlp_numpy.py, mlp_torch.py) to this script's folder. Use Debian's
/usr/bin/python3 (the anchors need its numpy and torch); an anchor
that cannot run is reported as n/a.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def run_json(cmd, env):
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(REPO, "build", "samples", "bench", "graphnn-bench"))
    p.add_argument("--anchors", default=HERE, help="the folder of mlp_numpy.py and mlp_torch.py")
    p.add_argument("--workloads", default="a,b,c,d")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-torch", action="store_true")
    args = p.parse_args()
    env = dict(os.environ)
    threads = env.setdefault("OPENBLAS_NUM_THREADS", "1")
    python = "/usr/bin/python3"

    results = {}  # (workload, dtype, impl) -> [per-process median]
    limits = {}   # (workload, dtype) -> [gemm limit medians]
    for _ in range(args.rounds):
        for w in args.workloads.split(","):
            reps = ["--steps", "20", "--reps", "3"] if w == "d" else []
            # A step of a or b takes about a microsecond: 200 steps are too short a
            # repetition to time (the first microseconds after another process ran
            # are slow), so graphnn's repetitions run 20,000 steps there.
            graphnn_reps = ["--steps", "20000", "--reps", "7"] if w in ("a", "b") else reps
            for dt in args.dtypes.split(","):
                g = run_json([args.bench, "--workload", w, "--dtype", "float" if dt == "float32" else "double"] + graphnn_reps, env)
                if g:
                    results.setdefault((w, dt, "graphnn"), []).append(g["us_per_step_median"])
                    limits.setdefault((w, dt), []).append(g["gemm_limit_us_median"])
                n = run_json([python, os.path.join(args.anchors, "mlp_numpy.py"), "--workload", w, "--dtype", dt] + reps, env)
                if n:
                    results.setdefault((w, dt, "numpy"), []).append(n["us_per_step_med"])
                if not args.no_torch:
                    t = run_json([python, os.path.join(args.anchors, "mlp_torch.py"), "--workload", w, "--dtype", dt,
                                  "--threads", "1", "--variants", "eager"] + reps, env)
                    if t:
                        results.setdefault((w, dt, "torch"), []).append(t["us_per_step_med"])

    def med(key, table=results):
        v = table.get(key)
        return statistics.median(v) if v else None

    def fmt(us):
        if us is None:
            return "n/a"
        return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.2f} µs"

    def ratio(a, b):
        return f"{a / b:.2f}" if a and b else "n/a"

    print(f"OPENBLAS_NUM_THREADS={threads}, {args.rounds} rounds, load average {os.getloadavg()[0]:.2f} at the end\n")
    print("| workload | dtype | graphnn | GEMM limit | limit / graphnn | numpy | numpy / graphnn | torch eager | torch / graphnn |")
    print("|---|---|---|---|---|---|---|---|---|")
    for w in args.workloads.split(","):
        for dt in args.dtypes.split(","):
            g, lim = med((w, dt, "graphnn")), med((w, dt), limits)
            n, t = med((w, dt, "numpy")), med((w, dt, "torch"))
            print(f"| {w} | {dt} | {fmt(g)} | {fmt(lim)} | {ratio(lim, g)} | {fmt(n)} | {ratio(n, g)} | {fmt(t)} | {ratio(t, g)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
