// Element-wise math. Each op is its forward function and its gradient,
// stated once: grad(x, y, g) returns dL/dx given the input x, output y and dL/dy.
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
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const {
    return g * pow(x, p - T(1)) * p;
  }
  std::string attributes() const { return "p=" + std::to_string(p); }
};

template <class T>
struct Sign {
  static constexpr const char* name = "sign";
  T f(T x) const { return T((x > T(0)) - (x < T(0))); }
  Node<T> grad(const Node<T>&, const Node<T>&, const Node<T>&) const { return no_gradient<T>(); }
};

template <class T>
struct Step {
  static constexpr const char* name = "step";
  T f(T x) const { return x > T(0) ? T(1) : T(0); }
  Node<T> grad(const Node<T>&, const Node<T>&, const Node<T>&) const { return no_gradient<T>(); }
};

template <class T>
struct Clip {
  static constexpr const char* name = "clip";
  T lo, hi;
  T f(T x) const { return x < lo ? lo : (x > hi ? hi : x); }
  // passes the gradient where x is inside [lo, hi]
  Node<T> grad(const Node<T>& x, const Node<T>&, const Node<T>& g) const {
    return g * step(x - lo) * step(scalar_like(x, hi) - x);
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

}  // namespace graphnn
