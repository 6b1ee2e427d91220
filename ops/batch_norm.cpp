// batch_norm: y = (x - mean) / sqrt(variance + epsilon) * gamma + beta per
// channel (the last axis, so NHWC images and [batch, features] rows alike).
// One op for both modes: in training the BatchNorm layer feeds it the batch's
// moments, built from graph ops, so the gradient through them (the familiar
// batch-norm backward) comes from those ops' own rules and stays
// differentiable; at inference it feeds the running moments. The kernel folds
// the four vectors into one scale and shift per channel (its workspace), then
// makes one pass over x.
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
class BatchNorm final : public Op<T> {
 public:
  explicit BatchNorm(T epsilon) : epsilon_(epsilon) {}
  std::string type() const override { return "batch_norm"; }
  std::string attributes() const override { return "epsilon=" + std::to_string(epsilon_); }
  bool same_as(const Op<T>& o) const override {
    const BatchNorm* b = kit::same_class(*this, o);
    return b && b->epsilon_ == epsilon_;
  }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 5);
    const Shape& x = in[0];
    if (x.empty() || x.back() <= 0)
      throw Error("input " + to_string(x) + " needs a fixed channel count on its last axis");
    static const char* names[] = {"x", "mean", "variance", "gamma", "beta"};
    for (std::size_t k = 1; k < 5; ++k)
      if (in[k] != Shape{x.back()})
        throw Error(std::string(names[k]) + " " + to_string(in[k]) + " is not [" + std::to_string(x.back()) +
                    "], one value per channel of input " + to_string(x));
    return x;
  }
  std::size_t workspace_size(const std::vector<Dims>& in, const Dims&) const override { return 2 * in[1][0]; }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t c = in[1]->size;
    const T *mean = in[1]->data, *var = in[2]->data, *gamma = in[3]->data, *beta = in[4]->data;
    T *scale = out.workspace, *shift = out.workspace + c;
    for (std::size_t k = 0; k < c; ++k) {
      scale[k] = gamma[k] / std::sqrt(var[k] + epsilon_);
      shift[k] = beta[k] - mean[k] * scale[k];
    }
    const T* x = in[0]->data;
    for (std::size_t r = 0; r < out.size; r += c)
      for (std::size_t k = 0; k < c; ++k) out.data[r + k] = x[r + k] * scale[k] + shift[k];
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&x = a.inputs[0], &mean = a.inputs[1], &var = a.inputs[2], &gamma = a.inputs[3], &beta = a.inputs[4];
    const Node<T>& g = a.grad;
    const Node<T> rstd = pow(var + epsilon_, T(-0.5));
    const Node<T> dx = g * (gamma * rstd);
    const Node<T> g_centred = sum_to(g * (x - mean), gamma);  // sum of g (x - mean) per channel
    return {dx, -sum_to(dx, mean), g_centred * gamma * (T(-0.5) * pow(var + epsilon_, T(-1.5))), g_centred * rstd,
            sum_to(g, beta)};
  }

 private:
  T epsilon_;
};

}  // namespace

template <class T>
Node<T> batch_norm(const Node<T>& x, const Node<T>& mean, const Node<T>& variance, const Node<T>& gamma,
                   const Node<T>& beta, T epsilon) {
  if (!(epsilon >= T(0))) throw Error("op 'batch_norm': epsilon " + std::to_string(epsilon) + " is negative");
  return kit::make<BatchNorm<T>>(Nodes<T>{x, mean, variance, gamma, beta}, epsilon);
}

#define INSTANTIATE(T) \
  template Node<T> batch_norm<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, T);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"batch_norm"});
}  // namespace

}  // namespace graphnn
