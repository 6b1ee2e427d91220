#include "graphnn/graph.hpp"

#include "graphnn/source_ops.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace graphnn {

template <class T>
Nodes<T> Op<T>::backward(const GradArgs<T>& args) const {
  throw Error("gradients: op '" + type() + "' (node " + describe(args.output) +
              ") has no gradient rule");
}

// The graphs that exist, by address and serial number: a Node holds only a
// pointer to its graph, and asks here before following it (Node::graph).
namespace {
std::mutex& live_graphs_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<const void*, std::uint64_t>& live_graphs() {
  static std::unordered_map<const void*, std::uint64_t> graphs;
  return graphs;
}
std::atomic<std::uint64_t> next_serial{1};
}  // namespace

bool graph_exists(const void* graph, std::uint64_t serial) {
  std::lock_guard<std::mutex> lock(live_graphs_mutex());
  auto it = live_graphs().find(graph);
  return it != live_graphs().end() && it->second == serial;
}

template <class T>
Graph<T>::Graph()
    : serial_(next_serial.fetch_add(1)),
      alive_(std::make_shared<std::atomic<bool>>(true)) {
  std::lock_guard<std::mutex> lock(live_graphs_mutex());
  live_graphs()[this] = serial_;
}

template <class T>
Graph<T>::~Graph() {
  alive_->store(false, std::memory_order_release);
  std::lock_guard<std::mutex> lock(live_graphs_mutex());
  live_graphs().erase(this);
}

template <class T>
const NodeData<T>& Graph<T>::data(NodeId id) const {
  if (id >= nodes_.size())
    throw Error("graph: no node with id " + std::to_string(id) + " in a graph of " + std::to_string(nodes_.size()) +
                " nodes");
  return nodes_[id];
}

template <class T>
const NodeData<T>& Graph<T>::data(const Node<T>& n) const {
  check_owns(n, "graph");
  return nodes_[n.id()];
}

template <class T>
void Graph<T>::check_owns(const Node<T>& n, const char* what) const {
  if (!n.valid()) throw Error(std::string(what) + ": empty node (default-constructed Node is not part of any graph)");
  if (!n.in(*this))
    throw Error(std::string(what) + ": node '" + n.graph()->data(n.id()).name + "' belongs to another graph");
}

template <class T>
std::string Graph<T>::unique_name(const std::string& requested, const std::string& type) {
  if (!requested.empty()) {
    if (by_name_.count(requested))
      throw Error("graph: a node named '" + requested + "' already exists");
    return requested;
  }
  std::string name = (backward_depth_ > 0 ? "grad/" : "") + type + "_" + std::to_string(nodes_.size());
  while (by_name_.count(name)) name += "'";
  return name;
}

template <class T>
Node<T> Graph<T>::add_source(OpPtr<T> op, const std::string& name, Shape shape) {
  NodeData<T> d;
  d.name = unique_name(name, op->type());
  d.op = std::move(op);
  d.shape = std::move(shape);
  d.backward = backward_depth_ > 0;
  const NodeId id = nodes_.size();
  by_name_[d.name] = id;
  nodes_.push_back(std::move(d));
  return Node<T>(this, id);
}

template <class T>
Node<T> Graph<T>::placeholder(const std::string& name, const Shape& shape) {
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == batch && i != 0)
      throw Error("placeholder '" + name + "' " + to_string(shape) + ": only the leading dimension can be batch");
    if (shape[i] < 0 && shape[i] != batch)
      throw Error("placeholder '" + name + "' " + to_string(shape) + ": negative dimension");
  }
  return add_source(std::make_shared<PlaceholderOp<T>>(), name, shape);
}

namespace {
Shape shape_of(const std::vector<std::size_t>& s) { return Shape(s.begin(), s.end()); }
}  // namespace

template <class T>
Node<T> Graph<T>::variable(const std::string& name, const xt::xarray<T>& initial) {
  if (name.empty()) throw Error("variable: a variable needs a name (it is how save/load finds it)");
  return add_source(std::make_shared<VariableOp<T>>(initial), name,
                    shape_of({initial.shape().begin(), initial.shape().end()}));
}

template <class T>
Node<T> Graph<T>::constant(const std::string& name, const xt::xarray<T>& value) {
  return add_source(std::make_shared<ConstantOp<T>>(value), name,
                    shape_of({value.shape().begin(), value.shape().end()}));
}

template <class T>
Node<T> Graph<T>::scalar(T value) {
  return constant({}, xt::xarray<T>(value));
}

template <class T>
Node<T> Graph<T>::add(OpPtr<T> op, const Nodes<T>& inputs, const std::string& name) {
  std::vector<Shape> shapes;
  std::vector<NodeId> ids;
  for (const auto& in : inputs) {
    check_owns(in, ("op '" + op->type() + "'").c_str());
    if (data(in.id()).op->kind() == OpKind::assign)
      throw Error("op '" + op->type() + "': input '" + in.name() +
                  "' is an assignment; run it, don't compute with it (read the variable instead)");
    shapes.push_back(in.shape());
    ids.push_back(in.id());
  }
  NodeData<T> d;
  d.name = unique_name(name, op->type());
  try {
    BatchBindingScope binding;
    d.shape = op->infer(shapes);
    d.bound_batch = binding.bound();
  } catch (const Error& e) {
    std::string msg = "op '" + op->type() + "'";
    if (!op->attributes().empty()) msg += " (" + op->attributes() + ")";
    msg += " creating node '" + d.name + "' from ";
    for (std::size_t i = 0; i < inputs.size(); ++i) msg += (i ? ", " : "") + describe(inputs[i]);
    throw Error(msg + ": " + e.what());
  }
  d.op = std::move(op);
  d.inputs = std::move(ids);
  d.backward = backward_depth_ > 0;
  const NodeId id = nodes_.size();
  by_name_[d.name] = id;
  nodes_.push_back(std::move(d));
  return Node<T>(this, id);
}

template <class T>
Node<T> Graph<T>::find(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw Error("graph: no node named '" + name + "'");
  return Node<T>(this, it->second);
}

template <class T>
Nodes<T> Graph<T>::variables() {
  Nodes<T> out;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op->kind() == OpKind::variable) out.emplace_back(this, i);
  return out;
}

template class Op<float>;
template class Op<double>;
template class Graph<float>;
template class Graph<double>;

}  // namespace graphnn
