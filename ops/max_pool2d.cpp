// max_pool2d and its gradient ops. The gradient routes each window's dL/dy to
// the window's arg-max (max_pool2d_grad); the gradient of that routing with
// respect to dL/dy reads the same arg-max (max_pool2d_select), whose own
// gradient is the routing again, so gradients of any order stay in this file.
// Tie rule, as PyTorch on CPU: the first maximum in row-major window order
// wins (a NaN counts as the maximum, the first NaN winning), so exactly one
// input cell of a window receives its gradient. With respect to x, both
// gradient ops are piecewise constant: no gradient.
#include <cstdint>
#include <type_traits>

#include "compiler_ops.hpp"
#include "conv_geometry.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// True when a later value v replaces the maximum b so far: strictly greater
// (the first maximum stays), or the first NaN.
template <class T>
inline bool replaces(T v, T b) {
  return v > b || (v != v && b == b);
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
      for (std::size_t c = 0; c < im.c; ++c) best[c] = replaces(v[c], best[c]) ? v[c] : best[c];
    }
  return first;
}

// A window's cell number as wide as T, so that a channel's maximum and its
// cell share one vector lane width and the channel loop vectorises.
template <class T>
using CellNumber = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;

// Elements of T that hold a window's cell offsets (std::size_t).
template <class T>
std::size_t offset_elements(std::size_t cells) {
  return (cells * sizeof(std::size_t) + sizeof(T) - 1) / sizeof(T);
}
// Elements of scratch for_each_argmax needs with C channels and windows of
// `cells` cells: the window's cell offsets first (so they are aligned), then C
// maxima and C cell numbers.
template <class T>
std::size_t argmax_scratch(std::size_t channels, std::size_t cells) {
  return offset_elements<T>(cells) + 2 * channels;
}

// Calls f(o, offset, count, which) for every window of x: o is the window's
// first output index, offset[0, count) the input offsets of its cells in
// row-major order, and which[c] the cell holding channel c's first maximum.
// One pass over the cells keeps each channel's maximum and its cell number,
// branch-free, so the channel loop vectorises. `scratch` holds
// argmax_scratch<T>(C, window cells) elements.
template <class T, class F>
void for_each_window_argmax(const T* x, const conv::Image& im, const conv::Geometry& g, T* scratch, F&& f) {
  std::size_t* offset = reinterpret_cast<std::size_t*>(scratch);  // untyped arena memory
  T* best = scratch + offset_elements<T>(g.h.kernel * g.w.kernel);
  CellNumber<T>* which = reinterpret_cast<CellNumber<T>*>(best + im.c);
  std::size_t o = 0;
  for (std::size_t n = 0; n < im.n; ++n)
    for (std::size_t oh = 0; oh < g.h.out; ++oh)
      for (std::size_t ow = 0; ow < g.w.out; ++ow, o += im.c) {
        const conv::Cells cells = conv::window_cells(g, oh, ow);
        std::size_t count = 0;
        for (std::size_t ih = cells.h0; ih < cells.h1; ++ih)
          for (std::size_t iw = cells.w0; iw < cells.w1; ++iw) offset[count++] = ((n * im.h + ih) * im.w + iw) * im.c;
        std::copy(x + offset[0], x + offset[0] + im.c, best);
        std::fill(which, which + im.c, CellNumber<T>(0));
        for (std::size_t k = 1; k < count; ++k) {
          const T* v = x + offset[k];
          for (std::size_t c = 0; c < im.c; ++c) {
            const bool later = replaces(v[c], best[c]);
            best[c] = later ? v[c] : best[c];
            which[c] = later ? CellNumber<T>(k) : which[c];
          }
        }
        f(o, static_cast<const std::size_t*>(offset), count, static_cast<const CellNumber<T>*>(which));
      }
}

// Calls f(output index, input index of the arg-max) for every window and
// channel of x: the first cell holding the window's maximum.
template <class T, class F>
void for_each_argmax(const T* x, const conv::Image& im, const conv::Geometry& g, T* scratch, F&& f) {
  for_each_window_argmax(x, im, g, scratch,
                         [&](std::size_t o, const std::size_t* offset, std::size_t, const CellNumber<T>* which) {
                           for (std::size_t c = 0; c < im.c; ++c) f(o + c, offset[which[c]] + c);
                         });
}

// One cell k of a window: each channel's gradient where k holds the maximum,
// else zero; with Masked, also zero where the cell's x <= 0 (relu_grad's mask:
// NaN passes). Branch-free (a select per lane; & not &&, and every value
// loaded either way), so the channel loop vectorises.
template <bool Masked, class T>
inline void route_cell(const T* __restrict g, const CellNumber<T>* __restrict which, CellNumber<T> k,
                       std::size_t channels, const T* __restrict x, T* __restrict dx) {
  for (std::size_t c = 0; c < channels; ++c) {
    const T routed = g[c];
    const bool keep = Masked ? (which[c] == k) & !(x[c] <= T(0)) : which[c] == k;
    dx[c] = keep ? routed : T(0);
  }
}

// True when every input cell lies in exactly one window (the usual 2x2 pool
// of stride 2 on an even image): the routed gradient can then be written cell
// by cell, with no zeroing pass first and no scattered adds.
bool windows_partition(const conv::Geometry& g) {
  auto tiles = [](const conv::Extent& e) { return e.stride == e.kernel && e.pad_before == 0 && e.out * e.stride >= e.in; };
  return tiles(g.h) && tiles(g.w);
}

// The window settings and the pooled-shape check the three ops share.
template <class T>
class MaxPoolBase : public conv::WindowedOp<T> {
 public:
  using conv::WindowedOp<T>::WindowedOp;

 protected:
  conv::Geometry geometry(const Dims& x) const { return conv::resolve(this->window(), x[1], x[2], true); }
  // for_each_argmax's scratch for input x.
  std::size_t argmax_workspace(const Dims& x) const {
    return argmax_scratch<T>(x[3], this->window().kernel.h * this->window().kernel.w);
  }
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
  // `relu_mask`: relu_grad(this, x) in one pass, for rule relu_grad_into_max_pool2d_grad only.
  explicit MaxPool2DGrad(conv::Window window, bool relu_mask = false)
      : MaxPoolBase<T>(std::move(window)), relu_mask_(relu_mask) {}
  std::string type() const override { return relu_mask_ ? "max_pool2d_grad_relu" : "max_pool2d_grad"; }
  bool same_as(const Op<T>& o) const override {
    return MaxPoolBase<T>::same_as(o) && static_cast<const MaxPool2DGrad&>(o).relu_mask_ == relu_mask_;
  }
  bool relu_mask() const { return relu_mask_; }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return this->argmax_workspace(in[0]); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    this->expect_shape(in[1], conv::pool_output(in[0], this->window()), "gradient");
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T *x = in[0]->data, *g = in[1]->data;
    const conv::Image im(in[0]->dims);
    const conv::Geometry geometry = this->geometry(in[0]->dims);
    if (windows_partition(geometry))
      return for_each_window_argmax(x, im, geometry, out.workspace,
                                    [&](std::size_t o, const std::size_t* offset, std::size_t count,
                                        const CellNumber<T>* which) {
                                      for (std::size_t k = 0; k < count; ++k) {
                                        const CellNumber<T> cell(k);
                                        if (relu_mask_) route_cell<true>(g + o, which, cell, im.c, x + offset[k], out.data + offset[k]);
                                        else route_cell<false>(g + o, which, cell, im.c, x + offset[k], out.data + offset[k]);
                                      }
                                    });
    std::fill(out.data, out.data + out.size, T(0));
    for_each_argmax(x, im, geometry, out.workspace, [&](std::size_t o, std::size_t i) {
      if (!relu_mask_ || !(x[i] <= T(0))) out.data[i] += g[o];
    });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const conv::Window& w = this->window();
    const Node<T>& x = a.inputs[0];
    const Node<T> routed = relu_mask_ ? relu_grad(a.grad, x) : a.grad;
    return {no_gradient<T>(), max_pool2d_select(x, routed, w.kernel, w.stride, w.padding)};
  }

 private:
  bool relu_mask_;
};

// Per window and channel, v at the arg-max of x (the adjoint of the routing).
template <class T>
class MaxPool2DSelect final : public MaxPoolBase<T> {
 public:
  using MaxPoolBase<T>::MaxPoolBase;
  std::string type() const override { return "max_pool2d_select"; }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return this->argmax_workspace(in[0]); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    this->expect_shape(in[1], in[0], "selected values");
    return conv::pool_output(in[0], this->window());
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T* v = in[1]->data;
    for_each_argmax(in[0]->data, conv::Image(in[0]->dims), this->geometry(in[0]->dims), out.workspace,
                    [&](std::size_t o, std::size_t i) { out.data[o] = v[i]; });
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

template <class T>
Node<T> max_pool2d_grad_relu(const Op<T>& pool_grad, const Node<T>& x, const Node<T>& grad) {
  const auto* plain = dynamic_cast<const MaxPool2DGrad<T>*>(&pool_grad);
  if (!plain || plain->relu_mask()) return {};
  return kit::make<MaxPool2DGrad<T>>(Nodes<T>{x, grad}, plain->window(), true);
}

#define INSTANTIATE(T)                                                                                      \
  template Node<T> max_pool2d<T>(const Node<T>&, Size2, Size2, Padding);                                    \
  template Node<T> max_pool2d_grad<T>(const Node<T>&, const Node<T>&, Size2, Size2, Padding);               \
  template Node<T> max_pool2d_select<T>(const Node<T>&, const Node<T>&, Size2, Size2, Padding);              \
  template Node<T> max_pool2d_grad_relu<T>(const Op<T>&, const Node<T>&, const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"max_pool2d", "max_pool2d_grad", "max_pool2d_select", "max_pool2d_grad_relu"});
}  // namespace

}  // namespace graphnn
