// element_function: the fetch as a function of one element of one variable,
// evaluated by recomputing only what that element changes.
//
// Numerical differentiation evaluates the loss two or four times per
// parameter; a full run each time costs every matrix product of the network.
// Here one full run is kept (Session::inspect: a plan whose buffers are never
// reused) with a copy of every value downstream of the variable. A call
// changes the element and walks the downstream steps, passing on which
// elements of each value changed: an element-wise op recomputes the output
// elements its changed inputs reach (its own forward on gathered buffers), a
// matrix product adds a rank-one term per changed element of one operand, any
// other op is recomputed whole. Then every touched value is put back from its
// copy, so each call starts from the same exact state.
#include "graphnn/incremental.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <string>
#include <vector>

#include "compiler_ops.hpp"
#include "op_kit.hpp"

namespace graphnn {

namespace {

// Which elements of a value changed: all of them, or the listed flat indices.
struct Changes {
  bool all = false;
  std::vector<std::size_t> indices;
  bool none() const { return !all && indices.empty(); }
  void clear() {
    all = false;
    indices.clear();  // keeps the capacity: repeated calls do not allocate
  }
};

// The flat index of `in` read at flat index `o` of `out`, for in's broadcast_strides `s`.
inline std::size_t broadcast_source(std::size_t o, const Dims& out, const kit::Strides& s) {
  std::size_t i = 0;
  for (std::size_t d = out.size(); d-- > 0;) {
    i += (o % out[d]) * s[d];
    o /= out[d];
  }
  return i;
}

// Calls f(o) for every flat index o of `out` that reads element `index` of a
// broadcast `in` (the inverse of broadcast_source).
template <class F>
void for_each_reader(const Dims& in, const Dims& out, std::size_t index, F&& f) {
  const std::size_t rank = out.size(), lead = rank - in.size();
  std::array<std::size_t, kit::kMaxRank> pos{}, stride{};
  std::array<bool, kit::kMaxRank> free{};
  for (std::size_t d = rank, st = 1; d-- > 0; st *= out[d]) stride[d] = st;
  for (std::size_t d = rank; d-- > 0;) {
    const std::size_t n = d >= lead ? in[d - lead] : 1;
    free[d] = n == 1 && out[d] > 1;
    if (!free[d]) pos[d] = index % n;
    index /= n;
  }
  while (true) {
    std::size_t o = 0;
    for (std::size_t d = 0; d < rank; ++d) o += pos[d] * stride[d];
    f(o);
    std::size_t d = rank;
    while (d-- > 0) {  // odometer over the broadcast dimensions
      if (!free[d]) continue;
      if (++pos[d] < out[d]) break;
      pos[d] = 0;
    }
    if (d == std::size_t(-1)) return;
  }
}

// Element `o` of `out` as read from a broadcast `in`: the common layouts (the
// same shape, a scalar, a block repeated over the rows) skip the generic
// index walk, which divides once per dimension.
template <class T>
class BroadcastRead {
 public:
  BroadcastRead(const Buffer<T>& in, const Dims& out)
      : data_(in.data), dims_(out), strides_(kit::broadcast_strides(in.dims, out)), period_(in.size) {
    std::size_t total = 1;
    for (auto d : out) total *= d;
    layout_ = in.size == total ? same : in.size == 1 ? scalar : kit::is_trailing(in.dims, out) ? trailing : general;
  }
  T operator()(std::size_t o) const {
    switch (layout_) {
      case same: return data_[o];
      case scalar: return data_[0];
      case trailing: return data_[period_.mod(o)];
      default: return data_[broadcast_source(o, dims_, strides_)];
    }
  }

 private:
  enum Layout { same, scalar, trailing, general };
  const T* data_;
  const Dims& dims_;
  kit::Strides strides_;
  kit::FastDivisor period_;  // trailing: in repeats every in.size elements of out
  Layout layout_;
};

// Below this share of an output's elements, a list is recomputed element by
// element; from it on one dense pass is cheaper (and gives the same values).
bool dense(std::size_t listed, std::size_t size) { return listed * 4 >= size; }

}  // namespace

template <class T>
struct ElementFunction<T>::State {
  // A value downstream of the variable: what changed in this call, and its
  // value in the kept run.
  struct Value {
    Changes changes;
    std::vector<T> kept;
  };
  enum class Rule { rerun, alias, elementwise, matmul };
  struct Rerun {
    std::size_t step;            // in the plan
    Value* value;                // the step's output
    std::vector<Value*> inputs;  // per input: its Value, or null when the variable does not reach it
    Rule rule = Rule::rerun;
    MatMulFlags flags;           // Rule::matmul
    // Rule::elementwise: the listed elements of each input, gathered, and the output's.
    std::vector<std::vector<T>> gathered;
    std::vector<Buffer<T>> blocks;
    std::vector<const Buffer<T>*> block_inputs;
    std::vector<T> out_values;
    Buffer<T> out_block;
  };
  std::unique_ptr<InspectablePlan<T>> plan;
  Node<T> variable;
  T* data = nullptr;
  std::deque<Value> values;   // [0]: the variable; stable addresses
  std::vector<Rerun> reruns;  // the steps downstream of the variable, in plan order

  bool update_elementwise(Rerun& r, const StepView<T>& step);
  bool update_matmul(Rerun& r, const StepView<T>& step);
  void restore();
};

// Recomputes the output elements that read a changed input element (listed
// once each): the op's own forward on 1-D buffers of just those elements.
template <class T>
bool ElementFunction<T>::State::update_elementwise(Rerun& r, const StepView<T>& step) {
  const Buffer<T>& out = *step.out;
  std::vector<std::size_t>& listed = r.value->changes.indices;
  listed.clear();
  std::size_t changed_inputs = 0;
  for (std::size_t k = 0; k < r.inputs.size(); ++k) {
    if (!r.inputs[k] || r.inputs[k]->changes.none()) continue;
    ++changed_inputs;
    const std::vector<std::size_t>& idx = r.inputs[k]->changes.indices;
    const Buffer<T>& in = *step.inputs[k];
    if (in.size == out.size) listed.insert(listed.end(), idx.begin(), idx.end());
    else
      for (std::size_t i : idx) for_each_reader(in.dims, out.dims, i, [&](std::size_t o) { listed.push_back(o); });
  }
  if (changed_inputs > 1 || !std::is_sorted(listed.begin(), listed.end())) {
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
  }
  if (dense(listed.size(), out.size)) return false;
  const std::size_t n = listed.size();
  for (std::size_t k = 0; k < step.inputs.size(); ++k) {
    const BroadcastRead<T> read(*step.inputs[k], out.dims);
    std::vector<T>& g = r.gathered[k];
    g.resize(n);
    for (std::size_t j = 0; j < n; ++j) g[j] = read(listed[j]);
    r.blocks[k].data = g.data();
    r.blocks[k].dims[0] = r.blocks[k].size = n;
  }
  r.out_values.resize(n);
  r.out_block.data = r.out_values.data();
  r.out_block.dims[0] = r.out_block.size = n;
  step.op->forward(r.block_inputs, r.out_block);
  for (std::size_t j = 0; j < n; ++j) out.data[listed[j]] = r.out_values[j];
  return true;
}

// A few elements of one operand changed: op(A)[i, p] by d adds d op(B)[p, :]
// to row i of C, op(B)[p, j] by d adds d op(A)[:, p] to column j. Many
// changed, or both operands: one GEMM is cheaper.
template <class T>
bool ElementFunction<T>::State::update_matmul(Rerun& r, const StepView<T>& step) {
  const bool changed_a = r.inputs[0] && !r.inputs[0]->changes.none();
  const bool changed_b = r.inputs[1] && !r.inputs[1]->changes.none();
  if (changed_a && changed_b) return false;
  const std::size_t k = changed_a ? 0 : 1;
  const std::vector<std::size_t>& idx = r.inputs[k]->changes.indices;
  const Buffer<T>& changed = *step.inputs[k];
  if (idx.size() * 8 > changed.size) return false;
  const T* before = r.inputs[k]->kept.data();
  const Buffer<T>& other = *step.inputs[1 - k];
  Buffer<T>& out = *step.out;
  const bool ta = r.flags.transpose_a, tb = r.flags.transpose_b;
  const std::size_t m = out.dims[0], n = out.dims[1], ld = other.dims[1];
  const bool transposed = k == 0 ? ta : tb;
  const kit::FastDivisor cols(changed.dims[1]);
  Changes& out_changed = r.value->changes;
  std::vector<std::size_t>& lines = out_changed.indices;  // rows (k = 0) or columns of C, then its elements
  lines.clear();
  for (std::size_t e : idx) {
    const T d = changed.data[e] - before[e];
    const std::size_t row = cols.div(e), col = e - row * cols.value();
    const std::size_t i = transposed ? col : row, p = transposed ? row : col;  // the element is op(X)[i, p]
    if (k == 0) {  // row i of C += d op(B)[p, :]
      T* c = out.data + i * n;
      if (tb) {
        for (std::size_t j = 0; j < n; ++j) c[j] += d * other.data[j * ld + p];
      } else {
        const T* bp = other.data + p * ld;
        for (std::size_t j = 0; j < n; ++j) c[j] += d * bp[j];
      }
      lines.push_back(i);
    } else {  // column p of C += d op(A)[:, i]
      T* c = out.data + p;
      if (ta) {
        const T* ai = other.data + i * ld;
        for (std::size_t t = 0; t < m; ++t) c[t * n] += d * ai[t];
      } else {
        for (std::size_t t = 0; t < m; ++t) c[t * n] += d * other.data[t * ld + i];
      }
      lines.push_back(p);
    }
  }
  if (!std::is_sorted(lines.begin(), lines.end())) std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  const std::size_t count = lines.size(), length = k == 0 ? n : m;
  if (count == (k == 0 ? m : n)) {  // every line: say so instead of listing each element
    lines.clear();
    out_changed.all = true;
    return true;
  }
  lines.resize(count * length);
  for (std::size_t l = count; l-- > 0;) {  // expand in place, from the back
    const std::size_t line = lines[l];
    std::size_t* to = lines.data() + l * length;
    if (k == 0)
      for (std::size_t t = 0; t < length; ++t) to[t] = line * n + t;
    else
      for (std::size_t t = 0; t < length; ++t) to[t] = t * n + line;
  }
  return true;
}

// Puts back every value the call touched.
template <class T>
void ElementFunction<T>::State::restore() {
  for (auto& r : reruns) {
    Value& v = *r.value;
    if (r.rule != Rule::alias) {  // an alias shares its input's storage: restored with it
      T* out = plan->steps()[r.step].out->data;
      if (v.changes.all || dense(v.changes.indices.size(), v.kept.size()))  // one copy beats scattered ones
        std::copy(v.kept.begin(), v.kept.end(), out);
      else
        for (std::size_t i : v.changes.indices) out[i] = v.kept[i];
    }
    v.changes.clear();
  }
  Value& var = values.front();
  for (std::size_t i : var.changes.indices) data[i] = var.kept[i];
  var.changes.clear();
}

template <class T>
ElementFunction<T>::ElementFunction(std::unique_ptr<State> state) : state_(std::move(state)) {}
template <class T>
ElementFunction<T>::ElementFunction(ElementFunction&&) noexcept = default;
template <class T>
ElementFunction<T>& ElementFunction<T>::operator=(ElementFunction&&) noexcept = default;
template <class T>
ElementFunction<T>::~ElementFunction() = default;

template <class T>
std::size_t ElementFunction<T>::size() const {
  return state_->values.front().kept.size();
}

template <class T>
ElementFunction<T> element_function(Session<T>& session, const Node<T>& fetch, const Node<T>& variable,
                                    ArrayRef<Feed<T>> feeds) {
  const Graph<T>& graph = session.graph();
  graph.check_owns(fetch, "element_function: fetch");
  graph.check_owns(variable, "element_function");
  if (graph.data(variable).op->kind() != OpKind::variable)
    throw Error("element_function: " + describe(variable) + " is not a variable");
  using State = typename ElementFunction<T>::State;
  auto s = std::make_unique<State>();
  s->variable = variable;
  s->data = session.variable_data(variable);
  const std::size_t size = session.value(variable).size();
  s->plan = session.inspect(fetch, feeds);
  const std::vector<StepView<T>>& steps = s->plan->steps();
  for (const StepView<T>& step : steps)
    if (step.op->kind() == OpKind::assign)
      throw Error("element_function: fetch " + describe(fetch) + " runs the assignment " +
                  describe(session.graph().node(step.node)) + "; only a function without side effects can be evaluated");
  s->plan->run();

  std::vector<typename State::Value*> value_of(graph.size(), nullptr);  // by the user's node
  s->values.emplace_back();
  s->values.back().kept.assign(s->data, s->data + size);
  value_of[variable.id()] = &s->values.back();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const StepView<T>& step = steps[i];
    typename State::Rerun rerun;
    rerun.step = i;
    bool reached = false;
    for (NodeId in : step.input_nodes) {
      rerun.inputs.push_back(value_of[in]);
      reached = reached || rerun.inputs.back();
    }
    if (!reached) continue;
    if (step.aliases) {
      if (!rerun.inputs[static_cast<std::size_t>(step.op->alias_input())]) continue;  // shares an unchanged value
      rerun.rule = State::Rule::alias;
    } else if (const auto flags = matmul_flags(*step.op)) {
      rerun.rule = State::Rule::matmul;
      rerun.flags = *flags;
    } else if (step.op->traits().elementwise) {
      rerun.rule = State::Rule::elementwise;
      rerun.gathered.resize(step.inputs.size());
      rerun.blocks.assign(step.inputs.size(), Buffer<T>{nullptr, Dims{0}, 0});
      for (const Buffer<T>& b : rerun.blocks) rerun.block_inputs.push_back(&b);
      rerun.out_block.dims = Dims{0};
    }
    s->values.emplace_back();
    rerun.value = &s->values.back();
    if (!step.aliases) rerun.value->kept.assign(step.out->data, step.out->data + step.out->size);
    value_of[step.node] = rerun.value;
    s->reruns.push_back(std::move(rerun));
  }
  return ElementFunction<T>(std::move(s));
}

template <class T>
double ElementFunction<T>::operator()(std::size_t index, T value) {
  State& s = *state_;
  typename State::Value& var = s.values.front();
  if (index >= var.kept.size())
    throw Error("element_function: index " + std::to_string(index) + " is outside variable " + describe(s.variable) +
                " (" + std::to_string(var.kept.size()) + " elements)");
  struct Restore {  // also when a kernel throws
    State& s;
    ~Restore() { s.restore(); }
  } restore{s};
  s.data[index] = value;
  var.changes.indices.push_back(index);

  const std::vector<StepView<T>>& steps = s.plan->steps();
  for (auto& r : s.reruns) {
    const StepView<T>& step = steps[r.step];
    Changes& out_changes = r.value->changes;
    if (r.rule == State::Rule::alias) {  // same storage, same layout: the same elements changed
      s.plan->run_step(r.step);
      out_changes = r.inputs[static_cast<std::size_t>(step.op->alias_input())]->changes;
      continue;
    }
    bool all = false, any = false;
    for (const typename State::Value* in : r.inputs) {
      all = all || (in && in->changes.all);
      any = any || (in && !in->changes.none());
    }
    if (!any) continue;
    if (!all && r.rule == State::Rule::elementwise && s.update_elementwise(r, step)) continue;
    if (!all && r.rule == State::Rule::matmul && s.update_matmul(r, step)) continue;
    out_changes.clear();
    out_changes.all = true;
    s.plan->run_step(r.step);
  }
  const Buffer<T>& fetched = s.plan->fetched();
  double sum = 0;
  for (std::size_t i = 0; i < fetched.size; ++i) sum += double(fetched.data[i]);
  return sum;
}

#define INSTANTIATE(T)                                                                                           \
  template class ElementFunction<T>;                                                                            \
  template ElementFunction<T> element_function<T>(Session<T>&, const Node<T>&, const Node<T>&, ArrayRef<Feed<T>>);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)
#undef INSTANTIATE

}  // namespace graphnn
