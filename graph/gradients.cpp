#include "graphnn/gradients.hpp"

#include "graphnn/ops.hpp"

namespace graphnn {

template <class T>
Nodes<T> gradients(const Node<T>& y, const Nodes<T>& xs) {
  if (!y.valid()) throw Error("gradients: y is an empty node (default-constructed Node is not part of any graph)");
  Graph<T>& g = *y.graph();
  for (const auto& x : xs) g.check_owns(x, "gradients");

  // Only nodes between y and some x take part: y reaches them, and they reach an x.
  const std::size_t n = y.id() + 1;
  std::vector<char> reached(n, 0), leads_to_x(g.size(), 0);
  reached[y.id()] = 1;
  for (NodeId id = n; id-- > 0;)
    if (reached[id])
      for (NodeId in : g.data(id).inputs) reached[in] = 1;
  for (const auto& x : xs) leads_to_x[x.id()] = 1;
  for (NodeId id = 0; id < n; ++id)
    for (NodeId in : g.data(id).inputs)
      if (leads_to_x[in]) leads_to_x[id] = 1;

  typename Graph<T>::BackwardScope scope(g);
  // Node ids are a topological order, so walking them downwards visits every
  // consumer of a node before the node: its gradient is complete when reached.
  std::vector<Node<T>> grad(n);
  if (leads_to_x[y.id()]) grad[y.id()] = ones_like(y);
  for (NodeId id = n; id-- > 0;) {
    if (!grad[id].valid() || !reached[id]) continue;
    // copies: the gradient rule appends nodes, which may move the node table
    const OpPtr<T> op = g.data(id).op;
    const std::vector<NodeId> ids = g.data(id).inputs;
    bool wanted = false;
    for (NodeId in : ids) wanted = wanted || leads_to_x[in];
    if (!wanted) continue;
    Nodes<T> inputs;
    for (NodeId in : ids) inputs.push_back(g.node(in));
    const Nodes<T> in_grads = op->backward(GradArgs<T>{inputs, g.node(id), grad[id]});
    if (in_grads.size() != ids.size())
      throw Error("gradients: the gradient rule of op '" + op->type() + "' (node " + describe(g.node(id)) + ") gave " +
                  std::to_string(in_grads.size()) + " gradients for " + std::to_string(ids.size()) + " inputs");
    for (std::size_t k = 0; k < ids.size(); ++k) {
      if (!in_grads[k].valid() || !leads_to_x[ids[k]]) continue;
      if (!shapes_unify(in_grads[k].shape(), inputs[k].shape()))
        throw Error("gradients: the gradient rule of op '" + op->type() + "' gave " + to_string(in_grads[k].shape()) +
                    " for input " + describe(inputs[k]));
      Node<T>& sum = grad[ids[k]];
      sum = sum.valid() ? sum + in_grads[k] : in_grads[k];  // several paths add up
    }
  }

  Nodes<T> out;
  for (const auto& x : xs) out.push_back(x.id() < n && grad[x.id()].valid() ? grad[x.id()] : zeros_like(x));
  return out;
}

template Nodes<float> gradients<float>(const Node<float>&, const Nodes<float>&);
template Nodes<double> gradients<double>(const Node<double>&, const Nodes<double>&);

}  // namespace graphnn
