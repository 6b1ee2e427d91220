// Reductions and their adjoints. Each reduction's gradient is the matching
// broadcast and each broadcast's gradient the matching reduction, so gradients
// of any order stay inside this file's ops.
#include <optional>

#include "compiler_ops.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// An axis, or none for "every element". The "all" case is not an int value:
// as the sentinel INT_MIN it was reachable as reduce_sum(x, INT_MIN).
using Axis = std::optional<int>;
constexpr Axis kAll = std::nullopt;

std::string axis_text(Axis axis) { return axis == kAll ? std::string() : "axis=" + std::to_string(*axis); }

// The three extents of a row-major tensor around `axis`: [outer, n, inner].
struct AxisSplit {
  std::size_t outer = 1, n = 1, inner = 1;
  AxisSplit(const Dims& d, std::size_t axis) {
    for (std::size_t k = 0; k < d.size(); ++k) (k < axis ? outer : k == axis ? n : inner) *= d[k];
  }
};

Shape drop_axis(const Shape& s, std::size_t axis) {
  Shape out = s;
  out.erase(out.begin() + static_cast<long>(axis));
  return out;
}

template <class T>
class Reduce final : public Op<T> {
 public:
  Reduce(bool mean, Axis axis) : mean_(mean), axis_(axis) {}
  std::string type() const override { return mean_ ? "reduce_mean" : "reduce_sum"; }
  bool same_as(const Op<T>& o) const override {
    const Reduce* r = kit::same_class(*this, o);
    return r && r->mean_ == mean_ && r->axis_ == axis_;
  }
  std::string attributes() const override { return axis_text(axis_); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    if (axis_ == kAll) return {};
    return drop_axis(in[0], kit::axis_index(*axis_, in[0].size()));
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const Buffer<T>& x = *in[0];
    if (axis_ == kAll) {
      double total = 0;  // double accumulation keeps long float sums exact enough
      for (std::size_t i = 0; i < x.size; ++i) total += x.data[i];
      out.data[0] = static_cast<T>(mean_ ? total / static_cast<double>(x.size) : total);
      return;
    }
    const AxisSplit s(x.dims, kit::axis_index(*axis_, x.dims.size()));
    const T scale = mean_ ? T(1) / static_cast<T>(s.n) : T(1);
    for (std::size_t o = 0; o < s.outer; ++o) {
      T* row = out.data + o * s.inner;
      for (std::size_t i = 0; i < s.inner; ++i) row[i] = T(0);
      for (std::size_t k = 0; k < s.n; ++k) {
        const T* src = x.data + (o * s.n + k) * s.inner;
        for (std::size_t i = 0; i < s.inner; ++i) row[i] += src[i];
      }
      if (mean_)
        for (std::size_t i = 0; i < s.inner; ++i) row[i] *= scale;
    }
  }
  Nodes<T> backward(const GradArgs<T>& a) const override;
  // True when it reduces axis 0 of an input of rank `rank` (compiler_ops.hpp: row_reduction).
  bool over_rows(std::size_t rank) const { return axis_ != kAll && rank > 0 && (*axis_ == 0 || *axis_ == -int(rank)); }
  bool is_mean() const { return mean_; }

 private:
  bool mean_;
  Axis axis_;
};

// g / count broadcast to the shape of `like`: count is every element of
// `like` (kAll, g a scalar) or the extent of `axis` (g lacks that axis).
template <class T>
class MeanGrad final : public Op<T> {
 public:
  explicit MeanGrad(Axis axis) : axis_(axis) {}
  std::string type() const override { return "mean_grad"; }
  bool same_as(const Op<T>& o) const override {
    const MeanGrad* m = kit::same_class(*this, o);
    return m && m->axis_ == axis_;
  }
  std::string attributes() const override { return axis_text(axis_); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    const Shape expected = axis_ == kAll ? Shape{} : drop_axis(in[1], kit::axis_index(*axis_, in[1].size()));
    if (!shapes_unify(in[0], expected)) throw Error("gradient has shape " + to_string(in[0]) + ", expected " + to_string(expected));
    return in[1];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T* g = in[0]->data;
    if (axis_ == kAll) {
      const T v = g[0] / static_cast<T>(out.size);
      for (std::size_t i = 0; i < out.size; ++i) out.data[i] = v;
      return;
    }
    const AxisSplit s(out.dims, kit::axis_index(*axis_, out.dims.size()));
    const T scale = T(1) / static_cast<T>(s.n);
    for (std::size_t o = 0; o < s.outer; ++o)
      for (std::size_t k = 0; k < s.n; ++k) {
        T* dst = out.data + (o * s.n + k) * s.inner;
        for (std::size_t i = 0; i < s.inner; ++i) dst[i] = g[o * s.inner + i] * scale;
      }
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    return {axis_ == kAll ? reduce_mean(a.grad) : reduce_mean(a.grad, *axis_), no_gradient<T>()};
  }

 private:
  Axis axis_;
};

// out[j] = the sum of x[r * m + j] over the rows r, in order of r: the loop
// along j vectorises (out and x are distinct buffers, hence __restrict),
// compiled for the baseline and for AVX2 as op_kit.hpp's loops. Floats add up
// in double (a bias gradient over many rows keeps its digits), a block of
// columns at a time in double accumulators on the stack (no allocation). It
// costs workload b 1% more instructions in float32 (callgrind, 26.8K -> 27.1K
// a step: half the vector width); accumulators kept in registers through GCC
// vector types measured worse (27.3K), GCC splits the float-to-double widening.
inline __attribute__((always_inline)) void sum_rows(const double* __restrict x, std::size_t size, std::size_t m,
                                                    double* __restrict out) {
  for (std::size_t j = 0; j < m; ++j) out[j] = 0;
  for (std::size_t r = 0; r < size; r += m)
    for (std::size_t j = 0; j < m; ++j) out[j] += x[r + j];
}
inline __attribute__((always_inline)) void sum_rows(const float* __restrict x, std::size_t size, std::size_t m,
                                                    float* __restrict out) {
  constexpr std::size_t block = 128;
  double acc[block];
  for (std::size_t j0 = 0; j0 < m; j0 += block) {
    const std::size_t n = m - j0 < block ? m - j0 : block;
    for (std::size_t j = 0; j < n; ++j) acc[j] = 0;
    for (std::size_t r = j0; r < size; r += m)
      for (std::size_t j = 0; j < n; ++j) acc[j] += x[r + j];
    for (std::size_t j = 0; j < n; ++j) out[j0 + j] = static_cast<float>(acc[j]);
  }
}
#if defined(__x86_64__)
template <class T>
GRAPHNN_KIT_AVX2 void sum_rows_avx2(const T* x, std::size_t size, std::size_t m, T* out) {
  sum_rows(x, size, m, out);
}
#endif

// x summed down to the shape of `like` (like must broadcast to x).
template <class T>
class SumTo final : public Op<T> {
 public:
  std::string type() const override { return "sum_to"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    if (!shapes_unify(broadcast_shapes(in[1], in[0]), in[0]))
      throw Error(to_string(in[1]) + " does not broadcast to " + to_string(in[0]));
    return in[1];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const Buffer<T>& x = *in[0];
    T* po = out.data;
    if (out.size == 1) {
      double total = 0;
      for (std::size_t i = 0; i < x.size; ++i) total += x.data[i];
      po[0] = static_cast<T>(total);
      return;
    }
    if (kit::is_trailing(out.dims, x.dims)) {  // a bias: sum over the rows
#if defined(__x86_64__)
      if (kit::cpu_has_avx2()) return sum_rows_avx2(x.data, x.size, out.size, po);
#endif
      return sum_rows(x.data, x.size, out.size, po);
    }
    for (std::size_t i = 0; i < out.size; ++i) po[i] = T(0);
    const kit::Strides so = kit::broadcast_strides(out.dims, x.dims);
    kit::for_each_broadcast(x.dims, so, so, [&](std::size_t i, std::size_t o, std::size_t) { po[o] += x.data[i]; });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override { return {broadcast_to(a.grad, a.inputs[0]), no_gradient<T>()}; }
};

// x broadcast up to the shape of `like`.
template <class T>
class BroadcastTo final : public Op<T> {
 public:
  std::string type() const override { return "broadcast_to"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    if (!shapes_unify(broadcast_shapes(in[0], in[1]), in[1]))
      throw Error(to_string(in[0]) + " does not broadcast to " + to_string(in[1]));
    return in[1];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    kit::binary_map(*in[0], out, out, [](T x, T) { return x; });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override { return {sum_to(a.grad, a.inputs[0]), no_gradient<T>()}; }
};

// x with a size-1 axis inserted; shares x's storage.
template <class T>
class ExpandDims final : public Op<T> {
 public:
  explicit ExpandDims(int axis) : axis_(axis) {}
  std::string type() const override { return "expand_dims"; }
  bool same_as(const Op<T>& o) const override {
    const ExpandDims* e = kit::same_class(*this, o);
    return e && e->axis_ == axis_;
  }
  std::string attributes() const override { return axis_text(axis_); }
  int alias_input() const override { return 0; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    Shape out = in[0];
    out.insert(out.begin() + static_cast<long>(kit::axis_index(axis_, in[0].size() + 1)), 1);
    return out;
  }
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>&) const override {}
  Nodes<T> backward(const GradArgs<T>& a) const override {
    return {reduce_sum(a.grad, static_cast<int>(kit::axis_index(axis_, a.inputs[0].shape().size() + 1)))};
  }

 private:
  int axis_;
};

template <class T>
Nodes<T> Reduce<T>::backward(const GradArgs<T>& a) const {
  const Node<T>& x = a.inputs[0];
  if (axis_ == kAll) return {mean_ ? mean_grad(a.grad, x) : broadcast_to(a.grad, x)};
  const int axis = static_cast<int>(kit::axis_index(*axis_, x.shape().size()));
  if (mean_) return {kit::make<MeanGrad<T>>(Nodes<T>{a.grad, x}, axis)};
  return {broadcast_to(expand_dims(a.grad, axis), x)};
}

}  // namespace

template <class T> Node<T> reduce_sum(const Node<T>& x) { return kit::make<Reduce<T>>(Nodes<T>{x}, false, kAll); }
template <class T> Node<T> reduce_sum(const Node<T>& x, int axis) { return kit::make<Reduce<T>>(Nodes<T>{x}, false, axis); }
template <class T> Node<T> reduce_mean(const Node<T>& x) { return kit::make<Reduce<T>>(Nodes<T>{x}, true, kAll); }
template <class T> Node<T> reduce_mean(const Node<T>& x, int axis) { return kit::make<Reduce<T>>(Nodes<T>{x}, true, axis); }
template <class T> Node<T> sum_to(const Node<T>& x, const Node<T>& like) { return kit::make<SumTo<T>>(Nodes<T>{x, like}); }
template <class T> Node<T> broadcast_to(const Node<T>& x, const Node<T>& like) { return kit::make<BroadcastTo<T>>(Nodes<T>{x, like}); }
template <class T> Node<T> mean_grad(const Node<T>& g, const Node<T>& like) { return kit::make<MeanGrad<T>>(Nodes<T>{g, like}, kAll); }
template <class T> Node<T> expand_dims(const Node<T>& x, int axis) { return kit::make<ExpandDims<T>>(Nodes<T>{x}, axis); }

template <class T>
RowReduction row_reduction(const Op<T>& op, const Shape& input, const Shape& output) {
  if (const auto* r = dynamic_cast<const Reduce<T>*>(&op))
    return r->over_rows(input.size()) ? (r->is_mean() ? RowReduction::mean : RowReduction::sum) : RowReduction::none;
  if (dynamic_cast<const SumTo<T>*>(&op) && output.size() == 1 && !input.empty() && output[0] > 0 &&
      output[0] == input.back())
    return RowReduction::column_sum;
  return RowReduction::none;
}

#define INSTANTIATE(T)                                                    \
  template Node<T> reduce_sum<T>(const Node<T>&);                         \
  template Node<T> reduce_sum<T>(const Node<T>&, int);                    \
  template Node<T> reduce_mean<T>(const Node<T>&);                        \
  template Node<T> reduce_mean<T>(const Node<T>&, int);                   \
  template Node<T> sum_to<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> broadcast_to<T>(const Node<T>&, const Node<T>&);       \
  template Node<T> mean_grad<T>(const Node<T>&, const Node<T>&);          \
  template Node<T> expand_dims<T>(const Node<T>&, int);                   \
  template RowReduction row_reduction<T>(const Op<T>&, const Shape&, const Shape&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"reduce_sum", "reduce_mean", "mean_grad", "sum_to", "broadcast_to", "expand_dims"});
}  // namespace

}  // namespace graphnn
