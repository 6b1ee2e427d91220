#pragma once
// Graph<T>: the append-only table of nodes. A node's inputs always have
// smaller ids, so id order is a topological order.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <xtensor/xarray.hpp>

#include "graphnn/error.hpp"
#include "graphnn/node.hpp"
#include "graphnn/op.hpp"
#include "graphnn/shape.hpp"

namespace graphnn {

template <class T>
struct NodeData {
  std::string name;
  OpPtr<T> op;
  std::vector<NodeId> inputs;
  Shape shape;
  bool backward = false;  // made by gradients()
  // The size the shape rule unified `batch` with (mse of [5, 2] and
  // [batch, 2] binds it to 5), else `batch`: a run must feed that batch size.
  std::int64_t bound_batch = batch;
};

template <class T>
class Graph {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "graphnn::Graph supports float and double");

 public:
  using value_type = T;

  Graph();
  ~Graph();
  // Neither copied nor moved: nodes and sessions point at their graph.
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // A value fed at run time; `batch` marks the leading dimension fixed then.
  Node<T> placeholder(const std::string& name, const Shape& shape);
  // A trainable value, held by each Session; `initial` is its starting value.
  Node<T> variable(const std::string& name, const xt::xarray<T>& initial);
  Node<T> constant(const std::string& name, const xt::xarray<T>& value);
  // An unnamed scalar constant (used by `node * 2.0` and gradient rules).
  Node<T> scalar(T value);

  // Adds a node computing `op` of `inputs`, checking the inputs belong to this
  // graph and inferring the shape. `name` empty: "<op type>_<id>".
  Node<T> add(OpPtr<T> op, const Nodes<T>& inputs, const std::string& name = {});

  // A leaf holding `op` (a placeholder, variable or constant op), for graphs
  // the compiler derives from this one (graph/passes/).
  Node<T> add_leaf(OpPtr<T> op, const Shape& shape, const std::string& name = {}) {
    return add_source(std::move(op), name, shape);
  }
  // True when a node is called `name`.
  bool has(const std::string& name) const { return by_name_.count(name) != 0; }

  const NodeData<T>& data(NodeId id) const;
  const NodeData<T>& data(const Node<T>& n) const;
  std::size_t size() const { return nodes_.size(); }
  Node<T> node(NodeId id) { return Node<T>(this, id); }
  // The node called `name`; throws Error when there is none.
  Node<T> find(const std::string& name);
  Nodes<T> variables();
  // Throws Error unless `n` is a node of this graph; `what` names the caller.
  void check_owns(const Node<T>& n, const char* what) const;
  // Unique per graph of the process, never reused (nodes keep it).
  std::uint64_t serial() const { return serial_; }
  // Reads true until the graph is destroyed: a Session keeps it to tell.
  std::shared_ptr<const std::atomic<bool>> alive() const { return alive_; }

  // While alive, new nodes are marked as gradient nodes (to_dot shows them apart).
  class BackwardScope {
   public:
    explicit BackwardScope(Graph& g) : g_(g) { ++g_.backward_depth_; }
    ~BackwardScope() { --g_.backward_depth_; }
    BackwardScope(const BackwardScope&) = delete;
    BackwardScope& operator=(const BackwardScope&) = delete;

   private:
    Graph& g_;
  };

 private:
  Node<T> add_source(OpPtr<T> op, const std::string& name, Shape shape);
  std::string unique_name(const std::string& requested, const std::string& type);

  std::uint64_t serial_;
  std::shared_ptr<std::atomic<bool>> alive_;
  std::deque<NodeData<T>> nodes_;  // deque: references stay valid as nodes are added
  std::unordered_map<std::string, NodeId> by_name_;
  int backward_depth_ = 0;
};

// Whether the graph with this address and serial number still exists (graph.cpp).
bool graph_exists(const void* graph, std::uint64_t serial);

template <class T>
Node<T>::Node(Graph<T>* graph, NodeId id) : graph_(graph), serial_(graph ? graph->serial() : 0), id_(id) {
  if (graph && id >= graph->size())
    throw Error("node: no node with id " + std::to_string(id) + " in a graph of " + std::to_string(graph->size()) +
                " nodes");
}
template <class T>
Graph<T>* Node<T>::graph() const {
  if (graph_ && !graph_exists(graph_, serial_))
    throw Error("node " + std::to_string(id_) + ": its graph was destroyed; a Node is valid while its Graph exists");
  return graph_;
}
template <class T>
bool Node<T>::in(const Graph<T>& g) const {
  return graph_ == &g && serial_ == g.serial();
}
template <class T>
const Shape& Node<T>::shape() const {
  return graph()->data(id_).shape;
}
template <class T>
const std::string& Node<T>::name() const {
  return graph()->data(id_).name;
}
template <class T>
std::string Node<T>::op_type() const {
  return graph()->data(id_).op->type();
}

// "relu_3 [batch, 4]"
template <class T>
std::string describe(const Node<T>& n) {
  if (!n.valid()) return "<empty node>";
  return "'" + n.name() + "' " + to_string(n.shape());
}

extern template class Graph<float>;
extern template class Graph<double>;

}  // namespace graphnn
