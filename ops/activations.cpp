// Activations: forward function and gradient rule side by side.
#include "compiler_ops.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"
#include "vector_math.hpp"

namespace graphnn {
namespace {

// Fused gradient kernels (as TensorFlow's ReluGrad, TanhGrad, SigmoidGrad):
// one pass instead of three, and differentiable again like any op.
template <class T> Node<T> tanh_grad(const Node<T>& g, const Node<T>& y);
template <class T> Node<T> sigmoid_grad(const Node<T>& g, const Node<T>& y);
template <class T>
using Grads = std::pair<Node<T>, Node<T>>;

template <class T>
struct ReluGrad {  // g where x > 0 or x is NaN (as PyTorch's threshold_backward: 0 where x <= 0); x may be relu's input or output
  static constexpr const char* name = "relu_grad";
  static constexpr OpCode code = OpCode::relu_grad;
  T f(T g, T x) const { return x <= T(0) ? T(0) : g; }
  Grads<T> grad(const Node<T>&, const Node<T>& x, const Node<T>&, const Node<T>& gg) const {
    return {relu_grad(gg, x), no_gradient<T>()};
  }
};

template <class T>
struct TanhGrad {  // g (1 - y^2)
  static constexpr const char* name = "tanh_grad";
  T f(T g, T y) const { return g * (T(1) - y * y); }
  Grads<T> grad(const Node<T>& g, const Node<T>& y, const Node<T>&, const Node<T>& gg) const {
    return {tanh_grad(gg, y), gg * g * y * T(-2)};
  }
};

template <class T>
struct SigmoidGrad {  // g y (1 - y)
  static constexpr const char* name = "sigmoid_grad";
  static constexpr OpCode code = OpCode::sigmoid_grad;
  T f(T g, T y) const { return g * y * (T(1) - y); }
  Grads<T> grad(const Node<T>& g, const Node<T>& y, const Node<T>&, const Node<T>& gg) const {
    return {sigmoid_grad(gg, y), gg * g * (T(1) - y * T(2))};
  }
};

template <class T> Node<T> tanh_grad(const Node<T>& g, const Node<T>& y) { return kit::binary<T, TanhGrad>(g, y); }
template <class T> Node<T> sigmoid_grad(const Node<T>& g, const Node<T>& y) { return kit::binary<T, SigmoidGrad>(g, y); }

template <class T>
struct Sigmoid {
  static constexpr const char* name = "sigmoid";
  static constexpr OpCode code = OpCode::sigmoid;
  T f(T x) const {  // never exponentiates a large positive number
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
  // The same two branches over e = exp(-|x|), with exp vectorised; in blocks,
  // so x is still readable when y is written (y may be x).
  void map(const T* x, T* y, std::size_t n) const {
    constexpr std::size_t block = 256;
    T e[block];
    for (std::size_t i0 = 0; i0 < n; i0 += block) {
      const std::size_t m = std::min(block, n - i0);
      for (std::size_t j = 0; j < m; ++j) e[j] = -std::abs(x[i0 + j]);
      vmath::exp(e, e, m);
      for (std::size_t j = 0; j < m; ++j) y[i0 + j] = (x[i0 + j] >= T(0) ? T(1) : e[j]) / (T(1) + e[j]);
    }
  }
  Node<T> grad(const Node<T>&, const Node<T>& y, const Node<T>& g) const { return sigmoid_grad(g, y); }
};

template <class T>
struct Tanh {
  static constexpr const char* name = "tanh";
  T f(T x) const { return std::tanh(x); }
  void map(const T* x, T* y, std::size_t n) const { vmath::tanh(x, y, n); }
  Node<T> grad(const Node<T>&, const Node<T>& y, const Node<T>& g) const { return tanh_grad(g, y); }
};

template <class T>
struct Relu {
  static constexpr const char* name = "relu";
  T f(T x) const { return x <= T(0) ? T(0) : x; }  // relu(NaN) = NaN, as PyTorch
  // From the output, as PyTorch's threshold_backward(grad, result, 0): y <= 0
  // exactly where x <= 0, and y is NaN where x is, so the gradient is the same
  // bit for bit, and x need not be kept for the backward pass (its producer
  // can then fuse with this relu).
  Node<T> grad(const Node<T>&, const Node<T>& y, const Node<T>& g) const { return relu_grad(g, y); }
};

template <class T>
struct LeakyRelu {
  static constexpr const char* name = "leaky_relu";
  T alpha;
  T f(T x) const { return x > T(0) ? x : alpha * x; }  // NaN stays NaN
  // 1 where x > 0, alpha where x <= 0 (as PyTorch), NaN where x is NaN (step(NaN); PyTorch: alpha)
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const {
    return g * (step(x) * (T(1) - alpha) + alpha);
  }
  std::string attributes() const { return "alpha=" + std::to_string(alpha); }
};

template <class T>
struct Softplus {
  static constexpr const char* name = "softplus";
  T f(T x) const { return std::log1p(std::exp(-std::abs(x))) + (x > T(0) ? x : T(0)); }
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const { return g * sigmoid(x); }
};

}  // namespace

using kit::unary;

template <class T> Node<T> sigmoid(const Node<T>& x) { return unary<T, Sigmoid>(x); }
template <class T> Node<T> tanh(const Node<T>& x) { return unary<T, Tanh>(x); }
template <class T> Node<T> relu(const Node<T>& x) { return unary<T, Relu>(x); }
template <class T> Node<T> leaky_relu(const Node<T>& x, T alpha) {
  if (!std::isfinite(alpha))  // a NaN slope would silently turn every negative input into NaN
    throw Error("op 'leaky_relu': alpha " + std::to_string(alpha) + " is not finite" +
                (x.valid() ? " (input " + describe(x) + ")" : std::string()));
  return unary<T, LeakyRelu>(x, alpha);
}
template <class T> Node<T> softplus(const Node<T>& x) { return unary<T, Softplus>(x); }

template <class T> Node<T> relu_grad(const Node<T>& g, const Node<T>& x) { return kit::binary<T, ReluGrad>(g, x); }

#define INSTANTIATE(T)                                \
  template Node<T> relu_grad<T>(const Node<T>&, const Node<T>&); \
  template Node<T> sigmoid<T>(const Node<T>&);        \
  template Node<T> tanh<T>(const Node<T>&);           \
  template Node<T> relu<T>(const Node<T>&);           \
  template Node<T> leaky_relu<T>(const Node<T>&, T);  \
  template Node<T> softplus<T>(const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"sigmoid", "tanh", "relu", "leaky_relu", "softplus", "relu_grad", "tanh_grad", "sigmoid_grad"});
}  // namespace

}  // namespace graphnn
