#pragma once
// Optimizer update rules as a table: each rule (SGD, Adam, RMSProp, AdamW) is
// declared once, in ops/optimizer_updates.cpp, with its settings, their
// defaults and limits, its slots and its per-element step. The optimizers
// (lib/optimizers.cpp), their configs and checkpoints read the rules through
// these functions, so a new optimizer is its declaration and one table line,
// never a new kernel, builder and class copied from a neighbour.
#include <cstddef>
#include <string>
#include <vector>

#include "graphnn/node.hpp"

namespace graphnn {

// One hyper-parameter a rule reads besides the learning rate and weight decay.
struct UpdateSetting {
  std::string name;      // "momentum"
  double default_value;  // what make_optimizer takes when a config leaves it out
  std::string limit;     // "in [0, 1)", "positive", "0 or 1": what the check enforces
};

struct UpdateRuleInfo {
  std::string kind;                     // "Adam": Optimizer::name() and OptimizerConfig::kind
  std::string op;                       // "apply_adam": the update node's op type
  double default_lr = 0;                // the learning rate and weight decay every rule takes
  double default_weight_decay = 0;
  bool decoupled_decay = false;         // w -= lr wd w before the step (AdamW), else g += wd w
  std::vector<UpdateSetting> settings;  // in the order apply_update takes their values
  std::vector<std::string> slots;       // per-variable state, zero at the start, in apply_update's order
  bool reads_step = false;              // needs the step count (from 1) as a scalar variable
};

// The declared rules, in declaration order.
const std::vector<UpdateRuleInfo>& update_rules();
// The rule called `kind`; throws Error naming the known kinds.
const UpdateRuleInfo& update_rule(const std::string& kind);
// Throws Error "<kind>: <setting> must be <limit>, got <value>" for the first
// value outside its limit (`settings` in the rule's order).
void check_update_settings(const std::string& kind, double lr, double weight_decay,
                           const std::vector<double>& settings);
// How many of the rule's slots these settings use: SGD without momentum none.
std::size_t used_slots(const std::string& kind, const std::vector<double>& settings);

// One fused in-place update node of `variable` by the rule `kind`. `lr` and
// `step` are scalar variables the caller writes before each run (`step` only
// when the rule reads it; else an empty node); `slots` are the used slots,
// variables shaped like `variable`.
template <class T>
Node<T> apply_update(const std::string& kind, T weight_decay, const std::vector<double>& settings,
                     const Node<T>& variable, const Node<T>& grad, const Node<T>& lr, const Node<T>& step,
                     const Nodes<T>& slots);

}  // namespace graphnn
