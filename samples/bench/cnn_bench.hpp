#pragma once
// graphnn-bench --workload cnn (cnn_bench.cpp): the conv_fashion network's training step.
int cnn_bench_main(int argc, char** argv);
