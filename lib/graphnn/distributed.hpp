#pragma once
// Data-parallel training: the processes a program runs on. Under mpirun (with
// graphnn built with MPI) every process holds the whole model and trains on
// its shard of each batch; without it there is one process, rank 0 of 1, and
// everything here is the plain single-process behaviour. Sequential::fit uses
// it, so a program written for one process runs unchanged under mpirun; a
// raw-graph program calls it directly.
#include <cstddef>
#include <functional>
#include <string>

#include "graphnn/data.hpp"
#include "graphnn/session.hpp"

namespace graphnn::distributed {

// This process's rank and the number of processes (MPI is initialised on the
// first call under mpirun, finalised at exit).
int rank();
int size();
inline bool is_root() { return rank() == 0; }
// Returns when every process has called it.
void barrier();
// How allreduce_mean's buckets sum over the processes: "shared_memory" (every
// process on this machine: MPI-3 shared windows, nothing sent), "mpi" (MPI's
// allreduce), "shared_memory and mpi" (some buckets found no room in shared
// memory) or "none" (one process); before any bucket is made, what they will
// use. GRAPHNN_ALLREDUCE=auto|mpi|shared_memory in the environment chooses;
// auto takes shared memory where it can.
std::string allreduce_transport();
// Runs `work` (writing a file, say) on rank 0 alone. Every process returns
// once it has run, or throws what it threw (on the others as an Error naming
// rank 0), so none goes on without the file and none waits for one that failed.
void on_root(const std::function<void()>& work);
// Sums `count` values over the processes, in place (metrics).
void sum(double* values, std::size_t count);
// Throws the same Error on every process unless `text` (a description: names
// and shapes) is the same on all; the 64-bit digests are compared first, the
// texts exchanged only to explain a mismatch. `what` names it in the message.
void check_same(const std::string& what, const std::string& text);
// Ends every process of the job, printing "graphnn: rank R of N: <why>": for a
// program that catches an error under mpirun (an uncaught exception does this
// by itself), so the other ranks do not wait for it forever.
[[noreturn]] void abort(const std::string& why);

// "name[dims]; ..." of the variables: what check_same compares between processes.
template <class T>
std::string describe_variables(const Nodes<T>& variables);
// check_same of the variables' names and shapes, then rank 0's values on every process.
template <class T>
void broadcast_variables(Session<T>& session, const Nodes<T>& variables);
// `x`'s mean over the processes (allreduce_mean), or `x` in one process: for
// values every process must share (BatchNorm's batch moments).
template <class T>
Node<T> mean_over_processes(const Node<T>& x);
// Each gradient averaged over the processes (mean_over_processes), or the
// gradients themselves in one process.
template <class T>
Nodes<T> average_gradients(const Nodes<T>& gradients);

// This process's rows of each global batch. BatchIterator makes global
// batches of batch_size x size() rows, in the same order on every process
// (same seed); rank r takes rows [r b, (r + 1) b). A global batch of m < that
// rows (the last of an epoch) gives every process ceil(m / size()) rows,
// wrapping round to its first rows, so every process runs the same number of
// steps on batches of the same size: none waits for a step another never takes.
template <class T>
class ShardedBatches {
 public:
  ShardedBatches(const xt::xarray<T>& x, const xt::xarray<T>& y, std::size_t batch_size, bool shuffle, unsigned seed,
                 int rank, int size);
  bool next();
  void reset() { global_.reset(); }
  xt::xarray<T>& x_batch() { return size_ == 1 ? global_.x_batch() : last_ ? x_last_ : x_full_; }
  xt::xarray<T>& y_batch() { return size_ == 1 ? global_.y_batch() : last_ ? y_last_ : y_full_; }
  std::size_t batches_per_epoch() const { return global_.batches_per_epoch(); }
  // The global batches (their shuffled order and generator: what a checkpoint keeps).
  BatchIterator<T>& global() { return global_; }
  const BatchIterator<T>& global() const { return global_; }

 private:
  BatchIterator<T> global_;
  std::size_t rank_, size_;
  bool last_ = false;
  xt::xarray<T> x_full_, y_full_, x_last_, y_last_;
};

}  // namespace graphnn::distributed
