#include "worked_examples.hpp"

#include <cmath>

#include <graphnn/graphnn.hpp>

namespace gn = graphnn;

namespace two_layer {

WorkedExample seed_example() {
  WorkedExample e;
  e.outputs = {{0.1, 0.2, 0.7}, {0.8, 0.1, 0.1}, {0.3, 0.6, 0.1}, {0.1, 0.1, 0.8}};
  e.labels = {2.0, 0.0, 1.0, 0.0};
  e.one_hot = gn::one_hot_encode(e.labels, 3);
  return e;
}

WorkedLosses compute_worked_losses() {
  const WorkedExample e = seed_example();
  gn::Graph<double> g;
  auto y = g.placeholder("y", {gn::batch, 3});
  auto t = g.placeholder("t", {gn::batch, 3});
  auto ids = g.placeholder("labels", {gn::batch});
  const double eps = 1e-7;

  // gn::mse is the mean of the squares, the 1/N form; the seed halves it.
  auto mse_half = gn::mse(y, t) * 0.5;
  // The seed's formula (2): only the true class's term survives the one-hot product.
  auto ce_one_hot = -gn::reduce_sum(t * gn::log(y)) / 4.0;
  // Formula (3): pick y[i, t_i] by the class id. one_hot() builds the mask from the ids in the graph.
  auto picked = gn::reduce_sum(gn::one_hot(ids, 3) * y, 1);
  auto ce_index = -gn::reduce_mean(gn::log(picked));
  auto ce_eps = -gn::reduce_mean(gn::log(picked + eps));
  // graphnn's fused loss takes logits; ln(y) are logits whose softmax is y again.
  auto ce_softmax = gn::softmax_cross_entropy(gn::log(y), t);
  auto ce_sparse = gn::sparse_softmax_cross_entropy(gn::log(y), ids);

  gn::Session<double> s(g);
  const auto out = s.run({mse_half, ce_one_hot, ce_index, ce_softmax, ce_sparse, ce_eps},
                         {{y, e.outputs}, {t, e.one_hot}, {ids, e.labels}});
  WorkedLosses w;
  w.mse_half = out[0]();
  w.ce_one_hot = out[1]();
  w.ce_index = out[2]();
  w.ce_softmax = out[3]();
  w.ce_sparse = out[4]();
  w.ce_seed_eps = out[5]();
  w.expected_ce = -(std::log(0.7) + std::log(0.8) + std::log(0.6) + std::log(0.1)) / 4;
  double sum = 0;
  for (std::size_t i = 0; i < e.outputs.size(); ++i) sum += std::pow(e.outputs.flat(i) - e.one_hot.flat(i), 2);
  w.expected_mse = sum / (2.0 * double(e.outputs.size()));
  return w;
}

}  // namespace two_layer
