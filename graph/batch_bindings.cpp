#include "batch_bindings.hpp"

#include <string>

namespace graphnn {

namespace {

// The nodes `fetches` depend on, by id (inputs have smaller ids).
template <class T>
std::vector<bool> needed_nodes(const Graph<T>& g, const std::vector<NodeId>& fetches) {
  std::vector<bool> needed(g.size(), false);
  for (NodeId f : fetches) needed[f] = true;
  for (NodeId id = g.size(); id-- > 0;)
    if (needed[id])
      for (NodeId in : g.data(id).inputs) needed[in] = true;
  return needed;
}

}  // namespace

template <class T>
void check_batch_bindings(const Graph<T>& g, const std::vector<NodeId>& fetches, ArrayRef<Feed<T>> feeds,
                          std::size_t batch_size) {
  const Feed<T>* batch_feed = nullptr;
  for (const auto& f : feeds)
    if (!batch_feed && has_batch(g.data(f.node).shape)) batch_feed = &f;
  if (!batch_feed) return;
  const std::vector<bool> needed = needed_nodes(g, fetches);
  for (NodeId id = 0; id < g.size(); ++id) {
    const NodeData<T>& d = g.data(id);
    if (!needed[id] || d.bound_batch == batch || d.bound_batch == static_cast<std::int64_t>(batch_size)) continue;
    std::string inputs;
    for (std::size_t k = 0; k < d.inputs.size(); ++k)
      inputs += (k ? ", " : "") + std::string("'") + g.data(d.inputs[k]).name + "' " +
                to_string(g.data(d.inputs[k]).shape);
    throw Error("run: op '" + d.op->type() + "' (node '" + d.name + "') unified its inputs " + inputs +
                ", so the batch must be " + std::to_string(d.bound_batch) + ", but placeholder '" +
                batch_feed->node.name() + "' was fed " + std::to_string(batch_size) + " rows");
  }
}

template void check_batch_bindings<float>(const Graph<float>&, const std::vector<NodeId>&, ArrayRef<Feed<float>>,
                                          std::size_t);
template void check_batch_bindings<double>(const Graph<double>&, const std::vector<NodeId>&, ArrayRef<Feed<double>>,
                                           std::size_t);

}  // namespace graphnn
