#!/usr/bin/env python3
"""Samples per second of workload d on 1 process and on N under mpirun, in one run.

Alternates R rounds of `graphnn-bench --workload d` alone and under
`mpirun -np N ... --distributed 1` (the same global batch, one OpenBLAS thread
per process), then prints the medians, the speed-up, the allreduce time per
step, each rank's compute alone (a core that runs slower paces every step)
and the share of the allreduce hidden behind computation. Extra mpirun options
(for example `--mca btl_vader_single_copy_mechanism none`) go after `--`.

  /usr/bin/python3 samples/bench/data_parallel_scaling.py --rounds 3 -- --mca btl_vader_single_copy_mechanism none
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
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(REPO, "build", "samples", "bench", "graphnn-bench"))
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workload", default="d")
    p.add_argument("mpirun_options", nargs="*", help="after --: passed to mpirun")
    args = p.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    timing = ["--workload", args.workload, "--steps", "10", "--reps", "5", "--warmup", "3"]
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    mpirun = ["mpirun", *root, "--oversubscribe", "-np", str(args.processes), "-x", "OPENBLAS_NUM_THREADS",
              *args.mpirun_options]
    one, many = [], []
    for _ in range(args.rounds):
        one.append(run_json([args.bench, *timing], env))
        many.append(run_json([*mpirun, args.bench, *timing, "--distributed", "1"], env))

    def med(runs, key):
        return statistics.median(r[key] for r in runs)

    def rounds(runs):
        return ", ".join(f"{r['samples_per_s']:.0f}" for r in runs)

    s1, sn = med(one, "samples_per_s"), med(many, "samples_per_s")
    print(f"workload {args.workload}, {args.rounds} alternating rounds, one OpenBLAS thread per process, "
          f"load average {os.getloadavg()[0]:.2f} at the end; mpirun options: {' '.join(args.mpirun_options) or 'none'}; "
          f"allreduce transport: {many[0]['allreduce_transport']}")
    print(f"1 process: {med(one, 'us_per_step_median') / 1000:.2f} ms per step, {s1:.0f} samples/s "
          f"(rounds: {rounds(one)})")
    print(f"{args.processes} processes: {med(many, 'us_per_step_median') / 1000:.2f} ms per step, {sn:.0f} samples/s "
          f"(rounds: {rounds(many)})")
    by_rank = [statistics.median(r["compute_us_per_step_by_rank"][k] for r in many) / 1000
               for k in range(args.processes)]
    print(f"speed-up {sn / s1:.2f}x; per step: compute alone by rank {', '.join(f'{v:.2f}' for v in by_rank)} ms "
          f"(every step waits for the slowest), allreduce alone {med(many, 'allreduce_us_per_step') / 1000:.2f} ms, "
          f"hidden share {med(many, 'hidden_share'):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
