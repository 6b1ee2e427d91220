#pragma once
// The loss values worked out in textbook seed 003, computed with graph ops.
//
// Four samples, three classes, labels [2, 0, 1, 0]; the network's outputs
// (already probabilities) are
//   [0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.1, 0.1, 0.8].
// Cross-entropy keeps only the probability of each true class:
//   -(ln 0.7 + ln 0.8 + ln 0.6 + ln 0.1) / 4.
// MSE in the seed's 1/2N form (N = number of elements) against the one-hot labels.
#include <vector>

#include <xtensor/xarray.hpp>

namespace two_layer {

struct WorkedExample {
  xt::xarray<double> outputs;  // [4, 3] probabilities
  xt::xarray<double> labels;   // [4] class ids
  xt::xarray<double> one_hot;  // [4, 3]
};
WorkedExample seed_example();

struct WorkedLosses {
  double mse_half = 0;         // sum((y - t)^2) / (2N): mse(y, t) * 0.5
  double ce_one_hot = 0;       // -sum(t * ln y) / rows
  double ce_index = 0;         // -mean(ln y[i, label_i]), labels as ids
  double ce_softmax = 0;       // softmax_cross_entropy(ln y, t): softmax(ln y) = y since each row sums to 1
  double ce_sparse = 0;        // sparse_softmax_cross_entropy(ln y, labels): the same with class ids
  double ce_seed_eps = 0;      // the seed's code: -mean(ln(y[i, label_i] + 1e-7))
  double expected_ce = 0;      // -(ln 0.7 + ln 0.8 + ln 0.6 + ln 0.1) / 4, in plain C++
  double expected_mse = 0;     // 1.92 / 24 = 0.08, in plain C++
};
WorkedLosses compute_worked_losses();

}  // namespace two_layer
