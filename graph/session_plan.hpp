#pragma once
// Session<T>::Plan, shared by the files that implement Session (not installed).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "collectives.hpp"
#include "graphnn/session.hpp"
#include "passes/program.hpp"

namespace graphnn {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

template <class T>
struct Session<T>::Step {
  const Op<T>* op;
  std::vector<const Buffer<T>*> inputs;
  Buffer<T>* out;
  NodeId node;  // in the plan's program
  OpState* state;  // the session's state for the op (Op::make_state), or nullptr
};

template <class T>
struct Session<T>::Plan {
  std::vector<NodeId> fetches;  // the user's nodes, as asked
  std::size_t batch_size = 0;
  PassOptions passes;
  passes::Program<T> program;  // what runs: the user's nodes after the passes
  passes::PassReport report;
  std::vector<Buffer<T>> buffers;  // per node of the program; sized once: steps point into it
  std::vector<Step> steps;
  std::vector<std::pair<Node<T>, Buffer<T>*>> placeholders;  // the user's placeholder, its buffer
  std::vector<const Buffer<T>*> fetched;
  std::vector<NodeId> variables;  // the user's variables the plan reads or writes
  std::unique_ptr<T, AlignedFree> arena;
  std::size_t arena_bytes = 0;
  collectives::Schedule<T> collectives;  // its buckets own their members' storage
  std::unique_ptr<Plan> reference;  // PassOptions::verify: the same fetches without passes
  std::uint64_t last_use = 0;  // the session's clock_ when it last ran
};

}  // namespace graphnn
