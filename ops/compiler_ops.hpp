#pragma once
// What the graph compiler (graph/passes/) reads from and builds with ops
// beyond the public op set: an op's parameters that its rules match on, and
// the ops only its rules emit. Not installed: users never build these.
#include <optional>

#include "graphnn/graph.hpp"

namespace graphnn {

struct MatMulFlags {
  bool transpose_a = false, transpose_b = false;
};
// The transpose flags of a built-in matmul; nullopt for any other op.
template <class T> std::optional<MatMulFlags> matmul_flags(const Op<T>& op);

// alpha op(a) op(b) in one GEMM (rule mean_scale_into_product).
template <class T>
Node<T> scaled_matmul(const Node<T>& a, const Node<T>& b, MatMulFlags f, T alpha);

// conv2d(x, w) + bias, bias [F] added to each output channel inside the
// convolution, tile by tile while its output is in cache (rule
// bias_into_conv); an empty node when `conv` is not the built-in conv2d.
template <class T>
Node<T> conv2d_with_bias(const Op<T>& conv, const Node<T>& x, const Node<T>& w, const Node<T>& bias);

// g where x > 0 or x is NaN, else 0: the built-in relu's gradient op (ops/activations.cpp).
template <class T>
Node<T> relu_grad(const Node<T>& g, const Node<T>& x);

// relu_grad(max_pool2d_grad(x, grad), x) as one op: the routing writes 0
// where the cell's x <= 0 (rule relu_grad_into_max_pool2d_grad); an empty
// node when `pool_grad` is not the built-in max_pool2d_grad.
template <class T>
Node<T> max_pool2d_grad_relu(const Op<T>& pool_grad, const Node<T>& x, const Node<T>& grad);

// variable -= lr op(a) op(b) as one accumulating GEMM, run as an assignment.
// Only valid when neither a nor b shares the variable's storage (rule
// sgd_matmul_update checks it).
template <class T>
Node<T> sgd_matmul_update(const Node<T>& variable, const Node<T>& a, const Node<T>& b, const Node<T>& lr, MatMulFlags f);

}  // namespace graphnn

namespace graphnn {

// A fused element-wise group (graph/passes/fusion.cpp): members run block by
// block of rows, each member's block in a small scratch tile instead of a
// planned buffer; the last member writes the node's output.
struct FusedOperand {
  bool member = false;  // true: the result of members[index]; false: the node's input `index`
  std::size_t index = 0;
};
template <class T>
struct FusedMember {
  OpPtr<T> op;
  std::vector<FusedOperand> inputs;
};
template <class T>
Node<T> fused_elementwise(const Nodes<T>& inputs, std::vector<FusedMember<T>> members, const Shape& shape);

// A reduction over leading rows that a fused group can finish in its own loop
// instead of writing its output for the reduction to read back
// (graph/passes/fusion.cpp). The fused kernel repeats the reduction's own
// arithmetic, so the bits are the same:
//   sum, mean:  reduce_sum / reduce_mean over axis 0 (accumulated in T, rows
//               in order; the mean scales once at the end);
//   column_sum: sum_to(x, like) with like [x's last extent] (a bias or
//               per-channel gradient: accumulated in double per column, rows
//               in order).
enum class RowReduction { none, sum, mean, column_sum };
template <class T>
RowReduction row_reduction(const Op<T>& op, const Shape& input, const Shape& output);
// The group's members as above, their result of shape `shape` (which input
// `whole_input` has, so the rows are known when the plan runs) reduced by
// `reduction` to `output`.
template <class T>
Node<T> fused_elementwise_reduce(const Nodes<T>& inputs, std::vector<FusedMember<T>> members, const Shape& shape,
                                 std::size_t whole_input, RowReduction reduction, const Shape& output);

}  // namespace graphnn
