#include "curve_net.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

namespace landscape {

std::string activation_name(Activation a) {
  switch (a) {
    case Activation::tanh: return "Tanh";
    case Activation::relu: return "ReLU";
    case Activation::leaky_relu: return "LeakyReLU";
  }
  return "?";
}

// Rises with a bend at the lower left, peaks, then falls and levels off to the
// right: two smooth steps, so two Tanh units can follow it closely while two
// ReLU units can only draw it with corners.
double curve(double x) { return 0.45 + 0.55 * std::tanh(7 * (x - 0.3)) - 0.3 * std::tanh(9 * (x - 0.7)); }

CurveData make_curve_data(std::size_t n, double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> e(0, 1);
  CurveData d{xt::empty<double>({n, std::size_t{1}}), xt::empty<double>({n, std::size_t{1}})};
  for (std::size_t i = 0; i < n; ++i) {
    d.x(i, 0) = u(rng);
    d.y(i, 0) = curve(d.x(i, 0)) + noise * e(rng);
  }
  return d;
}

CurveNet::CurveNet(Activation activation, double lr, double leaky_alpha)
    : activation_(activation), graph_(std::make_unique<gn::Graph<double>>()) {
  gn::Graph<double>& g = *graph_;
  x = g.placeholder("x", {gn::batch, 1});
  y = g.placeholder("y", {gn::batch, 1});
  W1 = g.variable("W1", xt::zeros<double>({1, 2}));
  b1 = g.variable("b1", xt::zeros<double>({2}));
  W2 = g.variable("W2", xt::zeros<double>({2, 1}));
  b2 = g.variable("b2", xt::zeros<double>({1}));
  z1 = gn::matmul(x, W1) + b1;
  gn::Node<double> a = activation == Activation::tanh   ? gn::tanh(z1)
                       : activation == Activation::relu ? gn::relu(z1)
                                                        : gn::leaky_relu(z1, leaky_alpha);
  pred = gn::matmul(a, W2) + b2;
  loss_node = gn::mse(pred, y);
  const gn::Nodes<double> params = {W1, b1, W2, b2};
  sgd_ = std::make_unique<gn::SGD<double>>(lr);
  updates = sgd_->build(params, gn::gradients(loss_node, params));
  session_ = std::make_unique<gn::Session<double>>(g);
}

void CurveNet::initialise(unsigned seed, bool positive_init) {
  std::mt19937 rng(seed);
  const double limit = std::sqrt(6.0 / 3.0);  // Xavier: sqrt(6 / (fan_in + fan_out)) for 1x2 and 2x1
  std::uniform_real_distribution<double> w(positive_init ? 0.0 : -limit, limit), w2(-limit, limit);
  double* p = session_->variable_data(W1);
  p[0] = w(rng);
  p[1] = w(rng);
  p = session_->variable_data(W2);
  p[0] = w2(rng);
  p[1] = w2(rng);
  session_->assign(b1, xt::zeros<double>({2}));
  session_->assign(b2, xt::zeros<double>({1}));
}

gn::History CurveNet::train(const CurveData& train, const CurveData& validation, const TrainOptions& o) {
  initialise(o.seed, o.positive_init);
  gn::BatchIterator<double> batches(train.x, train.y, o.batch_size, true, o.seed);
  gn::History history;
  std::size_t step = 0;
  for (std::size_t epoch = 0; epoch < o.epochs; ++epoch, batches.reset()) {
    while (batches.next()) {
      sgd_->prepare(*session_, ++step, epoch);
      session_->run_targets(updates, {{x, batches.x_batch()}, {y, batches.y_batch()}});
    }
    if (o.every_epoch || epoch + 1 == o.epochs) {
      history.epoch.push_back(epoch + 1);
      history.iteration.push_back(step);
      history.loss.push_back(loss(train));
      history.val_loss.push_back(loss(validation));
    }
  }
  return history;
}

double CurveNet::loss(const CurveData& d) { return session_->run({loss_node}, {{x, d.x}, {y, d.y}})[0](); }

xt::xarray<double> CurveNet::predict(const xt::xarray<double>& in) { return session_->run({pred}, {{x, in}})[0]; }

xt::xarray<double> CurveNet::pre_activation(const xt::xarray<double>& in) {
  return session_->run({z1}, {{x, in}})[0];
}

std::vector<SilentUnit> CurveNet::silent_units(const xt::xarray<double>& in) {
  const xt::xarray<double> z = pre_activation(in);
  std::vector<SilentUnit> silent;
  for (std::size_t u = 0; u < z.shape()[1]; ++u) {
    const double top = xt::amax(xt::view(z, xt::all(), u))();
    if (top <= 0) silent.push_back({u, top});
  }
  return silent;
}

}  // namespace landscape
