// The rewrite rules of the graph compiler, in one table (kRules), and the one
// loop that applies them.
//
// Every speed-up that changes what runs is a rule here: a name (what
// PassOptions::disabled and plan_summary call it), the pattern it matches, the
// precondition under which the replacement computes exactly what the user
// wrote, and the replacement. Patterns match an op's identity (Op::traits,
// ops/compiler_ops.hpp), never its user-visible type string, so a custom op
// named "sigmoid" is never rewritten as the built-in one. A rule that does not
// apply returns an empty node and the node is copied as built.
//
// The loop rebuilds the program bottom-up: each node is emitted after its
// inputs, so a rule sees inputs that are already rewritten. It repeats until
// no rule fires, and each round drops the nodes the fetches no longer need.
#include <algorithm>
#include <map>
#include <optional>

#include "compiler_ops.hpp"
#include "graphnn/ops.hpp"
#include "passes/program.hpp"

namespace graphnn::passes {
namespace {

constexpr std::size_t kUnknownUses = std::numeric_limits<std::size_t>::max();
// Constant subgraphs up to this many elements are evaluated when the plan is compiled.
constexpr std::size_t kFoldLimit = 1 << 16;

// One round: the old program read, the next one built.
template <class T>
struct Round {
  const Program<T>& old;
  Program<T> next;
  std::vector<std::size_t> uses;     // per node of next: its consumers (a fetch counts), or kUnknownUses
  std::vector<NodeId> written;       // user ids of variables that an assignment of the program reads or writes
  std::map<std::vector<NodeId>, std::vector<NodeId>> by_inputs;  // CSE: nodes of next by their inputs

  Graph<T>& g() { return *next.graph; }
  const Op<T>& op(const Node<T>& n) { return *g().data(n).op; }
  OpCode code(const Node<T>& n) { return op(n).traits().code; }
  std::size_t uses_of(const Node<T>& n) const { return n.id() < uses.size() ? uses[n.id()] : kUnknownUses; }
  Node<T> input(const Node<T>& n, std::size_t k) { return g().node(g().data(n).inputs[k]); }
  // The node whose storage `n` is (following reshape, stop_gradient, ...): the planner's aliasing.
  Node<T> storage_root(Node<T> n) {
    for (int a; (a = op(n).alias_input()) >= 0;) n = input(n, static_cast<std::size_t>(a));
    return n;
  }
  bool written_variable(const Node<T>& n) {
    const NodeId u = next.user(n.id());
    return op(n).kind() == OpKind::variable && std::find(written.begin(), written.end(), u) != written.end();
  }
};

// A node of the old program about to be emitted, its inputs already in the next one.
template <class T>
struct Match {
  const NodeData<T>& node;
  const Nodes<T>& in;
  OpCode code() const { return node.op->traits().code; }
};

template <class T>
struct Rule {
  const char* name;
  const char* pattern;
  const char* precondition;
  Node<T> (*apply)(Round<T>& r, const Match<T>& m);
};

// The single value every element of `n` holds, when the graph says so.
template <class T>
std::optional<T> fill_value(Round<T>& r, const Node<T>& n) {
  const OpCode c = r.code(n);
  if (c == OpCode::ones_like) return T(1);
  if (c == OpCode::zeros_like) return T(0);
  const xt::xarray<T>* v = r.op(n).kind() == OpKind::constant ? r.op(n).value() : nullptr;
  if (!v || v->size() == 0) return std::nullopt;
  const T first = *v->begin();
  if (std::all_of(v->begin(), v->end(), [first](T x) { return x == first; })) return first;
  return std::nullopt;
}

template <class T>
Node<T> constant_folding(Round<T>& r, const Match<T>& m) {
  const Op<T>& op = *m.node.op;
  if (op.kind() != OpKind::compute || !op.traits().pure || op.alias_input() >= 0 || has_batch(m.node.shape))
    return {};
  const bool fill = m.code() == OpCode::ones_like || m.code() == OpCode::zeros_like;  // reads no input value
  for (const Node<T>& x : m.in)
    if (!fill && r.op(x).kind() != OpKind::constant) return {};
  const Dims dims = resolve(m.node.shape, 0);
  if (num_elements(dims) > kFoldLimit) return {};
  std::vector<Buffer<T>> in(m.in.size());
  std::vector<const Buffer<T>*> ptrs;
  for (std::size_t k = 0; k < m.in.size(); ++k) {
    const xt::xarray<T>* v = fill ? nullptr : r.op(m.in[k]).value();
    in[k].dims = resolve(m.in[k].shape(), 0);
    in[k].size = num_elements(in[k].dims);
    in[k].data = v ? const_cast<T*>(v->data()) : nullptr;  // read only
    ptrs.push_back(&in[k]);
  }
  xt::xarray<T> value = xt::zeros<T>(dims);
  Buffer<T> out{value.data(), dims, value.size()};
  std::vector<Dims> in_dims;
  for (const Buffer<T>& b : in) in_dims.push_back(b.dims);
  std::vector<T> scratch(op.workspace_size(in_dims, dims));  // what the plan would place in its arena
  out.workspace = scratch.empty() ? nullptr : scratch.data();
  try {
    op.forward(ptrs, out);
  } catch (const Error&) {
    return {};  // a value error (a class id out of range) is reported when the plan runs, naming the node
  }
  return r.g().constant({}, value);
}

template <class T>
Node<T> mul_by_one(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::mul) return {};
  for (std::size_t k = 0; k < 2; ++k)
    if (fill_value(r, m.in[k]) == T(1) && m.in[1 - k].shape() == m.node.shape) return m.in[1 - k];
  return {};
}

template <class T>
Node<T> add_zero(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::add && m.code() != OpCode::sub) return {};
  for (std::size_t k = 0; k < 2; ++k) {
    if (k == 0 && m.code() == OpCode::sub) continue;  // 0 - x is not x
    if (fill_value(r, m.in[k]) == T(0) && m.in[1 - k].shape() == m.node.shape) return m.in[1 - k];
  }
  return {};
}

template <class T>
Node<T> double_negation(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::neg || r.code(m.in[0]) != OpCode::neg) return {};
  return r.input(m.in[0], 0);
}

template <class T>
Node<T> double_transpose(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::transpose || r.code(m.in[0]) != OpCode::transpose) return {};
  return r.input(m.in[0], 0);
}

// add(add(a, b), c) -> add_n(a, b, c): one pass, however many paths a gradient sums.
template <class T>
Node<T> sum_chain(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::add && m.code() != OpCode::add_n) return {};
  Nodes<T> terms;
  bool flattened = false;
  for (const Node<T>& x : m.in) {
    if (x.shape() != m.node.shape) return {};  // broadcasting adds stay binary
    const OpCode c = r.code(x);
    if ((c == OpCode::add || c == OpCode::add_n) && r.uses_of(x) == 1) {
      const NodeData<T>& d = r.g().data(x);
      for (NodeId in : d.inputs)
        if (r.g().data(in).shape != m.node.shape) return {};
      for (NodeId in : d.inputs) terms.push_back(r.g().node(in));
      flattened = true;
    } else {
      terms.push_back(x);
    }
  }
  return flattened ? add_n(terms) : Node<T>();
}

template <class T>
Node<T> transpose_into_matmul(Round<T>& r, const Match<T>& m) {
  const std::optional<MatMulFlags> f = matmul_flags(*m.node.op);
  if (!f) return {};
  const bool ta = r.code(m.in[0]) == OpCode::transpose, tb = r.code(m.in[1]) == OpCode::transpose;
  if (!ta && !tb) return {};
  return matmul(ta ? r.input(m.in[0], 0) : m.in[0], tb ? r.input(m.in[1], 0) : m.in[1], f->transpose_a != ta,
                f->transpose_b != tb);
}

// transpose(op(a) op(b)) = op(b)^T op(a)^T: the product with swapped,
// flipped flags (a gradient rule's transpose of a product).
template <class T>
Node<T> transpose_of_matmul(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::transpose) return {};
  const std::optional<MatMulFlags> f = matmul_flags(r.op(m.in[0]));
  if (!f || r.uses_of(m.in[0]) != 1) return {};
  return matmul(r.input(m.in[0], 1), r.input(m.in[0], 0), !f->transpose_b, !f->transpose_a);
}

// Plain SGD whose gradient is a product: w -= lr op(a) op(b) in one GEMM,
// without the gradient's buffer. GEMM's output must not be one of its
// factors, and the factors are read when the update runs, after the other
// assignments of the run: so no factor may be a variable's storage that an
// assignment of this plan touches (stop_gradient(w) is w's storage).
template <class T>
Node<T> sgd_matmul_update(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::plain_sgd_update) return {};
  const Node<T>& grad = m.in[1];
  const std::optional<MatMulFlags> f = matmul_flags(r.op(grad));
  if (!f || r.uses_of(grad) != 1) return {};
  const Node<T> a = r.input(grad, 0), b = r.input(grad, 1), var = r.storage_root(m.in[0]);
  for (const Node<T>& factor : {a, b}) {
    const Node<T> root = r.storage_root(factor);
    if (root == var || r.written_variable(root)) return {};
  }
  return graphnn::sgd_matmul_update(m.in[0], a, b, m.in[2], *f);
}

// allreduce_mean(op(a) op(b)): each process's product divided by the process
// count in the GEMM (its alpha) and the bucket only summed, which saves a pass
// over the bucket after every transfer. The collective says when the division
// before the sum gives the same bits (a power of two of processes).
template <class T>
Node<T> mean_scale_into_product(Round<T>& r, const Match<T>& m) {
  const Collective<T>* c = m.node.op->collective();
  const std::optional<T> scale = c ? c->input_scale() : std::nullopt;
  if (!scale) return {};
  const std::optional<MatMulFlags> f = matmul_flags(r.op(m.in[0]));
  if (!f || r.uses_of(m.in[0]) != 1) return {};
  const Node<T> product = scaled_matmul(r.input(m.in[0], 0), r.input(m.in[0], 1), *f, *scale);
  return r.g().add(c->with_scaled_inputs(), {product});
}

// conv2d(x, w) + b with b one value per output channel: the convolution adds
// b to each tile of its output while the tile is in cache, instead of a pass
// of its own over the whole activation. Same sum, same bits (IEEE addition
// commutes).
template <class T>
Node<T> bias_into_conv(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::add || m.node.shape.empty()) return {};
  for (std::size_t k = 0; k < 2; ++k) {
    const Node<T>&conv = m.in[k], &bias = m.in[1 - k];
    if (r.g().data(conv).inputs.size() != 2 || r.uses_of(conv) != 1 || conv.shape() != m.node.shape ||
        bias.shape() != Shape{m.node.shape.back()})
      continue;
    if (Node<T> with_bias = conv2d_with_bias(r.op(conv), r.input(conv, 0), r.input(conv, 1), bias); with_bias.valid())
      return with_bias;
  }
  return {};
}

// relu_grad(max_pool2d_grad(x, dy), x), the backward of max_pool2d(relu(..)):
// the routing zeroes the cells where x <= 0 as it writes them, which saves a
// pass over the whole activation. The same bits: a cell either keeps what
// was routed to it or becomes +0, as relu_grad makes it.
template <class T>
Node<T> relu_grad_into_max_pool2d_grad(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::relu_grad) return {};
  const Node<T>&routed = m.in[0], &x = m.in[1];
  if (r.g().data(routed).inputs.size() != 2 || r.input(routed, 0) != x || r.uses_of(routed) != 1) return {};
  return max_pool2d_grad_relu(r.op(routed), x, r.input(routed, 1));
}

// binary_cross_entropy(sigmoid(z), y) from the logits z: finite and exact
// where sigmoid saturates. Only the built-in sigmoid; the gradient nodes the
// user built (for z, or for the sigmoid's output) are not touched.
template <class T>
Node<T> bce_of_sigmoid(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::binary_cross_entropy || r.code(m.in[0]) != OpCode::sigmoid) return {};
  return sigmoid_cross_entropy(r.input(m.in[0], 0), m.in[1]);
}

// sigmoid_grad(m * binary_cross_entropy_grad(s, y), s), s = sigmoid(z): the
// gradient for z is m (s - y), also where s saturates and clipping would give 0.
template <class T>
Node<T> bce_of_sigmoid_gradient(Round<T>& r, const Match<T>& m) {
  if (m.code() != OpCode::sigmoid_grad) return {};
  const Node<T>&g = m.in[0], &s = m.in[1];
  if (r.code(s) != OpCode::sigmoid || r.code(g) != OpCode::mul) return {};
  for (std::size_t k = 0; k < 2; ++k) {
    const Node<T> d = r.input(g, k);
    if (r.code(d) == OpCode::binary_cross_entropy_grad && r.input(d, 0) == s && d.shape() == s.shape())
      return r.input(g, 1 - k) * (s - r.input(d, 1));
  }
  return {};
}

// Same op (Op::same_as: class and parameters) on the same inputs: one node.
template <class T>
Node<T> common_subexpression(Round<T>& r, const Match<T>& m) {
  const Op<T>& op = *m.node.op;
  if (op.kind() != OpKind::compute || !op.traits().pure) return {};
  std::vector<NodeId> key;
  for (const Node<T>& x : m.in) key.push_back(x.id());
  auto it = r.by_inputs.find(key);
  if (it == r.by_inputs.end()) return {};
  for (NodeId id : it->second)
    if (op.same_as(*r.g().data(id).op)) return r.g().node(id);
  return {};
}

// In the order they are tried. Folding first: later rules see constants.
template <class T>
const std::vector<Rule<T>>& rules() {
  static const std::vector<Rule<T>> table = {
      {"constant_folding", "a pure op whose inputs are constants, or ones_like/zeros_like of a static shape",
       "a static shape of at most 65536 elements", constant_folding<T>},
      {"mul_by_one", "x * c, c all ones (a constant or ones_like)", "x already has the product's shape", mul_by_one<T>},
      {"add_zero", "x + c, c + x, x - c with c all zeros", "x already has the result's shape", add_zero<T>},
      {"double_negation", "neg(neg(x))", "always", double_negation<T>},
      {"double_transpose", "transpose(transpose(x))", "always", double_transpose<T>},
      {"sum_chain", "add(add(a, b), c), add_n(add(...), ...)",
       "every term has the sum's shape and the inner sum has no other reader", sum_chain<T>},
      {"transpose_into_matmul", "matmul(transpose(a), b) and matmul(a, transpose(b))",
       "always (a product's inputs are 2-D)", transpose_into_matmul<T>},
      {"transpose_of_matmul", "transpose(matmul(a, b))", "the product has no other reader", transpose_of_matmul<T>},
      {"sgd_matmul_update", "apply_sgd(w, matmul(a, b), lr) without momentum or weight decay",
       "the product has no other reader; neither factor is w's storage or that of a variable the plan updates",
       sgd_matmul_update<T>},
      {"mean_scale_into_product", "allreduce_mean(matmul(a, b))",
       "the product has no other reader; the process count is a power of two above 1 (dividing first is exact)",
       mean_scale_into_product<T>},
      {"bias_into_conv", "conv2d(x, w) + b, b + conv2d(x, w) with b [output channels]",
       "the convolution's output has no other reader", bias_into_conv<T>},
      {"relu_grad_into_max_pool2d_grad", "relu_grad(max_pool2d_grad(x, dy), x)",
       "the pool's gradient has no other reader, and the mask is the pool's own input", relu_grad_into_max_pool2d_grad<T>},
      {"bce_of_sigmoid", "binary_cross_entropy(sigmoid(z), y), sigmoid the built-in op", "always",
       bce_of_sigmoid<T>},
      {"bce_of_sigmoid_gradient", "sigmoid_grad(m * binary_cross_entropy_grad(s, y), s), s the built-in sigmoid",
       "the gradient's probability is the sigmoid's own output", bce_of_sigmoid_gradient<T>},
      {"common_subexpression", "an op node equal (same op class and parameters) to one with the same inputs",
       "the op is pure (not a random mask) and not an assignment", common_subexpression<T>},
  };
  return table;
}

// Per node of g: 1 when the fetches need it.
template <class T>
std::vector<char> needed_nodes(const Graph<T>& g, const std::vector<NodeId>& fetches) {
  std::vector<char> needed(g.size(), 0);
  std::vector<NodeId> stack(fetches.begin(), fetches.end());
  while (!stack.empty()) {
    const NodeId id = stack.back();
    stack.pop_back();
    if (needed[id]) continue;
    needed[id] = 1;
    for (NodeId in : g.data(id).inputs) stack.push_back(in);
  }
  return needed;
}

template <class T>
void track(Round<T>& r, const Node<T>& n, NodeId user, std::size_t uses) {
  const std::size_t size = r.g().size();
  r.next.user_id.resize(size, kNoUserNode);
  r.uses.resize(size, kUnknownUses);
  if (user != kNoUserNode && r.next.user_id[n.id()] == kNoUserNode) r.next.user_id[n.id()] = user;
  std::size_t& u = r.uses[n.id()];
  u = u == kUnknownUses || uses == kUnknownUses ? uses : u + uses;
}

// Emits old node `id`: the first rule that applies, else a copy.
template <class T>
Node<T> emit(Round<T>& r, NodeId id, const Nodes<T>& in, const std::vector<const Rule<T>*>& active,
             std::size_t uses, PassReport& report, bool& changed) {
  const NodeData<T>& d = r.old.graph->data(id);
  for (const Rule<T>* rule : active) {
    const std::size_t before = r.g().size();
    const Node<T> n = rule->apply(r, Match<T>{d, in});
    if (!n.valid()) continue;
    report.count(rule->name);
    changed = true;
    if (n.id() >= before || r.uses_of(n) != kUnknownUses) track(r, n, kNoUserNode, uses);  // new, or counted
    return n;
  }
  const Node<T> n = copy_node(r.g(), d, in);
  track(r, n, r.old.user(id), uses);
  std::vector<NodeId> key;
  for (const Node<T>& x : in) key.push_back(x.id());
  r.by_inputs[key].push_back(n.id());
  return n;
}

template <class T>
Program<T> round(const Program<T>& old, const std::vector<const Rule<T>*>& active, PassReport& report, bool& changed) {
  const std::vector<char> needed = needed_nodes(*old.graph, old.fetches);
  std::vector<std::size_t> uses(old.graph->size(), 0);
  for (NodeId id = 0; id < old.graph->size(); ++id)
    if (needed[id])
      for (NodeId in : old.graph->data(id).inputs) ++uses[in];
  for (NodeId f : old.fetches) ++uses[f];

  Round<T> r{old, {}, {}, {}, {}};
  for (NodeId id = 0; id < old.graph->size(); ++id) {
    const NodeData<T>& d = old.graph->data(id);
    if (needed[id] && d.op->kind() == OpKind::assign)
      for (NodeId in : d.inputs)
        if (old.graph->data(in).op->kind() == OpKind::variable) r.written.push_back(old.user(in));
  }
  std::vector<Node<T>> map(old.graph->size());
  std::size_t dropped = 0;
  for (NodeId id = 0; id < old.graph->size(); ++id) {
    const NodeData<T>& d = old.graph->data(id);
    if (!needed[id]) {
      dropped += d.op->kind() == OpKind::compute;
      continue;
    }
    if (d.inputs.empty() && d.op->kind() != OpKind::compute) {
      map[id] = copy_node(r.g(), d, {});
      track(r, map[id], old.user(id), uses[id]);
      continue;
    }
    map[id] = emit(r, id, mapped_inputs(d, map), active, uses[id], report, changed);
  }
  if (dropped) report.count("dead_node_pruning", dropped);
  for (NodeId f : old.fetches) r.next.fetches.push_back(map[f].id());
  r.next.user_id.resize(r.g().size(), kNoUserNode);
  return std::move(r.next);
}

}  // namespace

void PassReport::count(const std::string& rule, std::size_t n) {
  for (RuleCount& c : fired)
    if (c.rule == rule) {
      c.count += n;
      return;
    }
  fired.push_back({rule, n});
}

}  // namespace graphnn::passes

namespace graphnn {

const std::vector<std::string>& rule_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v{"dead_node_pruning"};
    for (const passes::Rule<double>& r : passes::rules<double>()) v.push_back(r.name);
    v.push_back("elementwise_fusion");
    v.push_back("reduction_fusion");
    return v;
  }();
  return names;
}

}  // namespace graphnn

namespace graphnn::passes {

template <class T>
Program<T> import(const Graph<T>& user, const std::vector<NodeId>& fetches) {
  Program<T> all;
  const std::vector<char> needed = needed_nodes(user, fetches);
  std::vector<Node<T>> map(user.size());
  for (NodeId id = 0; id < user.size(); ++id) {
    if (!needed[id]) continue;
    map[id] = copy_node(*all.graph, user.data(id), mapped_inputs(user.data(id), map));
    all.user_id.push_back(id);
  }
  for (NodeId f : fetches) all.fetches.push_back(map[f].id());
  return all;
}

template <class T>
Program<T> rewrite(Program<T> p, const PassOptions& options, PassReport& report) {
  auto enabled = [&](const std::string& name) {
    return std::find(options.disabled.begin(), options.disabled.end(), name) == options.disabled.end();
  };
  std::vector<const Rule<T>*> active;
  for (const Rule<T>& rule : rules<T>())
    if (enabled(rule.name)) active.push_back(&rule);
  // Each round either fires a rule or is the last; rewrites only shrink or
  // simplify the graph, and the bound guards against a pair of rules undoing
  // each other.
  for (int i = 0; i < 16; ++i) {
    bool changed = false;
    PassReport round_report;
    Program<T> next = round(p, active, round_report, changed);
    for (const RuleCount& c : round_report.fired)
      if (c.rule != "dead_node_pruning" || enabled("dead_node_pruning")) report.count(c.rule, c.count);
    p = std::move(next);
    if (!changed) break;
  }
  return p;
}

#define INSTANTIATE(T)                                                                   \
  template Program<T> import<T>(const Graph<T>&, const std::vector<NodeId>&);            \
  template Program<T> rewrite<T>(Program<T>, const PassOptions&, PassReport&);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn::passes
