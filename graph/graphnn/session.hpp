#pragma once
// Session<T>: holds variable values and runs the graph. Each distinct set of
// fetches (and batch size) is compiled once into a plan: the nodes it needs in
// topological order, every buffer placed in one arena by liveness; a run is
// then only kernel calls on that memory.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>
#include <unordered_map>
#include <vector>

#include <xtensor/xarray.hpp>

#include "graphnn/graph.hpp"
#include "graphnn/plan_summary.hpp"

namespace graphnn {

// A non-owning view of a list: accepts `{a, b}` and std::vector alike without copying.
template <class U>
class ArrayRef {
 public:
  ArrayRef() = default;
#if defined(__GNUC__) && !defined(__clang__)  // a GCC warning (clang has no such group)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"  // a view, like std::span: valid for the call it is passed to
#endif
  ArrayRef(std::initializer_list<U> l) : data_(l.begin()), size_(l.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  ArrayRef(const std::vector<U>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT: implicit by design
  const U* begin() const { return data_; }
  const U* end() const { return data_ + size_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const U& operator[](std::size_t i) const { return data_[i]; }

 private:
  const U* data_ = nullptr;
  std::size_t size_ = 0;
};

// A placeholder and the value fed to it. An xt::xarray<T> the caller holds is
// read in place (not copied) and must outlive the run. Anything else (a
// temporary array, another element type, an xtensor expression) is converted
// once into a copy the feed owns, so a feed list kept in a variable never
// points at a temporary that is gone.
template <class T>
struct Feed {
  Feed(const Node<T>& n, const xt::xarray<T>& v) : node(n), value(&v) {}
  Feed(const Node<T>& n, xt::xarray<T>&& v) : node(n), owned(std::make_shared<const xt::xarray<T>>(std::move(v))) {
    value = owned.get();
  }
  template <class E, std::enable_if_t<!std::is_same_v<std::decay_t<E>, xt::xarray<T>>, int> = 0>
  Feed(const Node<T>& n, E&& e) : node(n) {
    static_assert(xt::is_xexpression<std::decay_t<E>>::value,
                  "graphnn::Feed: a feed's value is an xtensor array or expression");
    owned = std::make_shared<const xt::xarray<T>>(xt::xarray<T>(std::forward<E>(e)));
    value = owned.get();
  }
  Node<T> node;
  std::shared_ptr<const xt::xarray<T>> owned;  // the converted or moved-in value, when the feed holds it
  const xt::xarray<T>* value = nullptr;
};

template <class T>
class Session;

// One step of an InspectablePlan: the kernel call that computes one of the
// user's nodes.
template <class T>
struct StepView {
  NodeId node;                           // the user's node it computes
  const Op<T>* op;
  std::vector<NodeId> input_nodes;       // the user's nodes it reads, in order
  std::vector<const Buffer<T>*> inputs;  // their buffers, in the same order
  Buffer<T>* out;                        // its output; the plan's memory
  bool aliases;                          // out is input op->alias_input()'s storage (reshape, stop_gradient)
};

// A narrow public view of one compiled plan, for evaluators outside the
// session (lib/incremental.cpp: numerical differentiation). Made by
// Session::inspect: the passes are off, so the steps are the user's ops one by
// one in run order, and no buffer is reused, so every value of the last run
// stays readable (and writable: an evaluator may patch outputs and run later
// steps on them). The session, and the feeds bound by inspect, must outlive it.
template <class T>
class InspectablePlan {
 public:
  ~InspectablePlan();
  const std::vector<StepView<T>>& steps() const { return steps_; }
  // The fetch's buffer.
  const Buffer<T>& fetched() const;
  // Runs step i (its op's forward on its buffers; an error names the node).
  void run_step(std::size_t i);
  // Runs every step in order.
  void run();

 private:
  friend class Session<T>;
  using Plan = typename Session<T>::Plan;
  InspectablePlan(Session<T>& session, std::unique_ptr<Plan> plan);
  Session<T>* session_;
  std::unique_ptr<Plan> plan_;
  std::vector<StepView<T>> steps_;
};

// Threads: a Session may be used from several threads; its calls are
// serialised (one run at a time), so each run sees and leaves consistent
// state. What value() and variable_data() return is read outside that lock:
// don't read it while another thread runs the session. Sessions over one
// Graph are independent (each holds its variables, plans and random streams)
// and may run in parallel.
//
// Processes: with collective ops (allreduce_mean), compiling a plan (the first
// run of a fetch set, plan_summary, inspect) and dropping one (the plan cache
// evicting it, the session's end) are collective calls, so every process of
// the job must make them in the same order, as it runs the same steps.
template <class T>
class Session {
 public:
  // The passes follow PassOptions::from_environment() (GRAPHNN_PASSES, GRAPHNN_VERIFY_PASSES).
  explicit Session(Graph<T>& graph);
  Session(Graph<T>& graph, SessionOptions options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Computes the fetches (after running any assignments among them).
  std::vector<xt::xarray<T>> run(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds = {});
  // Same, writing into `out`; arrays already of the right shape are reused,
  // so a steady training loop allocates nothing.
  void run(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds, std::vector<xt::xarray<T>>& out);

  // Runs the nodes (typically assignments) and copies nothing out.
  void run_targets(ArrayRef<Node<T>> targets, ArrayRef<Feed<T>> feeds = {});

  // The current value of a variable.
  const xt::xarray<T>& value(const Node<T>& variable);
  // Sets a variable (same shape as it has).
  void assign(const Node<T>& variable, const xt::xarray<T>& value);
  // The variable's storage, for in-place edits (gradient checking, optimizers).
  T* variable_data(const Node<T>& variable);

  // One fetch compiled as the user wrote it, every value kept after a run
  // (see InspectablePlan); the feeds are bound and must outlive the result.
  std::unique_ptr<InspectablePlan<T>> inspect(const Node<T>& fetch, ArrayRef<Feed<T>> feeds = {});

  // The session's graph; throws Error once it is destroyed.
  Graph<T>& graph();
  // Number of compiled plans kept (one per fetch set and batch size; at most
  // SessionOptions::plan_cache_size).
  std::size_t plan_count() const;
  // What the compiler made of the plan for these fetches and feeds (compiled
  // now if it was not yet): rules fired, fused groups, buffers, kernels.
  PlanSummary plan_summary(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds = {});
  // The same for the plan of the last run; throws Error before the first run.
  PlanSummary plan_summary() const;
  const SessionOptions& options() const { return options_; }

 private:
  struct Plan;
  struct Step;
  xt::xarray<T>& storage(const Node<T>& variable, const char* caller);
  std::size_t batch_size_of(ArrayRef<Feed<T>> feeds);  // checks the feeds, too
  Plan& plan_for(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds, std::size_t& batch_size);
  Plan& execute(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds);
  // keep_all: no buffer is reused, so every value of a run stays readable after it.
  std::unique_ptr<Plan> compile(const std::vector<NodeId>& fetches, std::size_t batch_size, const PassOptions& passes,
                                bool keep_all = false);
  void bind_leaves(Plan& plan);
  void bind_feeds(Plan& plan, ArrayRef<Feed<T>> feeds);
  void run_steps(const Plan& plan);
  void run_steps_with_collectives(const Plan& plan);
  void check_step(const Plan& plan, const Step& step);
  void check_feeds(const Plan& plan) const;
  void run_step(const Plan& plan, const Step& step);
  void verified_run(Plan& plan, ArrayRef<Feed<T>> feeds);
  PlanSummary summary(const Plan& plan) const;
  friend class InspectablePlan<T>;

  // Every public call starts here: one call at a time, and an Error when the graph is gone.
  std::unique_lock<std::mutex> enter(const char* caller) const;
  Plan& cache(std::unique_ptr<Plan> plan);
  OpState* state_of(const Op<T>& op);

  Graph<T>& graph_;
  std::shared_ptr<const std::atomic<bool>> graph_alive_;  // Graph::alive()
  SessionOptions options_;
  std::unordered_map<NodeId, xt::xarray<T>> variables_;  // node id -> value (element addresses are stable)
  std::vector<std::unique_ptr<Plan>> plans_;  // at most options_.plan_cache_size; searched without allocating
  Plan* last_plan_ = nullptr;
  std::uint64_t clock_ = 0;  // counts plan uses, for least-recently-used eviction
  // Per op with run-to-run state (dropout's random stream): this session's state.
  std::unordered_map<const Op<T>*, std::unique_ptr<OpState>> op_states_;
  mutable std::mutex mutex_;  // one call at a time (see "Threads" above)
};

extern template class Session<float>;
extern template class Session<double>;
extern template class InspectablePlan<float>;
extern template class InspectablePlan<double>;

}  // namespace graphnn
