#pragma once
// The graph compiler's unit of work: the graph a plan runs, derived from the
// user's graph for one set of fetches. The user's Graph is never changed; the
// passes rebuild a Program from it, rule by rule (rules.cpp), then fuse
// element-wise groups (fusion.cpp). Not installed.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "graphnn/graph.hpp"
#include "graphnn/session.hpp"

namespace graphnn::passes {

inline constexpr NodeId kNoUserNode = std::numeric_limits<NodeId>::max();

template <class T>
struct Program {
  std::unique_ptr<Graph<T>> graph = std::make_unique<Graph<T>>();
  std::vector<NodeId> fetches;  // nodes of *graph
  std::vector<NodeId> user_id;  // per node of *graph: the user's node it is a copy of, or kNoUserNode
  NodeId user(NodeId id) const { return id < user_id.size() ? user_id[id] : kNoUserNode; }
};

// Node `d`'s inputs as nodes of the graph being built, through `map` (old id -> new node).
template <class T>
Nodes<T> mapped_inputs(const NodeData<T>& d, const std::vector<Node<T>>& map) {
  Nodes<T> in;
  for (NodeId x : d.inputs) in.push_back(map[x]);
  return in;
}

// A copy of node `d` of another graph in `g`: a leaf holds the same op, a
// compute node the same op of `inputs`. It keeps d's name when that is free.
template <class T>
Node<T> copy_node(Graph<T>& g, const NodeData<T>& d, const Nodes<T>& inputs) {
  const std::string name = g.has(d.name) ? std::string() : d.name;
  if (d.inputs.empty() && d.op->kind() != OpKind::compute) return g.add_leaf(d.op, d.shape, name);
  return g.add(d.op, inputs, name);
}

// What the passes did, for Session::plan_summary.
struct PassReport {
  std::size_t nodes_before = 0;  // compute and assign nodes the fetches need in the user's graph
  std::vector<RuleCount> fired;  // every rule of the table, in table order
  std::vector<FusedGroup> groups;
  void count(const std::string& rule, std::size_t n = 1);
};

// The user's nodes the fetches need, copied (no rule applied).
template <class T>
Program<T> import(const Graph<T>& user, const std::vector<NodeId>& fetches);

// Runs the rewrite rules (rules.cpp) to a fixed point, then removes what the
// fetches no longer need.
template <class T>
Program<T> rewrite(Program<T> p, const PassOptions& options, PassReport& report);

// Element-wise fusion (fusion.cpp); `reduce`: also reduction fusion, a group
// finishing the reduction that is its only reader.
template <class T>
Program<T> fuse_elementwise(Program<T> p, PassReport& report, bool reduce);

}  // namespace graphnn::passes
