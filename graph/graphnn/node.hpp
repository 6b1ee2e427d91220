#pragma once
// Node<T>: a cheap handle (graph, index) to one node of a Graph<T>.
#include <cstddef>
#include <cstdint>
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
  // Throws Error unless `id` is a node of `graph` (defined in graph.hpp).
  Node(Graph<T>* graph, NodeId id);

  // The node's graph; throws Error once that graph is destroyed (defined in graph.hpp).
  Graph<T>* graph() const;
  // Whether this is a node of `g`: a comparison only, also safe when the node's graph is gone.
  bool in(const Graph<T>& g) const;
  NodeId id() const { return id_; }
  bool valid() const { return graph_ != nullptr; }
  explicit operator bool() const { return valid(); }

  // Defined in graph.hpp (they read the graph's node table; Error once it is gone).
  const Shape& shape() const;
  const std::string& name() const;
  std::string op_type() const;

  friend bool operator==(const Node& a, const Node& b) {
    return a.graph_ == b.graph_ && a.serial_ == b.serial_ && a.id_ == b.id_;
  }
  friend bool operator!=(const Node& a, const Node& b) { return !(a == b); }

 private:
  Graph<T>* graph_ = nullptr;
  // The graph's serial number (Graph::serial): a node of a destroyed graph is
  // not taken for one of a new graph at the same address.
  std::uint64_t serial_ = 0;
  NodeId id_ = 0;
};

template <class T>
using Nodes = std::vector<Node<T>>;

}  // namespace graphnn
