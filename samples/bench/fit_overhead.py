#!/usr/bin/env python3
"""How much Sequential::fit adds to the session steps it runs, from perf samples.

Runs `graphnn-bench --mode fit` under `perf record --call-graph dwarf` and
splits the samples taken inside Sequential::fit: in Session::run_targets (the
training steps themselves), in the batch gather (BatchIterator), in the
checkpoint's evaluation, and elsewhere. Sample shares come from one process
at one time, so unlike two timings they do not move with the load of a
shared machine. Needs perf (Debian's linux-perf).

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 samples/bench/fit_overhead.py build/samples/bench/graphnn-bench
"""
import argparse
import os
import subprocess
import tempfile


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench", help="the graphnn-bench binary")
    p.add_argument("--workload", default="c")
    p.add_argument("--dtype", default="float")
    p.add_argument("--steps", type=int, default=160)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        subprocess.run(["perf", "record", "--call-graph", "dwarf", "-F", "1000", "-o", data, args.bench,
                        "--workload", args.workload, "--dtype", args.dtype, "--mode", "fit",
                        "--steps", str(args.steps), "--reps", str(args.reps)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        script = subprocess.run(["perf", "script", "-i", data], check=True, capture_output=True, text=True).stdout
    counts = {"steps": 0, "gather": 0, "checkpoint": 0, "other": 0}
    for sample in script.split("\n\n"):
        if "::Impl::fit" not in sample:
            continue
        if "::run_targets" in sample:
            counts["steps"] += 1
        elif "BatchIterator<" in sample:
            counts["gather"] += 1
        elif "Impl::evaluate" in sample:
            counts["checkpoint"] += 1
        else:
            counts["other"] += 1
    steps = counts["steps"]
    if steps == 0:
        raise SystemExit("no samples inside Session::run_targets (is perf allowed here?)")
    print(f"samples in fit: {sum(counts.values())}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"per step, over the session step: {100 * (counts['gather'] + counts['other']) / steps:.1f}% "
          f"(batch gather {100 * counts['gather'] / steps:.1f}%)")
    print(f"with the checkpoints at the end of each fit: {100 * (sum(counts.values()) - steps) / steps:.1f}%")


if __name__ == "__main__":
    main()
