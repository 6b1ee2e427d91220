// The Conv2D layer: conv2d of the input with a trained filter, plus a bias per filter.
#include "graphnn/checked_size.hpp"
#include "graphnn/conv_layers.hpp"

namespace graphnn {

template <class T>
Conv2D<T>::Conv2D(std::size_t filters, Size2 kernel, Size2 stride, Padding padding, Size2 dilation, Init init,
                  bool bias)
    : filters_(filters), kernel_(kernel), stride_(stride), dilation_(dilation), padding_(padding), init_(init),
      bias_(bias) {
  if (filters == 0 || kernel.h == 0 || kernel.w == 0)
    throw Error("Conv2D: filters and kernel must be positive, got " + std::to_string(filters) + " filters of " +
                size2_text(kernel));
}

template <class T>
Node<T> Conv2D<T>::build(const Node<T>& x, BuildContext<T>& ctx) {
  if (x.shape().size() != 4)
    throw Error(describe() + ": input " + graphnn::describe(x) +
                " is not an image batch [batch, height, width, channels]; start with a Reshape layer");
  const std::size_t channels = std::size_t(x.shape()[3]), cells = kernel_.h * kernel_.w;
  const Node<T> w = this->variable(ctx, "W", [&] {
    return initial_value<T>(init_, {kernel_.h, kernel_.w, channels, filters_}, cells * channels, cells * filters_,
                            ctx.rng);
  });
  const Node<T> y = conv2d(x, w, stride_, padding_, dilation_);
  if (!bias_) return y;
  return y + this->variable(ctx, "b", [&] { return xt::xarray<T>(xt::zeros<T>({filters_})); });
}

template <class T>
LayerConfig Conv2D<T>::config() const {
  return {{"filters", std::to_string(filters_)}, {"kernel", size2_text(kernel_)}, {"stride", size2_text(stride_)},
          {"padding", padding_.to_string()},     {"dilation", size2_text(dilation_)}, {"init", init_.to_string()},
          {"bias", bias_ ? "1" : "0"}};
}

template <class T>
std::size_t Conv2D<T>::min_weight_bytes() const {
  return checked_product(Dims{kernel_.h, kernel_.w, 1, filters_}, sizeof(T), describe() + ": filters") * sizeof(T);
}

template <class T>
std::string Conv2D<T>::describe() const {
  return "Conv2D(" + std::to_string(filters_) + ", " + size2_text(kernel_) + ", stride " + size2_text(stride_) +
         ", " + padding_.to_string() + (dilation_.h * dilation_.w != 1 ? ", dilation " + size2_text(dilation_) : "") +
         (bias_ ? "" : ", no bias") + ")";
}

namespace {
template <class T>
std::shared_ptr<Layer<T>> load_conv2d(const LayerConfig& c) {
  auto get = [&](const char* key) { return config_value(c, key, "Conv2D"); };
  return std::make_shared<Conv2D<T>>(parse_size(get("filters"), kMaxGeometry, "Conv2D filters"), parse_size2(get("kernel"), "Conv2D kernel"),
                                     parse_size2(get("stride"), "Conv2D stride"), Padding(get("padding")),
                                     parse_size2(get("dilation"), "Conv2D dilation"), Init::parse(get("init")),
                                     get("bias") == "1");
}
const bool registered = (register_layer<float>("Conv2D", load_conv2d<float>),
                         register_layer<double>("Conv2D", load_conv2d<double>), true);
}  // namespace

template class Conv2D<float>;
template class Conv2D<double>;

}  // namespace graphnn
