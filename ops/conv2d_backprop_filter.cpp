// conv2d_backprop_filter: dL/dw of conv2d from its input and dL/dy, TensorFlow's
// Conv2DBackpropFilter. Per tile of output pixels, dw += col^T dy (one GEMM on
// conv::patches' tile, transposed or not by a BLAS flag, accumulating with beta = 1).
// Linear in both inputs, so its own gradient is conv2d_backprop_input (for x)
// and conv2d (for dy): gradients of gradients stay in this family.
#include "conv_geometry.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
class Conv2DBackpropFilter final : public conv::WindowedOp<T> {
 public:
  using conv::WindowedOp<T>::WindowedOp;
  std::string type() const override { return "conv2d_backprop_filter"; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    conv::expect_image(in[1], "gradient");
    const conv::Window& win = this->window();
    const Shape filter{std::int64_t(win.kernel.h), std::int64_t(win.kernel.w), in[0].size() == 4 ? in[0][3] : 1, in[1][3]};
    Shape expected = conv::conv2d_output(in[0], filter, win);
    if (in[1] != expected)
      throw Error("gradient " + to_string(in[1]) + " is not conv2d's output " + to_string(expected) + " for input " +
                  to_string(in[0]) + " and a filter " + to_string(filter));
    return filter;
  }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims& out) const override {
    const conv::Geometry g = geometry(in[0]);
    if (conv::is_pointwise(g)) return 0;
    const std::size_t k = out[0] * out[1] * out[2];
    return conv::tile_rows(num_elements(in[1]) / in[1][3], k) * k;
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const Buffer<T>&x = *in[0], &dy = *in[1];
    const conv::Image im(x.dims);
    const conv::Geometry g = geometry(x.dims);
    const std::size_t k = out.dims[0] * out.dims[1] * out.dims[2], f = out.dims[3];
    const std::size_t pixels = im.n * g.pixels_per_image();
    if (pixels == 0) return std::fill(out.data, out.data + out.size, T(0));
    if (conv::is_pointwise(g)) return conv::gemm(true, false, k, f, pixels, T(1), x.data, k, dy.data, f, T(0), out.data, f);
    const std::size_t rows = conv::tile_rows(pixels, k);
    for (std::size_t p0 = 0; p0 < pixels; p0 += rows) {
      const std::size_t r = std::min(rows, pixels - p0);
      const conv::PatchTile tile = conv::patches(x.data, im, g, p0, r, out.workspace);
      conv::gemm(!tile.transposed, false, k, f, r, T(1), out.workspace, tile.ld, dy.data + p0 * f, f, p0 == 0 ? T(0) : T(1),
                 out.data, f);
    }
  }
  // <G, F(x, dy)> = <conv2d(x, G), dy> = <x, conv2d_backprop_input(dy, G)>.
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&x = a.inputs[0], &dy = a.inputs[1];
    const conv::Window& win = this->window();
    return {conv2d_backprop_input(dy, a.grad, x.shape(), win.stride, win.padding, win.dilation),
            conv2d(x, a.grad, win.stride, win.padding, win.dilation)};
  }

 private:
  conv::Geometry geometry(const Dims& x) const { return conv::resolve(this->window(), x[1], x[2]); }
};

}  // namespace

template <class T>
Node<T> conv2d_backprop_filter(const Node<T>& x, const Node<T>& grad, Size2 kernel, Size2 stride, Padding padding,
                               Size2 dilation) {
  return kit::make<Conv2DBackpropFilter<T>>(Nodes<T>{x, grad}, conv::Window{kernel, stride, dilation, padding});
}

#define INSTANTIATE(T) \
  template Node<T> conv2d_backprop_filter<T>(const Node<T>&, const Node<T>&, Size2, Size2, Padding, Size2);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"conv2d_backprop_filter"});
}  // namespace

}  // namespace graphnn
