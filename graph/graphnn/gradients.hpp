#pragma once
#include "graphnn/graph.hpp"

namespace graphnn {

// Reverse-mode differentiation as graph building: returns d(sum of y)/dx for
// each x, as new nodes of y's graph. A non-scalar y is seeded with ones;
// contributions of several paths are summed; stop_gradient cuts a path; an x
// that y does not depend on gets a zeros node. The result can be
// differentiated again.
template <class T>
Nodes<T> gradients(const Node<T>& y, const Nodes<T>& xs);

extern template Nodes<float> gradients<float>(const Node<float>&, const Nodes<float>&);
extern template Nodes<double> gradients<double>(const Node<double>&, const Nodes<double>&);

}  // namespace graphnn
