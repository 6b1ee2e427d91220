#include "collectives.hpp"

#include <algorithm>
#include <functional>

namespace graphnn::collectives {

template <class T>
void run_early(const Graph<T>& g, std::vector<NodeId>& order) {
  std::vector<char> in_order(g.size(), 0);
  for (NodeId id : order) in_order[id] = 1;
  // Each collective waits for its latest input that is a step; ids are topological.
  std::vector<std::vector<NodeId>> after(g.size());
  std::vector<NodeId> at_start;
  bool any = false;
  for (NodeId id : order) {
    if (!g.data(id).op->collective()) continue;
    any = true;
    NodeId latest = id;
    for (NodeId in : g.data(id).inputs)
      if (in_order[in] && (latest == id || in > latest)) latest = in;
    (latest == id ? at_start : after[latest]).push_back(id);
  }
  if (!any) return;
  std::vector<NodeId> moved;
  moved.reserve(order.size());
  std::function<void(NodeId)> emit = [&](NodeId id) {
    moved.push_back(id);
    for (NodeId c : after[id]) emit(c);
  };
  for (NodeId c : at_start) emit(c);
  for (NodeId id : order)
    if (!g.data(id).op->collective()) emit(id);
  order = std::move(moved);
}

template <class T>
std::vector<int> shared_inputs(const Graph<T>& g, const std::vector<NodeId>& order, const std::vector<NodeId>& fetches,
                               bool keep_all) {
  std::vector<int> shared(g.size(), -1);
  std::vector<NodeId> root(g.size());
  for (NodeId id = 0; id < g.size(); ++id) root[id] = id;
  std::vector<std::size_t> readers(g.size(), 0);  // steps reading each storage
  for (NodeId id : order) {
    const NodeData<T>& d = g.data(id);
    const int alias = d.op->alias_input();
    if (alias >= 0) {
      shared[id] = alias;
      root[id] = root[d.inputs[static_cast<std::size_t>(alias)]];
    }
    std::vector<NodeId> seen;
    for (NodeId in : d.inputs)
      if (std::find(seen.begin(), seen.end(), root[in]) == seen.end()) {
        seen.push_back(root[in]);
        ++readers[root[in]];
      }
  }
  if (keep_all) return shared;  // every value stays readable: nothing is overwritten
  std::vector<char> fetched(g.size(), 0);
  for (NodeId f : fetches) fetched[root[f]] = 1;
  for (NodeId id : order) {
    const NodeData<T>& d = g.data(id);
    const int k = d.op->may_overwrite_input();
    if (k < 0 || shared[id] >= 0) continue;
    const NodeId r = root[d.inputs[static_cast<std::size_t>(k)]];
    if (g.data(r).op->kind() == OpKind::compute && readers[r] == 1 && !fetched[r]) shared[id] = k;
  }
  return shared;
}

template <class T>
std::vector<BucketLayout> group(const Graph<T>& g, const std::vector<NodeId>& order, const std::vector<NodeId>& root,
                                const std::vector<std::size_t>& sizes) {
  std::vector<BucketLayout> buckets;
  const Collective<T>* kind = nullptr;  // the open bucket's operation
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const NodeId id = order[i];
    const Collective<T>* c = g.data(id).op->collective();
    if (!c) continue;
    std::size_t first_read = order.size();
    for (std::size_t j = i + 1; j < order.size() && first_read == order.size(); ++j)
      for (NodeId in : g.data(order[j]).inputs)
        if (root[in] == root[id]) first_read = j;
    const std::size_t member_bytes = sizes[root[id]] * sizeof(T);
    const bool fits = kind && kind->combines_with(*c) && bytes + member_bytes <= c->bucket_bytes() &&
                      i < buckets.back().wait_before;
    if (!fits) {
      buckets.emplace_back();
      buckets.back().wait_before = order.size();
      kind = c;
      bytes = 0;
    }
    BucketLayout& b = buckets.back();
    b.members.push_back(id);
    b.roots.push_back(root[id]);
    b.size += sizes[root[id]];
    b.start_after = i;
    b.wait_before = std::min(b.wait_before, first_read);
    bytes += member_bytes;
  }
  return buckets;
}

template <class T>
void Schedule<T>::add(std::unique_ptr<Bucket> bucket, const BucketLayout& layout, std::size_t steps) {
  start_after_.resize(steps);
  wait_before_.resize(steps);
  const std::size_t index = entries_.size();
  entries_.push_back(Entry{std::move(bucket)});
  start_after_[layout.start_after].push_back(index);
  if (layout.wait_before < steps) wait_before_[layout.wait_before].push_back(index);
}

template <class T>
void Schedule<T>::wait(const Entry& e) const {
  if (!e.in_flight) return;
  e.in_flight = false;
  e.bucket->wait();
}

template <class T>
void Schedule<T>::before(std::size_t step) const {
  for (std::size_t k : wait_before_[step]) wait(entries_[k]);
}

template <class T>
void Schedule<T>::after(std::size_t step) const {
  for (std::size_t k : start_after_[step]) {
    const Entry& e = entries_[k];
    wait(e);  // a run that stopped early (an error, a single step) left it in flight
    e.bucket->start();
    e.in_flight = true;
  }
  for (const Entry& e : entries_)
    if (e.in_flight) e.bucket->progress();
}

template <class T>
void Schedule<T>::finish() const {
  for (const Entry& e : entries_) wait(e);
  for (const Entry& e : entries_) e.bucket->run_completed();
}

template <class T>
void Schedule<T>::interrupted(const std::string& why) const {
  for (const Entry& e : entries_) e.bucket->run_interrupted(why);
}

#define INSTANTIATE(T)                                                                                          \
  template void run_early<T>(const Graph<T>&, std::vector<NodeId>&);                                          \
  template std::vector<int> shared_inputs<T>(const Graph<T>&, const std::vector<NodeId>&,                      \
                                             const std::vector<NodeId>&, bool);                                \
  template std::vector<BucketLayout> group<T>(const Graph<T>&, const std::vector<NodeId>&,                     \
                                              const std::vector<NodeId>&, const std::vector<std::size_t>&);    \
  template class Schedule<T>;
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn::collectives
