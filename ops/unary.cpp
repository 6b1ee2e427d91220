// Element-wise math. Each op is its forward function and its gradient,
// stated once: grad(x, y, g) returns dL/dx given the input x, output y and dL/dy.
// NaN propagates as in PyTorch/numpy: a NaN input gives a NaN output (sign and
// step too, as numpy's sign and heaviside), and no gradient rule turns a NaN
// dL/dy into a number.
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"
#include "vector_math.hpp"

namespace graphnn {
namespace {

template <class T>
struct Exp {
  static constexpr const char* name = "exp";
  T f(T x) const { return std::exp(x); }
  void map(const T* x, T* y, std::size_t n) const { vmath::exp(x, y, n); }
  Node<T> grad(const Node<T>&, const Node<T>& y, const Node<T>& g) const { return g * y; }
};

template <class T>
struct Log {
  static constexpr const char* name = "log";
  T f(T x) const { return std::log(x); }
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const { return g / x; }
};

template <class T>
struct Sqrt {
  static constexpr const char* name = "sqrt";
  T f(T x) const { return std::sqrt(x); }
  Node<T> grad(const Node<T>&, const Node<T>& y, const Node<T>& g) const { return g / (y * T(2)); }
};

template <class T>
struct Square {
  static constexpr const char* name = "square";
  T f(T x) const { return x * x; }
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const { return g * x * T(2); }
};

template <class T>
struct Abs {
  static constexpr const char* name = "abs";
  T f(T x) const { return std::abs(x); }
  // sign(x): 0 at x = 0 (as PyTorch), NaN at x = NaN (PyTorch: 0, its sign(NaN))
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const { return g * sign(x); }
};

template <class T>
struct Neg {
  static constexpr const char* name = "neg";
  static constexpr OpCode code = OpCode::neg;
  T f(T x) const { return -x; }
  Node<T> grad(const Node<T>&, const Node<T>&, const Node<T>& g) const { return -g; }
};

template <class T>
struct Pow {
  static constexpr const char* name = "pow";
  T p;
  T f(T x) const { return std::pow(x, p); }
  // p x^(p-1); for p = 0 the output is the constant 1, so the gradient is 0
  // everywhere, x = 0 and NaN included (as PyTorch), not 0 * x^-1 = 0 * inf = NaN.
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const {
    if (p == T(0)) return no_gradient<T>();
    return g * pow(x, p - T(1)) * p;
  }
  std::string attributes() const { return "p=" + std::to_string(p); }
};

template <class T>
struct Sign {
  static constexpr const char* name = "sign";
  // -1, 0 or 1; NaN for NaN, as numpy's sign (PyTorch's sign gives 0 there, pytorch#41245)
  T f(T x) const { return x > T(0) ? T(1) : x < T(0) ? T(-1) : x == T(0) ? T(0) : x; }
  Node<T> grad(const Node<T>&, const Node<T>&, const Node<T>&) const { return no_gradient<T>(); }
};

template <class T>
struct Step {
  static constexpr const char* name = "step";
  // 1 where x > 0, 0 where x <= 0, NaN for NaN (as numpy's heaviside)
  T f(T x) const { return x > T(0) ? T(1) : x <= T(0) ? T(0) : x; }
  Node<T> grad(const Node<T>&, const Node<T>&, const Node<T>&) const { return no_gradient<T>(); }
};

template <class T>
struct Clip {
  static constexpr const char* name = "clip";
  T lo, hi;
  T f(T x) const { return x < lo ? lo : (x > hi ? hi : x); }  // NaN stays NaN (as torch.clamp)
  // passes the gradient where lo <= x <= hi, bounds included (so also at x = lo
  // = hi), as torch.clamp; 0 outside and at x = NaN (0 * g, NaN when g is)
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const {
    return g * greater_equal(x, scalar_like(x, lo)) * greater_equal(scalar_like(x, hi), x);
  }
  std::string attributes() const { return "lo=" + std::to_string(lo) + ", hi=" + std::to_string(hi); }
};

}  // namespace

using kit::unary;

template <class T> Node<T> exp(const Node<T>& x) { return unary<T, Exp>(x); }
template <class T> Node<T> log(const Node<T>& x) { return unary<T, Log>(x); }
template <class T> Node<T> sqrt(const Node<T>& x) { return unary<T, Sqrt>(x); }
template <class T> Node<T> square(const Node<T>& x) { return unary<T, Square>(x); }
template <class T> Node<T> abs(const Node<T>& x) { return unary<T, Abs>(x); }
template <class T> Node<T> neg(const Node<T>& x) { return unary<T, Neg>(x); }
template <class T> Node<T> pow(const Node<T>& x, T p) { return unary<T, Pow>(x, p); }
template <class T> Node<T> sign(const Node<T>& x) { return unary<T, Sign>(x); }
template <class T> Node<T> step(const Node<T>& x) { return unary<T, Step>(x); }
template <class T> Node<T> clip(const Node<T>& x, T lo, T hi) {
  if (!(lo <= hi)) throw Error("op 'clip': lo " + std::to_string(lo) + " is greater than hi " + std::to_string(hi));
  return unary<T, Clip>(x, lo, hi);
}

#define INSTANTIATE(T)                                  \
  template Node<T> exp<T>(const Node<T>&);              \
  template Node<T> log<T>(const Node<T>&);              \
  template Node<T> sqrt<T>(const Node<T>&);             \
  template Node<T> square<T>(const Node<T>&);           \
  template Node<T> abs<T>(const Node<T>&);              \
  template Node<T> neg<T>(const Node<T>&);              \
  template Node<T> pow<T>(const Node<T>&, T);           \
  template Node<T> sign<T>(const Node<T>&);             \
  template Node<T> step<T>(const Node<T>&);             \
  template Node<T> clip<T>(const Node<T>&, T, T);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"neg", "exp", "log", "sqrt", "square", "abs", "pow", "sign", "step", "clip"});
}  // namespace

}  // namespace graphnn
