// The optimizers' first steps against the update formulas worked out by hand.
// Every case trains one small variable W on loss = reduce_sum(W * C), whose
// gradient is the constant C, so each step's arithmetic can be written out.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <xtensor/xmath.hpp>

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

TEST_CASE("optimizer argument errors") {
  using test::error_of;
  CHECK_ERROR(gn::SGD<double>(-0.1), "learning rate must be positive", "-0.1");
  CHECK_ERROR(gn::SGD<double>(0.0), "learning rate must be positive");
  CHECK_ERROR(gn::Adam<double>(std::nan("")), "learning rate must be positive");
  CHECK_ERROR(gn::SGD<double>(0.1, 1.0), "SGD: momentum must be in [0, 1)", "got 1");
  CHECK_ERROR(gn::SGD<double>(0.1, -0.5), "SGD: momentum must be in [0, 1)");
  CHECK_ERROR(gn::SGD<double>(0.1, 0.0, true), "SGD: Nesterov momentum needs a momentum > 0");
  CHECK_ERROR(gn::SGD<double>(0.1, 0.0, false, -1e-4), "weight decay must be >= 0");
  CHECK_ERROR(gn::Adam<double>(0.1, 1.0), "Adam: betas must be in [0, 1)");
  CHECK_ERROR(gn::Adam<double>(0.1, 0.9, 1.5), "Adam: betas must be in [0, 1)");
  CHECK_ERROR(gn::Adam<double>(0.1, 0.9, 0.999, 0.0), "Adam: epsilon must be positive");
  CHECK_ERROR(gn::RMSProp<double>(0.1, 1.0), "RMSProp: rho must be in [0, 1)");
  CHECK_ERROR(gn::RMSProp<double>(0.1, 0.9, -1.0), "RMSProp: epsilon must be positive");

  gn::Graph<double> g;
  auto w = g.variable("W", kW0);
  auto loss = gn::reduce_sum(w * 2.0);
  gn::SGD<double> opt(0.1);
  CHECK_ERROR(opt.build({w}, {}), "optimizer: 1 parameters but 0 gradients");
  auto not_a_variable = w * 1.0;
  CHECK_ERROR(opt.build({not_a_variable}, gn::gradients(loss, {w})), "apply_sgd", "is not a variable");
}
