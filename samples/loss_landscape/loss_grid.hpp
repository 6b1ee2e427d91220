#pragma once
// The loss as a function of the two first-layer weights (w11, w12), all other
// parameters held at their trained values, sampled on a square grid.
#include <cstddef>
#include <vector>

#include "curve_net.hpp"

namespace landscape {

struct LossGrid {
  std::vector<double> w11, w12;  // the grid's axes
  xt::xarray<double> loss;       // [w11.size(), w12.size()]
  std::size_t new_plans = 0;     // plans compiled while sampling (one at most: the loss fetch's)
};

// n x n points over [c11 - r, c11 + r] x [c12 - r, c12 + r]. Writes the two
// weights in place and reruns the same loss fetch, so the session compiles
// nothing after the first point; the trained weights are restored at the end.
LossGrid sample_loss_grid(CurveNet& net, const CurveData& data, double c11, double c12, double r, std::size_t n);

}  // namespace landscape
