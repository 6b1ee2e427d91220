// Optimizers run declared update rules (ops/optimizer_updates.cpp): this file
// only turns named settings into a rule's values, makes the learning-rate,
// step and slot variables, and writes the scalars before each step.
#include "graphnn/optimizers.hpp"

#include <cmath>

#include "graphnn/ops.hpp"

namespace graphnn {

double Schedule::rate(double base, std::size_t epoch) const {
  switch (kind) {
    case Kind::constant: return base;
    case Kind::step_decay: return base * std::pow(factor, static_cast<double>(epoch / (every ? every : 1)));
    case Kind::exponential: return base * std::pow(factor, static_cast<double>(epoch));
  }
  return base;
}

namespace {

// The rule's own settings in its order: from `named`, else the defaults.
std::vector<double> rule_settings(const UpdateRuleInfo& rule, const std::map<std::string, double>& named) {
  for (const auto& [name, value] : named) {
    bool known = name == "lr" || name == "weight_decay";
    for (const UpdateSetting& s : rule.settings) known = known || s.name == name;
    if (known) continue;
    std::string names = "lr, weight_decay";
    for (const UpdateSetting& s : rule.settings) names += ", " + s.name;
    throw Error(rule.kind + ": unknown setting '" + name + "' (settings: " + names + ")");
  }
  std::vector<double> values;
  for (const UpdateSetting& s : rule.settings) {
    const auto it = named.find(s.name);
    values.push_back(it == named.end() ? s.default_value : it->second);
  }
  return values;
}

double setting_or(const std::map<std::string, double>& named, const std::string& name, double fallback) {
  const auto it = named.find(name);
  return it == named.end() ? fallback : it->second;
}

// make_optimizer's result: any declared rule, named by its config.
template <class T>
class Declared final : public Optimizer<T> {
 public:
  explicit Declared(const OptimizerConfig& c) : Optimizer<T>(c.kind, c.settings, c.schedule) {}
};

}  // namespace

template <class T>
Optimizer<T>::Optimizer(const std::string& kind, const std::map<std::string, double>& settings, Schedule schedule)
    : kind_(kind), schedule_(schedule) {
  const UpdateRuleInfo& rule = update_rule(kind);
  settings_ = rule_settings(rule, settings);
  lr_ = setting_or(settings, "lr", rule.default_lr);
  weight_decay_ = setting_or(settings, "weight_decay", rule.default_weight_decay);
  check_update_settings(kind, lr_, weight_decay_, settings_);
}

template <class T>
Optimizer<T>::Optimizer(double lr, Schedule schedule, double weight_decay)
    : lr_(lr), schedule_(schedule), weight_decay_(weight_decay) {
  if (!(lr > 0)) throw Error("optimizer: lr (the learning rate) must be positive, got " + std::to_string(lr));
  if (!(weight_decay >= 0)) throw Error("optimizer: weight_decay must be >= 0, got " + std::to_string(weight_decay));
}

template <class T>
Nodes<T> Optimizer<T>::build(const Nodes<T>& params, const Nodes<T>& grads) {
  if (params.size() != grads.size()) throw Error("optimizer: " + std::to_string(params.size()) + " parameters but " +
                                                 std::to_string(grads.size()) + " gradients");
  Nodes<T> updates;
  if (params.empty()) return updates;
  Graph<T>& g = *params[0].graph();
  if (!lr_var_.valid() || !lr_var_.in(g)) {
    prefix_ = "optimizer/";  // the same names in every process that builds the same model
    for (int k = 2; g.has(prefix_ + "lr"); ++k) prefix_ = "optimizer_" + std::to_string(k) + "/";
    lr_var_ = g.variable(prefix_ + "lr", xt::xarray<T>(static_cast<T>(lr_)));
    step_var_ = g.variable(prefix_ + "step", xt::xarray<T>(T(0)));
    slots_.clear();
  }
  for (std::size_t i = 0; i < params.size(); ++i) updates.push_back(update(params[i], grads[i]));
  return updates;
}

template <class T>
Node<T> Optimizer<T>::update(const Node<T>& param, const Node<T>& grad) {
  if (kind_.empty()) throw Error("optimizer '" + name() + "': no update rule (a subclass must define update())");
  const UpdateRuleInfo& rule = update_rule(kind_);
  Nodes<T> slots;
  for (std::size_t k = 0; k < used_slots(kind_, settings_); ++k) slots.push_back(slot(param, rule.slots[k]));
  return apply_update<T>(kind_, weight_decay(), settings_, param, grad, lr_var_, step_var_, slots);
}

template <class T>
void Optimizer<T>::prepare(Session<T>& session, std::size_t step, std::size_t epoch) const {
  *session.variable_data(lr_var_) = static_cast<T>(learning_rate(epoch));
  *session.variable_data(step_var_) = static_cast<T>(step);
}

template <class T>
Node<T> Optimizer<T>::slot(const Node<T>& param, const std::string& name) {
  const std::string full = prefix_ + param.name() + "/" + name;
  for (const auto& [slot_name, node] : slots_)
    if (slot_name == full) return node;
  slots_.emplace_back(full, param.graph()->variable(full, xt::zeros<T>(resolve(param.shape(), 0))));
  return slots_.back().second;
}

template <class T>
OptimizerConfig Optimizer<T>::config() const {
  OptimizerConfig c{name(), {{"lr", lr_}, {"weight_decay", weight_decay_}}, schedule_};
  if (kind_.empty()) return c;
  const UpdateRuleInfo& rule = update_rule(kind_);
  for (std::size_t k = 0; k < settings_.size(); ++k) c.settings[rule.settings[k].name] = settings_[k];
  return c;
}

template <class T>
Nodes<T> Optimizer<T>::state_variables() const {
  Nodes<T> vars;
  if (!lr_var_.valid()) return vars;
  vars = {lr_var_, step_var_};
  for (const auto& slot : slots_) vars.push_back(slot.second);
  return vars;
}

template <class T>
std::shared_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config) {
  try {
    return std::make_shared<Declared<T>>(config);
  } catch (const Error& e) {
    throw Error(std::string("make_optimizer: ") + e.what());
  }
}

template <class T>
SGD<T>::SGD(double lr, double momentum, bool nesterov, double weight_decay, Schedule schedule)
    : Optimizer<T>("SGD",
                   {{"lr", lr}, {"momentum", momentum}, {"nesterov", nesterov}, {"weight_decay", weight_decay}},
                   schedule) {}

template <class T>
Adam<T>::Adam(double lr, double beta1, double beta2, double epsilon, double weight_decay, Schedule schedule)
    : Optimizer<T>("Adam",
                   {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"epsilon", epsilon}, {"weight_decay", weight_decay}},
                   schedule) {}

template <class T>
AdamW<T>::AdamW(double lr, double beta1, double beta2, double epsilon, double weight_decay, Schedule schedule)
    : Optimizer<T>("AdamW",
                   {{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"epsilon", epsilon}, {"weight_decay", weight_decay}},
                   schedule) {}

template <class T>
RMSProp<T>::RMSProp(double lr, double rho, double epsilon, double weight_decay, Schedule schedule)
    : Optimizer<T>("RMSProp", {{"lr", lr}, {"rho", rho}, {"epsilon", epsilon}, {"weight_decay", weight_decay}},
                   schedule) {}

#define INSTANTIATE(T)                                                                  \
  template class Optimizer<T>;                                                          \
  template std::shared_ptr<Optimizer<T>> make_optimizer<T>(const OptimizerConfig&);     \
  template class SGD<T>;                                                                \
  template class Adam<T>;                                                               \
  template class AdamW<T>;                                                              \
  template class RMSProp<T>;
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn
