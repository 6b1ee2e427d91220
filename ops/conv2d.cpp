// conv2d: NHWC cross-correlation as patch tiles (conv::patches: im2col, or its
// transpose for one input channel) times the filter in one GEMM per tile
// (ops/conv_geometry.hpp says why that layout). Its gradients are the ops
// conv2d_backprop_input and conv2d_backprop_filter, each differentiable.
#include "compiler_ops.hpp"
#include "conv_geometry.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
class Conv2D final : public conv::WindowedOp<T> {
 public:
  // `bias`: a third input [F] added to each output channel, for rule bias_into_conv only.
  explicit Conv2D(conv::Window window, bool bias = false) : conv::WindowedOp<T>(std::move(window)), bias_(bias) {}
  std::string type() const override { return bias_ ? "conv2d_bias" : "conv2d"; }
  bool same_as(const Op<T>& o) const override {
    return conv::WindowedOp<T>::same_as(o) && static_cast<const Conv2D&>(o).bias_ == bias_;
  }
  bool has_bias() const { return bias_; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, bias_ ? 3 : 2);
    Shape y = conv::conv2d_output(in[0], in[1], this->window());
    if (bias_ && in[2] != Shape{y.back()})
      throw Error("bias " + to_string(in[2]) + " is not [" + std::to_string(y.back()) + "], one value per output channel");
    return y;
  }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims& out) const override {
    const conv::Geometry g = geometry(in[0], in[1]);
    if (conv::is_pointwise(g)) return 0;
    const std::size_t k = in[1][0] * in[1][1] * in[1][2];
    return conv::tile_rows(num_elements(out) / out[3], k) * k;
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const Buffer<T>&x = *in[0], &w = *in[1];
    const conv::Image im(x.dims);
    const conv::Geometry g = geometry(x.dims, w.dims);
    const std::size_t k = w.dims[0] * w.dims[1] * w.dims[2], f = w.dims[3], pixels = im.n * g.pixels_per_image();
    if (pixels == 0) return;
    const T* bias = bias_ ? in[2]->data : nullptr;
    if (conv::is_pointwise(g)) {
      conv::gemm(false, false, pixels, f, k, T(1), x.data, k, w.data, f, T(0), out.data, f);
      return add_bias(bias, f, pixels, out.data);
    }
    const std::size_t rows = conv::tile_rows(pixels, k);
    for (std::size_t p0 = 0; p0 < pixels; p0 += rows) {
      const std::size_t r = std::min(rows, pixels - p0);
      const conv::PatchTile tile = conv::patches(x.data, im, g, p0, r, out.workspace);
      conv::gemm(tile.transposed, false, r, f, k, T(1), out.workspace, tile.ld, w.data, f, T(0), out.data + p0 * f, f);
      add_bias(bias, f, r, out.data + p0 * f);  // while the tile's output is in cache
    }
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&x = a.inputs[0], &w = a.inputs[1];
    const conv::Window& win = this->window();
    const Size2 kernel(std::size_t(w.shape()[0]), std::size_t(w.shape()[1]));
    Nodes<T> grads{conv2d_backprop_input(a.grad, w, x.shape(), win.stride, win.padding, win.dilation),
                   conv2d_backprop_filter(x, a.grad, kernel, win.stride, win.padding, win.dilation)};
    if (bias_) grads.push_back(sum_to(a.grad, a.inputs[2]));
    return grads;
  }

 private:
  conv::Geometry geometry(const Dims& x, const Dims& w) const {
    return conv::resolve(this->with_kernel(w[0], w[1]), x[1], x[2]);
  }
  // y[r, :] += bias for `rows` rows of f channels: the same sum, bit for bit, as the add it replaces.
  static void add_bias(const T* bias, std::size_t f, std::size_t rows, T* y) {
    if (!bias) return;
    for (std::size_t r = 0; r < rows; ++r, y += f)
      for (std::size_t j = 0; j < f; ++j) y[j] += bias[j];
  }
  bool bias_;
};

}  // namespace

template <class T>
Node<T> conv2d(const Node<T>& x, const Node<T>& w, Size2 stride, Padding padding, Size2 dilation) {
  return kit::make<Conv2D<T>>(Nodes<T>{x, w}, conv::Window{Size2(0, 0), stride, dilation, padding});
}

template <class T>
Node<T> conv2d_with_bias(const Op<T>& conv, const Node<T>& x, const Node<T>& w, const Node<T>& bias) {
  const auto* plain = dynamic_cast<const Conv2D<T>*>(&conv);
  if (!plain || plain->has_bias()) return {};
  return kit::make<Conv2D<T>>(Nodes<T>{x, w, bias}, plain->window(), true);
}

#define INSTANTIATE(T)                                                                      \
  template Node<T> conv2d<T>(const Node<T>&, const Node<T>&, Size2, Padding, Size2);       \
  template Node<T> conv2d_with_bias<T>(const Op<T>&, const Node<T>&, const Node<T>&, const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"conv2d", "conv2d_bias"});
}  // namespace

}  // namespace graphnn
