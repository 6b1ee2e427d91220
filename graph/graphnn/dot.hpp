#pragma once
#include <string>

#include "graphnn/graph.hpp"

namespace graphnn {

// Graphviz text of the whole graph: placeholders, variables and constants as
// ovals, forward ops as blue boxes, nodes made by gradients() as orange boxes
// with dashed edges. Render with `dot -Tpng`.
template <class T>
std::string to_dot(const Graph<T>& graph);

extern template std::string to_dot<float>(const Graph<float>&);
extern template std::string to_dot<double>(const Graph<double>&);

}  // namespace graphnn
