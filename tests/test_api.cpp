// The user-facing API as DESIGN.md shows it, compiled and run, and the worked
// loss examples of the textbook (seed 003).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>

using test::Arr;

namespace {

Arr matmul_ref(const Arr& a, const Arr& b) {
  Arr c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < b.shape()[1]; ++j)
      for (std::size_t k = 0; k < a.shape()[1]; ++k) c(i, j) += a(i, k) * b(k, j);
  return c;
}

// A [n, 1] column (a nested braced list of one-element rows is ambiguous for xarray).
Arr column(std::initializer_list<double> values) {
  Arr a = xt::zeros<double>({values.size(), std::size_t{1}});
  std::copy(values.begin(), values.end(), a.begin());
  return a;
}

}  // namespace

TEST_CASE("the DESIGN.md snippet compiles, runs and gives the right numbers") {
  // ---- as in DESIGN.md (W2, b2 and the data are the snippet's free names)
  gn::Graph<double> g;                                  // float and double are both supported
  auto x  = g.placeholder("x", {gn::batch, 2});         // gn::batch: leading dimension fixed at run time
  auto y  = g.placeholder("y", {gn::batch, 1});
  auto W1 = g.variable("W1", xt::xarray<double>{{0.1, 0.2, 0.3, 0.4}, {0.5, 0.6, 0.7, 0.8}});
  auto b1 = g.variable("b1", xt::zeros<double>({4}));
  auto c  = g.constant("c", xt::xarray<double>{2.0});
  auto W2 = g.variable("W2", column({0.3, -0.2, 0.5, 0.1}));
  auto b2 = g.variable("b2", xt::xarray<double>{0.05});
  auto h    = gn::relu(gn::matmul(x, W1) + b1);         // + - * / and unary - on nodes and scalars, numpy broadcasting
  auto pred = gn::matmul(h, W2) + b2;
  auto loss = gn::mse(pred, y);

  std::vector<gn::Node<double>> grads = gn::gradients(loss, {W1, b1, W2, b2});
  auto hess_row = gn::gradients(gn::reduce_sum(grads[0]), {W1});   // the backward graph is differentiable

  const Arr X{{1.0, 2.0}, {2.0, -0.5}, {-1.0, 3.0}, {0.5, 0.5}};
  const Arr Y = column({1.0, 0.0, 2.0, -1.0});
  gn::Session<double> s(g);
  std::vector<xt::xarray<double>> out = s.run({loss, grads[0]}, {{x, X}, {y, Y}});

  // ---- the numbers, from plain xtensor
  const Arr W1v = s.value(W1), W2v = s.value(W2);
  const Arr pre = matmul_ref(X, W1v);
  REQUIRE(xt::amin(xt::abs(pre))() > 0.04);  // away from relu's kink, so the gradient check below is meaningful
  const Arr H = xt::maximum(pre, 0.0);
  const Arr P = matmul_ref(H, W2v) + 0.05;
  const double n = static_cast<double>(P.size());
  CHECK(out[0]() == doctest::Approx(xt::mean(xt::square(P - Y))()).epsilon(1e-14));
  const Arr dP = (P - Y) * (2.0 / n);
  const Arr dH = matmul_ref(dP, Arr(xt::transpose(W2v))) * xt::cast<double>(pre > 0.0);
  CHECK_CLOSE(out[1], matmul_ref(Arr(xt::transpose(X)), dH), 1e-14);
  CHECK_CLOSE(s.run({c})[0], Arr{2.0}, 0);

  // hess_row: d/dW1 of sum(dL/dW1), checked against differences of the first gradient
  CHECK(hess_row[0].shape() == gn::Shape{2, 4});
  test::check_grads(s, gn::reduce_sum(grads[0]), {W1}, {{x, X}, {y, Y}});

  // ---- value and assign
  const Arr value = W1v * 0.5;
  s.assign(W1, value);
  CHECK_CLOSE(s.value(W1), value, 0);
  const Arr P2 = matmul_ref(Arr(xt::maximum(matmul_ref(X, value), 0.0)), W2v) + 0.05;
  CHECK(s.run({loss}, {{x, X}, {y, Y}})[0]() == doctest::Approx(xt::mean(xt::square(P2 - Y))()).epsilon(1e-14));
  s.assign(W1, W1v);

  // ---- custom ops: a forward function and its local derivative, on xtensor expressions
  auto softsign = gn::elementwise<double>("softsign",
      [](const auto& z) { return z / (1.0 + xt::abs(z)); },
      [](const auto& z) { return 1.0 / xt::square(1.0 + xt::abs(z)); });
  auto a = softsign(gn::matmul(x, W1) + b1);
  auto my_loss = gn::custom_loss<double>("exp_loss",                // mean over all elements of f(a, y)
      [](const auto& a, const auto& y) { return y * (xt::exp(1.0 - a) - 1.0) + (1.0 - y) * (xt::exp(a) - 1.0); },
      [](const auto& a, const auto& y) { return -y * xt::exp(1.0 - a) + (1.0 - y) * xt::exp(a); });  // d f / d a
  auto l2 = my_loss(a, y);  // a [batch, 4], y [batch, 1]: the target broadcasts, as in numpy
  const Arr A = pre / (1.0 + xt::abs(pre));
  CHECK_CLOSE(s.run({a}, {{x, X}})[0], A, 1e-15);
  const double expected_l2 = xt::mean(Y * (xt::exp(1.0 - A) - 1.0) + (1.0 - Y) * (xt::exp(A) - 1.0))();
  CHECK(s.run({l2}, {{x, X}, {y, Y}})[0]() == doctest::Approx(expected_l2).epsilon(1e-14));
  // a target that does not broadcast to the prediction is refused, naming both
  auto z3 = g.placeholder("z3", {gn::batch, 3});
  CHECK_ERROR(my_loss(a, z3), "op 'exp_loss'", "[batch, 4]", "'z3' [batch, 3]", "same shape");

  // ---- gradient check: symbolic vs central-difference numerical gradients
  gn::GradCheckReport r = gn::check_gradients(s, loss, {W1, b1, W2, b2}, {{x, X}, {y, Y}});
  CHECK(r.ok);
  CHECK(r.max_relative_error < 1e-6);
  REQUIRE(r.rows.size() == 4);
  CHECK(r.rows[0].variable == "W1");
  CHECK(r.rows[0].shape == gn::Shape{2, 4});
  CHECK(r.rows[0].checked == 8);
  std::ostringstream printed;
  printed << r;   // one row per variable
  CHECK(printed.str().find("W1") != std::string::npos);
  CHECK(printed.str().find("b2") != std::string::npos);
  CHECK(printed.str().find("passed") != std::string::npos);
  gn::GradCheckReport r2 = test::check_grads(s, l2, {W1, b1, W2, b2}, {{x, X}, {y, Y}});
  CHECK(r2.ok);
  CHECK(s.value(W1) == W1v);  // the checker puts every value back

  std::string dot = gn::to_dot(g);              // Graphviz text of forward and backward nodes
  CHECK(!dot.empty());
  CHECK(dot.rfind("digraph", 0) == 0);
  CHECK(dot.find("softsign") != std::string::npos);
  CHECK(dot.find("exp_loss") != std::string::npos);
}

TEST_CASE("the gradient checker catches a wrong gradient") {
  // d/dx of this op is deliberately off by a factor 2: the check must fail
  auto wrong = gn::elementwise<double>("wrong", [](const auto& z) { return xt::square(z); },
                                       [](const auto& z) { return 4.0 * z; });
  gn::Graph<double> g;
  auto W = g.variable("W", Arr{0.5, -1.0, 2.0});
  auto loss = gn::reduce_sum(wrong(W));
  gn::Session<double> s(g);
  gn::GradCheckReport r = gn::check_gradients(s, loss, {W});
  CHECK_FALSE(r.ok);
  CHECK(r.max_relative_error == doctest::Approx(0.5));
  std::ostringstream printed;
  printed << r;
  CHECK(printed.str().find("FAIL") != std::string::npos);
}

TEST_CASE("seed 003: the worked cross-entropy example") {
  // labels [2, 0, 1, 0] and the network outputs y1..y4 of the textbook
  gn::Graph<double> g;
  const Arr probs{{0.1, 0.2, 0.7}, {0.8, 0.1, 0.1}, {0.3, 0.6, 0.1}, {0.1, 0.1, 0.8}};
  const Arr onehot_value{{0.0, 0.0, 1.0}, {1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}};
  auto p = g.variable("p", probs);
  auto ids = g.constant("labels", Arr{2.0, 0.0, 1.0, 0.0});
  auto onehot = g.constant("onehot", onehot_value);
  const double expected = -(std::log(0.7) + std::log(0.8) + std::log(0.6) + std::log(0.1)) / 4;

  auto by_formula = -gn::reduce_mean(gn::reduce_sum(onehot * gn::log(p), 1));        // formula (2)
  auto by_index = gn::sparse_softmax_cross_entropy(gn::log(p), ids);                 // formula (3)
  auto by_onehot = gn::softmax_cross_entropy(gn::log(p), onehot);
  auto made_onehot = gn::one_hot(ids, 3);
  gn::Session<double> s(g);
  auto out = s.run({by_formula, by_index, by_onehot, made_onehot});
  CHECK(std::abs(out[0]() - expected) < 1e-12);
  CHECK(std::abs(out[1]() - expected) < 1e-12);
  CHECK(std::abs(out[2]() - expected) < 1e-12);
  CHECK(expected == doctest::Approx(0.848309).epsilon(1e-6));
  CHECK_CLOSE(out[3], onehot_value, 0);

  // its gradient: -onehot / (N p), where only the labelled entries count
  auto grad = gn::gradients(by_formula, {p})[0];
  CHECK_CLOSE(s.run({grad})[0], Arr(-onehot_value / (4.0 * probs)), 1e-15);
  test::check_grads(s, by_formula, {p});
}

TEST_CASE("seed 003: MSE in the 1/2N form") {
  gn::Graph<double> g;
  const Arr probs{{0.1, 0.2, 0.7}, {0.8, 0.1, 0.1}, {0.3, 0.6, 0.1}, {0.1, 0.1, 0.8}};
  const Arr t{{0.0, 0.0, 1.0}, {1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {1.0, 0.0, 0.0}};
  auto y = g.variable("y", probs);
  auto half = gn::mse(y, g.constant("t", t)) * 0.5;   // sum((y - t)^2) / (2N), N = y.size
  auto grad = gn::gradients(half, {y})[0];            // (y - t) / N
  gn::Session<double> s(g);
  auto out = s.run({half, grad});
  CHECK(out[0]() == doctest::Approx(1.92 / 24).epsilon(1e-14));
  CHECK(out[0]() == doctest::Approx(xt::sum(xt::square(probs - t))() / (2 * 12.0)).epsilon(1e-15));
  CHECK_CLOSE(out[1], Arr((probs - t) / 12.0), 1e-15);
  test::check_grads(s, half, {y});
}
