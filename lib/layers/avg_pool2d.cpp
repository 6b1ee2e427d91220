// The AvgPool2D layer: avg_pool2d over each channel's windows.
#include "graphnn/conv_layers.hpp"

namespace graphnn {

template <class T>
Node<T> AvgPool2D<T>::build(const Node<T>& x, BuildContext<T>&) {
  return avg_pool2d(x, pool_.window, pool_.effective_stride(), pool_.padding);
}

namespace {
template <class T>
std::shared_ptr<Layer<T>> load(const LayerConfig& c) {
  return std::make_shared<AvgPool2D<T>>(PoolSettings::parse(c, "AvgPool2D"));
}
const bool registered = (register_layer<float>("AvgPool2D", load<float>), register_layer<double>("AvgPool2D", load<double>), true);
}  // namespace

template class AvgPool2D<float>;
template class AvgPool2D<double>;

}  // namespace graphnn
