// The optimizers' update rules (PyTorch's torch.optim formulas), each declared
// once: settings, slots and the per-element step. ops/update_rule_kit.hpp runs
// them; a new optimizer is one declaration here and one line in rule_table().
#include <cmath>

#include "graphnn/op_names.hpp"
#include "update_rule_kit.hpp"

namespace graphnn {
namespace {

using rule_kit::Limit;
using rule_kit::RuleDefaults;
using rule_kit::Setting;

// torch.optim.SGD: v = mu v + g; w -= lr v, or w -= lr (g + mu v) (Nesterov).
struct SgdRule : RuleDefaults {
  static constexpr const char* kind = "SGD";
  static constexpr const char* op = "apply_sgd";
  static constexpr double default_lr = 0.01, default_weight_decay = 0;
  enum { momentum, nesterov };
  static constexpr Setting settings[] = {{"momentum", 0, Limit::below_one}, {"nesterov", 0, Limit::flag}};
  static constexpr const char* slots[] = {"velocity"};
  static constexpr bool optional_slots = true;
  static bool slots_used(const double* s) { return s[momentum] > 0; }
  static void check(const double* s) {
    if (s[nesterov] != 0 && s[momentum] == 0) throw Error("SGD: Nesterov momentum needs a momentum > 0");
  }
  // Plain SGD is what the compiler's sgd_matmul_update rule turns into one GEMM.
  static OpCode code(const double* s, double weight_decay) {
    return s[momentum] == 0 && weight_decay == 0 ? OpCode::plain_sgd_update : OpCode::opaque;
  }
  template <class T>
  struct Step {
    T mu;
    bool use_nesterov;
    Step(const T* s, T /*t*/) : mu(s[momentum]), use_nesterov(s[nesterov] != 0) {}
    void operator()(T& w, T g, T lr) const { w -= lr * g; }
    void operator()(T& w, T g, T lr, T& v) const {
      v = mu * v + g;
      w -= lr * (use_nesterov ? g + mu * v : v);
    }
  };
};

// torch.optim.Adam (Kingma & Ba, with bias correction): the weight decay, if
// any, is added to the gradient (L2 regularisation).
struct AdamRule : RuleDefaults {
  static constexpr const char* kind = "Adam";
  static constexpr const char* op = "apply_adam";
  static constexpr double default_lr = 1e-3, default_weight_decay = 0;
  enum { beta1, beta2, epsilon };
  static constexpr Setting settings[] = {
      {"beta1", 0.9, Limit::below_one}, {"beta2", 0.999, Limit::below_one}, {"epsilon", 1e-8, Limit::positive}};
  static constexpr const char* slots[] = {"m", "v"};
  static constexpr bool reads_step = true;
  template <class T>
  struct Step {
    T b1, b2, eps, c1, c2;  // c1, c2: the bias corrections of step t
    Step(const T* s, T t)
        : b1(s[beta1]), b2(s[beta2]), eps(s[epsilon]),
          c1(T(1) / (T(1) - std::pow(b1, t))), c2(T(1) / (T(1) - std::pow(b2, t))) {}
    void operator()(T& w, T g, T lr, T& m, T& v) const {
      m = b1 * m + (T(1) - b1) * g;
      v = b2 * v + (T(1) - b2) * g * g;
      w -= lr * (m * c1) / (std::sqrt(v * c2) + eps);
    }
  };
};

// torch.optim.AdamW (Loshchilov & Hutter): Adam's step, with the weight decay
// decoupled from the gradient (w *= 1 - lr wd first).
struct AdamWRule : AdamRule {
  static constexpr const char* kind = "AdamW";
  static constexpr const char* op = "apply_adamw";
  static constexpr double default_weight_decay = 1e-2;
  static constexpr bool decoupled_decay = true;
};

// torch.optim.RMSprop: s = rho s + (1 - rho) g^2; w -= lr g / (sqrt(s) + eps).
struct RmspropRule : RuleDefaults {
  static constexpr const char* kind = "RMSProp";
  static constexpr const char* op = "apply_rmsprop";
  static constexpr double default_lr = 1e-3, default_weight_decay = 0;
  enum { rho, epsilon };
  static constexpr Setting settings[] = {{"rho", 0.9, Limit::below_one}, {"epsilon", 1e-8, Limit::positive}};
  static constexpr const char* slots[] = {"mean_square"};
  template <class T>
  struct Step {
    T r, eps;
    Step(const T* s, T /*t*/) : r(s[rho]), eps(s[epsilon]) {}
    void operator()(T& w, T g, T lr, T& ms) const {
      ms = r * ms + (T(1) - r) * g * g;
      w -= lr * g / (std::sqrt(ms) + eps);
    }
  };
};

}  // namespace

// The registration: one line per rule, in the order update_rules() lists them.
const std::vector<rule_kit::RuleEntry>& rule_kit::rule_table() {
  static const std::vector<RuleEntry> table = {
      entry<SgdRule>(),
      entry<AdamRule>(),
      entry<RmspropRule>(),
      entry<AdamWRule>(),
  };
  return table;
}

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"apply_sgd", "apply_adam", "apply_adamw", "apply_rmsprop"});
}  // namespace

}  // namespace graphnn
