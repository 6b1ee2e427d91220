// The batch-norm family, per channel (the last axis, so NHWC images and
// [batch, features] rows alike):
//  - batch_norm(x, mean, variance, gamma, beta): (x - mean) / sqrt(variance +
//    epsilon) * gamma + beta with the moments given, the partial derivative
//    for each of the five inputs (inference, and any user's own moments). The
//    kernel folds the four vectors into one scale and shift per channel (its
//    workspace), then makes one pass over x.
//  - batch_normalize(x): x standardised with its own batch moments, what the
//    BatchNorm layer trains with. As graph ops (mean, x - mean, square, mean,
//    normalise) its backward took a dozen passes over x and the gradient, and
//    was the largest cost of a CNN step after the GEMMs; as one op it is two
//    passes forward and two backward. Its gradient is the op
//    batch_normalize_grad, whose own gradient rule is graph ops, so second
//    derivatives still go through a BatchNorm.
#include <typeinfo>
#include <utility>

#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// What the three ops share: their epsilon, shown in to_dot and messages, and
// equality for CSE (the same class with the same epsilon).
template <class T>
class EpsilonOp : public Op<T> {
 public:
  explicit EpsilonOp(T epsilon) : epsilon_(epsilon) {}
  std::string attributes() const override { return "epsilon=" + std::to_string(epsilon_); }
  bool same_as(const Op<T>& o) const override {
    return typeid(*this) == typeid(o) && static_cast<const EpsilonOp&>(o).epsilon_ == epsilon_;
  }

 protected:
  T epsilon_;
};

template <class T>
class BatchNorm final : public EpsilonOp<T> {
 public:
  using EpsilonOp<T>::EpsilonOp;
  std::string type() const override { return "batch_norm"; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 5);
    const Shape& x = in[0];
    if (x.empty() || x.back() <= 0)
      throw Error("input " + to_string(x) + " needs a fixed channel count on its last axis");
    static const char* names[] = {"x", "mean", "variance", "gamma", "beta"};
    for (std::size_t k = 1; k < 5; ++k)
      if (in[k] != Shape{x.back()})
        throw Error(std::string(names[k]) + " " + to_string(in[k]) + " is not [" + std::to_string(x.back()) +
                    "], one value per channel of input " + to_string(x));
    return x;
  }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return 2 * in[1][0]; }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t c = in[1]->size;
    const T *mean = in[1]->data, *var = in[2]->data, *gamma = in[3]->data, *beta = in[4]->data;
    T *scale = out.workspace, *shift = out.workspace + c;
    for (std::size_t k = 0; k < c; ++k) {
      scale[k] = gamma[k] / std::sqrt(var[k] + this->epsilon_);
      shift[k] = beta[k] - mean[k] * scale[k];
    }
    const T* x = in[0]->data;
    for (std::size_t r = 0; r < out.size; r += c)
      for (std::size_t k = 0; k < c; ++k) out.data[r + k] = x[r + k] * scale[k] + shift[k];
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&x = a.inputs[0], &mean = a.inputs[1], &var = a.inputs[2], &gamma = a.inputs[3], &beta = a.inputs[4];
    const Node<T>& g = a.grad;
    const Node<T> rstd = pow(var + this->epsilon_, T(-0.5));
    const Node<T> dx = g * (gamma * rstd);
    const Node<T> g_centred = sum_to(g * (x - mean), gamma);  // sum of g (x - mean) per channel
    return {dx, -sum_to(dx, mean), g_centred * gamma * (T(-0.5) * pow(var + this->epsilon_, T(-1.5))), g_centred * rstd,
            sum_to(g, beta)};
  }
};

// Per-channel sums over the rows of x seen as [rows, c], in one pass over
// memory: add_row(acc, base, n) adds row `base`'s channels k0 .. k0 + n into
// acc[s][0 .. n] for each of the S sums, then finish(acc, k0, n) turns those
// channels' sums into results. The sums are double (as sum_to's), 128
// channels at a time on the stack; add_row is a plain loop over channels,
// which the compiler vectorises.
constexpr std::size_t kChannelBlock = 128;
using Sums = double (*)[kChannelBlock];
template <std::size_t S, class AddRow, class Finish>
GRAPHNN_KIT_INLINE void sum_per_channel(std::size_t rows, std::size_t c, AddRow add_row, Finish finish) {
  constexpr std::size_t block = kChannelBlock;
  double acc[S][block];
  for (std::size_t k0 = 0; k0 < c; k0 += block) {
    const std::size_t n = std::min(block, c - k0);
    for (auto& a : acc) std::fill(a, a + n, 0.0);
    for (std::size_t base = k0; base < rows * c; base += c) add_row(acc, base, n);
    finish(acc, k0, n);
  }
}

// Per channel, with d = x - shift where the shift is the channel's value in
// the first row: the mean and rstd = 1 / sqrt(variance + epsilon) from the
// sums of d and d^2 in one pass (the shifted-data algorithm: the shift lies
// within the data, so E[d^2] - E[d]^2 cancels no worse than a second pass
// about the mean would round, with sums in double). With `g`, also g_mean =
// mean(g) and centred_scale = rstd^3 mean(g (x - mean)), from the sums of g
// and g d in the same pass.
template <class T>
struct ChannelStats {
  T *mean, *rstd, *g_mean = nullptr, *centred_scale = nullptr;
};
template <class T>
GRAPHNN_KIT_INLINE void channel_stats(const T* x, const T* g, std::size_t rows, std::size_t c, T epsilon,
                                      const ChannelStats<T>& out) {
  const double count = double(rows);
  auto moments = [&](Sums acc, std::size_t k0, std::size_t j) {
    const double shifted_mean = acc[0][j] / count, variance = std::max(acc[1][j] / count - shifted_mean * shifted_mean, 0.0);
    const double rstd = 1.0 / std::sqrt(variance + double(epsilon));
    out.mean[k0 + j] = static_cast<T>(double(x[k0 + j]) + shifted_mean);
    out.rstd[k0 + j] = static_cast<T>(rstd);
    return std::pair<double, double>{shifted_mean, rstd};
  };
  if (!g)
    return sum_per_channel<2>(
        rows, c,
        [x, c](Sums acc, std::size_t base, std::size_t n) {
          const T* shift = x + base % c;
          for (std::size_t j = 0; j < n; ++j) {
            const double d = double(x[base + j]) - double(shift[j]);
            acc[0][j] += d;
            acc[1][j] += d * d;
          }
        },
        [&](Sums acc, std::size_t k0, std::size_t n) {
          for (std::size_t j = 0; j < n; ++j) moments(acc, k0, j);
        });
  sum_per_channel<4>(
      rows, c,
      [x, g, c](Sums acc, std::size_t base, std::size_t n) {
        const T* shift = x + base % c;
        for (std::size_t j = 0; j < n; ++j) {
          const double d = double(x[base + j]) - double(shift[j]), gj = double(g[base + j]);
          acc[0][j] += d;
          acc[1][j] += d * d;
          acc[2][j] += gj;
          acc[3][j] += gj * d;
        }
      },
      [&](Sums acc, std::size_t k0, std::size_t n) {
        for (std::size_t j = 0; j < n; ++j) {
          const auto [shifted_mean, rstd] = moments(acc, k0, j);
          // sum g (x - mean) = sum g d - (mean - shift) sum g
          const double g_centred = (acc[3][j] - shifted_mean * acc[2][j]) / count;
          out.g_mean[k0 + j] = static_cast<T>(acc[2][j] / count);
          out.centred_scale[k0 + j] = static_cast<T>(rstd * rstd * rstd * g_centred);
        }
      });
}

// y = (x - mean) * rstd; the workspace holds mean and rstd.
template <class T>
GRAPHNN_KIT_INLINE void normalize(const T* x, std::size_t rows, std::size_t c, T epsilon, T* workspace, T* y) {
  const T *mean = workspace, *rstd = workspace + c;
  channel_stats<T>(x, nullptr, rows, c, epsilon, {workspace, workspace + c});
  for (std::size_t r = 0; r < rows * c; r += c)
    for (std::size_t k = 0; k < c; ++k) y[r + k] = (x[r + k] - mean[k]) * rstd[k];
}

// dx = rstd (g - mean(g)) - (x - mean) rstd^3 mean(g (x - mean)), which is
// rstd (g - mean(g) - xhat mean(g xhat)); the workspace holds four vectors.
template <class T>
GRAPHNN_KIT_INLINE void normalize_grad(const T* x, const T* g, std::size_t rows, std::size_t c, T epsilon, T* workspace,
                                       T* dx) {
  T *mean = workspace, *rstd = mean + c, *g_mean = rstd + c, *centred_scale = g_mean + c;
  channel_stats<T>(x, g, rows, c, epsilon, {mean, rstd, g_mean, centred_scale});
  for (std::size_t r = 0; r < rows * c; r += c)
    for (std::size_t k = 0; k < c; ++k) dx[r + k] = (g[r + k] - g_mean[k]) * rstd[k] - (x[r + k] - mean[k]) * centred_scale[k];
}

#if defined(__x86_64__)
template <class T>
GRAPHNN_KIT_AVX2 void normalize_avx2(const T* x, std::size_t rows, std::size_t c, T epsilon, T* workspace, T* y) {
  normalize(x, rows, c, epsilon, workspace, y);
}
template <class T>
GRAPHNN_KIT_AVX2 void normalize_grad_avx2(const T* x, const T* g, std::size_t rows, std::size_t c, T epsilon,
                                          T* workspace, T* dx) {
  normalize_grad(x, g, rows, c, epsilon, workspace, dx);
}
#endif

Shape expect_channels_last(const Shape& x) {
  if (x.size() < 2 || x.back() <= 0)
    throw Error("input " + to_string(x) + " needs a batch axis and a fixed channel count on its last axis");
  return x;
}

// The number of rows of x seen as [rows, channels].
inline std::size_t rows_of(const Dims& x) { return x.empty() || x.back() == 0 ? 0 : num_elements(x) / x.back(); }

template <class T>
class BatchNormalize final : public EpsilonOp<T> {
 public:
  using EpsilonOp<T>::EpsilonOp;
  std::string type() const override { return "batch_normalize"; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return expect_channels_last(in[0]);
  }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return 2 * in[0].back(); }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t c = out.dims.back(), rows = rows_of(out.dims);
    if (rows == 0) return;
#if defined(__x86_64__)
    if (kit::cpu_has_avx2()) return normalize_avx2(in[0]->data, rows, c, this->epsilon_, out.workspace, out.data);
#endif
    normalize(in[0]->data, rows, c, this->epsilon_, out.workspace, out.data);
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    return {batch_normalize_grad(a.inputs[0], a.grad, this->epsilon_)};
  }
};

// dL/dx of batch_normalize from x and g = dL/dy, per channel:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  xhat = (x - mean(x)) * rstd.
template <class T>
class BatchNormalizeGrad final : public EpsilonOp<T> {
 public:
  using EpsilonOp<T>::EpsilonOp;
  std::string type() const override { return "batch_normalize_grad"; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    if (!shapes_unify(in[0], in[1]))
      throw Error("gradient " + to_string(in[1]) + " is not shaped like the input " + to_string(in[0]));
    return expect_channels_last(in[0]);
  }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return 4 * in[0].back(); }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t c = out.dims.back(), rows = rows_of(out.dims);
    if (rows == 0) return;
#if defined(__x86_64__)
    if (kit::cpu_has_avx2())
      return normalize_grad_avx2(in[0]->data, in[1]->data, rows, c, this->epsilon_, out.workspace, out.data);
#endif
    normalize_grad(in[0]->data, in[1]->data, rows, c, this->epsilon_, out.workspace, out.data);
  }
  // With G = dL/d(dx): the map g -> dx is rstd (I - 11'/M - xhat xhat'/M) per
  // channel, symmetric, so the gradient for g is this op applied to G. For x,
  // differentiating dx (M rows, bars the per-channel means):
  //   -rstd^2 ((bar(G g) - bar(g) bar(G) - 3 bar(g xhat) bar(G xhat)) xhat
  //            + bar(G xhat) (g - bar(g)) + bar(g xhat) (G - bar(G))).
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&x = a.inputs[0], &g = a.inputs[1], &G = a.grad;
    const Node<T> xhat = batch_normalize(x, this->epsilon_);
    const Node<T> x_mean = mean_over_leading_axes(x);
    const Node<T> rstd_squared = pow(mean_over_leading_axes(square(x - x_mean)) + this->epsilon_, T(-1));
    const Node<T> g_mean = mean_over_leading_axes(g), G_mean = mean_over_leading_axes(G);
    const Node<T> g_xhat = mean_over_leading_axes(g * xhat), G_xhat = mean_over_leading_axes(G * xhat);
    const Node<T> xhat_scale = mean_over_leading_axes(G * g) - g_mean * G_mean - T(3) * g_xhat * G_xhat;
    const Node<T> dx = -(rstd_squared * (xhat * xhat_scale + G_xhat * (g - g_mean) + g_xhat * (G - G_mean)));
    return {dx, batch_normalize_grad(x, G, this->epsilon_)};
  }
};

// A builder's check: epsilon >= 0 (a NaN fails too).
template <class T>
void expect_epsilon(const char* op, T epsilon) {
  if (!(epsilon >= T(0))) throw Error(std::string("op '") + op + "': epsilon " + std::to_string(epsilon) + " is negative");
}

}  // namespace

template <class T>
Node<T> batch_norm(const Node<T>& x, const Node<T>& mean, const Node<T>& variance, const Node<T>& gamma,
                   const Node<T>& beta, T epsilon) {
  expect_epsilon("batch_norm", epsilon);
  return kit::make<BatchNorm<T>>(Nodes<T>{x, mean, variance, gamma, beta}, epsilon);
}

template <class T>
Node<T> batch_normalize(const Node<T>& x, T epsilon) {
  expect_epsilon("batch_normalize", epsilon);
  return kit::make<BatchNormalize<T>>(Nodes<T>{x}, epsilon);
}

template <class T>
Node<T> batch_normalize_grad(const Node<T>& x, const Node<T>& grad, T epsilon) {
  expect_epsilon("batch_normalize_grad", epsilon);
  return kit::make<BatchNormalizeGrad<T>>(Nodes<T>{x, grad}, epsilon);
}

template <class T>
Node<T> mean_over_leading_axes(Node<T> x) {
  while (x.shape().size() > 1) x = reduce_mean(x, 0);
  return x;
}

#define INSTANTIATE(T)                                                                                                 \
  template Node<T> batch_norm<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, T); \
  template Node<T> batch_normalize<T>(const Node<T>&, T);                                                          \
  template Node<T> batch_normalize_grad<T>(const Node<T>&, const Node<T>&, T);                                     \
  template Node<T> mean_over_leading_axes<T>(Node<T>);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"batch_norm", "batch_normalize", "batch_normalize_grad"});
}  // namespace

}  // namespace graphnn
