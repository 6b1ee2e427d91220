// Element-wise fusion: a maximal tree of element-wise ops becomes one node
// that makes one pass over memory (ops/fused_elementwise.cpp).
//
// A node joins its consumer's group when the fusion check below holds:
// both are element-wise (Op::traits), pure and not aliases; the node has
// exactly that one consumer and is not fetched (so no one else needs its
// buffer); and it has the group's output shape (an intermediate that would be
// broadcast is not recomputed per reader); a batch dimension may only lead. Inputs from outside the group may
// broadcast: a bias [n] against rows [batch, n].
//
// Reduction fusion (reported apart, switched off apart): a group whose only
// reader reduces its rows (a running variance, a per-channel gradient) runs
// that reduction as it makes each block, so its value is never written whole.
#include <algorithm>
#include <optional>

#include "compiler_ops.hpp"
#include "passes/program.hpp"

namespace graphnn::passes {
namespace {

constexpr NodeId kNone = kNoUserNode;

// The fused kernel runs blocks of the leading dimension, so a batch
// dimension elsewhere (a transposed batch) would leave its block size unknown.
bool batch_leads_or_absent(const Shape& s) {
  return std::find(s.begin() + (s.empty() ? 0 : 1), s.end(), batch) == s.end();
}

template <class T>
bool fusable(const NodeData<T>& d) {
  const OpTraits t = d.op->traits();
  return d.op->kind() == OpKind::compute && t.elementwise && t.pure && d.op->alias_input() < 0 &&
         batch_leads_or_absent(d.shape);
}

// Per node: its consumers (a fetch counts twice: a fetched value is needed
// whole) and one of them.
template <class T>
struct Readers {
  std::vector<std::size_t> count;
  std::vector<NodeId> one;
  explicit Readers(const Program<T>& p) : count(p.graph->size(), 0), one(p.graph->size(), kNone) {
    const Graph<T>& g = *p.graph;
    for (NodeId id = 0; id < g.size(); ++id) {
      const std::vector<NodeId>& in = g.data(id).inputs;
      for (std::size_t k = 0; k < in.size(); ++k) {
        if (std::find(in.begin(), in.begin() + static_cast<long>(k), in[k]) != in.begin() + static_cast<long>(k)) continue;
        ++count[in[k]];
        one[in[k]] = id;
      }
    }
    for (NodeId f : p.fetches) count[f] += 2;
  }
};

// Per node: the output node of its group (itself when alone or not fusable).
template <class T>
std::vector<NodeId> group_outputs(const Program<T>& p, const Readers<T>& readers) {
  const Graph<T>& g = *p.graph;
  std::vector<NodeId> out(g.size());
  for (NodeId id = g.size(); id-- > 0;) {
    out[id] = id;
    const NodeData<T>& d = g.data(id);
    if (!fusable(d) || readers.count[id] != 1) continue;
    const NodeId c = readers.one[id];
    if (fusable(g.data(c)) && d.shape == g.data(out[c]).shape) out[id] = out[c];
  }
  return out;
}

// Reduction fusion: per group output, the reduction over its rows that is its
// only reader (compiler_ops.hpp: row_reduction), or kNone. Then the group
// reduces its blocks as they are made, and its result is never written whole.
// Preconditions: the group's value has no other reader and is not fetched;
// the reduction reads it as its first input only; and an input of the group
// from outside it has the group's shape, so the rows are known when the plan
// runs.
template <class T>
std::vector<NodeId> reductions(const Program<T>& p, const Readers<T>& readers,
                               const std::vector<std::vector<NodeId>>& members) {
  const Graph<T>& g = *p.graph;
  std::vector<NodeId> by(g.size(), kNone);
  for (NodeId id = 0; id < g.size(); ++id) {
    const NodeData<T>& d = g.data(id);
    if (members[id].empty() || !fusable(d) || d.shape.empty() || readers.count[id] != 1) continue;
    const NodeData<T>& r = g.data(readers.one[id]);
    if (r.inputs[0] != id || std::count(r.inputs.begin(), r.inputs.end(), id) != 1) continue;
    if (row_reduction(*r.op, d.shape, r.shape) == RowReduction::none) continue;
    auto outside_whole = [&](NodeId x) {
      return std::find(members[id].begin(), members[id].end(), x) == members[id].end() && g.data(x).shape == d.shape;
    };
    for (NodeId m : members[id])
      if (std::any_of(g.data(m).inputs.begin(), g.data(m).inputs.end(), outside_whole)) by[id] = readers.one[id];
  }
  return by;
}

template <class T>
std::string member_text(const NodeData<T>& d) {
  return d.name + " (" + d.op->type() + ")";
}

// A group's members as FusedMembers, reading its inputs from outside the group
// (nodes of the next program, through `map`).
template <class T>
struct GroupBuild {
  Nodes<T> inputs;
  std::vector<NodeId> input_ids;
  std::vector<FusedMember<T>> ops;
  FusedGroup report;
};
template <class T>
GroupBuild<T> build_group(const Graph<T>& g, const std::vector<NodeId>& group, const std::vector<Node<T>>& map) {
  GroupBuild<T> b;
  for (NodeId m : group) {
    FusedMember<T> member{g.data(m).op, {}};
    for (NodeId x : g.data(m).inputs) {
      const auto at = std::find(group.begin(), group.end(), x);
      if (at != group.end()) {
        member.inputs.push_back({true, static_cast<std::size_t>(at - group.begin())});
        continue;
      }
      auto known = std::find(b.input_ids.begin(), b.input_ids.end(), x);
      if (known == b.input_ids.end()) {
        b.input_ids.push_back(x);
        b.inputs.push_back(map[x]);
        known = b.input_ids.end() - 1;
      }
      member.inputs.push_back({false, static_cast<std::size_t>(known - b.input_ids.begin())});
    }
    b.ops.push_back(std::move(member));
    b.report.members.push_back(member_text(g.data(m)));
  }
  return b;
}

// The first input of `b` with the shape `shape`, or none.
template <class T>
std::optional<std::size_t> whole_input(const GroupBuild<T>& b, const Shape& shape) {
  for (std::size_t k = 0; k < b.inputs.size(); ++k)
    if (b.inputs[k].shape() == shape) return k;
  return std::nullopt;
}

}  // namespace

template <class T>
Program<T> fuse_elementwise(Program<T> p, PassReport& report, bool reduce) {
  const Graph<T>& g = *p.graph;
  const Readers<T> readers(p);
  const std::vector<NodeId> output = group_outputs(p, readers);
  std::vector<std::vector<NodeId>> members(g.size());  // per group output, in topological order
  for (NodeId id = 0; id < g.size(); ++id) members[output[id]].push_back(id);
  const std::vector<NodeId> reduced_by = reduce ? reductions(p, readers, members) : std::vector<NodeId>(g.size(), kNone);
  std::vector<NodeId> reduces(g.size(), kNone);  // per reduction node: the group output it finishes

  Program<T> next;
  std::vector<Node<T>> map(g.size());
  std::size_t fused = 0, reduced = 0;
  for (NodeId id = 0; id < g.size(); ++id) {
    const NodeData<T>& d = g.data(id);
    if (output[id] != id) continue;  // a member: emitted with its group
    if (reduced_by[id] != kNone) {
      reduces[reduced_by[id]] = id;  // emitted with its reduction
      continue;
    }
    if (reduces[id] != kNone) {
      const NodeId group_out = reduces[id];
      GroupBuild<T> b = build_group(g, members[group_out], map);
      b.report.members.push_back(member_text(d));
      map[id] = fused_elementwise_reduce(b.inputs, std::move(b.ops), g.data(group_out).shape,
                                         *whole_input(b, g.data(group_out).shape),
                                         row_reduction(*d.op, g.data(group_out).shape, d.shape), d.shape);
      b.report.node = map[id].name();
      report.groups.push_back(std::move(b.report));
      ++reduced;
    } else if (members[id].size() < 2) {
      map[id] = copy_node(*next.graph, d, mapped_inputs(d, map));
    } else {
      GroupBuild<T> b = build_group(g, members[id], map);
      map[id] = fused_elementwise(b.inputs, std::move(b.ops), d.shape);
      b.report.node = map[id].name();
      report.groups.push_back(std::move(b.report));
      ++fused;
    }
    next.user_id.resize(next.graph->size(), kNoUserNode);
    next.user_id[map[id].id()] = p.user(id);
  }
  for (NodeId f : p.fetches) next.fetches.push_back(map[f].id());
  if (fused) report.count("elementwise_fusion", fused);
  if (reduced) report.count("reduction_fusion", reduced);
  return next;
}

template Program<float> fuse_elementwise<float>(Program<float>, PassReport&, bool);
template Program<double> fuse_elementwise<double>(Program<double>, PassReport&, bool);

}  // namespace graphnn::passes
