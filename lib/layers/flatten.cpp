// The Flatten layer: feature maps as rows for the Linear layers that follow.
#include "graphnn/conv_layers.hpp"

namespace graphnn {
namespace {
template <class T>
std::shared_ptr<Layer<T>> load(const LayerConfig&) {
  return std::make_shared<Flatten<T>>();
}
const bool registered = (register_layer<float>("Flatten", load<float>), register_layer<double>("Flatten", load<double>), true);
}  // namespace

template class Flatten<float>;
template class Flatten<double>;

}  // namespace graphnn
