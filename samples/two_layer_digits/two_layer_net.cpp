#include "two_layer_net.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

namespace two_layer {

TwoLayerNet::TwoLayerNet(std::size_t input_size, std::size_t hidden_size, std::size_t output_size,
                         double weight_init_std, double lr, unsigned seed)
    : graph_(std::make_unique<gn::Graph<double>>()) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> randn(0.0, 1.0);
  auto weights = [&](std::size_t rows, std::size_t cols) {
    xt::xarray<double> w = xt::empty<double>({rows, cols});
    for (double& v : w) v = weight_init_std * randn(rng);
    return w;
  };
  gn::Graph<double>& g = *graph_;
  x = g.placeholder("x", {gn::batch, static_cast<std::int64_t>(input_size)});
  t = g.placeholder("t", {gn::batch, static_cast<std::int64_t>(output_size)});
  W1 = g.variable("W1", weights(input_size, hidden_size));
  b1 = g.variable("b1", xt::zeros<double>({hidden_size}));
  W2 = g.variable("W2", weights(hidden_size, output_size));
  b2 = g.variable("b2", xt::zeros<double>({output_size}));
  const gn::Node<double> z1 = gn::sigmoid(gn::matmul(x, W1) + b1);
  logits = gn::matmul(z1, W2) + b2;
  // softmax and cross-entropy in one op: exact for saturated outputs, so the
  // seed's eps inside the log is not needed.
  loss_node = gn::softmax_cross_entropy(logits, t);
  params = {W1, b1, W2, b2};
  grads = gn::gradients(loss_node, params);
  sgd_ = std::make_unique<gn::SGD<double>>(lr);
  updates = sgd_->build(params, grads);
  session_ = std::make_unique<gn::Session<double>>(g);
}

double TwoLayerNet::loss(const xt::xarray<double>& xv, const xt::xarray<double>& tv) {
  session_->run({loss_node}, {{x, xv}, {t, tv}}, out_);
  return out_[0]();
}

std::vector<xt::xarray<double>> TwoLayerNet::symbolic_gradient(const xt::xarray<double>& xv,
                                                               const xt::xarray<double>& tv) {
  return session_->run(grads, {{x, xv}, {t, tv}});
}

NumericalGradient TwoLayerNet::numerical_gradient(const xt::xarray<double>& xv, const xt::xarray<double>& tv,
                                                  double h, std::size_t min_elements) {
  NumericalGradient n;
  n.total = parameter_count();
  // Every stride-th element of each parameter: at least min_elements in all, spread over every parameter.
  const std::size_t stride = min_elements == 0 || min_elements >= n.total ? 1 : n.total / min_elements;
  const auto start = std::chrono::steady_clock::now();
  for (const gn::Node<double>& p : params) {
    // loss with one element of p changed; re-runs only what that element reaches
    auto f = gn::element_function(*session_, loss_node, p, {{x, xv}, {t, tv}});
    const double* w = session_->variable_data(p);
    xt::xarray<double> g = xt::empty<double>(session_->value(p).shape());
    g.fill(std::numeric_limits<double>::quiet_NaN());
    std::vector<std::size_t> done;
    for (std::size_t i = 0; i < f.size(); i += stride) {
      g.flat(i) = (f(i, w[i] + h) - f(i, w[i] - h)) / (2 * h);
      done.push_back(i);
    }
    n.computed += done.size();
    n.grads.push_back(std::move(g));
    n.indices.push_back(std::move(done));
  }
  n.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return n;
}

void TwoLayerNet::train_step(const xt::xarray<double>& xv, const xt::xarray<double>& tv, std::size_t step,
                             std::size_t epoch) {
  sgd_->prepare(*session_, step, epoch);
  session_->run_targets(updates, {{x, xv}, {t, tv}});
}

Evaluation TwoLayerNet::evaluate(const xt::xarray<double>& xv, const xt::xarray<double>& tv, std::size_t batch) {
  gn::BatchIterator<double> it(xv, tv, batch, false, 0);
  double loss_sum = 0, correct = 0;
  while (it.next()) {
    session_->run({loss_node, logits}, {{x, it.x_batch()}, {t, it.y_batch()}}, out_);
    const std::size_t rows = it.x_batch().shape()[0];
    loss_sum += out_[0]() * double(rows);
    const xt::xarray<double> predicted = gn::argmax_rows(out_[1]), truth = gn::argmax_rows(it.y_batch());
    for (std::size_t r = 0; r < rows; ++r) correct += predicted(r) == truth(r);
  }
  const double n = double(it.rows());
  return {loss_sum / n, correct / n};
}

std::size_t TwoLayerNet::parameter_count() const {
  std::size_t n = 0;
  for (const gn::Node<double>& p : params) n += session_->value(p).size();
  return n;
}

}  // namespace two_layer
