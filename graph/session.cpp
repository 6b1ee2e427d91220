#include "graphnn/session.hpp"

#include "batch_bindings.hpp"
#include "collectives.hpp"
#include "session_plan.hpp"

#include <xtensor/xadapt.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <string>

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
Session<T>::Session(Graph<T>& graph) : Session(graph, SessionOptions{}) {}

template <class T>
Session<T>::Session(Graph<T>& graph, SessionOptions options)
    : graph_(graph), graph_alive_(graph.alive()), options_(std::move(options)) {
  const auto& known = rule_names();
  for (const std::string& name : options_.passes.disabled)
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error("session: no pass named '" + name + "' to disable; the passes are " + list);
    }
  if (options_.plan_cache_size == 0)
    throw Error("session: SessionOptions::plan_cache_size is 0; a session needs room for at least 1 plan");
}

template <class T>
Session<T>::~Session() = default;

template <class T>
std::unique_lock<std::mutex> Session<T>::enter(const char* caller) const {
  if (!graph_alive_->load(std::memory_order_acquire))
    throw Error(std::string(caller) +
                ": the session's graph was destroyed; a Session is usable while its Graph exists");
  return std::unique_lock<std::mutex>(mutex_);
}

template <class T>
Graph<T>& Session<T>::graph() {
  auto lock = enter("graph");
  return graph_;
}

template <class T>
std::size_t Session<T>::plan_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
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
  auto lock = enter("value");
  return storage(variable, "value");
}

template <class T>
T* Session<T>::variable_data(const Node<T>& variable) {
  auto lock = enter("variable_data");
  return storage(variable, "variable_data").data();
}

template <class T>
void Session<T>::assign(const Node<T>& variable, const xt::xarray<T>& value) {
  auto lock = enter("assign");
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
    for (const Feed<T>* f = feeds.begin(); f != &feed; ++f)
      if (f->node == feed.node) throw Error("run: placeholder " + describe(feed.node) + " is fed twice in one feed list");
    const auto& vs = feed.value->shape();
    bool fits = vs.size() == d.shape.size();
    for (std::size_t k = 0; fits && k < vs.size(); ++k) fits = d.shape[k] == batch || vs[k] == std::size_t(d.shape[k]);
    if (!fits)
      throw Error("run: feed for placeholder " + describe(feed.node) + " has shape " +
                  to_string(Dims(vs.begin(), vs.end())));
    if (has_batch(d.shape)) {
      if (vs[0] == 0)  // means over no rows are NaN, sums 0: neither is a useful step
        throw Error("run: feed for placeholder " + describe(feed.node) + " has 0 rows (shape " +
                    to_string(Dims(vs.begin(), vs.end())) + "); a batch needs at least one");
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
  auto same_fetches = [&](const std::vector<NodeId>& ids) {
    if (ids.size() != fetches.size()) return false;
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] != fetches[i].id() || !fetches[i].in(graph_)) return false;
    return true;
  };
  // A steady loop runs the same fetches on feeds of the same shapes: when each
  // feed is exactly what the last plan's placeholder holds, nothing else needs checking.
  auto fits = [&](const Plan& p) {
    for (const auto& feed : feeds) {
      const Buffer<T>* b = nullptr;
      for (const auto& [node, buffer] : p.placeholders)
        if (node == feed.node) b = buffer;
      const auto& vs = feed.value->shape();
      if (!b || !std::equal(vs.begin(), vs.end(), b->dims.begin(), b->dims.end())) return false;
    }
    return true;
  };
  if (last_plan_ && same_fetches(last_plan_->fetches) && fits(*last_plan_)) {
    batch_size = last_plan_->batch_size;
    last_plan_->last_use = ++clock_;
    return *last_plan_;
  }
  for (const auto& f : fetches) graph_.check_owns(f, "run: fetch");
  batch_size = batch_size_of(feeds);
  auto matches = [&](const Plan& p) { return p.batch_size == batch_size && same_fetches(p.fetches); };
  last_plan_ = nullptr;
  for (auto& p : plans_)
    if (matches(*p)) last_plan_ = p.get();
  if (!last_plan_) {
    std::vector<NodeId> ids;
    for (const auto& f : fetches) ids.push_back(f.id());
    check_batch_bindings(graph_, ids, feeds, batch_size);
    PassOptions passes = options_.passes;
    if (options_.check_numerics) passes.disabled.push_back("elementwise_fusion");  // report the user's nodes
    last_plan_ = &cache(compile(ids, batch_size, passes));
  }
  last_plan_->last_use = ++clock_;
  return *last_plan_;
}

// Keeps a new plan, dropping the least recently used one when the cache is full.
template <class T>
typename Session<T>::Plan& Session<T>::cache(std::unique_ptr<Plan> plan) {
  if (plans_.size() >= options_.plan_cache_size) {
    auto oldest = std::min_element(plans_.begin(), plans_.end(),
                                   [](const auto& a, const auto& b) { return a->last_use < b->last_use; });
    *oldest = std::move(plan);
    return **oldest;
  }
  plans_.push_back(std::move(plan));
  return *plans_.back();
}

// This session's state for an op that keeps one between runs (made at first
// use, then shared by every plan of the session), or nullptr.
template <class T>
OpState* Session<T>::state_of(const Op<T>& op) {
  auto it = op_states_.find(&op);
  if (it != op_states_.end()) return it->second.get();
  std::unique_ptr<OpState> state = op.make_state();
  if (!state) return nullptr;
  return op_states_.emplace(&op, std::move(state)).first->second.get();
}

// Compiling a plan, phase by phase: the program (the user's nodes the fetches
// need, after the passes), the run order, buffer sizes, liveness, placement in
// one arena, and the steps.
namespace {

template <class T>
passes::Program<T> optimise(const Graph<T>& user, const std::vector<NodeId>& fetches, const PassOptions& options,
                            passes::PassReport& report) {
  passes::Program<T> p = passes::import(user, fetches);
  for (NodeId id = 0; id < p.graph->size(); ++id) {
    const OpKind k = p.graph->data(id).op->kind();
    report.nodes_before += k == OpKind::compute || k == OpKind::assign;
  }
  if (!options.enabled) return p;
  p = passes::rewrite(std::move(p), options, report);
  const auto& off = options.disabled;
  if (std::find(off.begin(), off.end(), "elementwise_fusion") == off.end())
    p = passes::fuse_elementwise(std::move(p), report,
                                 std::find(off.begin(), off.end(), "reduction_fusion") == off.end());
  return p;
}

// Compute nodes in id (= topological) order, then the assignments, so every
// read of a variable in a run sees its old value; collectives as early as
// their inputs allow.
template <class T>
std::vector<NodeId> run_order(const Graph<T>& g) {
  std::vector<NodeId> order;
  for (NodeId id = 0; id < g.size(); ++id)
    if (g.data(id).op->kind() == OpKind::compute) order.push_back(id);
  for (NodeId id = 0; id < g.size(); ++id)
    if (g.data(id).op->kind() == OpKind::assign) order.push_back(id);
  collectives::run_early(g, order);
  return order;
}

constexpr std::size_t kForever = std::numeric_limits<std::size_t>::max();

// Per node: the node whose storage it is (an alias's input, else itself) and,
// for such roots, the last step that reads it.
struct Liveness {
  std::vector<NodeId> root;
  std::vector<std::size_t> last_use;
};

template <class T>
Liveness liveness(const Graph<T>& g, const std::vector<NodeId>& order, const std::vector<NodeId>& fetches,
                  bool keep_all) {
  Liveness l{std::vector<NodeId>(g.size()), std::vector<std::size_t>(g.size(), 0)};
  for (NodeId id = 0; id < g.size(); ++id) l.root[id] = id;
  const std::vector<int> shared = collectives::shared_inputs(g, order, fetches, keep_all);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const NodeData<T>& d = g.data(order[i]);
    const int alias = shared[order[i]];
    if (alias >= 0) l.root[order[i]] = l.root[d.inputs[static_cast<std::size_t>(alias)]];
    for (NodeId in : d.inputs) l.last_use[l.root[in]] = std::max(l.last_use[l.root[in]], i);
  }
  for (NodeId f : fetches) l.last_use[l.root[f]] = kForever;
  if (keep_all) std::fill(l.last_use.begin(), l.last_use.end(), kForever);
  return l;
}

// Elements of scratch each node's kernel asks for at these dims (Op::workspace_size).
template <class T>
std::vector<std::size_t> workspace_sizes(const Graph<T>& g, const std::vector<Buffer<T>>& buffers) {
  std::vector<std::size_t> sizes(g.size(), 0);
  for (NodeId id = 0; id < g.size(); ++id) {
    std::vector<Dims> in;
    for (NodeId k : g.data(id).inputs) in.push_back(buffers[k].dims);
    sizes[id] = g.data(id).op->workspace_size(in, buffers[id].dims);
  }
  return sizes;
}

// First-fit offsets in one arena: a block lives from its producer to its last
// reader; a step's workspace lives during the step alone (workspace_offset).
// Bucket members (in_bucket) live in their bucket's own storage instead.
template <class T>
std::vector<std::size_t> place(const Graph<T>& g, const std::vector<NodeId>& order, const Liveness& l,
                               const std::vector<Buffer<T>>& buffers, const std::vector<std::size_t>& workspace,
                               const std::vector<char>& in_bucket, std::vector<std::size_t>& workspace_offset,
                               std::size_t& arena_size) {
  const std::size_t unit = kAlignBytes / sizeof(T);
  auto rounded = [&](std::size_t size) { return std::max<std::size_t>(1, (size + unit - 1) / unit) * unit; };
  ArenaPlanner arena;
  std::vector<std::size_t> offset(g.size(), 0);
  workspace_offset.assign(g.size(), 0);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const NodeId id = order[i];
    const std::vector<NodeId>& in = g.data(id).inputs;
    if (l.root[id] == id && !in_bucket[id]) offset[id] = arena.allocate(rounded(buffers[id].size));
    if (workspace[id] > 0) {  // apart from the inputs and the output, free again once the step ran
      workspace_offset[id] = arena.allocate(rounded(workspace[id]));
      arena.release(workspace_offset[id], rounded(workspace[id]));
    }
    for (std::size_t k = 0; k < in.size(); ++k) {
      const NodeId r = l.root[in[k]];
      const bool first_mention = std::find(in.begin(), in.begin() + static_cast<long>(k), in[k]) == in.begin() + static_cast<long>(k);
      const bool computed = g.data(r).op->kind() == OpKind::compute;
      if (!in_bucket[r] && computed && first_mention && l.last_use[r] == i) arena.release(offset[r], rounded(buffers[r].size));
    }
  }
  arena_size = std::max<std::size_t>(arena.top(), unit);
  return offset;
}

}  // namespace

template <class T>
std::unique_ptr<typename Session<T>::Plan> Session<T>::compile(const std::vector<NodeId>& fetches,
                                                               std::size_t batch_size, const PassOptions& passes,
                                                               bool keep_all) {
  auto plan = std::make_unique<Plan>();
  plan->fetches = fetches;
  plan->batch_size = batch_size;
  plan->passes = passes;
  plan->program = optimise(graph_, fetches, passes, plan->report);
  const Graph<T>& g = *plan->program.graph;

  const std::vector<NodeId> order = run_order(g);
  plan->buffers.resize(g.size());
  for (NodeId id = 0; id < g.size(); ++id) {
    plan->buffers[id].dims = resolve(g.data(id).shape, batch_size);
    plan->buffers[id].size = num_elements(plan->buffers[id].dims);
  }
  bind_leaves(*plan);

  const Liveness live = liveness(g, order, plan->program.fetches, keep_all);
  std::vector<std::size_t> sizes(g.size());
  for (NodeId id = 0; id < g.size(); ++id) sizes[id] = plan->buffers[id].size;
  const std::vector<collectives::BucketLayout> buckets = collectives::group(g, order, live.root, sizes);
  std::vector<char> in_bucket(g.size(), 0);
  for (const collectives::BucketLayout& b : buckets)
    for (NodeId r : b.roots) in_bucket[r] = 1;
  std::size_t arena_size = 0;
  const std::vector<std::size_t> workspace = workspace_sizes(g, plan->buffers);
  std::vector<std::size_t> workspace_offset;
  const std::vector<std::size_t> offset =
      place(g, order, live, plan->buffers, workspace, in_bucket, workspace_offset, arena_size);
  plan->arena.reset(static_cast<T*>(std::aligned_alloc(kAlignBytes, arena_size * sizeof(T))));
  if (!plan->arena) throw Error("run: out of memory planning " + std::to_string(arena_size * sizeof(T)) + " bytes");
  plan->arena_bytes = arena_size * sizeof(T);
  // Each bucket owns its storage; its members' values live there, back to
  // back. Made last: making one is a collective call (every process compiles
  // the same plans), so nothing may fail on one process alone after it.
  std::vector<T*> bucket_storage(g.size(), nullptr);
  for (const collectives::BucketLayout& b : buckets) {
    auto bucket = g.data(b.members[0]).op->collective()->bucket(b.size);
    T* at = bucket->data();
    for (NodeId r : b.roots) bucket_storage[r] = at, at += plan->buffers[r].size;
    plan->collectives.add(std::move(bucket), b, order.size());
    plan->arena_bytes += b.size * sizeof(T);
  }

  for (NodeId id : order) {
    const NodeData<T>& d = g.data(id);
    Buffer<T>& out = plan->buffers[id];
    out.data = live.root[id] != id ? plan->buffers[live.root[id]].data
               : in_bucket[id]     ? bucket_storage[id]
                                   : plan->arena.get() + offset[id];
    if (workspace[id] > 0) out.workspace = plan->arena.get() + workspace_offset[id];
    Step step{d.op.get(), {}, &out, id, state_of(*d.op)};
    for (NodeId in : d.inputs) step.inputs.push_back(&plan->buffers[in]);
    plan->steps.push_back(std::move(step));
  }
  for (NodeId f : plan->program.fetches) plan->fetched.push_back(&plan->buffers[f]);
  return plan;
}

// Leaves: a variable is the session's storage, a constant the graph's value,
// a placeholder the feed (bound at each run).
template <class T>
void Session<T>::bind_leaves(Plan& plan) {
  const Graph<T>& g = *plan.program.graph;
  for (NodeId id = 0; id < g.size(); ++id) {
    const NodeData<T>& d = g.data(id);
    Buffer<T>& b = plan.buffers[id];
    const NodeId user = plan.program.user(id);
    if (d.op->kind() == OpKind::variable) {
      b.data = storage(graph_.node(user), "run").data();
      plan.variables.push_back(user);
    } else if (d.op->kind() == OpKind::constant) {
      b.data = const_cast<T*>(d.op->value()->data());  // never written
    } else if (d.op->kind() == OpKind::placeholder) {
      plan.placeholders.emplace_back(graph_.node(user), &b);
    }
  }
}

template <class T>
void Session<T>::bind_feeds(Plan& plan, ArrayRef<Feed<T>> feeds) {
  for (auto& [node, buf] : plan.placeholders) {
    const Feed<T>* feed = nullptr;
    for (const auto& f : feeds)
      if (f.node == node) {
        if (feed) throw Error("run: placeholder " + describe(node) + " is fed twice in one feed list");
        feed = &f;
      }
    if (!feed) throw Error("run: placeholder " + describe(node) + " is needed by the fetches but was not fed");
    buf->data = const_cast<T*>(feed->value->data());  // read-only: no kernel writes a placeholder
  }
}

template <class T>
void Session<T>::run_step(const Plan& plan, const Step& step) {
  // Placeholders alias the feeds only for the run; aliases of them must follow.
  const int alias = step.op->alias_input();
  if (alias >= 0 && step.op->kind() != OpKind::assign) step.out->data = step.inputs[static_cast<std::size_t>(alias)]->data;
  try {
    if (step.state) step.op->forward_with_state(step.inputs, *step.out, *step.state);
    else step.op->forward(step.inputs, *step.out);
  } catch (const Error& e) {  // a kernel sees values, not names (a class id out of range): name the node
    const NodeId user = plan.program.user(step.node);
    const Node<T> named = user != passes::kNoUserNode ? graph_.node(user) : plan.program.graph->node(step.node);
    throw Error("run: node " + describe(named) + ": " + e.what());
  }
}

namespace {

template <class T>
bool all_finite(const Buffer<T>& b) {
  for (std::size_t i = 0; i < b.size; ++i)
    if (!std::isfinite(b.data[i])) return false;
  return true;
}

// "[lo, hi]" of a buffer's values, NaN counted apart.
template <class T>
std::string value_range(const Buffer<T>& b) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  std::size_t nans = 0;
  for (std::size_t i = 0; i < b.size; ++i) {
    if (std::isnan(b.data[i])) ++nans;
    else lo = std::min(lo, double(b.data[i])), hi = std::max(hi, double(b.data[i]));
  }
  std::string text = b.size == nans ? "no numbers" : "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return nans ? text + " and " + std::to_string(nans) + " NaN" : text;
}

}  // namespace

template <class T>
void Session<T>::run_steps(const Plan& plan) {
  if (options_.check_numerics) check_feeds(plan);
  if (!plan.collectives.empty()) return run_steps_with_collectives(plan);
  if (!options_.check_numerics) {
    for (const auto& step : plan.steps) run_step(plan, step);
    return;
  }
  for (const auto& step : plan.steps) check_step(plan, step);
}

// Starts each bucket after its last member's step, waits before its first reader.
template <class T>
void Session<T>::run_steps_with_collectives(const Plan& plan) {
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    plan.collectives.before(i);
    if (options_.check_numerics) check_step(plan, plan.steps[i]);
    else run_step(plan, plan.steps[i]);
    plan.collectives.after(i);
  }
  plan.collectives.finish();
}

// A NaN fed in is reported as the feed's, not as the first node it reaches.
template <class T>
void Session<T>::check_feeds(const Plan& plan) const {
  for (const auto& [node, buf] : plan.placeholders)
    if (!all_finite(*buf))
      throw Error("check_numerics: feed for placeholder " + describe(node) + " holds " + value_range(*buf));
}

// Runs one step and stops at a value that is not finite (SessionOptions::check_numerics).
template <class T>
void Session<T>::check_step(const Plan& plan, const Step& step) {
  run_step(plan, step);
  if (all_finite(*step.out)) return;
  const NodeId user = plan.program.user(step.node);
  const Node<T> named = user != passes::kNoUserNode ? graph_.node(user) : plan.program.graph->node(step.node);
  std::string inputs;
  for (std::size_t k = 0; k < step.inputs.size(); ++k)
    inputs += (k ? ", " : "") + std::string("input ") + std::to_string(k) + " " + value_range(*step.inputs[k]);
  throw Error("check_numerics: node " + describe(named) + " (op '" + step.op->type() + "') computed " +
              value_range(*step.out) + " from " + (inputs.empty() ? "no inputs" : inputs));
}

template <class T>
typename Session<T>::Plan& Session<T>::execute(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds) {
  std::size_t batch_size = 0;
  Plan& plan = plan_for(fetches, feeds, batch_size);
  try {
    bind_feeds(plan, feeds);
    if (plan.passes.verify) verified_run(plan, feeds);
    else run_steps(plan);
  } catch (const std::exception& e) {
    plan.collectives.interrupted(e.what());  // other processes may wait in a collective this run never reached
    throw;
  }
  return plan;
}

namespace {

// max |a - b| over max |b|: the normwise relative difference; a NaN in only one is infinite.
template <class T>
double relative_difference(const T* a, const T* b, std::size_t n) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) != std::isnan(b[i])) return std::numeric_limits<double>::infinity();
    if (std::isnan(a[i])) continue;
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff == 0 ? 0 : diff / std::max(scale, std::numeric_limits<double>::min());
}

}  // namespace

// Runs the plan compiled without passes on a copy of the variables, then the
// plan itself, and compares what both fetched and wrote (PassOptions::verify).
template <class T>
void Session<T>::verified_run(Plan& plan, ArrayRef<Feed<T>> feeds) {
  for (const Step& step : plan.steps)
    if (!step.op->traits().pure) return run_steps(plan);  // a random mask differs between the runs by design
  if (!plan.reference) {
    PassOptions off = plan.passes;
    off.enabled = false;
    off.verify = false;
    plan.reference = compile(plan.fetches, plan.batch_size, off);
  }
  Plan& ref = *plan.reference;
  bind_feeds(ref, feeds);
  std::vector<xt::xarray<T>> start, fetched, written;
  for (NodeId v : plan.variables) start.push_back(variables_.at(v));
  run_steps(ref);
  for (const Buffer<T>* b : ref.fetched) fetched.emplace_back(xt::adapt(b->data, b->size, xt::no_ownership(), b->dims));
  for (std::size_t k = 0; k < plan.variables.size(); ++k) {
    xt::xarray<T>& v = variables_.at(plan.variables[k]);
    written.push_back(v);
    std::copy(start[k].begin(), start[k].end(), v.begin());
  }
  run_steps(plan);
  const double tolerance = std::is_same_v<T, double> ? 1e-12 : 1e-4;
  auto check = [&](const T* got, const xt::xarray<T>& want, const std::string& what) {
    const double d = relative_difference(got, want.data(), want.size());
    if (!(d <= tolerance))
      throw Error("verify passes: " + what + " differs with the passes on by a relative " + std::to_string(d) +
                  " (tolerance " + std::to_string(tolerance) + "); GRAPHNN_PASSES=no-<rule> finds the rule");
  };
  for (std::size_t i = 0; i < plan.fetched.size(); ++i)
    check(plan.fetched[i]->data, fetched[i], "fetch " + describe(graph_.node(plan.fetches[i])));
  for (std::size_t k = 0; k < plan.variables.size(); ++k)
    check(variables_.at(plan.variables[k]).data(), written[k], "variable " + describe(graph_.node(plan.variables[k])));
}

template <class T>
void Session<T>::run_targets(ArrayRef<Node<T>> targets, ArrayRef<Feed<T>> feeds) {
  auto lock = enter("run_targets");
  execute(targets, feeds);
}

template <class T>
void Session<T>::run(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds, std::vector<xt::xarray<T>>& out) {
  auto lock = enter("run");
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

// Session::inspect and InspectablePlan: one fetch as the user wrote it, every
// value kept, for evaluators outside the session.
template <class T>
std::unique_ptr<InspectablePlan<T>> Session<T>::inspect(const Node<T>& fetch, ArrayRef<Feed<T>> feeds) {
  auto lock = enter("inspect");
  graph_.check_owns(fetch, "inspect: fetch");
  PassOptions as_written;  // the user's ops one by one: an evaluator may follow them
  as_written.enabled = false;
  const std::size_t batch_size = batch_size_of(feeds);
  check_batch_bindings(graph_, {fetch.id()}, feeds, batch_size);
  std::unique_ptr<Plan> plan = compile({fetch.id()}, batch_size, as_written, /*keep_all=*/true);
  bind_feeds(*plan, feeds);
  return std::unique_ptr<InspectablePlan<T>>(new InspectablePlan<T>(*this, std::move(plan)));
}

template <class T>
InspectablePlan<T>::InspectablePlan(Session<T>& session, std::unique_ptr<Plan> plan)
    : session_(&session), plan_(std::move(plan)) {
  const passes::Program<T>& p = plan_->program;  // without passes every node is a copy of the user's
  for (const auto& step : plan_->steps) {
    StepView<T> view{p.user(step.node), step.op, {}, step.inputs, step.out, step.op->alias_input() >= 0};
    for (NodeId in : p.graph->data(step.node).inputs) view.input_nodes.push_back(p.user(in));
    steps_.push_back(std::move(view));
  }
}

template <class T>
InspectablePlan<T>::~InspectablePlan() = default;

template <class T>
const Buffer<T>& InspectablePlan<T>::fetched() const {
  return *plan_->fetched[0];
}

template <class T>
void InspectablePlan<T>::run_step(std::size_t i) {
  auto lock = session_->enter("inspected plan: run");
  session_->run_step(*plan_, plan_->steps[i]);
}

template <class T>
void InspectablePlan<T>::run() {
  auto lock = session_->enter("inspected plan: run");
  session_->run_steps(*plan_);
}

template class Session<float>;
template class Session<double>;
template class InspectablePlan<float>;
template class InspectablePlan<double>;

}  // namespace graphnn
