#pragma once
// How an allreduce_mean bucket gets its sums over the processes (built with
// MPI only; not installed). Two transports, one result:
// - shared_memory, when every process of the job runs on this machine: the
//   bucket is an MPI-3 shared-memory window (MPI_Win_allocate_shared), so the
//   gradients are written where every process can read them. Once all have
//   written theirs, each process sums its 1/N of the bucket over all the
//   windows, in rank order, and writes the sums into every window. Nothing is
//   sent: each value is read once and written N times, where MPI's ring over
//   shared memory copies every byte in and out of its buffers four times.
// - mpi: MPI's own allreduce, one persistent non-blocking request per bucket,
//   started after the bucket's last gradient and progressed between steps.
// GRAPHNN_ALLREDUCE=auto|mpi|shared_memory chooses (auto: shared_memory when
// the job is on one machine), so the two can be compared on the same job.
#include <cstddef>
#include <memory>
#include <string>

#include "graphnn/op.hpp"

namespace graphnn::allreduce_transport {

// "shared_memory" or "mpi" for GRAPHNN_ALLREDUCE's value `setting` ("" when
// unset: auto) in a job of `processes`, `here` of them on this machine.
// Throws Error for a value it does not know, or for shared_memory when the
// job spans several machines.
std::string choose(const std::string& setting, int here, int processes);
// choose() for this job and environment, once.
std::string chosen();
// What the buckets made so far use: "shared_memory", "mpi", or "shared_memory
// and mpi" when some fell back to MPI for want of room; chosen() before any.
std::string in_use();

// A bucket of `size` elements with its own storage. scaled_inputs: the inputs
// are divided by the process count already, so the bucket only sums. A
// collective call: every process makes the same buckets in the same order.
template <class T>
std::unique_ptr<typename Collective<T>::Bucket> make_bucket(std::size_t size, bool scaled_inputs);

}  // namespace graphnn::allreduce_transport
