// The BatchNorm layer. Training normalises with the batch's moments through
// the op batch_normalize (scaled by gamma, shifted by beta), and the running
// statistics follow by assignments that Sequential runs with each training
// step (BuildContext::updates), from the moments as graph ops outside the
// gradient. Inference normalises with the running statistics (the op
// batch_norm).
#include <cstdio>

#include "graphnn/checked_size.hpp"
#include "graphnn/conv_layers.hpp"
#include "graphnn/distributed.hpp"

namespace graphnn {

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
  const Node<T> batch = stop_gradient(x);
  // Under mpirun, the moments of the global batch (each process's rows; the
  // shards are of one size), so every process keeps the same running statistics.
  const Node<T> mean = distributed::mean_over_processes(mean_over_leading_axes(batch));
  const Node<T> variance = distributed::mean_over_processes(mean_over_leading_axes(square(batch - mean)));
  const T m = static_cast<T>(momentum_);
  ctx.updates.push_back(assign(running_mean, running_mean * m + mean * (T(1) - m)));
  ctx.updates.push_back(assign(running_variance, running_variance * m + variance * (T(1) - m)));
  return batch_normalize(x, eps) * gamma + beta;
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
