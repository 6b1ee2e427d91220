#include "graphnn/gradients.hpp"

#include "graphnn/ops.hpp"

namespace graphnn {

template <class T>
Nodes<T> gradients(const Node<T>& y, const Nodes<T>& xs) {
  if (!y.valid()) throw Error("gradients: y is an empty node (default-constructed Node is not part of any graph)");
  Graph<T>& g = *y.graph();
  for (const auto& x : xs) g.check_owns(x, "gradients");

  // Only nodes between y and some x take part: y reaches them, and they reach an x.
  const std::size_t n = static_cast<std::size_t>(y.id()) + 1;
  std::vector<char> reached(n, 0), leads_to_x(g.size(), 0);
  reached[static_cast<std::size_t>(y.id())] = 1;
  for (std::size_t id = n; id-- > 0;)
    if (reached[id])
      for (int in : g.data(static_cast<int>(id)).inputs) reached[static_cast<std::size_t>(in)] = 1;
  for (const auto& x : xs) leads_to_x[static_cast<std::size_t>(x.id())] = 1;
  for (std::size_t id = 0; id < n; ++id)
    for (int in : g.data(static_cast<int>(id)).inputs)
      if (leads_to_x[static_cast<std::size_t>(in)]) leads_to_x[id] = 1;

  typename Graph<T>::BackwardScope scope(g);
  // Node ids are a topological order, so walking them downwards visits every
  // consumer of a node before the node: its gradient is complete when reached.
  std::vector<Node<T>> grad(n);
  if (leads_to_x[static_cast<std::size_t>(y.id())]) grad[static_cast<std::size_t>(y.id())] = ones_like(y);
  for (std::size_t id = n; id-- > 0;) {
    if (!grad[id].valid() || !reached[id]) continue;
    // copies: the gradient rule appends nodes, which may move the node table
    const OpPtr<T> op = g.data(static_cast<int>(id)).op;
    const std::vector<int> ids = g.data(static_cast<int>(id)).inputs;
    bool wanted = false;
    for (int in : ids) wanted = wanted || leads_to_x[static_cast<std::size_t>(in)];
    if (!wanted) continue;
    Nodes<T> inputs;
    for (int in : ids) inputs.push_back(g.node(in));
    const Nodes<T> in_grads = op->backward(GradArgs<T>{inputs, g.node(static_cast<int>(id)), grad[id]});
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto in = static_cast<std::size_t>(ids[k]);
      if (k >= in_grads.size() || !in_grads[k].valid() || !leads_to_x[in]) continue;
      if (in_grads[k].shape() != inputs[k].shape())
        throw Error("gradients: the gradient rule of op '" + op->type() + "' gave " + to_string(in_grads[k].shape()) +
                    " for input " + describe(inputs[k]));
      grad[in] = grad[in].valid() ? grad[in] + in_grads[k] : in_grads[k];  // several paths add up
    }
  }

  Nodes<T> out;
  for (const auto& x : xs) {
    const auto id = static_cast<std::size_t>(x.id());
    out.push_back(id < n && grad[id].valid() ? grad[id] : zeros_like(x));
  }
  return out;
}

template Nodes<float> gradients<float>(const Node<float>&, const Nodes<float>&);
template Nodes<double> gradients<double>(const Node<double>&, const Nodes<double>&);

}  // namespace graphnn
