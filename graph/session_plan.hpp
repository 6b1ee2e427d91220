#pragma once
// Session<T>::Plan, shared by the files that implement Session (not installed).
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "graphnn/session.hpp"

namespace graphnn {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

template <class T>
struct Session<T>::Step {
  const Op<T>* op;
  std::vector<const Buffer<T>*> inputs;
  Buffer<T>* out;
  int node;
};

template <class T>
struct Session<T>::Plan {
  std::vector<int> fetches;
  std::size_t batch_size = 0;
  std::vector<Buffer<T>> buffers;  // sized once: steps point into it
  std::vector<Step> steps;
  std::vector<std::pair<Node<T>, Buffer<T>*>> placeholders;
  std::vector<const Buffer<T>*> fetched;
  std::unique_ptr<T, AlignedFree> arena;
};

}  // namespace graphnn
