#include "loss_grid.hpp"

namespace landscape {

LossGrid sample_loss_grid(CurveNet& net, const CurveData& data, double c11, double c12, double r, std::size_t n) {
  LossGrid grid;
  for (std::size_t i = 0; i < n; ++i) {
    const double t = n > 1 ? -r + 2 * r * double(i) / double(n - 1) : 0.0;
    grid.w11.push_back(c11 + t);
    grid.w12.push_back(c12 + t);
  }
  grid.loss = xt::empty<double>({n, n});

  gn::Session<double>& s = net.session();
  double* w = s.variable_data(net.W1);  // W1 is [1, 2]: w[0] = w11, w[1] = w12
  const double saved[2] = {w[0], w[1]};
  const std::size_t plans_before = s.plan_count();
  const std::vector<gn::Feed<double>> feeds = {{net.x, data.x}, {net.y, data.y}};
  std::vector<xt::xarray<double>> out;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      w[0] = grid.w11[i];
      w[1] = grid.w12[j];
      s.run({net.loss_node}, feeds, out);
      grid.loss(i, j) = out[0]();
    }
  }
  w[0] = saved[0];
  w[1] = saved[1];
  grid.new_plans = s.plan_count() - plans_before;
  return grid;
}

}  // namespace landscape
