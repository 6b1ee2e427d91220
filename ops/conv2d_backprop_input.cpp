// conv2d_backprop_input: dL/dx of conv2d from dL/dy and the filter, TensorFlow's
// Conv2DBackpropInput. Per tile of output pixels, dcol = dy w^T (one GEMM, the
// filter transposed by a BLAS flag) is scattered back into dx (col2im).
// Linear in both inputs, so its own gradient is conv2d (for dy) and
// conv2d_backprop_filter (for w): gradients of gradients stay in this family.
#include "conv_geometry.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
class Conv2DBackpropInput final : public conv::WindowedOp<T> {
 public:
  Conv2DBackpropInput(conv::Window window, Shape input) : conv::WindowedOp<T>(std::move(window)), input_(std::move(input)) {}
  std::string type() const override { return "conv2d_backprop_input"; }
  std::string attributes() const override { return "input=" + to_string(input_) + ", " + conv::WindowedOp<T>::attributes(); }
  bool same_as(const Op<T>& o) const override {
    return conv::WindowedOp<T>::same_as(o) && static_cast<const Conv2DBackpropInput&>(o).input_ == input_;
  }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    conv::expect_image(in[0], "gradient");
    Shape expected = conv::conv2d_output(input_, in[1], this->window());
    expected[0] = in[0][0];  // the batch comes with the gradient
    if (in[0] != expected)
      throw Error("gradient " + to_string(in[0]) + " is not conv2d's output " + to_string(expected) + " for input " +
                  to_string(input_) + " and filter " + to_string(in[1]));
    return {in[0][0], input_[1], input_[2], input_[3]};
  }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims& out) const override {
    const conv::Geometry g = geometry(out, in[1]);
    if (conv::is_pointwise(g)) return 0;
    const std::size_t k = in[1][0] * in[1][1] * in[1][2];
    return conv::tile_rows(num_elements(in[0]) / in[0][3], k) * k;
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const Buffer<T>&dy = *in[0], &w = *in[1];
    const conv::Image im(out.dims);
    const conv::Geometry g = geometry(out.dims, w.dims);
    const std::size_t k = w.dims[0] * w.dims[1] * w.dims[2], f = w.dims[3], pixels = im.n * g.pixels_per_image();
    if (conv::is_pointwise(g)) {
      if (pixels > 0) conv::gemm(false, true, pixels, k, f, T(1), dy.data, f, w.data, f, T(0), out.data, k);
      return;
    }
    std::fill(out.data, out.data + out.size, T(0));
    const std::size_t rows = conv::tile_rows(pixels, k);
    for (std::size_t p0 = 0; p0 < pixels; p0 += rows) {
      const std::size_t r = std::min(rows, pixels - p0);
      conv::gemm(false, true, r, k, f, T(1), dy.data + p0 * f, f, w.data, f, T(0), out.workspace, k);
      conv::col2im_add(out.workspace, im, g, p0, r, out.data);
    }
  }
  // <G, B(dy, w)> = <conv2d(G, w), dy> = <w, conv2d_backprop_filter(G, dy)>.
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&dy = a.inputs[0], &w = a.inputs[1];
    const conv::Window& win = this->window();
    const Size2 kernel(std::size_t(w.shape()[0]), std::size_t(w.shape()[1]));
    return {conv2d(a.grad, w, win.stride, win.padding, win.dilation),
            conv2d_backprop_filter(a.grad, dy, kernel, win.stride, win.padding, win.dilation)};
  }

 private:
  conv::Geometry geometry(const Dims& x, const Dims& w) const {
    return conv::resolve(this->with_kernel(w[0], w[1]), x[1], x[2]);
  }
  Shape input_;
};

}  // namespace

template <class T>
Node<T> conv2d_backprop_input(const Node<T>& grad, const Node<T>& w, const Shape& input, Size2 stride, Padding padding,
                              Size2 dilation) {
  return kit::make<Conv2DBackpropInput<T>>(Nodes<T>{grad, w}, conv::Window{Size2(0, 0), stride, dilation, padding},
                                           input);
}

#define INSTANTIATE(T) \
  template Node<T> conv2d_backprop_input<T>(const Node<T>&, const Node<T>&, const Shape&, Size2, Padding, Size2);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"conv2d_backprop_input"});
}  // namespace

}  // namespace graphnn
