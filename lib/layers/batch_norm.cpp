// The BatchNorm layer. Training normalises with the batch's moments, built
// from graph ops (the mean over every axis but the last as a chain of
// reduce_mean over axis 0), so their gradient comes from those ops' rules and
// stays differentiable; the running statistics follow by assignments that
// Sequential runs with each training step (BuildContext::updates). Inference
// normalises with the running statistics. Both call the one op batch_norm.
#include <cstdio>

#include "graphnn/checked_size.hpp"
#include "graphnn/conv_layers.hpp"

namespace graphnn {
namespace {

// The mean over every axis but the last: [batch, h, w, c] -> [c].
template <class T>
Node<T> mean_per_channel(Node<T> x) {
  while (x.shape().size() > 1) x = reduce_mean(x, 0);
  return x;
}

}  // namespace

template <class T>
BatchNorm<T>::BatchNorm(double momentum, double epsilon) : momentum_(momentum), epsilon_(epsilon) {
  if (!(momentum >= 0.0 && momentum < 1.0) || !(epsilon > 0.0))
    throw Error("BatchNorm: momentum " + std::to_string(momentum) + " must be in [0, 1) and epsilon " +
                std::to_string(epsilon) + " positive");
}

template <class T>
Node<T> BatchNorm<T>::build(const Node<T>& x, BuildContext<T>& ctx) {
  if (x.shape().size() < 2 || x.shape().back() <= 0)
    throw Error(describe() + ": input " + graphnn::describe(x) + " needs a batch axis and a fixed channel axis last");
  const std::size_t channels = std::size_t(x.shape().back());
  auto filled = [channels](T v) { return [channels, v] { return xt::xarray<T>(xt::ones<T>({channels}) * v); }; };
  const Node<T> gamma = this->variable(ctx, "gamma", filled(T(1)));
  const Node<T> beta = this->variable(ctx, "beta", filled(T(0)));
  const Node<T> running_mean = this->variable(ctx, "running_mean", filled(T(0)), /*trainable=*/false);
  const Node<T> running_variance = this->variable(ctx, "running_variance", filled(T(1)), /*trainable=*/false);
  const T eps = static_cast<T>(epsilon_);
  if (!ctx.training) return batch_norm(x, running_mean, running_variance, gamma, beta, eps);
  const Node<T> mean = mean_per_channel(x);
  const Node<T> variance = mean_per_channel(square(x - mean));
  const T m = static_cast<T>(momentum_);
  ctx.updates.push_back(assign(running_mean, running_mean * m + stop_gradient(mean) * (T(1) - m)));
  ctx.updates.push_back(assign(running_variance, running_variance * m + stop_gradient(variance) * (T(1) - m)));
  return batch_norm(x, mean, variance, gamma, beta, eps);
}

template <class T>
LayerConfig BatchNorm<T>::config() const {
  auto text = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  return {{"momentum", text(momentum_)}, {"epsilon", text(epsilon_)}};
}

template <class T>
std::string BatchNorm<T>::describe() const {
  char text[64];
  std::snprintf(text, sizeof text, "BatchNorm(momentum %g, epsilon %g)", momentum_, epsilon_);
  return text;
}

namespace {
template <class T>
std::shared_ptr<Layer<T>> load(const LayerConfig& c) {
  return std::make_shared<BatchNorm<T>>(parse_finite(config_value(c, "momentum", "BatchNorm"), "BatchNorm momentum"),
                                        parse_finite(config_value(c, "epsilon", "BatchNorm"), "BatchNorm epsilon"));
}
const bool registered = (register_layer<float>("BatchNorm", load<float>), register_layer<double>("BatchNorm", load<double>), true);
}  // namespace

template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace graphnn
