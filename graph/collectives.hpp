#pragma once
// The planner's part for ops that work across processes (Collective in
// graphnn/op.hpp, e.g. allreduce_mean): the run order that starts their
// communication early, the input an op may overwrite, the buckets laid out
// back to back in their own storage (no copy into a fusion buffer), and the
// start/wait schedule every run follows. Session's planner calls these at a
// few points; without collective ops they change nothing. Not installed.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "graphnn/graph.hpp"

namespace graphnn::collectives {

// Moves each collective step to just after the step that writes the last of
// its inputs, so its bucket can start while the rest of the pass runs. The
// order stays topological; without collectives it is unchanged.
template <class T>
void run_early(const Graph<T>& g, std::vector<NodeId>& order);

// Per node, the input whose storage its output is, or -1 for its own:
// alias_input(), else may_overwrite_input() when that input's storage is a
// computed buffer that no other step reads and no fetch returns.
template <class T>
std::vector<int> shared_inputs(const Graph<T>& g, const std::vector<NodeId>& order, const std::vector<NodeId>& fetches,
                               bool keep_all);

// One bucket: the storage of its members (collective nodes), back to back.
struct BucketLayout {
  std::vector<NodeId> members;  // in run order
  std::vector<NodeId> roots;    // their storage, placed in this order
  std::size_t size = 0;         // elements
  std::size_t start_after = 0;  // index of the last member's step
  std::size_t wait_before = 0;  // index of the first step that reads a member; the step count: the end of the run
};

// Groups neighbouring collective steps into buckets: a bucket closes when the
// next member would not fit in bucket_bytes(), is another operation, or comes
// after a step that already reads the bucket. `root` is per node its storage
// (liveness), `sizes` per node its element count.
template <class T>
std::vector<BucketLayout> group(const Graph<T>& g, const std::vector<NodeId>& order, const std::vector<NodeId>& root,
                                const std::vector<std::size_t>& sizes);

// A plan's buckets: made when it is compiled, started and waited around the
// steps of every run without allocating.
template <class T>
class Schedule {
 public:
  using Bucket = typename Collective<T>::Bucket;
  // `steps`: the plan's step count.
  void add(std::unique_ptr<Bucket> bucket, const BucketLayout& layout, std::size_t steps);
  bool empty() const { return entries_.empty(); }
  void before(std::size_t step) const;
  void after(std::size_t step) const;
  // Waits for every bucket still in flight (the end of a run).
  void finish() const;
  // The run stopped early with an error: tells the buckets (Bucket::run_interrupted).
  void interrupted(const std::string& why) const;

 private:
  struct Entry {
    std::unique_ptr<Bucket> bucket;
    mutable bool in_flight = false;
  };
  void wait(const Entry& e) const;
  std::vector<Entry> entries_;
  std::vector<std::vector<std::size_t>> start_after_, wait_before_;  // per step: entry indices
};

}  // namespace graphnn::collectives
