#pragma once
// Optimizers add one fused update node per variable to the graph (see
// apply_sgd / apply_adam / apply_rmsprop in ops.hpp); a training step runs them
// with the batch fed. The learning rate and step count are scalar variables
// written in place before each step, so schedules never re-plan or allocate.
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "graphnn/session.hpp"

namespace graphnn {

// Learning rate as a function of the epoch (from 0).
struct Schedule {
  enum class Kind { constant, step_decay, exponential };
  Kind kind = Kind::constant;
  double factor = 1;       // step_decay: multiply by this ...
  std::size_t every = 1;   // ... every `every` epochs; exponential: multiply by factor each epoch
  double rate(double base, std::size_t epoch) const;
};
inline Schedule constant_lr() { return {}; }
inline Schedule step_decay(std::size_t every, double factor) { return {Schedule::Kind::step_decay, factor, every}; }
inline Schedule exponential_decay(double gamma) { return {Schedule::Kind::exponential, gamma, 1}; }

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // Adds the update nodes of `params` (gradients `grads`) to their graph.
  Nodes<T> build(const Nodes<T>& params, const Nodes<T>& grads);
  // Sets the learning rate and step count for the next step (step counts from 1).
  void prepare(Session<T>& session, std::size_t step, std::size_t epoch) const;
  double learning_rate(std::size_t epoch) const { return schedule_.rate(lr_, epoch); }

 protected:
  Optimizer(double lr, Schedule schedule, double weight_decay);
  // One update node for `param`; `slot(name)` makes a zero variable shaped like it
  // (once: building again for another loss reuses it, so the state carries over).
  virtual Node<T> update(const Node<T>& param, const Node<T>& grad) = 0;
  Node<T> slot(const Node<T>& param, const std::string& name);
  Node<T> lr_node() const { return lr_var_; }
  Node<T> step_node() const { return step_var_; }
  T weight_decay() const { return static_cast<T>(weight_decay_); }

 private:
  double lr_;
  Schedule schedule_;
  double weight_decay_;
  Node<T> lr_var_, step_var_;
  std::map<std::string, Node<T>> slots_;
  std::string prefix_;  // names this optimizer's variables
};

// Plain SGD, optionally with (Nesterov) momentum: v = mu v + g; w -= lr v.
template <class T>
class SGD final : public Optimizer<T> {
 public:
  explicit SGD(double lr = 0.01, double momentum = 0, bool nesterov = false, double weight_decay = 0,
               Schedule schedule = {});
  std::string name() const override { return "SGD"; }

 private:
  Node<T> update(const Node<T>& param, const Node<T>& grad) override;
  double momentum_;
  bool nesterov_;
};

// Adam with bias correction (Kingma & Ba; PyTorch's defaults).
template <class T>
class Adam final : public Optimizer<T> {
 public:
  explicit Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
                double weight_decay = 0, Schedule schedule = {});
  std::string name() const override { return "Adam"; }

 private:
  Node<T> update(const Node<T>& param, const Node<T>& grad) override;
  double beta1_, beta2_, epsilon_;
};

// RMSProp: s = rho s + (1 - rho) g^2; w -= lr g / (sqrt(s) + eps).
template <class T>
class RMSProp final : public Optimizer<T> {
 public:
  explicit RMSProp(double lr = 1e-3, double rho = 0.9, double epsilon = 1e-8, double weight_decay = 0,
                   Schedule schedule = {});
  std::string name() const override { return "RMSProp"; }

 private:
  Node<T> update(const Node<T>& param, const Node<T>& grad) override;
  double rho_, epsilon_;
};

}  // namespace graphnn
