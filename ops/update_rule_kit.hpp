#pragma once
// What an update rule declaration (ops/optimizer_updates.cpp) is made of, and
// the one op that runs any rule. A rule says only what is its own: its
// settings, its slots and its per-element step. The loop over the elements,
// the learning rate, the step count, weight decay (added to the gradient, or
// decoupled as in AdamW), the slot inputs and the table entry the optimizers
// read are written here once for every rule.
//
// A rule is a struct deriving from RuleDefaults with:
//   kind, op              "Adam", "apply_adam"
//   default_lr, default_weight_decay
//   settings[]            its own hyper-parameters (name, default, limit)
//   slots[]               per-variable state, zero at the start
//   Step<T>               constructed once per run from the settings (in
//                         declaration order) and the step count; called per
//                         element as step(w, g, lr, slot...) with the
//                         gradient already including coupled weight decay.
// and may redeclare the RuleDefaults members it needs.
#include <array>
#include <cstddef>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "graphnn/update_rules.hpp"
#include "op_kit.hpp"

namespace graphnn::rule_kit {

enum class Limit { positive, non_negative, below_one, flag };

struct Setting {
  const char* name;
  double default_value;
  Limit limit;
};

struct RuleDefaults {
  static constexpr bool decoupled_decay = false;
  static constexpr bool reads_step = false;
  // Rules whose slots some settings leave unused (SGD without momentum) set
  // this and give Step an operator() without slots.
  static constexpr bool optional_slots = false;
  static bool slots_used(const double* /*settings*/) { return true; }
  // Checks between settings, beyond each one's limit.
  static void check(const double* /*settings*/) {}
  // The op's identity for the graph compiler's rewrite rules.
  static OpCode code(const double* /*settings*/, double /*weight_decay*/) { return OpCode::opaque; }
};

// The table entry of one rule: its description and its type-erased parts.
struct RuleEntry {
  UpdateRuleInfo info;
  std::vector<Limit> limits;  // of info.settings
  void (*check)(const double*);
  bool (*slots_used)(const double*);
  Node<float> (*make_float)(float, const std::vector<double>&, const Nodes<float>&, bool);
  Node<double> (*make_double)(double, const std::vector<double>&, const Nodes<double>&, bool);
};

// Inputs: 0 variable, 1 gradient, 2 learning rate, [3 step count], then the
// used slots. Runs as an assignment, after every read of the old weights.
template <class T, class Rule, bool kWithSlots>
class ApplyRule final : public Op<T> {
  static constexpr std::size_t kSlots = kWithSlots ? std::size(Rule::slots) : 0;
  static constexpr std::size_t kFirstSlot = Rule::reads_step ? 4 : 3;
  using Step = typename Rule::template Step<T>;

 public:
  ApplyRule(T weight_decay, std::vector<T> settings, OpCode code)
      : weight_decay_(weight_decay), settings_(std::move(settings)), code_(code) {}
  std::string type() const override { return Rule::op; }
  OpKind kind() const override { return OpKind::assign; }
  int alias_input() const override { return 0; }
  OpTraits traits() const override { return {code_, false, true}; }

  Shape infer(const std::vector<Shape>& in) const override {
    for (std::size_t k = 1; k < in.size(); ++k)
      if (!in[k].empty() && !shapes_unify(in[k], in[0]))
        throw Error("input " + std::to_string(k) + " " + to_string(in[k]) + " does not match the variable " +
                    to_string(in[0]));
    return in[0];
  }

  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const T lr = in[2]->data[0];
    const Step step(settings_.data(), Rule::reads_step ? in[3]->data[0] : T(0));
    std::array<T*, kSlots> slot{};
    for (std::size_t k = 0; k < kSlots; ++k) slot[k] = in[kFirstSlot + k]->data;
    update(out.data, in[1]->data, lr, step, slot, out.size, std::make_index_sequence<kSlots>());
  }

 private:
  template <std::size_t... K>
  void update(T* w, const T* g, T lr, const Step& step, const std::array<T*, kSlots>& slot, std::size_t n,
              std::index_sequence<K...>) const {
    const T wd = weight_decay_;
    if constexpr (Rule::decoupled_decay) {
      const T shrink = T(1) - lr * wd;  // PyTorch's AdamW: w *= 1 - lr wd, then the step
      for (std::size_t i = 0; i < n; ++i) {
        w[i] *= shrink;
        step(w[i], g[i], lr, slot[K][i]...);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) step(w[i], g[i] + wd * w[i], lr, slot[K][i]...);
    }
  }

  T weight_decay_;
  std::vector<T> settings_;
  OpCode code_;
};

template <class Rule, class T>
Node<T> make_update(T weight_decay, const std::vector<double>& settings, const Nodes<T>& inputs, bool with_slots) {
  std::vector<T> values(settings.begin(), settings.end());
  const OpCode code = Rule::code(settings.data(), static_cast<double>(weight_decay));
  if constexpr (Rule::optional_slots) {
    if (!with_slots) return kit::make<ApplyRule<T, Rule, false>>(inputs, weight_decay, std::move(values), code);
  }
  return kit::make<ApplyRule<T, Rule, true>>(inputs, weight_decay, std::move(values), code);
}

std::string limit_text(Limit limit);

// Every declared rule (ops/optimizer_updates.cpp).
const std::vector<RuleEntry>& rule_table();

template <class Rule>
RuleEntry entry() {
  RuleEntry e{};
  e.info.kind = Rule::kind;
  e.info.op = Rule::op;
  e.info.default_lr = Rule::default_lr;
  e.info.default_weight_decay = Rule::default_weight_decay;
  e.info.decoupled_decay = Rule::decoupled_decay;
  e.info.reads_step = Rule::reads_step;
  for (const Setting& s : Rule::settings) {
    e.info.settings.push_back({s.name, s.default_value, limit_text(s.limit)});
    e.limits.push_back(s.limit);
  }
  for (const char* slot : Rule::slots) e.info.slots.push_back(slot);
  e.check = &Rule::check;
  e.slots_used = &Rule::slots_used;
  e.make_float = &make_update<Rule, float>;
  e.make_double = &make_update<Rule, double>;
  return e;
}

}  // namespace graphnn::rule_kit
