// Binary arithmetic under numpy broadcasting. grad(a, b, y, g) returns the
// gradients at the output's shape; BinaryOp sums them back to each input.
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
using Grads = std::pair<Node<T>, Node<T>>;

template <class T>
struct Add {
  static constexpr const char* name = "add";
  T f(T a, T b) const { return a + b; }
  Grads<T> grad(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>& g) const { return {g, g}; }
};

template <class T>
struct Sub {
  static constexpr const char* name = "sub";
  T f(T a, T b) const { return a - b; }
  Grads<T> grad(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>& g) const { return {g, -g}; }
};

template <class T>
struct Mul {
  static constexpr const char* name = "mul";
  T f(T a, T b) const { return a * b; }
  Grads<T> grad(const Node<T>& a, const Node<T>& b, const Node<T>&, const Node<T>& g) const {
    return {g * b, g * a};
  }
};

template <class T>
struct Div {
  static constexpr const char* name = "div";
  T f(T a, T b) const { return a / b; }
  Grads<T> grad(const Node<T>&, const Node<T>& b, const Node<T>& y, const Node<T>& g) const {
    const Node<T> ga = g / b;
    return {ga, -(ga * y)};
  }
};

template <class T>
struct Maximum {
  static constexpr const char* name = "maximum";
  T f(T a, T b) const { return a >= b ? a : b; }
  // ties go to a, as in TensorFlow
  Grads<T> grad(const Node<T>& a, const Node<T>& b, const Node<T>&, const Node<T>& g) const {
    const Node<T> pick_a = greater_equal(a, b);
    return {g * pick_a, g * (T(1) - pick_a)};
  }
};

template <class T>
struct GreaterEqual {
  static constexpr const char* name = "greater_equal";
  T f(T a, T b) const { return a >= b ? T(1) : T(0); }
  Grads<T> grad(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&) const { return {}; }
};

}  // namespace

using kit::binary;
template <class T> Node<T> add(const Node<T>& a, const Node<T>& b) { return binary<T, Add>(a, b); }
template <class T> Node<T> sub(const Node<T>& a, const Node<T>& b) { return binary<T, Sub>(a, b); }
template <class T> Node<T> mul(const Node<T>& a, const Node<T>& b) { return binary<T, Mul>(a, b); }
template <class T> Node<T> div(const Node<T>& a, const Node<T>& b) { return binary<T, Div>(a, b); }
template <class T> Node<T> maximum(const Node<T>& a, const Node<T>& b) { return binary<T, Maximum>(a, b); }
template <class T> Node<T> greater_equal(const Node<T>& a, const Node<T>& b) { return binary<T, GreaterEqual>(a, b); }

#define INSTANTIATE(T)                                                 \
  template Node<T> add<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> sub<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> mul<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> div<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> maximum<T>(const Node<T>&, const Node<T>&);         \
  template Node<T> greater_equal<T>(const Node<T>&, const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

}  // namespace graphnn
