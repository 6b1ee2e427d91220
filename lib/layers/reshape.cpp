// The Reshape layer: Sequential's rows of features as images for the conv layers.
#include <algorithm>

#include "graphnn/checked_size.hpp"
#include "graphnn/conv_layers.hpp"

namespace graphnn {

template <class T>
Reshape<T>::Reshape(std::vector<std::size_t> dims) : dims_(std::move(dims)) {
  if (dims_.empty() || std::find(dims_.begin(), dims_.end(), 0) != dims_.end())
    throw Error(describe() + ": the dimensions must be given and positive");
}

template <class T>
Node<T> Reshape<T>::build(const Node<T>& x, BuildContext<T>&) {
  Shape shape{batch};
  for (std::size_t d : dims_) shape.push_back(std::int64_t(d));
  return reshape(x, shape);
}

template <class T>
LayerConfig Reshape<T>::config() const {
  std::string text;
  for (std::size_t d : dims_) text += (text.empty() ? "" : ",") + std::to_string(d);
  return {{"dims", text}};
}

template <class T>
std::string Reshape<T>::describe() const {
  std::string text;
  for (std::size_t d : dims_) text += (text.empty() ? "" : ", ") + std::to_string(d);
  return "Reshape(" + text + ")";
}

namespace {
template <class T>
std::shared_ptr<Layer<T>> load_reshape(const LayerConfig& c) {
  const std::string text = config_value(c, "dims", "Reshape");
  return std::make_shared<Reshape<T>>(parse_size_list(text, ',', SIZE_MAX, "Reshape dims '" + text + "'"));
}
const bool registered = (register_layer<float>("Reshape", load_reshape<float>),
                         register_layer<double>("Reshape", load_reshape<double>), true);
}  // namespace

template class Reshape<float>;
template class Reshape<double>;

}  // namespace graphnn
