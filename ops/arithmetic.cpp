// Binary arithmetic under numpy broadcasting. grad(a, b, y, g) returns the
// gradients at the output's shape; BinaryOp sums them back to each input.
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
using Grads = std::pair<Node<T>, Node<T>>;

template <class T>
struct Add {
  static constexpr const char* name = "add";
  static constexpr OpCode code = OpCode::add;
  T f(T a, T b) const { return a + b; }
  Grads<T> grad(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>& g) const { return {g, g}; }
};

template <class T>
struct Sub {
  static constexpr const char* name = "sub";
  static constexpr OpCode code = OpCode::sub;
  T f(T a, T b) const { return a - b; }
  Grads<T> grad(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>& g) const { return {g, -g}; }
};

template <class T>
struct Mul {
  static constexpr const char* name = "mul";
  static constexpr OpCode code = OpCode::mul;
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
  // NaN when either is NaN, as torch.maximum and numpy's maximum
  T f(T a, T b) const { return a < b || b != b ? b : a; }
  // As torch.maximum: g to the larger, g/2 to each at a tie, g to both where
  // one is NaN (no comparison holds there).
  Grads<T> grad(const Node<T>& a, const Node<T>& b, const Node<T>&, const Node<T>& g) const {
    const Node<T> a_ge = greater_equal(a, b), b_ge = greater_equal(b, a), half_tie = a_ge * b_ge * T(0.5);
    return {g * (T(1) - b_ge + half_tie), g * (T(1) - a_ge + half_tie)};
  }
};

template <class T>
struct GreaterEqual {
  static constexpr const char* name = "greater_equal";
  T f(T a, T b) const { return a >= b ? T(1) : T(0); }  // 0 where either is NaN, as PyTorch's >=
  Grads<T> grad(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&) const {
    return {no_gradient<T>(), no_gradient<T>()};
  }
};

// The sum of n inputs of one shape in one pass (the compiler's rule sum_chain
// turns chains of adds, such as a gradient's paths, into one).
template <class T>
class AddN final : public Op<T> {
 public:
  std::string type() const override { return "add_n"; }
  OpTraits traits() const override { return {OpCode::add_n, true, true}; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    if (in.empty()) throw Error("needs at least one input");
    Shape out = in[0];
    for (const Shape& s : in) {
      if (!shapes_unify(s, out)) throw Error("inputs must have one shape (add_n does not broadcast)");
      out = unify_shapes(s, out);  // keeps the known sizes
    }
    return out;
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T* first = in[0]->data;
    T* o = out.data;
    for (std::size_t i = 0; i < out.size; ++i) o[i] = first[i];
    for (std::size_t k = 1; k < in.size(); ++k) {
      const T* x = in[k]->data;
      for (std::size_t i = 0; i < out.size; ++i) o[i] += x[i];
    }
  }
  Nodes<T> backward(const GradArgs<T>& a) const override { return Nodes<T>(a.inputs.size(), a.grad); }
};

}  // namespace

using kit::binary;
template <class T> Node<T> add(const Node<T>& a, const Node<T>& b) { return binary<T, Add>(a, b); }
template <class T> Node<T> sub(const Node<T>& a, const Node<T>& b) { return binary<T, Sub>(a, b); }
template <class T> Node<T> mul(const Node<T>& a, const Node<T>& b) { return binary<T, Mul>(a, b); }
template <class T> Node<T> div(const Node<T>& a, const Node<T>& b) { return binary<T, Div>(a, b); }
template <class T> Node<T> maximum(const Node<T>& a, const Node<T>& b) { return binary<T, Maximum>(a, b); }
template <class T> Node<T> greater_equal(const Node<T>& a, const Node<T>& b) { return binary<T, GreaterEqual>(a, b); }

template <class T> Node<T> add_n(const Nodes<T>& xs) { return kit::make<AddN<T>>(xs); }

#define INSTANTIATE(T)                                                 \
  template Node<T> add_n<T>(const Nodes<T>&);                          \
  template Node<T> add<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> sub<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> mul<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> div<T>(const Node<T>&, const Node<T>&);             \
  template Node<T> maximum<T>(const Node<T>&, const Node<T>&);         \
  template Node<T> greater_equal<T>(const Node<T>&, const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"add", "sub", "mul", "div", "maximum", "greater_equal", "add_n"});
}  // namespace

}  // namespace graphnn
