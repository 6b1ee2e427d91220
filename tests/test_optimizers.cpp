// The optimizers' first steps against the update formulas worked out by hand.
// Every case trains one small variable W on loss = reduce_sum(W * C), whose
// gradient is the constant C, so each step's arithmetic can be written out.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xstrided_view.hpp>

using test::Arr;
using test::N;

namespace {

const Arr kW0 = {{0.5, -1.0, 2.0}, {0.25, -0.75, 1.5}};
const Arr kC = {{0.3, -0.7, 1.1}, {-0.2, 0.9, -1.3}};

// One variable, a constant gradient, and the optimizer's update nodes.
struct Problem {
  gn::Graph<double> g;
  N w = g.variable("W", kW0);
  N c = g.placeholder("C", {2, 3});  // fed, so the feeds reach run_targets
  N loss = gn::reduce_sum(w * c);
  gn::Nodes<double> updates;
  std::unique_ptr<gn::Session<double>> s;

  explicit Problem(gn::Optimizer<double>& opt) {
    updates = opt.build({w}, gn::gradients(loss, {w}));
    s = std::make_unique<gn::Session<double>>(g);
  }
  // Runs optimizer step `step` (from 1) in `epoch` and returns W.
  Arr step(gn::Optimizer<double>& opt, std::size_t step, std::size_t epoch = 0) {
    opt.prepare(*s, step, epoch);
    s->run_targets(updates, {{c, kC}});
    return s->value(w);
  }
};

constexpr double kTol = 1e-12;

}  // namespace

TEST_CASE("SGD without momentum: w1 = w0 - lr (g + wd w0)") {
  for (const double wd : {0.0, 0.1}) {
    CAPTURE(wd);
    gn::SGD<double> opt(0.05, 0, false, wd);
    Problem p(opt);
    const Arr w1 = kW0 - 0.05 * (kC + wd * kW0);
    CHECK_CLOSE(p.step(opt, 1), w1, kTol);
    const Arr w2 = w1 - 0.05 * (kC + wd * w1);
    CHECK_CLOSE(p.step(opt, 2), w2, kTol);
  }
}

TEST_CASE("SGD: the loss fetched with the update is the loss before the update") {
  gn::SGD<double> opt(0.05);
  Problem p(opt);
  opt.prepare(*p.s, 1, 0);
  const auto out = p.s->run({p.loss, p.updates[0]}, {{p.c, kC}});
  CHECK(out[0]() == doctest::Approx(xt::sum(kW0 * kC)()).epsilon(1e-14));
  CHECK_CLOSE(out[1], Arr(kW0 - 0.05 * kC), kTol);
  CHECK_CLOSE(p.s->value(p.w), Arr(kW0 - 0.05 * kC), kTol);
}

TEST_CASE("SGD with momentum, two steps: v = mu v + g, w -= lr v") {
  const double lr = 0.1, mu = 0.9;
  for (const double wd : {0.0, 0.05}) {
    CAPTURE(wd);
    gn::SGD<double> opt(lr, mu, false, wd);
    Problem p(opt);
    const Arr g1 = kC + wd * kW0;
    const Arr v1 = g1;  // the velocity starts at 0
    const Arr w1 = kW0 - lr * v1;
    CHECK_CLOSE(p.step(opt, 1), w1, kTol);
    const Arr g2 = kC + wd * w1;
    const Arr v2 = mu * v1 + g2;
    const Arr w2 = w1 - lr * v2;
    CHECK_CLOSE(p.step(opt, 2), w2, kTol);
  }
}

TEST_CASE("SGD with Nesterov momentum, two steps: w -= lr (g + mu v)") {
  const double lr = 0.1, mu = 0.8;
  for (const double wd : {0.0, 0.05}) {
    CAPTURE(wd);
    gn::SGD<double> opt(lr, mu, true, wd);
    Problem p(opt);
    const Arr g1 = kC + wd * kW0;
    const Arr v1 = g1;
    const Arr w1 = kW0 - lr * (g1 + mu * v1);
    CHECK_CLOSE(p.step(opt, 1), w1, kTol);
    const Arr g2 = kC + wd * w1;
    const Arr v2 = mu * v1 + g2;
    const Arr w2 = w1 - lr * (g2 + mu * v2);
    CHECK_CLOSE(p.step(opt, 2), w2, kTol);
    // Nesterov really differs from plain momentum here.
    CHECK(test::max_rel_diff(w2, Arr(w1 - lr * v2)) > 1e-3);
  }
}

TEST_CASE("Adam, three steps with bias correction") {
  // A large epsilon, so where it is added (outside the square root) shows.
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 0.1;
  for (const double wd : {0.0, 0.2}) {
    CAPTURE(wd);
    gn::Adam<double> opt(lr, b1, b2, eps, wd);
    Problem p(opt);
    Arr w = kW0, m = xt::zeros<double>({2, 3}), v = xt::zeros<double>({2, 3});
    for (int t = 1; t <= 3; ++t) {
      CAPTURE(t);
      const Arr g = kC + wd * w;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const Arr m_hat = m / (1 - std::pow(b1, t));
      const Arr v_hat = v / (1 - std::pow(b2, t));
      w = w - lr * m_hat / (xt::sqrt(v_hat) + eps);
      CHECK_CLOSE(p.step(opt, static_cast<std::size_t>(t)), w, kTol);
    }
  }
}

TEST_CASE("Adam's first step moves each weight by about lr (bias correction at work)") {
  gn::Adam<double> opt(0.01);  // epsilon 1e-8: the step is lr * g / |g|
  Problem p(opt);
  CHECK_CLOSE(p.step(opt, 1), Arr(kW0 - 0.01 * xt::sign(kC)), 1e-9);
}

TEST_CASE("RMSProp, two steps: s = rho s + (1 - rho) g^2, w -= lr g / (sqrt(s) + eps)") {
  const double lr = 0.01, rho = 0.9, eps = 0.1;
  for (const double wd : {0.0, 0.3}) {
    CAPTURE(wd);
    gn::RMSProp<double> opt(lr, rho, eps, wd);
    Problem p(opt);
    const Arr g1 = kC + wd * kW0;
    const Arr s1 = (1 - rho) * g1 * g1;
    const Arr w1 = kW0 - lr * g1 / (xt::sqrt(s1) + eps);
    CHECK_CLOSE(p.step(opt, 1), w1, kTol);
    const Arr g2 = kC + wd * w1;
    const Arr s2 = rho * s1 + (1 - rho) * g2 * g2;
    const Arr w2 = w1 - lr * g2 / (xt::sqrt(s2) + eps);
    CHECK_CLOSE(p.step(opt, 2), w2, kTol);
  }
}

TEST_CASE("schedules: the rates by epoch") {
  const gn::Schedule constant = gn::constant_lr();
  CHECK(constant.rate(0.1, 0) == 0.1);
  CHECK(constant.rate(0.1, 57) == 0.1);

  const gn::Schedule step = gn::step_decay(3, 0.5);  // halve every 3 epochs
  CHECK(step.rate(0.1, 0) == 0.1);
  CHECK(step.rate(0.1, 2) == 0.1);
  CHECK(step.rate(0.1, 3) == doctest::Approx(0.05).epsilon(kTol));
  CHECK(step.rate(0.1, 5) == doctest::Approx(0.05).epsilon(kTol));
  CHECK(step.rate(0.1, 6) == doctest::Approx(0.025).epsilon(kTol));
  CHECK(step.rate(0.1, 10) == doctest::Approx(0.1 * 0.125).epsilon(kTol));

  const gn::Schedule expo = gn::exponential_decay(0.9);
  CHECK(expo.rate(0.2, 0) == 0.2);
  CHECK(expo.rate(0.2, 1) == doctest::Approx(0.18).epsilon(kTol));
  CHECK(expo.rate(0.2, 4) == doctest::Approx(0.2 * 0.9 * 0.9 * 0.9 * 0.9).epsilon(kTol));

  gn::SGD<double> opt(0.1, 0, false, 0, gn::step_decay(2, 0.1));
  CHECK(opt.learning_rate(1) == 0.1);
  CHECK(opt.learning_rate(2) == doctest::Approx(0.01).epsilon(kTol));
}

TEST_CASE("schedules: prepare() gives the step its epoch's rate") {
  SUBCASE("step decay") {
    gn::SGD<double> opt(0.1, 0, false, 0, gn::step_decay(2, 0.5));
    Problem p(opt);
    Arr w = kW0;
    const double rates[] = {0.1, 0.1, 0.05, 0.05, 0.025};
    for (std::size_t epoch = 0; epoch < 5; ++epoch) {
      w = w - rates[epoch] * kC;
      CHECK_CLOSE(p.step(opt, epoch + 1, epoch), w, kTol);
    }
  }
  SUBCASE("exponential decay, with Adam") {
    const double lr = 0.05, gamma = 0.5, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    gn::Adam<double> opt(lr, b1, b2, eps, 0, gn::exponential_decay(gamma));
    Problem p(opt);
    Arr w = kW0, m = xt::zeros<double>({2, 3}), v = xt::zeros<double>({2, 3});
    for (int t = 1; t <= 3; ++t) {
      const std::size_t epoch = static_cast<std::size_t>(t) - 1;  // one step per epoch
      m = b1 * m + (1 - b1) * kC;
      v = b2 * v + (1 - b2) * kC * kC;
      const double rate = lr * std::pow(gamma, static_cast<double>(epoch));
      w = w - rate * (m / (1 - std::pow(b1, t))) / (xt::sqrt(v / (1 - std::pow(b2, t))) + eps);
      CHECK_CLOSE(p.step(opt, static_cast<std::size_t>(t), epoch), w, kTol);
    }
  }
}

TEST_CASE("optimizers in float follow the same formulas") {
  gn::Graph<float> g;
  const xt::xarray<float> w0 = xt::cast<float>(kW0), c = xt::cast<float>(kC);
  auto w = g.variable("W", w0);
  auto loss = gn::reduce_sum(w * g.constant("C", c));
  gn::Adam<float> opt(0.01f, 0.9, 0.999, 0.1);
  auto ups = opt.build({w}, gn::gradients(loss, {w}));
  gn::Session<float> s(g);
  opt.prepare(s, 1, 0);
  s.run_targets(ups);
  // m_hat = g, v_hat = g^2 after one step
  const Arr expected = kW0 - 0.01 * kC / (xt::abs(kC) + 0.1);
  CHECK_CLOSE(xt::xarray<double>(xt::cast<double>(s.value(w))), expected, 1e-6);
}

TEST_CASE("an optimizer updates several variables, each with its own state") {
  gn::Graph<double> g;
  auto a = g.variable("a", Arr{1.0, 2.0});
  Arr b0 = {3.0};
  auto b = g.variable("b", b0);
  auto loss = gn::reduce_sum(a * 2.0) + gn::reduce_sum(b * b);
  gn::SGD<double> opt(0.1, 0.5);
  auto ups = opt.build({a, b}, gn::gradients(loss, {a, b}));
  gn::Session<double> s(g);
  for (std::size_t t = 1; t <= 2; ++t) {
    opt.prepare(s, t, 0);
    s.run_targets(ups);
  }
  // a: g = 2 always; v1 = 2, a1 = a0 - 0.2; v2 = 3, a2 = a1 - 0.3
  CHECK_CLOSE(s.value(a), Arr({0.5, 1.5}), kTol);
  // b: g = 2b; v1 = 6, b1 = 2.4; v2 = 0.5*6 + 4.8 = 7.8, b2 = 2.4 - 0.78
  CHECK(s.value(b)(0) == doctest::Approx(1.62).epsilon(kTol));
}

TEST_CASE("optimizer argument errors name the optimizer, the setting, its limit and the value") {
  using test::error_of;
  CHECK_ERROR(gn::SGD<double>(-0.1), "SGD: lr (the learning rate) must be positive, got -0.1");
  CHECK_ERROR(gn::SGD<double>(0.0), "SGD: lr (the learning rate) must be positive, got 0");
  CHECK_ERROR(gn::Adam<double>(std::nan("")), "Adam: lr (the learning rate) must be positive, got nan");
  CHECK_ERROR(gn::SGD<double>(0.1, 1.0), "SGD: momentum must be in [0, 1), got 1");
  CHECK_ERROR(gn::SGD<double>(0.1, -0.5), "SGD: momentum must be in [0, 1), got -0.5");
  CHECK_ERROR(gn::SGD<double>(0.1, 0.0, true), "SGD: Nesterov momentum needs a momentum > 0");
  CHECK_ERROR(gn::SGD<double>(0.1, 0.0, false, -1e-4), "SGD: weight_decay must be >= 0, got -0.0001");
  CHECK_ERROR(gn::Adam<double>(0.1, 1.0), "Adam: beta1 must be in [0, 1), got 1");
  CHECK_ERROR(gn::Adam<double>(0.1, 0.9, 1.5), "Adam: beta2 must be in [0, 1), got 1.5");
  CHECK_ERROR(gn::Adam<double>(0.1, 0.9, 0.999, 0.0), "Adam: epsilon must be positive, got 0");
  CHECK_ERROR(gn::AdamW<double>(0.1, 0.9, 0.999, 1e-8, -1.0), "AdamW: weight_decay must be >= 0, got -1");
  CHECK_ERROR(gn::RMSProp<double>(0.1, 1.0), "RMSProp: rho must be in [0, 1), got 1");
  CHECK_ERROR(gn::RMSProp<double>(0.1, 0.9, -1.0), "RMSProp: epsilon must be positive, got -1");

  gn::Graph<double> g;
  auto w = g.variable("W", kW0);
  auto loss = gn::reduce_sum(w * 2.0);
  gn::SGD<double> opt(0.1);
  CHECK_ERROR(opt.build({w}, {}), "optimizer: 1 parameters but 0 gradients");
  auto not_a_variable = w * 1.0;
  CHECK_ERROR(opt.build({not_a_variable}, gn::gradients(loss, {w})), "op 'apply_sgd': the updated", "is not a variable");
}

namespace {

// Reference weights from torch.optim.AdamW: printed by tests/data/adamw_torch.py
// (torch 1.13, float64) on loss = sum(W * C) + 0.5 sum(W * W).
struct TorchAdamW {
  double lr, beta1, beta2, eps, weight_decay;
  std::vector<std::vector<double>> steps;  // W after each step, flattened
};
const TorchAdamW kTorchAdamW[] = {
{0.05, 0.9, 0.99, 1e-08, 0.5,
 {{0.437500000625, -0.9250000002941177, 1.9000000001612902, 0.193750009999998, -0.7812499966666668, 1.4125000024999999},
  {0.37670047827501457, -0.8519414019824911, 1.8025457381824392, 0.16021651964580186, -0.8111086451687091, 1.3296868400092476},
  {0.3176632607842252, -0.7808217006800622, 1.7076044005991138, 0.1586570552761102, -0.8389709650402175, 1.255837245078753},
  {0.26045841692492144, -0.7116396135491369, 1.6151441201650911, 0.17212221339394804, -0.8640357989393291, 1.1971923996335228},
  {0.20516429099608346, -0.6443948982988509, 1.5251338467942037, 0.1910451529167528, -0.8853445784624026, 1.157147032041888}}},
{0.01, 0.8, 0.999, 0.1, 0.01,
 {{0.4910611111111111, -0.9904555555555555, 1.9901125, 0.24664166666666668, -0.755925, 1.4931833333333333},
  {0.4821343091512283, -0.9809165187938527, 1.9802281959929677, 0.2433723424707971, -0.7617874328386621, 1.4864190433058544},
  {0.47322341376669425, -0.9713848674119256, 1.9703482257685259, 0.24020092236964247, -0.7675770499406059, 1.479716875378304},
  {0.46433219962230765, -0.9618625444562683, 1.9604737038146496, 0.23713578029586502, -0.773283710595469, 1.4730865262836776},
  {0.4554643603700436, -0.9523514403902413, 1.9506057112061033, 0.2341846128121138, -0.7788975106818249, 1.466537531905784}}},
};

// W and the update nodes of loss = sum(W * C) + 0.5 sum(W * W) (gradient C + W).
struct QuadraticProblem {
  gn::Graph<double> g;
  N w = g.variable("W", kW0);
  N loss = gn::reduce_sum(w * g.constant("C", kC)) + gn::reduce_sum(w * w) * 0.5;
  gn::Nodes<double> updates;
  std::unique_ptr<gn::Session<double>> s;
  explicit QuadraticProblem(gn::Optimizer<double>& opt) {
    updates = opt.build({w}, gn::gradients(loss, {w}));
    s = std::make_unique<gn::Session<double>>(g);
  }
  Arr step(gn::Optimizer<double>& opt, std::size_t step) {
    opt.prepare(*s, step, 0);
    s->run_targets(updates);
    return s->value(w);
  }
};

}  // namespace

TEST_CASE("AdamW follows torch.optim.AdamW step by step (decoupled weight decay)") {
  for (const TorchAdamW& ref : kTorchAdamW) {
    CAPTURE(ref.lr);
    gn::AdamW<double> opt(ref.lr, ref.beta1, ref.beta2, ref.eps, ref.weight_decay);
    QuadraticProblem p(opt);
    for (std::size_t t = 1; t <= ref.steps.size(); ++t) {
      CAPTURE(t);
      const Arr expected = xt::reshape_view(xt::adapt(ref.steps[t - 1]), {2, 3});
      CHECK_CLOSE(p.step(opt, t), expected, 1e-14);
    }
  }
}

TEST_CASE("AdamW: without weight decay it is Adam; with it, the decay is not Adam's L2 term") {
  gn::Adam<double> adam(0.05, 0.9, 0.99, 1e-8, 0.0);
  gn::AdamW<double> adamw(0.05, 0.9, 0.99, 1e-8, 0.0);
  QuadraticProblem a(adam), b(adamw);
  for (std::size_t t = 1; t <= 3; ++t) CHECK(xt::all(xt::equal(a.step(adam, t), b.step(adamw, t))));

  gn::Adam<double> adam_l2(0.05, 0.9, 0.99, 1e-8, 0.5);
  QuadraticProblem c(adam_l2);
  const Arr l2 = c.step(adam_l2, 1);
  const Arr torch_adamw = xt::reshape_view(xt::adapt(kTorchAdamW[0].steps[0]), {2, 3});
  CHECK(test::max_rel_diff(l2, torch_adamw) > 1e-3);
}

TEST_CASE("AdamW in float follows the double rule") {
  gn::Graph<float> g;
  auto w = g.variable("W", xt::xarray<float>(xt::cast<float>(kW0)));
  auto loss = gn::reduce_sum(w * g.constant("C", xt::xarray<float>(xt::cast<float>(kC)))) + gn::reduce_sum(w * w) * 0.5f;
  const TorchAdamW& ref = kTorchAdamW[0];
  gn::AdamW<float> opt(ref.lr, ref.beta1, ref.beta2, ref.eps, ref.weight_decay);
  auto ups = opt.build({w}, gn::gradients(loss, {w}));
  gn::Session<float> s(g);
  for (std::size_t t = 1; t <= 5; ++t) {
    opt.prepare(s, t, 0);
    s.run_targets(ups);
  }
  const Arr expected = xt::reshape_view(xt::adapt(ref.steps[4]), {2, 3});
  CHECK_CLOSE(xt::xarray<double>(xt::cast<double>(s.value(w))), expected, 1e-5);
}

TEST_CASE("the declared rules: SGD, Adam, RMSProp, AdamW, with their settings and slots") {
  std::vector<std::string> kinds;
  for (const gn::UpdateRuleInfo& r : gn::update_rules()) kinds.push_back(r.kind);
  CHECK(kinds == std::vector<std::string>{"SGD", "Adam", "RMSProp", "AdamW"});
  const gn::UpdateRuleInfo& adamw = gn::update_rule("AdamW");
  CHECK(adamw.op == "apply_adamw");
  CHECK(adamw.decoupled_decay);
  CHECK(adamw.reads_step);
  CHECK(adamw.slots == std::vector<std::string>{"m", "v"});
  CHECK(adamw.settings.size() == 3);
  CHECK(adamw.settings[0].name == "beta1");
  CHECK(adamw.settings[0].limit == "in [0, 1)");
  CHECK(gn::update_rule("SGD").settings[1].limit == "0 or 1");
  CHECK_ERROR(gn::update_rule("Adagrad"), "unknown optimizer kind 'Adagrad' (known: SGD, Adam, RMSProp, AdamW)");
  // SGD's velocity only with momentum
  CHECK(gn::used_slots("SGD", {0.0, 0.0}) == 0);
  CHECK(gn::used_slots("SGD", {0.9, 1.0}) == 1);
  CHECK(gn::used_slots("Adam", {0.9, 0.999, 1e-8}) == 2);
}

TEST_CASE("apply_update checks what it is given") {
  gn::Graph<double> g;
  auto w = g.variable("W", kW0);
  auto lr = g.variable("lr", Arr(0.1));
  auto grad = g.constant("C", kC);
  CHECK_ERROR(gn::apply_update<double>("SGD", 0.0, {0.5}, w, grad, lr, N(), {}),
              "SGD: takes 2 settings (momentum, nesterov), got 1");
  CHECK_ERROR(gn::apply_update<double>("SGD", 0.0, {0.5, 0.0}, w, grad, lr, N(), {}),
              "op 'apply_sgd': 1 slots expected, got 0");
  CHECK_ERROR(gn::apply_update<double>("Adam", 0.0, {0.9, 0.999, 1e-8}, w, grad, lr, N(), {}),
              "op 'apply_adam': the step count <empty node> is not a variable");
  CHECK_ERROR(gn::apply_update<double>("RMSProp", 0.0, {0.9, 1e-8}, w, grad, lr, N(), {grad}),
              "op 'apply_rmsprop': mean_square 'C'", "is not a variable");
  CHECK_ERROR(gn::apply_update<double>("RMSProp", -1.0, {0.9, 1e-8}, w, grad, lr, N(), {}),
              "RMSProp: weight_decay must be >= 0, got -1");
  CHECK_ERROR(gn::apply_sgd(w, grad, lr, N(), 1.5, false, 0.0), "SGD: momentum must be in [0, 1), got 1.5");
}

TEST_CASE("config() gives kind, every setting and the schedule; the header's defaults are the rule's") {
  const gn::OptimizerConfig c = gn::SGD<double>(0.2, 0.9, true, 1e-3, gn::step_decay(3, 0.5)).config();
  CHECK(c.kind == "SGD");
  CHECK(c.settings == std::map<std::string, double>{{"lr", 0.2}, {"momentum", 0.9}, {"nesterov", 1.0},
                                                    {"weight_decay", 1e-3}});
  CHECK(c.schedule.kind == gn::Schedule::Kind::step_decay);
  CHECK(c.schedule.every == 3);
  CHECK(c.schedule.factor == 0.5);

  // what each class's default arguments give is what make_optimizer fills in
  const std::vector<std::shared_ptr<gn::Optimizer<double>>> defaults = {
      std::make_shared<gn::SGD<double>>(), std::make_shared<gn::Adam<double>>(),
      std::make_shared<gn::RMSProp<double>>(), std::make_shared<gn::AdamW<double>>()};
  for (const auto& opt : defaults) {
    CAPTURE(opt->name());
    const gn::OptimizerConfig made = gn::make_optimizer<double>({opt->name(), {}, {}})->config();
    CHECK(made.settings == opt->config().settings);
    CHECK(made.settings.size() == 2 + gn::update_rule(opt->name()).settings.size());
  }
  CHECK(gn::AdamW<double>().config().settings.at("weight_decay") == 0.01);  // PyTorch's default
}

TEST_CASE("make_optimizer(config()) trains exactly like the original") {
  const std::vector<std::shared_ptr<gn::Optimizer<double>>> originals = {
      std::make_shared<gn::SGD<double>>(0.05, 0.8, true, 0.01, gn::step_decay(1, 0.5)),
      std::make_shared<gn::Adam<double>>(0.02, 0.8, 0.99, 1e-6, 0.1, gn::exponential_decay(0.9)),
      std::make_shared<gn::RMSProp<double>>(0.01, 0.7, 1e-4, 0.2),
      std::make_shared<gn::AdamW<double>>(0.03, 0.85, 0.995, 1e-7, 0.3)};
  for (const auto& original : originals) {
    CAPTURE(original->name());
    const auto copy = gn::make_optimizer<double>(original->config());
    CHECK(copy->name() == original->name());
    QuadraticProblem a(*original), b(*copy);
    for (std::size_t t = 1; t <= 4; ++t) {
      original->prepare(*a.s, t, t - 1);
      copy->prepare(*b.s, t, t - 1);
      a.s->run_targets(a.updates);
      b.s->run_targets(b.updates);
      CHECK(xt::all(xt::equal(a.s->value(a.w), b.s->value(b.w))));
    }
    CHECK(test::max_rel_diff(a.s->value(a.w), kW0) > 1e-3);  // it did train
  }
}

TEST_CASE("make_optimizer errors name the kind and the setting") {
  CHECK_ERROR(gn::make_optimizer<double>({"Adagrad", {}, {}}), "make_optimizer: unknown optimizer kind 'Adagrad'",
              "known: SGD, Adam, RMSProp, AdamW");
  CHECK_ERROR(gn::make_optimizer<double>({"SGD", {{"momentun", 0.9}}, {}}),
              "make_optimizer: SGD: unknown setting 'momentun' (settings: lr, weight_decay, momentum, nesterov)");
  CHECK_ERROR(gn::make_optimizer<float>({"Adam", {{"beta2", 2.0}}, {}}),
              "make_optimizer: Adam: beta2 must be in [0, 1), got 2");
  CHECK_ERROR(gn::make_optimizer<double>({"SGD", {{"nesterov", 0.5}, {"momentum", 0.9}}, {}}),
              "make_optimizer: SGD: nesterov must be 0 or 1, got 0.5");
}

TEST_CASE("state_variables(): lr, step, then each parameter's slots, named and in a stable order") {
  gn::Graph<double> g;
  auto a = g.variable("a", Arr{1.0, 2.0});
  auto b = g.variable("b", Arr{3.0});
  auto loss = gn::reduce_sum(a * 2.0) + gn::reduce_sum(b * b);
  gn::Adam<double> adam(0.1);
  CHECK(adam.state_variables().empty());
  auto ups = adam.build({a, b}, gn::gradients(loss, {a, b}));
  std::vector<std::string> names;
  for (const N& v : adam.state_variables()) names.push_back(v.name());
  CHECK(names == std::vector<std::string>{"optimizer/lr", "optimizer/step", "optimizer/a/m", "optimizer/a/v",
                                          "optimizer/b/m", "optimizer/b/v"});
  // building again (another loss) reuses the slots: the same state
  adam.build({a, b}, gn::gradients(loss * 2.0, {a, b}));
  CHECK(adam.state_variables().size() == 6);

  gn::Session<double> s(g);
  adam.prepare(s, 1, 0);
  s.run_targets(ups);
  const gn::Nodes<double> state = adam.state_variables();
  CHECK(s.value(state[0])() == doctest::Approx(0.1).epsilon(1e-15));
  CHECK(s.value(state[1])() == 1.0);
  CHECK_CLOSE(s.value(state[2]), Arr({0.2, 0.2}), 1e-15);  // m = (1 - beta1) g, g = 2
  CHECK_CLOSE(s.value(state[5]), Arr({0.001 * 36.0}), 1e-13);  // v = (1 - beta2) g^2, g = 2b = 6

  // a second optimizer on the same graph gets its own names; SGD without momentum has no slots
  gn::SGD<double> sgd(0.1);
  sgd.build({a}, gn::gradients(loss, {a}));
  names.clear();
  for (const N& v : sgd.state_variables()) names.push_back(v.name());
  CHECK(names == std::vector<std::string>{"optimizer_2/lr", "optimizer_2/step"});
}

namespace {

// An optimizer written as a subclass with its own update() (sign descent:
// w -= lr sign(g)), through the protected extension points.
class SignDescent final : public gn::Optimizer<double> {
 public:
  explicit SignDescent(double lr, double weight_decay = 0) : gn::Optimizer<double>(lr, gn::constant_lr(), weight_decay) {}
  std::string name() const override { return "SignDescent"; }

 private:
  N update(const N& param, const N& grad) override {
    slot(param, "seen");  // a slot (unused here), to show it joins state_variables()
    return gn::assign_sub(param, gn::sign(grad) * lr_node());
  }
};

// A subclass that forgets update().
class NoRule final : public gn::Optimizer<double> {
 public:
  NoRule() : gn::Optimizer<double>(0.1, gn::constant_lr(), 0.0) {}
  std::string name() const override { return "NoRule"; }
};

}  // namespace

TEST_CASE("a subclass with its own update(): its name, config and slots; errors for what it cannot do") {
  SignDescent opt(0.25);
  QuadraticProblem p(opt);
  CHECK_CLOSE(p.step(opt, 1), Arr(kW0 - 0.25 * xt::sign(kC + kW0)), kTol);
  std::vector<std::string> names;
  for (const N& v : opt.state_variables()) names.push_back(v.name());
  CHECK(names == std::vector<std::string>{"optimizer/lr", "optimizer/step", "optimizer/W/seen"});
  const gn::OptimizerConfig c = opt.config();
  CHECK(c.kind == "SignDescent");
  CHECK(c.settings == std::map<std::string, double>{{"lr", 0.25}, {"weight_decay", 0.0}});
  CHECK_ERROR(gn::make_optimizer<double>(c), "make_optimizer: unknown optimizer kind 'SignDescent'");

  CHECK_ERROR(SignDescent(-1.0), "optimizer: lr (the learning rate) must be positive, got -1");
  CHECK_ERROR(SignDescent(0.1, -1.0), "optimizer: weight_decay must be >= 0, got -1");
  NoRule none;
  gn::Graph<double> g;
  auto w = g.variable("W", kW0);
  CHECK_ERROR(none.build({w}, gn::gradients(gn::reduce_sum(w * w), {w})),
              "optimizer 'NoRule': no update rule (a subclass must define update())");
}
