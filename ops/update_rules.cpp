// The update-rule table's public face (graphnn/update_rules.hpp): look-up by
// kind, the settings' checks, and the builders. apply_sgd, apply_adam and
// apply_rmsprop (graphnn/ops.hpp) are the declared rules under their old names.
#include <sstream>

#include "update_rule_kit.hpp"

namespace graphnn {
namespace {

using rule_kit::Limit;
using rule_kit::RuleEntry;

const RuleEntry& entry_of(const std::string& kind) {
  for (const RuleEntry& e : rule_kit::rule_table())
    if (e.info.kind == kind) return e;
  std::string known;
  for (const RuleEntry& e : rule_kit::rule_table()) known += (known.empty() ? "" : ", ") + e.info.kind;
  throw Error("unknown optimizer kind '" + kind + "' (known: " + known + ")");
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

bool within(double v, Limit limit) {
  switch (limit) {
    case Limit::positive: return v > 0;
    case Limit::non_negative: return v >= 0;
    case Limit::below_one: return v >= 0 && v < 1;
    case Limit::flag: return v == 0 || v == 1;
  }
  return false;
}

void check_value(const std::string& kind, const std::string& name, double v, Limit limit) {
  if (!within(v, limit))
    throw Error(kind + ": " + name + " must be " + rule_kit::limit_text(limit) + ", got " + number(v));
}

// What the kernel reads: the weight decay and the rule's own settings.
void check_kernel_settings(const RuleEntry& e, double weight_decay, const std::vector<double>& settings) {
  const UpdateRuleInfo& info = e.info;
  if (settings.size() != info.settings.size()) {
    std::string names;
    for (const UpdateSetting& s : info.settings) names += (names.empty() ? "" : ", ") + s.name;
    throw Error(info.kind + ": takes " + std::to_string(info.settings.size()) + " settings (" + names + "), got " +
                std::to_string(settings.size()));
  }
  check_value(info.kind, "weight_decay", weight_decay, Limit::non_negative);
  for (std::size_t k = 0; k < settings.size(); ++k)
    check_value(info.kind, info.settings[k].name, settings[k], e.limits[k]);
  e.check(settings.data());
}

template <class T>
void check_variable(const Node<T>& n, const std::string& op, const std::string& role) {
  if (!n.valid() || n.graph()->data(n).op->kind() != OpKind::variable)
    throw Error("op '" + op + "': " + role + " " + describe(n) + " is not a variable");
}

}  // namespace

std::string rule_kit::limit_text(Limit limit) {
  switch (limit) {
    case Limit::positive: return "positive";
    case Limit::non_negative: return ">= 0";
    case Limit::below_one: return "in [0, 1)";
    case Limit::flag: return "0 or 1";
  }
  return "?";
}

const std::vector<UpdateRuleInfo>& update_rules() {
  static const std::vector<UpdateRuleInfo> infos = [] {
    std::vector<UpdateRuleInfo> v;
    for (const RuleEntry& e : rule_kit::rule_table()) v.push_back(e.info);
    return v;
  }();
  return infos;
}

const UpdateRuleInfo& update_rule(const std::string& kind) { return entry_of(kind).info; }

void check_update_settings(const std::string& kind, double lr, double weight_decay,
                           const std::vector<double>& settings) {
  const RuleEntry& e = entry_of(kind);
  check_value(kind, "lr (the learning rate)", lr, Limit::positive);
  check_kernel_settings(e, weight_decay, settings);
}

std::size_t used_slots(const std::string& kind, const std::vector<double>& settings) {
  const RuleEntry& e = entry_of(kind);
  check_kernel_settings(e, 0, settings);
  return e.slots_used(settings.data()) ? e.info.slots.size() : 0;
}

template <class T>
Node<T> apply_update(const std::string& kind, T weight_decay, const std::vector<double>& settings,
                     const Node<T>& variable, const Node<T>& grad, const Node<T>& lr, const Node<T>& step,
                     const Nodes<T>& slots) {
  const RuleEntry& e = entry_of(kind);
  const UpdateRuleInfo& info = e.info;
  check_kernel_settings(e, static_cast<double>(weight_decay), settings);
  check_variable(variable, info.op, "the updated");
  Nodes<T> inputs{variable, grad, lr};
  if (info.reads_step) {
    check_variable(step, info.op, "the step count");
    inputs.push_back(step);
  }
  const bool with_slots = e.slots_used(settings.data());
  const std::size_t expected = with_slots ? info.slots.size() : 0;
  if (slots.size() != expected)
    throw Error("op '" + info.op + "': " + std::to_string(expected) + " slots expected, got " +
                std::to_string(slots.size()));
  for (std::size_t k = 0; k < slots.size(); ++k) {
    check_variable(slots[k], info.op, info.slots[k]);
    inputs.push_back(slots[k]);
  }
  if constexpr (std::is_same_v<T, float>) return e.make_float(weight_decay, settings, inputs, with_slots);
  else return e.make_double(weight_decay, settings, inputs, with_slots);
}

template <class T>
Node<T> apply_sgd(const Node<T>& var, const Node<T>& grad, const Node<T>& lr, const Node<T>& velocity, T momentum,
                  bool nesterov, T weight_decay) {
  const Nodes<T> slots = momentum == T(0) ? Nodes<T>{} : Nodes<T>{velocity};
  return apply_update<T>("SGD", weight_decay, {double(momentum), nesterov ? 1.0 : 0.0}, var, grad, lr, Node<T>(),
                         slots);
}

template <class T>
Node<T> apply_adam(const Node<T>& var, const Node<T>& grad, const Node<T>& lr, const Node<T>& step, const Node<T>& m,
                   const Node<T>& v, T beta1, T beta2, T eps, T weight_decay) {
  return apply_update<T>("Adam", weight_decay, {double(beta1), double(beta2), double(eps)}, var, grad, lr, step,
                         {m, v});
}

template <class T>
Node<T> apply_rmsprop(const Node<T>& var, const Node<T>& grad, const Node<T>& lr, const Node<T>& ms, T rho, T eps,
                      T weight_decay) {
  return apply_update<T>("RMSProp", weight_decay, {double(rho), double(eps)}, var, grad, lr, Node<T>(), {ms});
}

#define INSTANTIATE(T)                                                                                             \
  template Node<T> apply_update<T>(const std::string&, T, const std::vector<double>&, const Node<T>&,             \
                                   const Node<T>&, const Node<T>&, const Node<T>&, const Nodes<T>&);              \
  template Node<T> apply_sgd<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, T, bool, T);      \
  template Node<T> apply_adam<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&,                  \
                                 const Node<T>&, const Node<T>&, T, T, T, T);                                      \
  template Node<T> apply_rmsprop<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, T, T, T);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

}  // namespace graphnn
