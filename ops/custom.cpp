// What the custom-op registry (graphnn/custom.hpp) needs outside its templates:
// the names custom ops may not take, and the one lock over its maps.
//
// Why a list of names: ops are found by name where a graph is rebuilt from
// text (a loaded model's activations, set_classifier, set_loss). A custom op
// called "relu" would be silently hidden there by the built-in, and it would
// read as the built-in in to_dot and in error messages. The list holds every
// built-in op's type() and builder name, every activation name
// activation_by_name knows and every loss name set_loss knows;
// tests/test_custom.cpp checks it against the type of every node the builders make.
#include <atomic>
#include <set>

#include "graphnn/custom.hpp"

namespace graphnn {

bool is_builtin_op_name(const std::string& name) {
  static const std::set<std::string> names = {
      // leaves
      "placeholder", "variable", "constant",
      // arithmetic and element-wise math
      "add", "sub", "mul", "div", "neg", "add_n", "maximum", "greater_equal", "exp", "log", "sqrt", "square", "abs",
      "pow", "sign", "step", "clip", "scalar_like",
      // activations (and the identity activation_by_name knows)
      "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax", "log_softmax", "identity",
      "relu_grad", "tanh_grad", "sigmoid_grad",
      // reductions and shapes
      "reduce_sum", "reduce_mean", "mean_grad", "sum_to", "broadcast_to", "expand_dims", "reshape", "transpose",
      "stop_gradient", "zeros_like", "ones_like",
      // matrix products
      "matmul", "apply_sgd_matmul",
      // losses (and the loss names set_loss knows)
      "mse", "binary_cross_entropy", "binary_cross_entropy_grad", "sigmoid_cross_entropy", "softmax_cross_entropy",
      "sparse_softmax_cross_entropy", "one_hot", "cross_entropy",
      // state: assignment, optimizer updates, dropout, fusion
      "assign", "assign_add", "assign_sub", "apply_sgd", "apply_adam", "apply_adamw", "apply_rmsprop", "dropout", "dropout_mask",
      "fused",
      // convolutional networks and data parallelism
      "conv2d", "conv2d_backprop_input", "conv2d_backprop_filter", "max_pool2d", "max_pool2d_grad",
      "max_pool2d_select", "avg_pool2d", "avg_pool2d_grad", "batch_norm", "flatten", "allreduce_mean"};
  return names.count(name) != 0;
}

namespace custom_detail {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

unsigned long next_incomparable() {
  static std::atomic<unsigned long> n{0};
  return ++n;
}

}  // namespace custom_detail
}  // namespace graphnn
