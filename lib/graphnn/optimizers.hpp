#pragma once
// Optimizers add one fused update node per variable to the graph, running a
// declared update rule (graphnn/update_rules.hpp); a training step runs them
// with the batch fed. The learning rate and step count are scalar variables
// written in place before each step, so schedules never re-plan or allocate.
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "graphnn/session.hpp"
#include "graphnn/update_rules.hpp"

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

// What an optimizer is, as data: its kind (a declared update rule, see
// graphnn/update_rules.hpp), every setting by name ("lr", "weight_decay" and
// the rule's own, "nesterov" as 0 or 1) and the schedule. config() gives it,
// make_optimizer() makes the optimizer back from it.
struct OptimizerConfig {
  std::string kind;
  std::map<std::string, double> settings;
  Schedule schedule;
};

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string name() const { return kind_; }
  // Adds the update nodes of `params` (gradients `grads`) to their graph.
  Nodes<T> build(const Nodes<T>& params, const Nodes<T>& grads);
  // Sets the learning rate and step count for the next step (step counts from 1).
  void prepare(Session<T>& session, std::size_t step, std::size_t epoch) const;
  double learning_rate(std::size_t epoch) const { return schedule_.rate(lr_, epoch); }
  // Kind, every setting and the schedule: make_optimizer(config()) is an equal optimizer.
  OptimizerConfig config() const;
  // The optimizer's state in its graph, as named variables in a stable order:
  // the learning-rate and step scalars, then each built parameter's slots (in
  // build order, each in its rule's slot order). Empty before build().
  Nodes<T> state_variables() const;

 protected:
  // An optimizer running the declared rule `kind`; settings the map leaves out
  // take the rule's defaults. Throws Error naming the kind and the setting.
  Optimizer(const std::string& kind, const std::map<std::string, double>& settings, Schedule schedule);
  // For a subclass with its own update(): a learning rate and weight decay only.
  Optimizer(double lr, Schedule schedule, double weight_decay);
  // One update node for `param`; by default the declared rule's.
  virtual Node<T> update(const Node<T>& param, const Node<T>& grad);
  // A zero variable shaped like `param` (once: building again for another loss
  // reuses it, so the state carries over).
  Node<T> slot(const Node<T>& param, const std::string& name);
  Node<T> lr_node() const { return lr_var_; }
  Node<T> step_node() const { return step_var_; }
  T weight_decay() const { return static_cast<T>(weight_decay_); }

 private:
  std::string kind_;             // the declared rule; empty for a subclass's own update()
  std::vector<double> settings_;  // the rule's own settings, in its order
  double lr_;
  Schedule schedule_;
  double weight_decay_;
  Node<T> lr_var_, step_var_;
  std::vector<std::pair<std::string, Node<T>>> slots_;  // by full name, in creation order
  std::string prefix_;  // names this optimizer's variables
};

// The optimizer `config` describes (float or double); throws Error for an
// unknown kind or setting, or a setting out of its limit.
template <class T>
std::shared_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config);

// The declared rules under their PyTorch names and argument orders.

// Plain SGD, optionally with (Nesterov) momentum: v = mu v + g; w -= lr v.
template <class T>
class SGD final : public Optimizer<T> {
 public:
  explicit SGD(double lr = 0.01, double momentum = 0, bool nesterov = false, double weight_decay = 0,
               Schedule schedule = {});
};

// Adam with bias correction (Kingma & Ba; PyTorch's defaults); weight decay
// is added to the gradient (L2).
template <class T>
class Adam final : public Optimizer<T> {
 public:
  explicit Adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
                double weight_decay = 0, Schedule schedule = {});
};

// AdamW (Loshchilov & Hutter; torch.optim.AdamW): Adam with the weight decay
// decoupled from the gradient, w *= 1 - lr wd before each step.
template <class T>
class AdamW final : public Optimizer<T> {
 public:
  explicit AdamW(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
                 double weight_decay = 1e-2, Schedule schedule = {});
};

// RMSProp: s = rho s + (1 - rho) g^2; w -= lr g / (sqrt(s) + eps).
template <class T>
class RMSProp final : public Optimizer<T> {
 public:
  explicit RMSProp(double lr = 1e-3, double rho = 0.9, double epsilon = 1e-8, double weight_decay = 0,
                   Schedule schedule = {});
};

}  // namespace graphnn
