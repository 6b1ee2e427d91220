// Session::element_function: the fetch as a function of one element of one
// variable, evaluated by recomputing only what that element changes.
//
// Numerical differentiation evaluates the loss two or four times per
// parameter; a full run each time costs every matrix product of the network.
// Here one full run is kept (a plan whose buffers are never reused) with a copy
// of every value downstream of the variable. A call changes the element and
// walks the downstream steps: an op that can (Op::forward_changes) updates
// just the elements its changed inputs reach and passes their list on (a
// matrix product adds a rank-one term for a changed weight, an element-wise op
// recomputes the listed elements); any other op is recomputed whole. Then
// every touched value is put back from its copy, so each call starts from the
// same exact state.
#include <algorithm>
#include <deque>
#include <string>

#include "graphnn/session.hpp"
#include "session_plan.hpp"

namespace graphnn {

template <class T>
struct Session<T>::ElementFunction::State {
  // A value downstream of the variable: what changed in this call, and its
  // value in the kept run.
  struct Value {
    Changes changes;
    std::vector<T> kept;
  };
  struct Rerun {
    const Step* step;
    Value* value;                  // the step's output
    std::vector<Value*> inputs;    // per input: its Value, or null when the variable does not reach it
    bool alias = false;            // the output is input alias_input()'s storage (reshape, stop_gradient)
    std::vector<const T*> before;  // the arguments of Op::forward_changes, filled per call
    std::vector<const Changes*> changed;
  };
  Session* session = nullptr;
  std::unique_ptr<Plan> plan;
  Node<T> variable;
  T* data = nullptr;
  std::deque<Value> values;   // [0]: the variable; stable addresses
  std::vector<Rerun> reruns;  // the steps downstream of the variable, in plan order
  const Buffer<T>* fetched = nullptr;
  const Changes unchanged;
};

template <class T>
Session<T>::ElementFunction::ElementFunction(std::unique_ptr<State> state) : state_(std::move(state)) {}
template <class T>
Session<T>::ElementFunction::ElementFunction(ElementFunction&&) noexcept = default;
template <class T>
typename Session<T>::ElementFunction& Session<T>::ElementFunction::operator=(ElementFunction&&) noexcept = default;
template <class T>
Session<T>::ElementFunction::~ElementFunction() = default;

template <class T>
std::size_t Session<T>::ElementFunction::size() const {
  return state_->values.front().kept.size();
}

template <class T>
typename Session<T>::ElementFunction Session<T>::element_function(const Node<T>& fetch, const Node<T>& variable,
                                                                  ArrayRef<Feed<T>> feeds) {
  graph_.check_owns(fetch, "element_function: fetch");
  xt::xarray<T>& storage_of_variable = storage(variable, "element_function");
  using State = typename ElementFunction::State;
  auto s = std::make_unique<State>();
  s->session = this;
  s->variable = variable;
  s->data = storage_of_variable.data();
  PassOptions as_written;  // incremental evaluation follows the user's ops one by one
  as_written.enabled = false;
  s->plan = compile({fetch.id()}, batch_size_of(feeds), as_written, /*keep_all=*/true);
  const Graph<T>& program = *s->plan->program.graph;
  for (const Step& step : s->plan->steps)
    if (step.op->kind() == OpKind::assign)
      throw Error("element_function: fetch " + describe(fetch) + " runs the assignment " +
                  describe(s->plan->program.graph->node(step.node)) + "; only a function without side effects can be evaluated");
  bind_feeds(*s->plan, feeds);
  run_steps(*s->plan);
  s->fetched = s->plan->fetched[0];

  std::vector<typename State::Value*> value_of(program.size(), nullptr);  // by node of the program
  s->values.emplace_back();
  s->values.back().kept.assign(s->data, s->data + storage_of_variable.size());
  for (NodeId id = 0; id < program.size(); ++id)
    if (s->plan->program.user(id) == variable.id()) value_of[id] = &s->values.back();
  for (const Step& step : s->plan->steps) {
    typename State::Rerun rerun{&step, nullptr, {}, false, {}, {}};
    bool reached = false;
    for (NodeId in : program.data(step.node).inputs) {
      rerun.inputs.push_back(value_of[in]);
      reached = reached || rerun.inputs.back();
    }
    if (!reached) continue;
    const int alias = step.op->alias_input();
    rerun.alias = alias >= 0;
    if (rerun.alias && !rerun.inputs[static_cast<std::size_t>(alias)]) continue;  // shares an unchanged value
    s->values.emplace_back();
    rerun.value = &s->values.back();
    if (!rerun.alias) rerun.value->kept.assign(step.out->data, step.out->data + step.out->size);
    value_of[step.node] = rerun.value;
    rerun.before.resize(rerun.inputs.size());
    rerun.changed.resize(rerun.inputs.size());
    s->reruns.push_back(std::move(rerun));
  }
  return ElementFunction(std::move(s));
}

template <class T>
double Session<T>::ElementFunction::operator()(std::size_t index, T value) {
  State& s = *state_;
  typename State::Value& var = s.values.front();
  if (index >= var.kept.size())
    throw Error("element_function: index " + std::to_string(index) + " is outside variable " + describe(s.variable) +
                " (" + std::to_string(var.kept.size()) + " elements)");
  // Puts back every value the call touched, also when a kernel throws.
  struct Restore {
    State& s;
    ~Restore() {
      for (auto& r : s.reruns) {
        typename State::Value& v = *r.value;
        if (!r.alias) {  // an alias shares its input's storage: restored with it
          if (v.changes.all || v.changes.indices.size() * 4 >= v.kept.size())  // one copy beats scattered ones
            std::copy(v.kept.begin(), v.kept.end(), r.step->out->data);
          else
            for (std::size_t i : v.changes.indices) r.step->out->data[i] = v.kept[i];
        }
        v.changes.clear();
      }
      typename State::Value& var = s.values.front();
      for (std::size_t i : var.changes.indices) s.data[i] = var.kept[i];
      var.changes.clear();
    }
  } restore{s};
  s.data[index] = value;
  var.changes.indices.push_back(index);

  for (auto& r : s.reruns) {
    const Step& step = *r.step;
    Changes& out_changes = r.value->changes;
    if (r.alias) {  // same storage, same layout: the same elements changed
      s.session->run_step(*s.plan, step);
      out_changes = r.inputs[static_cast<std::size_t>(step.op->alias_input())]->changes;
      continue;
    }
    bool all = false, any = false;
    for (std::size_t k = 0; k < r.inputs.size(); ++k) {
      const typename State::Value* in = r.inputs[k];
      r.changed[k] = in ? &in->changes : &s.unchanged;
      r.before[k] = in && !in->changes.none() ? in->kept.data() : nullptr;
      all = all || (in && in->changes.all);
      any = any || (in && !in->changes.none());
    }
    if (!any) continue;
    if (!all && step.op->forward_changes(step.inputs, r.before, r.changed, *step.out, out_changes)) continue;
    out_changes.clear();
    out_changes.all = true;
    s.session->run_step(*s.plan, step);
  }
  double sum = 0;
  for (std::size_t i = 0; i < s.fetched->size; ++i) sum += double(s.fetched->data[i]);
  return sum;
}

template class Session<float>::ElementFunction;
template class Session<double>::ElementFunction;
template typename Session<float>::ElementFunction Session<float>::element_function(const Node<float>&,
                                                                                  const Node<float>&,
                                                                                  ArrayRef<Feed<float>>);
template typename Session<double>::ElementFunction Session<double>::element_function(const Node<double>&,
                                                                                     const Node<double>&,
                                                                                     ArrayRef<Feed<double>>);

}  // namespace graphnn
