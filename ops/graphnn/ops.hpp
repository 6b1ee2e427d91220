#pragma once
// The op set: free functions that add a node to the inputs' graph.
// Semantics follow numpy/PyTorch (see DESIGN.md); each op's kernel, shape rule
// and gradient rule live together in one file of ops/.
#include <cstdint>
#include <type_traits>

#include "graphnn/graph.hpp"

namespace graphnn {

// Arithmetic with numpy broadcasting (ops/arithmetic.cpp).
template <class T> Node<T> add(const Node<T>& a, const Node<T>& b);
template <class T> Node<T> sub(const Node<T>& a, const Node<T>& b);
template <class T> Node<T> mul(const Node<T>& a, const Node<T>& b);
template <class T> Node<T> div(const Node<T>& a, const Node<T>& b);
template <class T> Node<T> maximum(const Node<T>& a, const Node<T>& b);
template <class T> Node<T> neg(const Node<T>& x);
template <class T> Node<T> pow(const Node<T>& x, T exponent);
// The sum of nodes of one shape, in one pass (TensorFlow's add_n).
template <class T> Node<T> add_n(const Nodes<T>& xs);

// Element-wise math (ops/unary.cpp).
template <class T> Node<T> exp(const Node<T>& x);
template <class T> Node<T> log(const Node<T>& x);
template <class T> Node<T> sqrt(const Node<T>& x);
template <class T> Node<T> square(const Node<T>& x);
template <class T> Node<T> abs(const Node<T>& x);
// Piecewise-constant helpers used by gradient rules; their gradient is 0.
template <class T> Node<T> sign(const Node<T>& x);
template <class T> Node<T> step(const Node<T>& x);  // 1 where x > 0, 0 where x <= 0, NaN for NaN
template <class T> Node<T> greater_equal(const Node<T>& a, const Node<T>& b);  // 1 where a >= b
template <class T> Node<T> clip(const Node<T>& x, T lo, T hi);

// Activations (ops/activations.cpp).
template <class T> Node<T> sigmoid(const Node<T>& x);
template <class T> Node<T> tanh(const Node<T>& x);
template <class T> Node<T> relu(const Node<T>& x);
template <class T> Node<T> leaky_relu(const Node<T>& x, T alpha = T(0.01));
template <class T> Node<T> softplus(const Node<T>& x);

// Over the last axis, stable (ops/softmax.cpp).
template <class T> Node<T> softmax(const Node<T>& x);
template <class T> Node<T> log_softmax(const Node<T>& x);

// Reductions and their adjoints (ops/reduce.cpp). `axis` may be negative.
template <class T> Node<T> reduce_sum(const Node<T>& x);
template <class T> Node<T> reduce_sum(const Node<T>& x, int axis);
template <class T> Node<T> reduce_mean(const Node<T>& x);
template <class T> Node<T> reduce_mean(const Node<T>& x, int axis);
// Sums `x` down to the shape of `like` (the adjoint of broadcasting).
template <class T> Node<T> sum_to(const Node<T>& x, const Node<T>& like);
// Broadcasts `x` up to the shape of `like`.
template <class T> Node<T> broadcast_to(const Node<T>& x, const Node<T>& like);
// `g` (scalar) / like.size, broadcast to like's shape: the gradient of a mean.
template <class T> Node<T> mean_grad(const Node<T>& g, const Node<T>& like);
// Inserts a size-1 axis at `axis` (the adjoint of an axis reduction).
template <class T> Node<T> expand_dims(const Node<T>& x, int axis);

// Shapes (ops/shape_ops.cpp). `dims` may hold `batch`.
template <class T> Node<T> reshape(const Node<T>& x, const Shape& dims);
template <class T> Node<T> transpose(const Node<T>& x);
template <class T> Node<T> stop_gradient(const Node<T>& x);
template <class T> Node<T> zeros_like(const Node<T>& x);
template <class T> Node<T> ones_like(const Node<T>& x);

// Matrix product of 2-D nodes, optionally of their transposes (ops/matmul.cpp).
template <class T> Node<T> matmul(const Node<T>& a, const Node<T>& b, bool transpose_a = false, bool transpose_b = false);

// Losses, all scalars (ops/losses.cpp).
template <class T> Node<T> mse(const Node<T>& pred, const Node<T>& target);
template <class T> Node<T> binary_cross_entropy(const Node<T>& prob, const Node<T>& target);
template <class T> Node<T> sigmoid_cross_entropy(const Node<T>& logits, const Node<T>& target);
template <class T> Node<T> softmax_cross_entropy(const Node<T>& logits, const Node<T>& onehot);
template <class T> Node<T> sparse_softmax_cross_entropy(const Node<T>& logits, const Node<T>& class_ids);
// Rows of one-hot vectors of length `classes` from integer-valued ids.
template <class T> Node<T> one_hot(const Node<T>& class_ids, std::int64_t classes);

// Variable updates (ops/assign.cpp). They run after everything else of a
// Session::run, in creation order; their output is the updated variable.
template <class T> Node<T> assign(const Node<T>& variable, const Node<T>& value);
template <class T> Node<T> assign_add(const Node<T>& variable, const Node<T>& delta);
template <class T> Node<T> assign_sub(const Node<T>& variable, const Node<T>& delta);

// Fused optimizer updates (ops/optimizer_updates.cpp): one pass over each
// variable, in place, run like assignments. `lr` and `step` are scalar
// variables the caller sets before each run; slots (velocity, moments) are
// variables shaped like `variable`. Weight decay adds decay * w to the gradient.
template <class T> Node<T> apply_sgd(const Node<T>& variable, const Node<T>& grad, const Node<T>& lr,
                                     const Node<T>& velocity, T momentum, bool nesterov, T weight_decay);
template <class T> Node<T> apply_adam(const Node<T>& variable, const Node<T>& grad, const Node<T>& lr,
                                      const Node<T>& step, const Node<T>& m, const Node<T>& v, T beta1, T beta2,
                                      T epsilon, T weight_decay);
template <class T> Node<T> apply_rmsprop(const Node<T>& variable, const Node<T>& grad, const Node<T>& lr,
                                         const Node<T>& mean_square, T rho, T epsilon, T weight_decay);

// A fresh random mask of `like`'s shape each run: 0 with probability `rate`,
// else 1 / (1 - rate) (ops/dropout.cpp).
template <class T> Node<T> dropout_mask(const Node<T>& like, T rate, unsigned seed);

// Operators on nodes and on a node and a scalar of its type.
template <class T> struct type_identity { using type = T; };
template <class T> using scalar_of = typename type_identity<T>::type;

template <class T> Node<T> operator+(const Node<T>& a, const Node<T>& b) { return add(a, b); }
template <class T> Node<T> operator-(const Node<T>& a, const Node<T>& b) { return sub(a, b); }
template <class T> Node<T> operator*(const Node<T>& a, const Node<T>& b) { return mul(a, b); }
template <class T> Node<T> operator/(const Node<T>& a, const Node<T>& b) { return div(a, b); }
template <class T> Node<T> operator-(const Node<T>& x) { return neg(x); }
// A scalar constant in the graph of `like`.
template <class T> Node<T> scalar_like(const Node<T>& like, scalar_of<T> value) {
  if (!like.valid()) throw Error("scalar operand: empty node (default-constructed Node is not part of any graph)");
  return like.graph()->scalar(value);
}
template <class T> Node<T> operator+(const Node<T>& a, scalar_of<T> b) { return add(a, scalar_like(a, b)); }
template <class T> Node<T> operator-(const Node<T>& a, scalar_of<T> b) { return sub(a, scalar_like(a, b)); }
template <class T> Node<T> operator*(const Node<T>& a, scalar_of<T> b) { return mul(a, scalar_like(a, b)); }
template <class T> Node<T> operator/(const Node<T>& a, scalar_of<T> b) { return div(a, scalar_like(a, b)); }
template <class T> Node<T> operator+(scalar_of<T> a, const Node<T>& b) { return add(scalar_like(b, a), b); }
template <class T> Node<T> operator-(scalar_of<T> a, const Node<T>& b) { return sub(scalar_like(b, a), b); }
template <class T> Node<T> operator*(scalar_of<T> a, const Node<T>& b) { return mul(scalar_like(b, a), b); }
template <class T> Node<T> operator/(scalar_of<T> a, const Node<T>& b) { return div(scalar_like(b, a), b); }

}  // namespace graphnn
