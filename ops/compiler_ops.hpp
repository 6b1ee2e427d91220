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

}  // namespace graphnn
