#!/bin/bash
# Instructions per training step inside Session::run_targets, counted by
# callgrind: the difference of two runs of N1 and N2 steps (same warm-up)
# divided by N2 - N1, so start-up and compilation cancel out. Counts hold on a
# noisy shared machine where times do not.
#   samples/bench/instructions_per_step.sh build/samples/bench/graphnn-bench b float 1000 2000
set -euo pipefail
if [ $# -ne 5 ]; then
  echo "usage: $0 <graphnn-bench> <workload a|b|c|d> <float|double> <steps N1> <steps N2>" >&2
  exit 2
fi
bench=$1 workload=$2 dtype=$3 n1=$4 n2=$5
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
instructions() {
  OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
    --toggle-collect='*Session*run_targets*' "$bench" --workload "$workload" --dtype "$dtype" \
    --steps "$1" --reps 1 --warmup 10 >/dev/null 2>&1
  callgrind_annotate "$out/cg.$1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
first=$(instructions "$n1")
second=$(instructions "$n2")
echo "$workload $dtype: $(( (second - first) / (n2 - n1) )) instructions per step"
