#include "graphnn/session.hpp"

#include "session_plan.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace graphnn {

namespace {

// First-fit placement of buffers in one arena, with coalescing on release.
class ArenaPlanner {
 public:
  std::size_t allocate(std::size_t size) {
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < size) continue;
      const std::size_t offset = it->first;
      if (it->second == size) free_.erase(it);
      else *it = {offset + size, it->second - size};
      return offset;
    }
    // grow the top, absorbing a free block that ends there
    if (!free_.empty() && free_.back().first + free_.back().second == top_) {
      const std::size_t offset = free_.back().first;
      free_.pop_back();
      top_ = offset + size;
      return offset;
    }
    const std::size_t offset = top_;
    top_ += size;
    return offset;
  }
  void release(std::size_t offset, std::size_t size) {
    auto it = std::lower_bound(free_.begin(), free_.end(), std::make_pair(offset, std::size_t{0}));
    it = free_.insert(it, {offset, size});
    if (std::next(it) != free_.end() && it->first + it->second == std::next(it)->first) {
      it->second += std::next(it)->second;
      free_.erase(std::next(it));
    }
    if (it != free_.begin() && std::prev(it)->first + std::prev(it)->second == it->first) {
      std::prev(it)->second += it->second;
      free_.erase(it);
    }
  }
  std::size_t top() const { return top_; }

 private:
  std::vector<std::pair<std::size_t, std::size_t>> free_;  // (offset, size), sorted by offset
  std::size_t top_ = 0;
};

constexpr std::size_t kAlignBytes = 64;

}  // namespace

template <class T>
Session<T>::Session(Graph<T>& graph) : graph_(graph) {}

template <class T>
Session<T>::~Session() = default;

template <class T>
std::size_t Session<T>::plan_count() const {
  return plans_.size();
}

template <class T>
xt::xarray<T>& Session<T>::storage(const Node<T>& variable, const char* caller) {
  graph_.check_owns(variable, caller);
  const NodeData<T>& d = graph_.data(variable);
  if (d.op->kind() != OpKind::variable)
    throw Error(std::string(caller) + ": " + describe(variable) + " is not a variable");
  auto it = variables_.find(variable.id());
  if (it == variables_.end()) it = variables_.emplace(variable.id(), *d.op->value()).first;
  return it->second;
}

template <class T>
const xt::xarray<T>& Session<T>::value(const Node<T>& variable) {
  return storage(variable, "value");
}

template <class T>
T* Session<T>::variable_data(const Node<T>& variable) {
  return storage(variable, "variable_data").data();
}

template <class T>
void Session<T>::assign(const Node<T>& variable, const xt::xarray<T>& value) {
  xt::xarray<T>& dst = storage(variable, "assign");
  if (!std::equal(dst.shape().begin(), dst.shape().end(), value.shape().begin(), value.shape().end()))
    throw Error("assign: variable " + describe(variable) + " cannot take a value of shape " +
                to_string(Dims(value.shape().begin(), value.shape().end())));
  std::copy(value.data(), value.data() + value.size(), dst.data());  // in place: plans keep pointing at it
}

template <class T>
std::size_t Session<T>::batch_size_of(ArrayRef<Feed<T>> feeds) {
  // The batch size comes from the feeds; they must agree on it.
  const Node<T>* batch_from = nullptr;
  std::size_t batch_size = 0;
  for (const auto& feed : feeds) {
    graph_.check_owns(feed.node, "run: feed");
    const NodeData<T>& d = graph_.data(feed.node);
    if (d.op->kind() != OpKind::placeholder)
      throw Error("run: " + describe(feed.node) + " is a " + d.op->type() + ", not a placeholder; only placeholders are fed");
    const auto& vs = feed.value->shape();
    bool fits = vs.size() == d.shape.size();
    for (std::size_t k = 0; fits && k < vs.size(); ++k) fits = d.shape[k] == batch || vs[k] == std::size_t(d.shape[k]);
    if (!fits)
      throw Error("run: feed for placeholder " + describe(feed.node) + " has shape " +
                  to_string(Dims(vs.begin(), vs.end())));
    if (has_batch(d.shape)) {
      if (batch_from && vs[0] != batch_size)
        throw Error("run: feeds disagree on the batch size: '" + batch_from->name() + "' has " +
                    std::to_string(batch_size) + ", '" + feed.node.name() + "' has " + std::to_string(vs[0]));
      batch_from = &feed.node;
      batch_size = vs[0];
    }
  }
  return batch_size;
}

template <class T>
typename Session<T>::Plan& Session<T>::plan_for(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds,
                                                std::size_t& batch_size) {
  for (const auto& f : fetches) graph_.check_owns(f, "run: fetch");
  batch_size = batch_size_of(feeds);
  auto same_fetches = [&](const std::vector<int>& ids) {
    if (ids.size() != fetches.size()) return false;
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] != fetches[i].id()) return false;
    return true;
  };
  auto matches = [&](const Plan& p) { return p.batch_size == batch_size && same_fetches(p.fetches); };
  if (last_plan_ && matches(*last_plan_)) return *last_plan_;
  last_plan_ = nullptr;
  for (auto& p : plans_)
    if (matches(*p)) last_plan_ = p.get();
  if (!last_plan_) {
    std::vector<int> ids;
    for (const auto& f : fetches) ids.push_back(f.id());
    plans_.push_back(compile(ids, batch_size));
    last_plan_ = plans_.back().get();
  }
  return *last_plan_;
}

template <class T>
std::unique_ptr<typename Session<T>::Plan> Session<T>::compile(const std::vector<int>& fetches,
                                                               std::size_t batch_size, bool keep_all) {
  const std::size_t n = graph_.size();
  auto plan = std::make_unique<Plan>();
  plan->fetches = fetches;
  plan->batch_size = batch_size;

  // The nodes the fetches need, in id (= topological) order; assignments last,
  // so every read of a variable in this run sees its old value.
  std::vector<char> needed(n, 0);
  std::vector<int> stack(fetches.begin(), fetches.end());
  while (!stack.empty()) {
    const int id = stack.back();
    stack.pop_back();
    if (needed[static_cast<std::size_t>(id)]) continue;
    needed[static_cast<std::size_t>(id)] = 1;
    for (int in : graph_.data(id).inputs) stack.push_back(in);
  }
  std::vector<int> order, sources;
  for (std::size_t id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    const OpKind k = graph_.data(static_cast<int>(id)).op->kind();
    if (k == OpKind::compute) order.push_back(static_cast<int>(id));
    else if (k != OpKind::assign) sources.push_back(static_cast<int>(id));
  }
  for (std::size_t id = 0; id < n; ++id)
    if (needed[id] && graph_.data(static_cast<int>(id)).op->kind() == OpKind::assign) order.push_back(static_cast<int>(id));

  std::vector<int> slot(n, -1);
  std::size_t count = 0;
  for (int id : sources) slot[static_cast<std::size_t>(id)] = static_cast<int>(count++);
  for (int id : order) slot[static_cast<std::size_t>(id)] = static_cast<int>(count++);
  plan->buffers.resize(count);
  auto buffer = [&](int id) -> Buffer<T>& { return plan->buffers[static_cast<std::size_t>(slot[static_cast<std::size_t>(id)])]; };

  for (std::size_t id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    Buffer<T>& b = buffer(static_cast<int>(id));
    b.dims = resolve(graph_.data(static_cast<int>(id)).shape, batch_size);
    b.size = num_elements(b.dims);
  }
  for (int id : sources) {
    const NodeData<T>& d = graph_.data(id);
    Buffer<T>& b = buffer(id);
    if (d.op->kind() == OpKind::variable) b.data = storage(graph_.node(id), "run").data();
    else if (d.op->kind() == OpKind::constant) b.data = const_cast<T*>(d.op->value()->data());  // never written
    else plan->placeholders.emplace_back(graph_.node(id), &b);
  }

  // Liveness: an arena block lives from its producer to its last reader; an
  // aliasing node (reshape, assign, ...) shares its input's block ("root").
  constexpr std::size_t kForever = std::numeric_limits<std::size_t>::max();
  std::vector<int> root(n, -1);
  std::vector<std::size_t> last_use(n, 0);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int id = order[i];
    const NodeData<T>& d = graph_.data(id);
    const int alias = d.op->alias_input();
    root[static_cast<std::size_t>(id)] = alias >= 0 ? root[static_cast<std::size_t>(d.inputs[static_cast<std::size_t>(alias)])] : id;
    for (int in : d.inputs) {
      const int r = root[static_cast<std::size_t>(in)];
      if (r >= 0) last_use[static_cast<std::size_t>(r)] = std::max(last_use[static_cast<std::size_t>(r)], i);
    }
  }
  for (int f : fetches)
    if (root[static_cast<std::size_t>(f)] >= 0) last_use[static_cast<std::size_t>(root[static_cast<std::size_t>(f)])] = kForever;
  if (keep_all) std::fill(last_use.begin(), last_use.end(), kForever);

  const std::size_t unit = kAlignBytes / sizeof(T);
  auto rounded = [&](std::size_t size) { return std::max<std::size_t>(1, (size + unit - 1) / unit) * unit; };
  ArenaPlanner arena;
  std::vector<std::size_t> offset(n, 0);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const int id = order[i];
    const NodeData<T>& d = graph_.data(id);
    if (root[static_cast<std::size_t>(id)] == id) offset[static_cast<std::size_t>(id)] = arena.allocate(rounded(buffer(id).size));
    for (std::size_t k = 0; k < d.inputs.size(); ++k) {
      const int r = root[static_cast<std::size_t>(d.inputs[k])];
      const bool first_mention = std::find(d.inputs.begin(), d.inputs.begin() + static_cast<long>(k), d.inputs[k]) ==
                                 d.inputs.begin() + static_cast<long>(k);
      if (r >= 0 && first_mention && last_use[static_cast<std::size_t>(r)] == i)
        arena.release(offset[static_cast<std::size_t>(r)], rounded(buffer(r).size));
    }
  }
  plan->arena.reset(static_cast<T*>(std::aligned_alloc(kAlignBytes, std::max<std::size_t>(arena.top(), unit) * sizeof(T))));
  if (!plan->arena) throw Error("run: out of memory planning " + std::to_string(arena.top() * sizeof(T)) + " bytes");

  for (int id : order) {
    const NodeData<T>& d = graph_.data(id);
    const int alias = d.op->alias_input();
    Buffer<T>& out = buffer(id);
    out.data = alias >= 0 ? buffer(d.inputs[static_cast<std::size_t>(alias)]).data
                          : plan->arena.get() + offset[static_cast<std::size_t>(id)];
    Step step{d.op.get(), {}, &out, id};
    for (int in : d.inputs) step.inputs.push_back(&buffer(in));
    plan->steps.push_back(std::move(step));
  }
  for (int f : fetches) plan->fetched.push_back(&buffer(f));
  return plan;
}

template <class T>
void Session<T>::bind_feeds(Plan& plan, ArrayRef<Feed<T>> feeds) {
  for (auto& [node, buf] : plan.placeholders) {
    const Feed<T>* feed = nullptr;
    for (const auto& f : feeds)
      if (f.node == node) feed = &f;
    if (!feed) throw Error("run: placeholder " + describe(node) + " is needed by the fetches but was not fed");
    buf->data = const_cast<T*>(feed->value->data());  // read-only: no kernel writes a placeholder
  }
}

template <class T>
void Session<T>::run_step(const Step& step) {
  // Placeholders alias the feeds only for the run; aliases of them must follow.
  const int alias = step.op->alias_input();
  if (alias >= 0 && step.op->kind() != OpKind::assign) step.out->data = step.inputs[static_cast<std::size_t>(alias)]->data;
  try {
    step.op->forward(step.inputs, *step.out);
  } catch (const Error& e) {  // a kernel sees values, not names (a class id out of range): name the node
    throw Error("run: node " + describe(graph_.node(step.node)) + ": " + e.what());
  }
}

template <class T>
typename Session<T>::Plan& Session<T>::execute(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds) {
  std::size_t batch_size = 0;
  Plan& plan = plan_for(fetches, feeds, batch_size);
  bind_feeds(plan, feeds);
  for (const auto& step : plan.steps) run_step(step);
  return plan;
}

template <class T>
void Session<T>::run_targets(ArrayRef<Node<T>> targets, ArrayRef<Feed<T>> feeds) {
  execute(targets, feeds);
}

template <class T>
void Session<T>::run(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds, std::vector<xt::xarray<T>>& out) {
  const Plan& plan = execute(fetches, feeds);
  out.resize(plan.fetched.size());
  for (std::size_t i = 0; i < plan.fetched.size(); ++i) {
    const Buffer<T>& b = *plan.fetched[i];
    if (!std::equal(out[i].shape().begin(), out[i].shape().end(), b.dims.begin(), b.dims.end())) out[i].resize(b.dims);
    std::copy(b.data, b.data + b.size, out[i].data());
  }
}

template <class T>
std::vector<xt::xarray<T>> Session<T>::run(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds) {
  std::vector<xt::xarray<T>> out;
  run(fetches, feeds, out);
  return out;
}

template class Session<float>;
template class Session<double>;

}  // namespace graphnn
