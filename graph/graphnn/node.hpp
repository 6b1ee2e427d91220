#pragma once
// Node<T>: a cheap handle (graph, index) to one node of a Graph<T>.
#include <cstddef>
#include <string>
#include <vector>

#include "graphnn/shape.hpp"

namespace graphnn {

template <class T>
class Graph;

// A node's index in its graph: also its position in every per-node table.
using NodeId = std::size_t;

template <class T>
class Node {
 public:
  Node() = default;
  Node(Graph<T>* graph, NodeId id) : graph_(graph), id_(id) {}

  Graph<T>* graph() const { return graph_; }
  NodeId id() const { return id_; }
  bool valid() const { return graph_ != nullptr; }
  explicit operator bool() const { return valid(); }

  // Defined in graph.hpp (they read the graph's node table).
  const Shape& shape() const;
  const std::string& name() const;
  std::string op_type() const;

  friend bool operator==(const Node& a, const Node& b) { return a.graph_ == b.graph_ && a.id_ == b.id_; }
  friend bool operator!=(const Node& a, const Node& b) { return !(a == b); }

 private:
  Graph<T>* graph_ = nullptr;
  NodeId id_ = 0;
};

template <class T>
using Nodes = std::vector<Node<T>>;

}  // namespace graphnn
