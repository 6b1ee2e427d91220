// Element-wise fusion: a maximal tree of element-wise ops becomes one node
// that makes one pass over memory (ops/fused_elementwise.cpp).
//
// A node joins its consumer's group when the fusion check below holds:
// both are element-wise (Op::traits), pure and not aliases; the node has
// exactly that one consumer and is not fetched (so no one else needs its
// buffer); and it has the group's output shape (an intermediate that would be
// broadcast is not recomputed per reader); a batch dimension may only lead. Inputs from outside the group may
// broadcast: a bias [n] against rows [batch, n].
#include <algorithm>

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

// Per node: the output node of its group (itself when alone or not fusable).
template <class T>
std::vector<NodeId> group_outputs(const Program<T>& p) {
  const Graph<T>& g = *p.graph;
  std::vector<std::size_t> readers(g.size(), 0);
  std::vector<NodeId> reader(g.size(), kNone);
  for (NodeId id = 0; id < g.size(); ++id) {
    const std::vector<NodeId>& in = g.data(id).inputs;
    for (std::size_t k = 0; k < in.size(); ++k) {
      if (std::find(in.begin(), in.begin() + static_cast<long>(k), in[k]) != in.begin() + static_cast<long>(k)) continue;
      ++readers[in[k]];
      reader[in[k]] = id;
    }
  }
  for (NodeId f : p.fetches) readers[f] += 2;  // a fetched value is needed whole
  std::vector<NodeId> out(g.size());
  for (NodeId id = g.size(); id-- > 0;) {
    out[id] = id;
    const NodeData<T>& d = g.data(id);
    if (!fusable(d) || readers[id] != 1) continue;
    const NodeId c = reader[id];
    if (fusable(g.data(c)) && d.shape == g.data(out[c]).shape) out[id] = out[c];
  }
  return out;
}

template <class T>
std::string member_text(const NodeData<T>& d) {
  return d.name + " (" + d.op->type() + ")";
}

}  // namespace

template <class T>
Program<T> fuse_elementwise(Program<T> p, PassReport& report) {
  const Graph<T>& g = *p.graph;
  const std::vector<NodeId> output = group_outputs(p);
  std::vector<std::vector<NodeId>> members(g.size());  // per group output, in topological order
  for (NodeId id = 0; id < g.size(); ++id) members[output[id]].push_back(id);

  Program<T> next;
  std::vector<Node<T>> map(g.size());
  std::size_t fused = 0;
  for (NodeId id = 0; id < g.size(); ++id) {
    const NodeData<T>& d = g.data(id);
    if (output[id] != id) continue;  // a member: emitted with its group
    if (members[id].size() < 2) {
      map[id] = copy_node(*next.graph, d, mapped_inputs(d, map));
    } else {
      const std::vector<NodeId>& group = members[id];
      Nodes<T> inputs;
      std::vector<NodeId> input_ids;
      std::vector<FusedMember<T>> ops;
      FusedGroup report_group{d.name, {}};
      for (NodeId m : group) {
        FusedMember<T> member{g.data(m).op, {}};
        for (NodeId x : g.data(m).inputs) {
          const auto at = std::find(group.begin(), group.end(), x);
          if (at != group.end()) {
            member.inputs.push_back({true, static_cast<std::size_t>(at - group.begin())});
            continue;
          }
          auto known = std::find(input_ids.begin(), input_ids.end(), x);
          if (known == input_ids.end()) {
            input_ids.push_back(x);
            inputs.push_back(map[x]);
            known = input_ids.end() - 1;
          }
          member.inputs.push_back({false, static_cast<std::size_t>(known - input_ids.begin())});
        }
        ops.push_back(std::move(member));
        report_group.members.push_back(member_text(g.data(m)));
      }
      map[id] = fused_elementwise(inputs, std::move(ops), d.shape);
      report_group.node = map[id].name();
      report.groups.push_back(std::move(report_group));
      ++fused;
    }
    next.user_id.resize(next.graph->size(), kNoUserNode);
    next.user_id[map[id].id()] = p.user(id);
  }
  for (NodeId f : p.fetches) next.fetches.push_back(map[f].id());
  if (fused) report.count("elementwise_fusion", fused);
  return next;
}

template Program<float> fuse_elementwise<float>(Program<float>, PassReport&);
template Program<double> fuse_elementwise<double>(Program<double>, PassReport&);

}  // namespace graphnn::passes
