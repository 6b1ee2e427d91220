// avg_pool2d and its gradient. A window averages the cells inside the image
// (padding never counts: TensorFlow's rule, PyTorch's count_include_pad=False).
// Both are linear and each other's adjoint, so avg_pool2d_grad's gradient is
// avg_pool2d again: gradients of any order stay in this file.
#include "conv_geometry.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// Calls f(output pixel index, cells) for every window of an image batch.
template <class F>
void for_each_window(const conv::Image& im, const conv::Geometry& g, F&& f) {
  std::size_t o = 0;
  for (std::size_t n = 0; n < im.n; ++n)
    for (std::size_t oh = 0; oh < g.h.out; ++oh)
      for (std::size_t ow = 0; ow < g.w.out; ++ow, ++o) f(n, o, conv::window_cells(g, oh, ow));
}

template <class T>
class AvgPool2D final : public conv::WindowedOp<T> {
 public:
  using conv::WindowedOp<T>::WindowedOp;
  std::string type() const override { return "avg_pool2d"; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return conv::pool_output(in[0], this->window());
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const conv::Image im(in[0]->dims);
    const T* x = in[0]->data;
    for_each_window(im, conv::resolve(this->window(), im.h, im.w, true),
                    [&](std::size_t n, std::size_t o, const conv::Cells& cells) {
                      T* y = out.data + o * im.c;
                      std::fill(y, y + im.c, T(0));
                      for (std::size_t ih = cells.h0; ih < cells.h1; ++ih)
                        for (std::size_t iw = cells.w0; iw < cells.w1; ++iw) {
                          const T* cell = x + ((n * im.h + ih) * im.w + iw) * im.c;
                          for (std::size_t c = 0; c < im.c; ++c) y[c] += cell[c];
                        }
                      const T scale = T(1) / T(cells.count());
                      for (std::size_t c = 0; c < im.c; ++c) y[c] *= scale;
                    });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const conv::Window& w = this->window();
    return {avg_pool2d_grad(a.grad, a.inputs[0].shape(), w.kernel, w.stride, w.padding)};
  }
};

// dx: each window's gradient spread evenly over the window's cells.
template <class T>
class AvgPool2DGrad final : public conv::WindowedOp<T> {
 public:
  AvgPool2DGrad(conv::Window window, Shape input) : conv::WindowedOp<T>(std::move(window)), input_(std::move(input)) {}
  std::string type() const override { return "avg_pool2d_grad"; }
  std::string attributes() const override { return "input=" + to_string(input_) + ", " + conv::WindowedOp<T>::attributes(); }
  bool same_as(const Op<T>& o) const override {
    return conv::WindowedOp<T>::same_as(o) && static_cast<const AvgPool2DGrad&>(o).input_ == input_;
  }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    Shape pooled = conv::pool_output(input_, this->window());
    if (!in[0].empty()) pooled[0] = in[0][0];  // the batch comes with the gradient
    if (in[0] != pooled)
      throw Error("gradient " + to_string(in[0]) + " is not avg_pool2d's output " + to_string(pooled) + " for input " +
                  to_string(input_));
    return {in[0][0], input_[1], input_[2], input_[3]};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const conv::Image im(out.dims);
    const T* g = in[0]->data;
    std::fill(out.data, out.data + out.size, T(0));
    for_each_window(im, conv::resolve(this->window(), im.h, im.w, true),
                    [&](std::size_t n, std::size_t o, const conv::Cells& cells) {
                      const T scale = T(1) / T(cells.count());
                      const T* gy = g + o * im.c;
                      for (std::size_t ih = cells.h0; ih < cells.h1; ++ih)
                        for (std::size_t iw = cells.w0; iw < cells.w1; ++iw) {
                          T* cell = out.data + ((n * im.h + ih) * im.w + iw) * im.c;
                          for (std::size_t c = 0; c < im.c; ++c) cell[c] += gy[c] * scale;
                        }
                    });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const conv::Window& w = this->window();
    return {avg_pool2d(a.grad, w.kernel, w.stride, w.padding)};
  }

 private:
  Shape input_;
};

}  // namespace

template <class T>
Node<T> avg_pool2d(const Node<T>& x, Size2 window, Size2 stride, Padding padding) {
  return kit::make<AvgPool2D<T>>(Nodes<T>{x}, conv::pool_window(window, stride, padding));
}
template <class T>
Node<T> avg_pool2d_grad(const Node<T>& grad, const Shape& input, Size2 window, Size2 stride, Padding padding) {
  return kit::make<AvgPool2DGrad<T>>(Nodes<T>{grad}, conv::pool_window(window, stride, padding), input);
}

#define INSTANTIATE(T)                                                           \
  template Node<T> avg_pool2d<T>(const Node<T>&, Size2, Size2, Padding);         \
  template Node<T> avg_pool2d_grad<T>(const Node<T>&, const Shape&, Size2, Size2, Padding);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"avg_pool2d", "avg_pool2d_grad"});
}  // namespace

}  // namespace graphnn
