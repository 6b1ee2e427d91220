#include "graphnn/dot.hpp"

#include <sstream>

namespace graphnn {

namespace {
// A DOT string body: quotes and backslashes escaped, '\n' as DOT's line break.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}
}  // namespace

template <class T>
std::string to_dot(const Graph<T>& graph) {
  std::ostringstream os;
  os << "digraph graphnn {\n"
        "  rankdir=TB;\n"
        "  node [fontname=\"Helvetica\", fontsize=10, style=filled];\n"
        "  edge [color=\"#555555\"];\n";
  for (std::size_t id = 0; id < graph.size(); ++id) {
    const NodeData<T>& d = graph.data(id);
    const OpKind kind = d.op->kind();
    std::string label = d.name;
    if (kind != OpKind::constant || !d.name.empty()) label += "\n" + d.op->type();
    if (!d.op->attributes().empty()) label += " (" + d.op->attributes() + ")";
    label += " " + to_string(d.shape);
    const char* style = "shape=box, style=\"rounded,filled\", fillcolor=\"#cfe2ff\"";  // forward op
    if (kind == OpKind::placeholder) style = "shape=ellipse, fillcolor=\"#fff3bf\"";
    if (kind == OpKind::variable) style = "shape=ellipse, fillcolor=\"#c3f0c8\"";
    if (kind == OpKind::constant) style = "shape=ellipse, fillcolor=\"#e9ecef\"";
    if (kind == OpKind::assign) style = "shape=box, style=\"rounded,filled,bold\", fillcolor=\"#f8d7da\"";
    if (d.backward && kind != OpKind::assign) style = "shape=box, style=\"rounded,filled\", fillcolor=\"#ffd8a8\"";
    os << "  n" << id << " [label=\"" << escape(label) << "\", " << style << "];\n";
    for (NodeId in : d.inputs)
      os << "  n" << in << " -> n" << id << (d.backward ? " [style=dashed, color=\"#e8590c\"]" : "") << ";\n";
  }
  os << "}\n";
  return os.str();
}

template std::string to_dot<float>(const Graph<float>&);
template std::string to_dot<double>(const Graph<double>&);

}  // namespace graphnn
