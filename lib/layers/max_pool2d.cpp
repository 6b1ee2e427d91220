// The MaxPool2D layer: max_pool2d over each channel's windows.
#include "graphnn/conv_layers.hpp"

namespace graphnn {

template <class T>
Node<T> MaxPool2D<T>::build(const Node<T>& x, BuildContext<T>&) {
  return max_pool2d(x, pool_.window, pool_.effective_stride(), pool_.padding);
}

namespace {
template <class T>
std::shared_ptr<Layer<T>> load(const LayerConfig& c) {
  return std::make_shared<MaxPool2D<T>>(PoolSettings::parse(c, "MaxPool2D"));
}
const bool registered = (register_layer<float>("MaxPool2D", load<float>), register_layer<double>("MaxPool2D", load<double>), true);
}  // namespace

template class MaxPool2D<float>;
template class MaxPool2D<double>;

}  // namespace graphnn
