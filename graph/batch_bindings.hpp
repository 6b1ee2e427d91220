#pragma once
// The run-time half of shape unification (graph/shape.cpp): a shape rule that
// met a known size where its other input had `batch` bound the batch to that
// size when the graph was built; the session checks the binding when the feeds
// bind the batch, before it plans buffers of the static (known) size.
#include <cstddef>
#include <vector>

#include "graphnn/graph.hpp"
#include "graphnn/session.hpp"

namespace graphnn {

// Throws Error when a node the fetches need bound the batch to a size the
// feeds contradict, naming the node, its inputs, the bound size, the fed
// placeholder and its size. Does nothing when no feed carries a batch (a
// missing feed is reported when the feeds are bound).
template <class T>
void check_batch_bindings(const Graph<T>& g, const std::vector<NodeId>& fetches, ArrayRef<Feed<T>> feeds,
                          std::size_t batch_size);

}  // namespace graphnn
