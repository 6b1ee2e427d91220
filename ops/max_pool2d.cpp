// max_pool2d and its gradient ops. The gradient routes each window's dL/dy to
// the window's arg-max (max_pool2d_grad); the gradient of that routing with
// respect to dL/dy reads the same arg-max (max_pool2d_select), whose own
// gradient is the routing again, so gradients of any order stay in this file.
// Tie rule, as PyTorch on CPU: the first maximum in row-major window order
// wins (a NaN counts as the maximum, the first NaN winning), so exactly one
// input cell of a window receives its gradient. With respect to x, both
// gradient ops are piecewise constant: no gradient.
#include "conv_geometry.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// max(b, v) where a NaN wins and the first NaN stays: the pool's order of values.
template <class T>
inline T later_max(T b, T v) {
  return (v > b || (v != v && b == b)) ? v : b;
}

// best[0, C) = the maximum of each channel over the window of output pixel
// (oh, ow) of image n; returns the input offset of the window's first cell.
// Cells in row-major order, channels innermost (contiguous in NHWC: the
// compiler vectorises the channel loop).
template <class T>
std::size_t window_max(const T* x, const conv::Image& im, const conv::Cells& cells, std::size_t n, T* best) {
  const std::size_t first = ((n * im.h + cells.h0) * im.w + cells.w0) * im.c;
  std::copy(x + first, x + first + im.c, best);
  for (std::size_t ih = cells.h0; ih < cells.h1; ++ih)
    for (std::size_t iw = cells.w0; iw < cells.w1; ++iw) {
      const T* v = x + ((n * im.h + ih) * im.w + iw) * im.c;
      for (std::size_t c = 0; c < im.c; ++c) best[c] = later_max(best[c], v[c]);
    }
  return first;
}

// Calls f(output index, input index, hit) for every window, cell and channel
// of x, hit true at the window's arg-max: the first cell holding its maximum.
// `scratch` holds 2 C.
template <class T, class F>
void for_each_argmax(const T* x, const conv::Image& im, const conv::Geometry& g, T* scratch, F&& f) {
  T *best = scratch, *found = scratch + im.c;
  std::size_t o = 0;
  for (std::size_t n = 0; n < im.n; ++n)
    for (std::size_t oh = 0; oh < g.h.out; ++oh)
      for (std::size_t ow = 0; ow < g.w.out; ++ow, o += im.c) {
        const conv::Cells cells = conv::window_cells(g, oh, ow);
        window_max(x, im, cells, n, best);
        std::fill(found, found + im.c, T(0));
        for (std::size_t ih = cells.h0; ih < cells.h1; ++ih)
          for (std::size_t iw = cells.w0; iw < cells.w1; ++iw) {
            const std::size_t at = ((n * im.h + ih) * im.w + iw) * im.c;
            for (std::size_t c = 0; c < im.c; ++c) {  // branch-free, so the channel loop vectorises
              const T v = x[at + c], b = best[c];
              const bool hit = found[c] == T(0) && (v == b || (v != v && b != b));
              found[c] = hit ? T(1) : found[c];
              f(o + c, at + c, hit);
            }
          }
      }
}

// The window settings and the pooled-shape check the three ops share.
template <class T>
class MaxPoolBase : public conv::WindowedOp<T> {
 public:
  using conv::WindowedOp<T>::WindowedOp;

 protected:
  conv::Geometry geometry(const Dims& x) const { return conv::resolve(this->window(), x[1], x[2], true); }
  // Checks that `v` has the shape `expected`; `what` names v.
  static void expect_shape(const Shape& v, const Shape& expected, const char* what) {
    if (v != expected)
      throw Error(std::string(what) + " " + to_string(v) + " does not have the expected shape " + to_string(expected));
  }
};

template <class T>
class MaxPool2D final : public MaxPoolBase<T> {
 public:
  using MaxPoolBase<T>::MaxPoolBase;
  std::string type() const override { return "max_pool2d"; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return conv::pool_output(in[0], this->window());
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const conv::Image im(in[0]->dims);
    const conv::Geometry g = this->geometry(in[0]->dims);
    T* y = out.data;
    for (std::size_t n = 0; n < im.n; ++n)
      for (std::size_t oh = 0; oh < g.h.out; ++oh)
        for (std::size_t ow = 0; ow < g.w.out; ++ow, y += im.c) window_max(in[0]->data, im, conv::window_cells(g, oh, ow), n, y);
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const conv::Window& w = this->window();
    return {max_pool2d_grad(a.inputs[0], a.grad, w.kernel, w.stride, w.padding)};
  }
};

// dx: zero but at each window's arg-max, which gets the window's gradient.
template <class T>
class MaxPool2DGrad final : public MaxPoolBase<T> {
 public:
  using MaxPoolBase<T>::MaxPoolBase;
  std::string type() const override { return "max_pool2d_grad"; }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return 2 * in[0][3]; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    this->expect_shape(in[1], conv::pool_output(in[0], this->window()), "gradient");
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T* g = in[1]->data;
    std::fill(out.data, out.data + out.size, T(0));
    for_each_argmax(in[0]->data, conv::Image(in[0]->dims), this->geometry(in[0]->dims), out.workspace,
                    [&](std::size_t o, std::size_t i, bool hit) { out.data[i] += hit ? g[o] : T(0); });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const conv::Window& w = this->window();
    return {no_gradient<T>(), max_pool2d_select(a.inputs[0], a.grad, w.kernel, w.stride, w.padding)};
  }
};

// Per window and channel, v at the arg-max of x (the adjoint of the routing).
template <class T>
class MaxPool2DSelect final : public MaxPoolBase<T> {
 public:
  using MaxPoolBase<T>::MaxPoolBase;
  std::string type() const override { return "max_pool2d_select"; }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return 2 * in[0][3]; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    this->expect_shape(in[1], in[0], "selected values");
    return conv::pool_output(in[0], this->window());
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T* v = in[1]->data;
    for_each_argmax(in[0]->data, conv::Image(in[0]->dims), this->geometry(in[0]->dims), out.workspace,
                    [&](std::size_t o, std::size_t i, bool hit) { out.data[o] = hit ? v[i] : out.data[o]; });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const conv::Window& w = this->window();
    return {no_gradient<T>(), max_pool2d_grad(a.inputs[0], a.grad, w.kernel, w.stride, w.padding)};
  }
};

}  // namespace

template <class T>
Node<T> max_pool2d(const Node<T>& x, Size2 window, Size2 stride, Padding padding) {
  return kit::make<MaxPool2D<T>>(Nodes<T>{x}, conv::pool_window(window, stride, padding));
}
template <class T>
Node<T> max_pool2d_grad(const Node<T>& x, const Node<T>& grad, Size2 window, Size2 stride, Padding padding) {
  return kit::make<MaxPool2DGrad<T>>(Nodes<T>{x, grad}, conv::pool_window(window, stride, padding));
}
template <class T>
Node<T> max_pool2d_select(const Node<T>& x, const Node<T>& v, Size2 window, Size2 stride, Padding padding) {
  return kit::make<MaxPool2DSelect<T>>(Nodes<T>{x, v}, conv::pool_window(window, stride, padding));
}

#define INSTANTIATE(T)                                                                                      \
  template Node<T> max_pool2d<T>(const Node<T>&, Size2, Size2, Padding);                                    \
  template Node<T> max_pool2d_grad<T>(const Node<T>&, const Node<T>&, Size2, Size2, Padding);               \
  template Node<T> max_pool2d_select<T>(const Node<T>&, const Node<T>&, Size2, Size2, Padding);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

}  // namespace graphnn
