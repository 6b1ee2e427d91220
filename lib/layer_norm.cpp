// LayerNorm as a layer written through the extension points: its variables
// come from Layer::variable (once per graph), its math is graph ops (so no
// gradient rule of its own), and it loads through the layer registry.
#include "graphnn/layer_norm.hpp"

#include <cstdint>
#include <sstream>

#include "graphnn/checked_size.hpp"
#include "graphnn/ops.hpp"

namespace graphnn {
namespace {

std::string text(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace

template <class T>
LayerNorm<T>::LayerNorm(std::size_t features, double epsilon, bool affine)
    : features_(features), epsilon_(epsilon), affine_(affine) {
  if (features == 0) throw Error("LayerNorm: features must be positive, got 0");
  if (!(epsilon > 0)) throw Error("LayerNorm(" + std::to_string(features) + "): epsilon must be positive, got " + text(epsilon));
}

template <class T>
Node<T> LayerNorm<T>::build(const Node<T>& x, BuildContext<T>& ctx) {
  const Shape& shape = x.shape();
  if (shape.empty() || shape.back() != static_cast<std::int64_t>(features_))
    throw Error(describe() + ": input " + graphnn::describe(x) + " does not have " + std::to_string(features_) +
                " features in its last dimension");
  const int axis = static_cast<int>(shape.size()) - 1;
  Shape row_shape = shape;  // one value per row, broadcast back over the features
  row_shape.back() = 1;
  const Node<T> centered = x - reshape(reduce_mean(x, axis), row_shape);
  const Node<T> variance = reshape(reduce_mean(square(centered), axis), row_shape);
  const Node<T> y = centered / sqrt(variance + static_cast<T>(epsilon_));
  if (!affine_) return y;
  const Node<T> gamma = this->variable(ctx, "gamma", [&] { return xt::xarray<T>(xt::ones<T>({features_})); });
  const Node<T> beta = this->variable(ctx, "beta", [&] { return xt::xarray<T>(xt::zeros<T>({features_})); });
  return y * gamma + beta;
}

template <class T>
LayerConfig LayerNorm<T>::config() const {
  return {{"features", std::to_string(features_)}, {"epsilon", text(epsilon_)}, {"affine", affine_ ? "1" : "0"}};
}

template <class T>
std::string LayerNorm<T>::describe() const {
  return "LayerNorm(" + std::to_string(features_) + (affine_ ? "" : ", no affine") + ")";
}

template <class T>
std::shared_ptr<Layer<T>> LayerNorm<T>::from_config(const LayerConfig& c) {
  // A model file may be damaged: parse_size / parse_finite refuse what is not a number, naming the setting.
  return std::make_shared<LayerNorm<T>>(
      parse_size(config_value(c, "features", "LayerNorm"), SIZE_MAX, "layer LayerNorm: setting 'features'"),
      parse_finite(config_value(c, "epsilon", "LayerNorm"), "layer LayerNorm: setting 'epsilon'"),
      config_value(c, "affine", "LayerNorm") == "1");
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace graphnn
