// Optimizer updates as single in-place passes (PyTorch's update rules).
// Each runs as an assignment: after every read of the old weights in a run.
#include <cmath>

#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
void check_variable(const Node<T>& n, const char* op, const char* role) {
  if (n.valid() && n.graph()->data(n).op->kind() != OpKind::variable)
    throw Error(std::string("op '") + op + "': " + role + " " + describe(n) + " is not a variable");
}

// Inputs: 0 variable, 1 gradient, 2 lr (scalar), then the slots and scalars of each rule.
template <class T>
class UpdateOp : public Op<T> {
 public:
  OpKind kind() const override { return OpKind::assign; }
  int alias_input() const override { return 0; }
  Shape infer(const std::vector<Shape>& in) const override {
    for (std::size_t k = 1; k < in.size(); ++k) {
      const bool scalar = in[k].empty();
      if (!scalar && !shapes_unify(in[k], in[0]))
        throw Error("input " + std::to_string(k) + " " + to_string(in[k]) + " does not match the variable " +
                    to_string(in[0]));
    }
    return in[0];
  }
};

template <class T>
class ApplySgd final : public UpdateOp<T> {
 public:
  ApplySgd(T momentum, bool nesterov, T decay) : momentum_(momentum), nesterov_(nesterov), decay_(decay) {}
  std::string type() const override { return "apply_sgd"; }
  OpTraits traits() const override {
    return {momentum_ == T(0) && decay_ == T(0) ? OpCode::plain_sgd_update : OpCode::opaque, false, true};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    T* w = out.data;
    const T* g = in[1]->data;
    const T lr = in[2]->data[0];
    if (momentum_ == T(0)) {
      for (std::size_t i = 0; i < out.size; ++i) w[i] -= lr * (g[i] + decay_ * w[i]);
      return;
    }
    T* v = in[3]->data;
    for (std::size_t i = 0; i < out.size; ++i) {
      const T gi = g[i] + decay_ * w[i];
      v[i] = momentum_ * v[i] + gi;
      w[i] -= lr * (nesterov_ ? gi + momentum_ * v[i] : v[i]);
    }
  }

 private:
  T momentum_;
  bool nesterov_;
  T decay_;
};

template <class T>
class ApplyAdam final : public UpdateOp<T> {
 public:
  ApplyAdam(T beta1, T beta2, T eps, T decay) : beta1_(beta1), beta2_(beta2), eps_(eps), decay_(decay) {}
  std::string type() const override { return "apply_adam"; }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    T* w = out.data;
    const T* g = in[1]->data;
    const T lr = in[2]->data[0];
    const T t = in[3]->data[0];
    T* m = in[4]->data;
    T* v = in[5]->data;
    const T c1 = T(1) / (T(1) - std::pow(beta1_, t)), c2 = T(1) / (T(1) - std::pow(beta2_, t));
    for (std::size_t i = 0; i < out.size; ++i) {
      const T gi = g[i] + decay_ * w[i];
      m[i] = beta1_ * m[i] + (T(1) - beta1_) * gi;
      v[i] = beta2_ * v[i] + (T(1) - beta2_) * gi * gi;
      w[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps_);
    }
  }

 private:
  T beta1_, beta2_, eps_, decay_;
};

template <class T>
class ApplyRmsprop final : public UpdateOp<T> {
 public:
  ApplyRmsprop(T rho, T eps, T decay) : rho_(rho), eps_(eps), decay_(decay) {}
  std::string type() const override { return "apply_rmsprop"; }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    T* w = out.data;
    const T* g = in[1]->data;
    const T lr = in[2]->data[0];
    T* ms = in[3]->data;
    for (std::size_t i = 0; i < out.size; ++i) {
      const T gi = g[i] + decay_ * w[i];
      ms[i] = rho_ * ms[i] + (T(1) - rho_) * gi * gi;
      w[i] -= lr * gi / (std::sqrt(ms[i]) + eps_);
    }
  }

 private:
  T rho_, eps_, decay_;
};

}  // namespace

template <class T>
Node<T> apply_sgd(const Node<T>& var, const Node<T>& grad, const Node<T>& lr, const Node<T>& velocity, T momentum,
                  bool nesterov, T weight_decay) {
  check_variable(var, "apply_sgd", "the updated");
  if (momentum == T(0)) return kit::make<ApplySgd<T>>(Nodes<T>{var, grad, lr}, momentum, nesterov, weight_decay);
  check_variable(velocity, "apply_sgd", "velocity");
  return kit::make<ApplySgd<T>>(Nodes<T>{var, grad, lr, velocity}, momentum, nesterov, weight_decay);
}

template <class T>
Node<T> apply_adam(const Node<T>& var, const Node<T>& grad, const Node<T>& lr, const Node<T>& step, const Node<T>& m,
                   const Node<T>& v, T beta1, T beta2, T eps, T weight_decay) {
  check_variable(var, "apply_adam", "the updated");
  check_variable(m, "apply_adam", "first moment");
  check_variable(v, "apply_adam", "second moment");
  return kit::make<ApplyAdam<T>>(Nodes<T>{var, grad, lr, step, m, v}, beta1, beta2, eps, weight_decay);
}

template <class T>
Node<T> apply_rmsprop(const Node<T>& var, const Node<T>& grad, const Node<T>& lr, const Node<T>& ms, T rho, T eps,
                      T weight_decay) {
  check_variable(var, "apply_rmsprop", "the updated");
  check_variable(ms, "apply_rmsprop", "mean square");
  return kit::make<ApplyRmsprop<T>>(Nodes<T>{var, grad, lr, ms}, rho, eps, weight_decay);
}

#define INSTANTIATE(T)                                                                                        \
  template Node<T> apply_sgd<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, T, bool, T); \
  template Node<T> apply_adam<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&,             \
                                 const Node<T>&, const Node<T>&, T, T, T, T);                                 \
  template Node<T> apply_rmsprop<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, T, T, T);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

}  // namespace graphnn
