// Session::plan_summary and the pass options: what the compiler did to a
// plan, as numbers, text and a picture, and the switches that turn it off.
#include "graphnn/plan_summary.hpp"

#include <cstdlib>
#include <ostream>
#include <sstream>

#include "graphnn/dot.hpp"
#include "session_plan.hpp"

namespace graphnn {

PassOptions PassOptions::from_environment() {
  PassOptions o;
  if (const char* v = std::getenv("GRAPHNN_PASSES"); v && *v) {
    const std::string text = v;
    if (text == "off" || text == "0" || text == "none") o.enabled = false;
    else if (text != "on" && text != "1") {
      std::stringstream list(text);
      for (std::string item; std::getline(list, item, ',');)
        o.disabled.push_back(item.rfind("no-", 0) == 0 ? item.substr(3) : item);
    }
  }
  if (const char* v = std::getenv("GRAPHNN_VERIFY_PASSES"); v && *v && std::string(v) != "0") o.verify = true;
  return o;
}

template <class T>
PlanSummary Session<T>::summary(const Plan& plan) const {
  const Graph<T>& g = *plan.program.graph;
  PlanSummary s;
  s.passes = plan.passes.enabled;
  s.nodes_before = plan.report.nodes_before;
  s.nodes_after = plan.steps.size();
  s.kernels = plan.steps.size();
  s.buffers = plan.buffers.size();
  s.arena_bytes = plan.arena_bytes;
  s.groups = plan.report.groups;
  if (s.passes)
    for (const std::string& name : rule_names()) {
      RuleCount c{name, 0};
      for (const RuleCount& f : plan.report.fired)
        if (f.rule == name) c.count = f.count;
      s.rules.push_back(c);
    }
  for (NodeId id = 0; id < g.size(); ++id) {
    const NodeData<T>& d = g.data(id);
    PlanNode n{d.name, d.op->type(), d.op->attributes(), to_string(d.shape), d.inputs, {}, false, false};
    n.leaf = d.op->kind() != OpKind::compute && d.op->kind() != OpKind::assign;
    n.assign = d.op->kind() == OpKind::assign;
    for (const FusedGroup& group : s.groups)
      if (group.node == d.name) n.members = group.members;
    s.nodes.push_back(std::move(n));
  }
  return s;
}

template <class T>
PlanSummary Session<T>::plan_summary(ArrayRef<Node<T>> fetches, ArrayRef<Feed<T>> feeds) {
  auto lock = enter("plan_summary");
  std::size_t batch_size = 0;
  return summary(plan_for(fetches, feeds, batch_size));
}

template <class T>
PlanSummary Session<T>::plan_summary() const {
  auto lock = enter("plan_summary");
  if (!last_plan_) throw Error("plan_summary: the session has not run yet; pass the fetches and feeds to compile a plan");
  return summary(*last_plan_);
}

std::ostream& operator<<(std::ostream& os, const PlanSummary& s) {
  os << "plan: " << s.nodes_before << " nodes as built, " << s.nodes_after << " after the passes"
     << (s.passes ? "" : " (passes off)") << "; " << s.kernels << " kernels per run, " << s.buffers << " buffers, "
     << s.arena_bytes << " bytes planned\n";
  for (const RuleCount& c : s.rules)
    if (c.count) os << "  rule " << c.rule << ": " << c.count << "\n";
  for (const FusedGroup& g : s.groups) {
    os << "  fused " << g.node << ":";
    for (const std::string& m : g.members) os << " " << m;
    os << "\n";
  }
  return os;
}

std::string to_dot(const PlanSummary& plan) {
  std::ostringstream os;
  os << "digraph plan {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10, style=filled];\n";
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlanNode& n = plan.nodes[i];
    std::string label = n.name + "\\n" + n.op;
    if (!n.attributes.empty() && n.members.empty()) label += " (" + n.attributes + ")";
    label += " " + n.shape;
    for (const std::string& m : n.members) label += "\\l  " + m;
    if (!n.members.empty()) label += "\\l";
    std::string quoted;
    for (char c : label) {
      if (c == '"') quoted += '\\';
      quoted += c;
    }
    const char* style = n.leaf ? "shape=ellipse, fillcolor=\"#e9ecef\""
                        : n.assign ? "shape=box, style=\"rounded,filled,bold\", fillcolor=\"#f8d7da\""
                        : !n.members.empty() ? "shape=box, style=\"rounded,filled\", fillcolor=\"#d3f9d8\""
                                             : "shape=box, style=\"rounded,filled\", fillcolor=\"#cfe2ff\"";
    os << "  n" << i << " [label=\"" << quoted << "\", " << style << "];\n";
    for (std::size_t in : n.inputs) os << "  n" << in << " -> n" << i << ";\n";
  }
  os << "}\n";
  return os.str();
}

#define INSTANTIATE(T)                                                                                       \
  template PlanSummary Session<T>::summary(const Plan&) const;                                               \
  template PlanSummary Session<T>::plan_summary(ArrayRef<Node<T>>, ArrayRef<Feed<T>>);                       \
  template PlanSummary Session<T>::plan_summary() const;
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn
