// Custom ops written the natural ways: on expressions (with xt::eval where an
// `auto` intermediate is returned), on scalars, with captured numbers. Each
// computes the right values and gradients; the dangling forms are refused at
// compile time (tests/compile_fail/, run by meson test).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

using namespace test;

namespace {
Arr swish(const Arr& z) { return z / (1.0 + xt::exp(-z)); }
Arr swish_df(const Arr& z) {
  const Arr s = 1.0 / (1.0 + xt::exp(-z));
  return s + z * s * (1.0 - s);
}

// value and d/dx of reduce_sum(op(x)) through a session
std::pair<Arr, Arr> value_and_grad(const gn::ElementwiseFn<double>& op, const Arr& X) {
  gn::Graph<double> g;
  auto x = g.variable("x", X);
  auto y = op(x);
  gn::Session<double> s(g);
  auto out = s.run({y, gn::gradients(gn::reduce_sum(y), {x})[0]});
  return {out[0], out[1]};
}
}  // namespace

TEST_CASE("swish: on scalars, and on expressions through xt::eval") {
  const Arr X{-3.0, -0.5, 0.0, 0.7, 4.0};
  auto on_scalars = gn::elementwise<double>(
      "swish_scalar", [](double z) { return z / (1.0 + std::exp(-z)); },
      [](double z) {
        const double s = 1.0 / (1.0 + std::exp(-z));  // a local: fine on scalars
        return s + z * s * (1.0 - s);
      });
  auto on_expressions = gn::elementwise<double>(
      "swish_eval", [](const auto& z) { return z / (1.0 + xt::exp(-z)); },
      [](const auto& z) {
        auto s = 1.0 / (1.0 + xt::exp(-z));
        return xt::eval(s + z * s * (1.0 - s));  // evaluated before `s` is gone
      });
  for (const auto* op : {&on_scalars, &on_expressions}) {
    auto [y, dy] = value_and_grad(*op, X);
    CHECK_CLOSE(y, swish(X), 1e-15);
    CHECK_CLOSE(dy, swish_df(X), 1e-15);
  }
  Rng rng(4);
  gn::Graph<double> g;
  auto w = g.variable("w", random(rng, {3, 2}));
  auto loss = gn::reduce_sum(gn::square(on_expressions(w)) + on_scalars(w));
  gn::Session<double> s(g);
  CHECK(check_grads(s, loss, {w}).ok);
}

TEST_CASE("Huber as a custom loss, on scalars and on expressions") {
  const double delta = 1.0;  // a named number in the expression: kept by reference, and alive
  auto on_scalars = gn::custom_loss<double>(
      "huber_scalar",
      [delta](double a, double y) {
        const double r = a - y;
        return std::abs(r) <= delta ? 0.5 * r * r : delta * (std::abs(r) - 0.5 * delta);
      },
      [delta](double a, double y) {
        const double r = a - y;
        return std::abs(r) <= delta ? r : delta * (r > 0 ? 1.0 : -1.0);
      });
  auto on_expressions = gn::custom_loss<double>(
      "huber_eval",
      [delta](const auto& a, const auto& y) {
        auto r = a - y;
        return xt::eval(xt::where(xt::abs(r) <= delta, 0.5 * r * r, delta * (xt::abs(r) - 0.5 * delta)));
      },
      [delta](const auto& a, const auto& y) {
        auto r = a - y;
        return xt::eval(xt::where(xt::abs(r) <= delta, r, delta * xt::sign(r)));
      });
  const Arr P{0.2, 3.0, -2.5, 0.9}, Y{0.0, 0.5, 0.0, 1.2};
  const Arr r = P - Y;
  const double want = xt::mean(xt::where(xt::abs(r) <= 1.0, 0.5 * r * r, xt::abs(r) - 0.5))();
  const Arr want_grad = xt::where(xt::abs(r) <= 1.0, r, xt::sign(r)) / 4.0;
  for (const auto* loss_fn : {&on_scalars, &on_expressions}) {
    gn::Graph<double> g;
    auto p = g.variable("p", P);
    auto loss = (*loss_fn)(p, g.constant("y", Y));
    gn::Session<double> s(g);
    auto out = s.run({loss, gn::gradients(loss, {p})[0]});
    CHECK(out[0]() == doctest::Approx(want).epsilon(1e-15));
    CHECK_CLOSE(out[1], want_grad, 1e-15);
  }
}

TEST_CASE("a captured parameter and a global constant in an expression") {
  const double alpha = 0.3;
  auto scaled = gn::elementwise<double>(
      "scaled_tanh", [alpha](const auto& z) { return alpha * xt::tanh(z); },
      [alpha](const auto& z) { return alpha * (1.0 - xt::square(xt::tanh(z))); });
  auto [y, dy] = value_and_grad(scaled, Arr{-1.0, 0.5});
  CHECK_CLOSE(y, Arr(0.3 * xt::tanh(Arr{-1.0, 0.5})), 1e-15);
  CHECK_CLOSE(dy, Arr(0.3 * (1.0 - xt::square(xt::tanh(Arr{-1.0, 0.5})))), 1e-15);
}

TEST_CASE("custom op names: a second definition under one name is refused unless replaced") {
  auto f = [](double z) { return 2 * z; };
  auto df = [](double) { return 2.0; };
  auto twice = gn::elementwise<double>("twice", f, df);
  auto again = gn::elementwise<double>("twice", f, df);  // the same functions: the same op, fine
  CHECK(again.name() == "twice");
  auto thrice = [](double z) { return 3 * z; };
  auto three = [](double) { return 3.0; };
  CHECK_ERROR(gn::elementwise<double>("twice", thrice, three),
              "a custom op named 'twice' is already defined by other functions", "gn::Redefine::replace");
  auto replaced = gn::elementwise<double>("twice", thrice, three, gn::Redefine::replace);
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{1.0});
  gn::Session<double> s(g);
  CHECK(s.run({replaced(x)})[0]() == 3.0);
  CHECK(s.run({twice(x)})[0]() == 2.0);  // a handle keeps the op it was made with
  CHECK(gn::find_elementwise<double>("twice")->name() == "twice");
}
