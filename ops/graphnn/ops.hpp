#pragma once
// The op set: free functions that add a node to the inputs' graph.
// Semantics follow numpy/PyTorch (see DESIGN.md); each op's kernel, shape rule
// and gradient rule live together in one file of ops/.
#include <cstddef>
#include <cstdint>
#include <string>
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

// Convolutional networks (ops/conv_geometry.hpp says why NHWC). Images are
// [batch, height, width, channels]; filters [kernel height, kernel width, in
// channels, out channels] (TensorFlow's HWIO).
struct Size2 {  // a height and a width: stride, dilation, window
  std::size_t h = 1, w = 1;
  Size2(std::size_t both = 1) : h(both), w(both) {}  // NOLINT: 2 means 2 x 2
  Size2(std::size_t height, std::size_t width) : h(height), w(width) {}
};
struct Padding {  // "valid" (none), "same" (output = ceil(input / stride), TensorFlow's split) or explicit
  enum class Kind { valid, same, explicit_pads };
  Kind kind = Kind::valid;
  std::size_t top = 0, bottom = 0, left = 0, right = 0;
  Padding() = default;
  Padding(const char* name);         // NOLINT: "valid" or "same"; Error otherwise
  Padding(const std::string& name);  // NOLINT
  static Padding explicit_pads(std::size_t top, std::size_t bottom, std::size_t left, std::size_t right);
  std::string to_string() const;     // "valid", "same", "explicit(1,1,2,2)"; Padding(to_string()) round-trips
};

// Cross-correlation of x with w (as every framework's conv2d), zero padding (ops/conv2d.cpp).
template <class T> Node<T> conv2d(const Node<T>& x, const Node<T>& w, Size2 stride = 1, Padding padding = "valid",
                                  Size2 dilation = 1);
// The gradients of conv2d as ops of their own (TensorFlow's Conv2DBackpropInput
// and Conv2DBackpropFilter), each with its gradient rule, so gradients of
// gradients go through a convolution: dL/dx of shape `input` [batch, H, W, C]
// from dL/dy and w (ops/conv2d_backprop_input.cpp); dL/dw for a `kernel`-sized
// filter from x and dL/dy (ops/conv2d_backprop_filter.cpp).
template <class T> Node<T> conv2d_backprop_input(const Node<T>& grad, const Node<T>& w, const Shape& input,
                                                 Size2 stride = 1, Padding padding = "valid", Size2 dilation = 1);
template <class T> Node<T> conv2d_backprop_filter(const Node<T>& x, const Node<T>& grad, Size2 kernel,
                                                  Size2 stride = 1, Padding padding = "valid", Size2 dilation = 1);
// Pooling over windows of each channel; padded cells never count (ops/max_pool2d.cpp, ops/avg_pool2d.cpp).
// Max: at ties the first maximum in row-major window order takes the gradient
// (a NaN counts as the maximum); explicit pads must be smaller than the window.
template <class T> Node<T> max_pool2d(const Node<T>& x, Size2 window, Size2 stride, Padding padding = "valid");
// dL/dx of max_pool2d: `grad` routed to each window's arg-max of x.
template <class T> Node<T> max_pool2d_grad(const Node<T>& x, const Node<T>& grad, Size2 window, Size2 stride,
                                           Padding padding = "valid");
// Per window, the value of `like_x`-shaped `v` at the arg-max of x (the gradient of max_pool2d_grad).
template <class T> Node<T> max_pool2d_select(const Node<T>& x, const Node<T>& v, Size2 window, Size2 stride,
                                             Padding padding = "valid");
// Average: the mean of the window's cells inside the image (TensorFlow's rule; PyTorch's count_include_pad=False).
template <class T> Node<T> avg_pool2d(const Node<T>& x, Size2 window, Size2 stride, Padding padding = "valid");
// dL/dx of avg_pool2d for an input of shape `input`: each window's grad spread evenly over its cells.
template <class T> Node<T> avg_pool2d_grad(const Node<T>& grad, const Shape& input, Size2 window, Size2 stride,
                                           Padding padding = "valid");
// (x - mean) / sqrt(variance + epsilon) * gamma + beta, mean/variance/gamma/beta
// of shape [channels] (the last axis): with the batch's moments in training,
// the running ones at inference (ops/batch_norm.cpp).
template <class T> Node<T> batch_norm(const Node<T>& x, const Node<T>& mean, const Node<T>& variance,
                                      const Node<T>& gamma, const Node<T>& beta, T epsilon);
// (x - mean(x)) / sqrt(variance(x) + epsilon) per channel, with the batch's own
// moments (over every axis but the last; the variance divides by their count):
// what BatchNorm trains with. Its gradient is batch_normalize_grad(x, dL/dy).
template <class T> Node<T> batch_normalize(const Node<T>& x, T epsilon);
template <class T> Node<T> batch_normalize_grad(const Node<T>& x, const Node<T>& grad, T epsilon);
// The mean over every axis but the last, [batch, ..., c] -> [c], as reduce_mean ops.
template <class T> Node<T> mean_over_leading_axes(Node<T> x);
// [batch, ...] as [batch, product of the rest], sharing x's storage (ops/flatten.cpp).
template <class T> Node<T> flatten(const Node<T>& x);

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
