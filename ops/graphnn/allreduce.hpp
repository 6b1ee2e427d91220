#pragma once
// Collective ops for data-parallel training (built when graphnn is built with
// MPI: GRAPHNN_HAVE_MPI in graphnn/config.hpp). Run the same program on every
// process (mpirun -np N); the plans are static, so every process issues the
// same collectives in the same order with no negotiation.
#include <cstddef>

#include "graphnn/node.hpp"

namespace graphnn {

// The mean of `x` over the processes of the job (x itself in one process).
// Put it on each gradient before the update: the session groups neighbouring
// ones into buckets of at most `bucket_bytes` laid out contiguously, starts a
// bucket right after its last gradient is computed and waits for it before
// the first step that reads it. A bucket sums through shared memory when the
// job is on one machine, else by MPI's allreduce (GRAPHNN_ALLREDUCE chooses;
// see gn::distributed::allreduce_transport). Gradient: the mean of the
// incoming gradient.
template <class T>
Node<T> allreduce_mean(const Node<T>& x, std::size_t bucket_bytes = std::size_t{4} << 20);

}  // namespace graphnn
