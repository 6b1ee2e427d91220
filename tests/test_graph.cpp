// The graph machinery: gradients() semantics and higher orders, the Session
// (plans, assignments, variables, aliasing, buffer reuse), to_dot, and every
// user-facing error message.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <unistd.h>

#include <xtensor/xmath.hpp>

using test::Arr;
using test::N;
using test::Rng;

namespace {

using Build = std::function<N(const gn::Nodes<double>&)>;
using V = const gn::Nodes<double>&;  // the inputs a Build sees

Arr matmul_ref(const Arr& a, const Arr& b) {
  Arr c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < b.shape()[1]; ++j)
      for (std::size_t k = 0; k < a.shape()[1]; ++k) c(i, j) += a(i, k) * b(k, j);
  return c;
}

gn::Dims concrete(const gn::Shape& s) { return gn::Dims(s.begin(), s.end()); }

}  // namespace

// ---------------------------------------------------------------- gradients()

TEST_CASE("gradients: paths through a node add up (fan-out)") {
  gn::Graph<double> g;
  const Arr X{0.5, -1.0, 2.0};
  auto x = g.variable("x", X);
  auto y = x * x + x;  // x used three times
  auto cube = x * x * x;
  auto grads = gn::gradients(gn::reduce_sum(y), {x});
  auto gc = gn::gradients(gn::reduce_sum(cube), {x});
  gn::Session<double> s(g);
  auto out = s.run({grads[0], gc[0]});
  CHECK_CLOSE(out[0], Arr(2.0 * X + 1.0), 0);
  CHECK_CLOSE(out[1], Arr(3.0 * X * X), 1e-15);
}

TEST_CASE("gradients: stop_gradient cuts the path it is on") {
  gn::Graph<double> g;
  const Arr X{0.5, -1.0, 2.0};
  auto x = g.variable("x", X);
  auto y = gn::reduce_sum(x * gn::stop_gradient(x));
  auto only_cut = gn::reduce_sum(gn::exp(gn::stop_gradient(x)));
  auto grads = gn::gradients(y, {x});
  auto none = gn::gradients(only_cut, {x});
  gn::Session<double> s(g);
  auto out = s.run({y, grads[0], none[0]});
  CHECK(out[0]() == doctest::Approx(0.25 + 1 + 4));
  CHECK_CLOSE(out[1], X, 0);                       // not 2x
  CHECK_CLOSE(out[2], Arr(xt::zeros<double>({3})), 0);
}

TEST_CASE("gradients: a non-scalar y is seeded with ones") {
  gn::Graph<double> g;
  const Arr X{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  const Arr Wv{0.5, -1.0, 2.0};
  auto x = g.constant("x", X);
  auto W = g.variable("W", Wv);
  auto y = x * W;  // [2, 3]
  auto grads = gn::gradients(y, {W, x, y});
  gn::Session<double> s(g);
  auto out = s.run({grads[0], grads[1], grads[2]});
  CHECK_CLOSE(out[0], (Arr{5.0, 7.0, 9.0}), 0);  // d sum(y) / dW: column sums of x
  CHECK_CLOSE(out[1], (Arr{{0.5, -1.0, 2.0}, {0.5, -1.0, 2.0}}), 0);
  CHECK_CLOSE(out[2], Arr(xt::ones<double>({2, 3})), 0);
}

TEST_CASE("gradients: an x that y does not depend on gets zeros of its shape") {
  gn::Graph<double> g;
  auto p = g.placeholder("p", {gn::batch, 3});
  auto W = g.variable("W", Arr{1.0, 2.0, 3.0});
  auto V = g.variable("V", Arr(xt::ones<double>({2, 5})));
  auto y = gn::reduce_sum(W * 2.0);
  auto later = g.variable("later", Arr{1.0, 1.0});  // made after y
  auto grads = gn::gradients(y, {V, p, later, W});
  CHECK(grads[0].shape() == gn::Shape{2, 5});
  CHECK(grads[1].shape() == gn::Shape{gn::batch, 3});
  CHECK(grads[2].shape() == gn::Shape{2});
  gn::Session<double> s(g);
  const Arr P = xt::ones<double>({4, 3});
  auto out = s.run({grads[0], grads[1], grads[2], grads[3]}, {{p, P}});
  CHECK_CLOSE(out[0], Arr(xt::zeros<double>({2, 5})), 0);
  CHECK_CLOSE(out[1], Arr(xt::zeros<double>({4, 3})), 0);
  CHECK_CLOSE(out[2], Arr(xt::zeros<double>({2})), 0);
  CHECK_CLOSE(out[3], (Arr{2.0, 2.0, 2.0}), 0);
}

TEST_CASE("gradients: gradients of gradients") {
  gn::Graph<double> g;
  const Arr X{0.5, -1.0, 2.0};
  auto x = g.variable("x", X);
  auto y = gn::reduce_sum(x * x * x);
  auto g1 = gn::gradients(y, {x})[0];                   // 3x^2
  auto g2 = gn::gradients(gn::reduce_sum(g1), {x})[0];  // 6x
  auto g3 = gn::gradients(gn::reduce_sum(g2), {x})[0];  // 6
  auto g4 = gn::gradients(gn::reduce_sum(g3), {x})[0];  // 0
  gn::Session<double> s(g);
  auto out = s.run({g1, g2, g3, g4});
  CHECK_CLOSE(out[0], Arr(3.0 * X * X), 1e-15);
  CHECK_CLOSE(out[1], Arr(6.0 * X), 1e-15);
  CHECK_CLOSE(out[2], (Arr{6.0, 6.0, 6.0}), 1e-15);
  CHECK_CLOSE(out[3], Arr(xt::zeros<double>({3})), 0);
}

namespace {
// The second derivative of `f` against numerical differences of the first:
// g1 = gradients(reduce_sum(f * R1), vars), loss2 = sum_i reduce_sum(g1[i] * R2_i),
// then check_gradients(loss2, vars).
void second_order(Rng& rng, const std::vector<Arr>& values, const Build& f) {
  gn::Graph<double> g;
  gn::Nodes<double> vars;
  for (std::size_t i = 0; i < values.size(); ++i) vars.push_back(g.variable("v" + std::to_string(i), values[i]));
  const N out = f(vars);
  INFO("op " << out.op_type());
  const N loss = gn::reduce_sum(out * g.constant("R1", test::random_away(rng, concrete(out.shape()), 0.5, 1.5)));
  const gn::Nodes<double> g1 = gn::gradients(loss, vars);
  N loss2;
  for (std::size_t i = 0; i < vars.size(); ++i) {
    const Arr R2 = test::random_away(rng, test::dims_of(values[i]), 0.5, 1.5);
    const N term = gn::reduce_sum(g1[i] * g.constant("R2_" + std::to_string(i), R2));
    loss2 = loss2.valid() ? loss2 + term : term;
  }
  gn::Session<double> s(g);
  test::check_grads(s, loss2, vars);
}
}  // namespace

TEST_CASE("gradients: second derivatives match numerical differences of the first") {
  Rng rng(41);
  for (int trial = 0; trial < 3; ++trial) {
    const std::size_t r = test::dim(rng, 2), c = test::dim(rng, 2), k = test::dim(rng, 2);
    const gn::Dims d{r, c};
    second_order(rng, {test::random(rng, d, -2, 2)}, [](V v) { return gn::tanh(v[0]); });
    second_order(rng, {test::random(rng, d, -3, 3)}, [](V v) { return gn::sigmoid(v[0]); });
    second_order(rng, {test::random(rng, d, -2, 2)}, [](V v) { return gn::exp(v[0]); });
    second_order(rng, {test::random(rng, d, 0.3, 3)}, [](V v) { return gn::log(v[0]); });
    second_order(rng, {test::random(rng, d, -2, 2), test::random(rng, d, -2, 2)},
                 [](V v) { return v[0] * v[0] * v[1]; });
    second_order(rng, {test::random(rng, d, -2, 2), test::random(rng, {c}, -2, 2)},
                 [](V v) { return v[0] * v[1] * v[1]; });  // broadcast mul
    for (int flags = 0; flags < 4; ++flags) {
      const bool ta = flags & 1, tb = flags & 2;
      INFO("transpose_a " << ta << " transpose_b " << tb);
      const Arr a = test::random(rng, ta ? gn::Dims{k, r} : gn::Dims{r, k});
      const Arr b = test::random(rng, tb ? gn::Dims{c, k} : gn::Dims{k, c});
      second_order(rng, {a, b}, [=](V v) { return gn::square(gn::matmul(v[0], v[1], ta, tb)); });
    }
    // the fused activation gradients (relu_grad, tanh_grad, sigmoid_grad) in both of their inputs:
    // the factor v1 makes the incoming gradient depend on a variable too
    const Arr away = test::random_away(rng, d, 0.1, 2), other = test::random(rng, d, -2, 2);
    second_order(rng, {away, other}, [](V v) { return gn::relu(v[0]) * v[1]; });
    second_order(rng, {away, other}, [](V v) { return gn::leaky_relu(v[0], 0.2) * v[1]; });
    second_order(rng, {away, other}, [](V v) { return gn::tanh(v[0]) * v[1]; });
    second_order(rng, {away, other}, [](V v) { return gn::sigmoid(v[0]) * v[1]; });
    second_order(rng, {away, other}, [](V v) { return gn::abs(v[0]) * v[1]; });
    // more of the gradient rules written with graph ops
    second_order(rng, {test::random(rng, d, 0.3, 3)}, [](V v) { return gn::sqrt(v[0]); });
    second_order(rng, {test::random(rng, d, 0.3, 3)}, [](V v) { return gn::pow(v[0], -1.5); });
    second_order(rng, {test::random(rng, d, -2, 2), test::random_away(rng, d, 0.5, 2)},
                 [](V v) { return v[0] / v[1]; });
    second_order(rng, {test::random(rng, d, -3, 3)}, [](V v) { return gn::softplus(v[0]); });
    second_order(rng, {test::random(rng, d, -3, 3)}, [](V v) { return gn::softmax(v[0]); });
    second_order(rng, {test::random(rng, d, -3, 3)}, [](V v) { return gn::log_softmax(v[0]); });
    second_order(rng, {test::random(rng, d, -2, 2)}, [](V v) { return gn::square(gn::reduce_mean(v[0], -1)); });
    const gn::Shape flipped{static_cast<std::int64_t>(c), static_cast<std::int64_t>(r)};
    second_order(rng, {test::random(rng, d, -2, 2)},
                 [&](V v) { return gn::tanh(gn::transpose(gn::reshape(v[0], flipped))); });
    second_order(rng, {test::random(rng, d, -2, 2), test::random(rng, d, 0, 1)},
                 [](V v) { return gn::mse(gn::tanh(v[0]), v[1]); });
    second_order(rng, {test::random(rng, d, -3, 3), test::random(rng, d, 0, 1)},
                 [](V v) { return gn::sigmoid_cross_entropy(v[0], v[1]); });
    second_order(rng, {test::random(rng, d, -3, 3), test::random(rng, d, 0, 1)},
                 [](V v) { return gn::softmax_cross_entropy(v[0], v[1]); });
    second_order(rng, {test::random(rng, d, -3, 3)}, [&](V v) {
      Arr ids = xt::zeros<double>({r});
      for (auto& id : ids) id = static_cast<double>(std::uniform_int_distribution<std::size_t>(0, c - 1)(rng));
      return gn::sparse_softmax_cross_entropy(v[0], v[0].graph()->constant("ids", ids));
    });
  }
}

// ---------------------------------------------------------------- Session

TEST_CASE("session: a plan per fetch set and batch size, compiled once") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto W = g.variable("W", Arr{{1.0, 2.0}, {3.0, 4.0}});
  auto h = gn::matmul(x, W);
  auto loss = gn::reduce_mean(h);
  gn::Session<double> s(g);
  CHECK(s.plan_count() == 0);
  const Arr X4 = xt::ones<double>({4, 2}), X3 = xt::ones<double>({3, 2});
  CHECK(s.run({loss}, {{x, X4}})[0]() == doctest::Approx(5.0));
  CHECK(s.plan_count() == 1);
  CHECK(s.run({loss}, {{x, X3}})[0]() == doctest::Approx(5.0));  // the last, smaller batch re-plans once
  CHECK(s.plan_count() == 2);
  auto out = s.run({loss, h}, {{x, X4}});  // back to 4: cached plan for loss, a new fetch set for {loss, h}
  CHECK(s.plan_count() == 3);
  CHECK(out[1].shape()[0] == 4);
  s.run({loss}, {{x, X4}});
  s.run({loss}, {{x, X3}});
  s.run({loss, h}, {{x, X4}});
  CHECK(s.plan_count() == 3);
  s.run({h, loss}, {{x, X4}});  // order matters to the outputs: another plan
  CHECK(s.plan_count() == 4);

  // the vector form reuses arrays already of the right shape
  std::vector<Arr> reuse;
  s.run({loss, h}, {{x, X4}}, reuse);
  const double* kept = reuse[1].data();
  s.run({loss, h}, {{x, X4}}, reuse);
  CHECK(reuse[1].data() == kept);
  s.run({loss, h}, {{x, X3}}, reuse);
  CHECK(reuse[1].shape()[0] == 3);
}

TEST_CASE("session: assignments run after every read of the run (SGD step)") {
  Rng rng(42);
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 3});
  auto y = g.placeholder("y", {gn::batch, 2});
  auto W1 = g.variable("W1", test::random(rng, {3, 4}));
  auto W2 = g.variable("W2", test::random(rng, {4, 2}));
  auto loss = gn::mse(gn::matmul(gn::tanh(gn::matmul(x, W1)), W2), y);
  auto grads = gn::gradients(loss, {W1, W2});  // grads[0] reads W2
  const double lr = 0.1;
  // W2's update is made (and fetched) first: it must still not disturb W1's gradient
  auto u2 = gn::assign_sub(W2, grads[1] * lr);
  auto u1 = gn::assign_sub(W1, grads[0] * lr);
  const Arr X = test::random(rng, {5, 3}), Y = test::random(rng, {5, 2});

  gn::Session<double> ref(g);
  auto before = ref.run({grads[0], grads[1], loss}, {{x, X}, {y, Y}});
  const Arr W1_old = ref.value(W1), W2_old = ref.value(W2);

  gn::Session<double> s(g);
  auto out = s.run({u2, u1, loss}, {{x, X}, {y, Y}});
  const Arr W1_new = W1_old - before[0] * lr, W2_new = W2_old - before[1] * lr;
  CHECK_CLOSE(out[0], W2_new, 0);
  CHECK_CLOSE(out[1], W1_new, 0);
  CHECK_CLOSE(out[2], before[2], 0);  // the loss of this run is from the old weights
  CHECK_CLOSE(s.value(W1), W1_new, 0);
  CHECK_CLOSE(s.value(W2), W2_new, 0);
  CHECK_CLOSE(ref.value(W1), W1_old, 0);  // the other session did not move

  // assign and assign_add, and a broadcast value
  auto b = g.variable("b", Arr{1.0, 2.0});
  auto set = gn::assign(b, g.scalar(5.0));
  auto inc = gn::assign_add(b, g.constant("d", Arr{0.5, -0.5}));
  CHECK_CLOSE(s.run({set})[0], (Arr{5.0, 5.0}), 0);
  CHECK_CLOSE(s.run({inc})[0], (Arr{5.5, 4.5}), 0);
  CHECK_CLOSE(s.run({inc})[0], (Arr{6.0, 4.0}), 0);
  CHECK_CLOSE(s.value(b), (Arr{6.0, 4.0}), 0);
}

TEST_CASE("session: value, assign and variable_data; sessions keep their own values") {
  gn::Graph<double> g;
  const Arr init{{1.0, 2.0}, {3.0, 4.0}};
  auto W = g.variable("W", init);
  auto y = gn::reduce_sum(W * 2.0);
  gn::Session<double> s1(g), s2(g);
  CHECK(s1.run({y})[0]() == 20.0);  // plan compiled before the assign below
  const Arr next{{0.5, 0.5}, {0.5, 0.5}};
  s1.assign(W, next);
  CHECK_CLOSE(s1.value(W), next, 0);
  CHECK(s1.run({y})[0]() == 4.0);  // the compiled plan sees the new value
  s1.variable_data(W)[3] = 10.0;
  CHECK(s1.run({y})[0]() == 23.0);
  CHECK_CLOSE(s2.value(W), init, 0);
  CHECK(s2.run({y})[0]() == 20.0);
  s2.assign(W, init * 3.0);
  CHECK(s1.value(W)(1, 1) == 10.0);
  CHECK(s2.run({y})[0]() == 60.0);
  CHECK(&s1.graph() == &g);
}

TEST_CASE("session: fetching placeholders, variables and constants") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto fixed = g.placeholder("fixed", {3});
  auto W = g.variable("W", Arr{1.0, 2.0});
  auto c = g.constant("c", Arr{{7.0, 8.0}});
  auto k = g.scalar(2.5);
  gn::Session<double> s(g);
  const Arr X{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, F{9.0, 8.0, 7.0};
  auto out = s.run({x, W, c, k, fixed}, {{x, X}, {fixed, F}});
  CHECK_CLOSE(out[0], X, 0);
  CHECK_CLOSE(out[1], (Arr{1.0, 2.0}), 0);
  CHECK_CLOSE(out[2], (Arr{{7.0, 8.0}}), 0);
  CHECK_CLOSE(out[3], Arr(2.5), 0);
  CHECK_CLOSE(out[4], F, 0);
  auto none = s.run({});
  CHECK(none.empty());
  // a node named by find()
  CHECK(g.find("W") == W);
  CHECK(g.variables() == gn::Nodes<double>{W});
}

TEST_CASE("session: aliases (reshape, stop_gradient, expand_dims) and their inputs agree") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 6});
  auto h = x * 2.0;
  auto r = gn::reshape(h, {gn::batch, 2, 3});
  auto sg = gn::stop_gradient(h);
  auto e = gn::expand_dims(sg, 0);
  auto after = gn::reduce_sum(r, 1) + 1.0;     // reads the alias after h's last direct use
  auto rx = gn::reshape(gn::reshape(x, {gn::batch, 3, 2}), {gn::batch, 6});  // alias of an alias of a feed
  gn::Session<double> s(g);
  Arr X1 = xt::zeros<double>({2, 6});
  for (std::size_t i = 0; i < X1.size(); ++i) X1.data()[i] = static_cast<double>(i);
  auto out = s.run({r, h, sg, e, after, rx}, {{x, X1}});
  Arr R1 = X1 * 2.0;
  R1.reshape({2, 2, 3});
  CHECK_CLOSE(out[0], R1, 0);
  CHECK_CLOSE(out[1], Arr(X1 * 2.0), 0);
  CHECK_CLOSE(out[2], Arr(X1 * 2.0), 0);
  CHECK(out[3].shape() == std::vector<std::size_t>{1, 2, 6});
  CHECK_CLOSE(Arr(xt::sum(out[3])), Arr(xt::sum(X1 * 2.0)), 0);
  CHECK_CLOSE(out[4], Arr(xt::sum(R1, {1}) + 1.0), 0);
  CHECK_CLOSE(out[5], X1, 0);
  // another feed array, same shape: aliases of the placeholder follow it
  const Arr X2 = X1 + 100.0;
  out = s.run({rx, after}, {{x, X2}});
  CHECK_CLOSE(out[0], X2, 0);
  Arr R2 = X2 * 2.0;
  R2.reshape({2, 2, 3});
  CHECK_CLOSE(out[1], Arr(xt::sum(R2, {1}) + 1.0), 0);
  // fetching only the alias, and the alias of a variable
  auto W = g.variable("W", Arr{1.0, 2.0, 3.0, 4.0});
  auto rw = gn::reshape(W, {2, 2});
  CHECK_CLOSE(s.run({rw})[0], (Arr{{1.0, 2.0}, {3.0, 4.0}}), 0);
  s.assign(W, Arr{4.0, 3.0, 2.0, 1.0});
  CHECK_CLOSE(s.run({rw})[0], (Arr{{4.0, 3.0}, {2.0, 1.0}}), 0);
}

TEST_CASE("session: element_function equals a full run with the element changed") {
  Rng rng(29);
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      gn::Graph<double> g;
      const std::size_t m = test::dim(rng, 2, 6), k = test::dim(rng, 2, 6), n = test::dim(rng, 2, 6);
      auto x = g.placeholder("x", {gn::batch, std::int64_t(k)});
      auto A = g.variable("A", test::random(rng, ta ? std::vector<std::size_t>{k, m} : std::vector<std::size_t>{m, k}));
      auto B = g.variable("B", test::random(rng, tb ? std::vector<std::size_t>{n, k} : std::vector<std::size_t>{k, n}));
      auto c = g.variable("c", test::random(rng, {n}));
      auto prod = gn::matmul(A, B, ta, tb);             // A and B each read once: patched
      auto twice = gn::matmul(B, B, !tb, tb);            // B read twice: recomputed
      auto through_alias = gn::reshape(c, {1, std::int64_t(n)}) * 3.0;  // c through a reshape
      auto y = gn::reduce_sum(gn::tanh(prod + c) + through_alias) + gn::reduce_mean(twice) +
               gn::reduce_sum(gn::matmul(x, A, false, !ta));  // a second reader of A, as the right operand
      const Arr X = test::random(rng, {3, k});
      gn::Session<double> s(g);
      for (const N& v : {A, B, c}) {
        auto f = gn::element_function(s, y, v, {{x, X}});
        const Arr before = s.value(v);
        CHECK(f.size() == before.size());
        for (std::size_t i = 0; i < before.size(); ++i)
          for (const double d : {0.25, -1.5}) {
            const double got = f(i, before.flat(i) + d);
            CHECK(s.value(v) == before);  // restored after the call
            Arr changed = before;
            changed.flat(i) += d;
            s.assign(v, changed);
            const double full = s.run({y}, {{x, X}})[0]();
            s.assign(v, before);
            CHECK(std::abs(got - full) <= 1e-12 * std::max(1.0, std::abs(full)));
          }
        CHECK(f(0, before.flat(0)) == doctest::Approx(s.run({y}, {{x, X}})[0]()).epsilon(1e-14));
      }
    }
}

TEST_CASE("session: element_function through a two-layer network and every broadcast layout") {
  // Changes spread from one element to a column, then to every element (the
  // second product reports all of them), through biases of each layout: a
  // row vector, a column [rows, 1] (the general broadcast), a scalar.
  Rng rng(31);
  gn::Graph<double> g;
  const std::size_t rows = 7, in = 5, hidden = 6, out = 5;  // a column of 7 is under a quarter of h: listed, not dense
  auto x = g.placeholder("x", {std::int64_t(rows), std::int64_t(in)});  // fixed rows: `col` broadcasts against them
  auto t = g.placeholder("t", {std::int64_t(rows), std::int64_t(out)});
  auto W1 = g.variable("W1", test::random(rng, {in, hidden}));
  auto b1 = g.variable("b1", test::random(rng, {hidden}));
  auto W2 = g.variable("W2", test::random(rng, {hidden, out}));
  auto b2 = g.variable("b2", test::random(rng, {out}));
  auto col = g.variable("col", test::random(rng, {rows, 1}));
  auto scale = g.variable("scale", test::random(rng, {}));
  auto h = gn::sigmoid(gn::matmul(x, W1) + b1);
  auto logits = (gn::matmul(h, W2) + b2) * scale - col;
  auto y = gn::softmax_cross_entropy(logits, t) + gn::reduce_mean(gn::log_softmax(logits));
  const Arr X = test::random(rng, {rows, in});
  Arr T = xt::zeros<double>({rows, out});
  for (std::size_t r = 0; r < rows; ++r) T(r, r % out) = 1;
  gn::Session<double> s(g);
  for (const N& v : {W1, b1, W2, b2, col, scale}) {
    CAPTURE(v.name());
    auto f = gn::element_function(s, y, v, {{x, X}, {t, T}});
    const Arr before = s.value(v);
    for (std::size_t i = 0; i < before.size(); ++i) {
      const double got = f(i, before.flat(i) + 0.125);
      Arr changed = before;
      changed.flat(i) += 0.125;
      s.assign(v, changed);
      const double full = s.run({y}, {{x, X}, {t, T}})[0]();
      s.assign(v, before);
      CHECK(std::abs(got - full) <= 1e-13 * std::max(1.0, std::abs(full)));
    }
  }
}

TEST_CASE("session: element_function of a variable the fetch does not read is constant") {
  gn::Graph<double> g;
  auto a = g.variable("a", Arr{1.0, 2.0});
  auto unused = g.variable("unused", Arr{5.0});
  auto y = gn::reduce_sum(a * a);
  gn::Session<double> s(g);
  auto f = gn::element_function(s, y, unused);
  CHECK(f(0, 100.0) == 5.0);
  auto fa = gn::element_function(s, y, a);
  CHECK(fa(1, 3.0) == 10.0);
  CHECK(fa(0, -2.0) == 8.0);
}

TEST_CASE("session: buffer reuse on a deep chain gives the values of plain xtensor") {
  Rng rng(43);
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 4});
  const std::size_t depth = 24;
  std::vector<Arr> A, B, C;
  gn::Nodes<double> hs{x}, vars;
  for (std::size_t i = 0; i < depth; ++i) {
    A.push_back(test::random(rng, {4, 8}, -0.5, 0.5));
    B.push_back(test::random(rng, {8, 4}, -0.5, 0.5));
    C.push_back(test::random(rng, {8}, -0.5, 0.5));
    auto a = g.variable("A" + std::to_string(i), A.back());
    auto b = g.variable("B" + std::to_string(i), B.back());
    auto c = g.variable("C" + std::to_string(i), C.back());
    vars.insert(vars.end(), {a, b, c});
    const N& h = hs.back();
    N next = gn::matmul(gn::tanh(gn::matmul(h, a) + c), b) * 0.5 + h;
    if (i >= 3) next = next + hs[i - 3] * 0.1;  // long-lived buffers next to short-lived ones
    hs.push_back(gn::reshape(gn::transpose(gn::transpose(next)), {gn::batch, 4}));
  }
  auto loss = gn::reduce_mean(gn::square(hs.back()));
  auto grads = gn::gradients(loss, vars);

  const Arr X = test::random(rng, {5, 4});
  std::vector<Arr> ref{X};
  for (std::size_t i = 0; i < depth; ++i) {
    Arr next = matmul_ref(Arr(xt::tanh(matmul_ref(ref.back(), A[i]) + C[i])), B[i]) * 0.5 + ref.back();
    if (i >= 3) next = next + ref[i - 3] * 0.1;
    ref.push_back(next);
  }
  gn::Session<double> s(g);
  auto out = s.run({loss, hs[depth / 2], hs.back()}, {{x, X}});
  CHECK_CLOSE(out[0], Arr(xt::mean(xt::square(ref.back()))), 1e-13);
  CHECK_CLOSE(out[1], ref[depth / 2], 1e-13);
  CHECK_CLOSE(out[2], ref.back(), 1e-13);

  // the gradients with every buffer planned for reuse equal those with every node fetched (nothing reused)
  gn::Nodes<double> fetch_all;
  for (std::size_t id = 0; id < g.size(); ++id) fetch_all.push_back(g.node(static_cast<int>(id)));
  auto all = s.run(fetch_all, {{x, X}});
  auto lean = s.run(grads, {{x, X}});
  for (std::size_t i = 0; i < grads.size(); ++i) {
    INFO("gradient of " << vars[i].name());
    CHECK_CLOSE(lean[i], all[grads[i].id()], 0);
  }
  // and the numbers themselves are right (a sample of elements per variable)
  gn::GradCheckOptions opt;
  opt.samples = 3;
  opt.seed = 7;
  gn::GradCheckReport r = gn::check_gradients(s, loss, {vars[0], vars[4], vars[vars.size() - 1]}, {{x, X}}, opt);
  CHECK(r.ok);
  CHECK(r.max_relative_error < 1e-6);
}

// ---------------------------------------------------------------- to_dot

TEST_CASE("to_dot: forward and gradient nodes, valid Graphviz") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto W1 = g.variable("W1", Arr{{0.1, 0.2}, {0.3, 0.4}});
  auto c = g.constant("c\"quoted\"", Arr{1.0, 2.0});
  auto loss = gn::reduce_mean(gn::relu(gn::matmul(x, W1) + c));
  const std::string forward_only = gn::to_dot(g);
  CHECK(forward_only.find("#ffd8a8") == std::string::npos);
  auto grads = gn::gradients(loss, {W1});
  gn::assign_sub(W1, grads[0] * 0.1);
  const std::string dot = gn::to_dot(g);
  CHECK(dot.rfind("digraph", 0) == 0);
  CHECK(dot.find("W1") != std::string::npos);
  CHECK(dot.find("matmul") != std::string::npos);
  CHECK(dot.find(loss.name()) != std::string::npos);
  CHECK(dot.find("grad/") != std::string::npos);
  CHECK(dot.find(grads[0].name()) != std::string::npos);
  CHECK(dot.find("#ffd8a8") != std::string::npos);   // backward fill
  CHECK(dot.find("#cfe2ff") != std::string::npos);   // forward fill
  CHECK(dot.find("style=dashed") != std::string::npos);
  CHECK(dot.find("assign_sub") != std::string::npos);
  CHECK(dot.find("c\\\"quoted\\\"") != std::string::npos);
  CHECK(dot.substr(dot.size() - 2) == "}\n");
  // every node is declared once, and every edge joins declared nodes
  std::size_t nodes = 0, edges = 0;
  std::istringstream lines(dot);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  n", 0) != 0 || !std::isdigit(static_cast<unsigned char>(line[3]))) continue;
    if (line.find(" -> ") != std::string::npos) {
      const int from = std::stoi(line.substr(3)), to = std::stoi(line.substr(line.find(" -> n") + 5));
      CHECK(from < to);
      CHECK(static_cast<std::size_t>(to) < g.size());
      ++edges;
    } else {
      CHECK(std::stoi(line.substr(3)) == static_cast<int>(nodes));
      ++nodes;
    }
  }
  std::size_t inputs = 0;
  for (std::size_t id = 0; id < g.size(); ++id) inputs += g.data(id).inputs.size();
  CHECK(nodes == g.size());
  CHECK(edges == inputs);
  // Graphviz itself accepts it, when installed
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    char path[] = "/tmp/graphnn_test_dot_XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    std::ofstream(path) << dot;
    CHECK(std::system(("dot -Tcanon " + std::string(path) + " >/dev/null 2>&1").c_str()) == 0);
    std::remove(path);
  }
}

// ---------------------------------------------------------------- errors

TEST_CASE("errors: shapes are checked when a node is made") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto a = g.variable("a", Arr(xt::zeros<double>({2, 3})));
  auto b = g.variable("b", Arr(xt::zeros<double>({4})));
  auto W = g.variable("W", Arr(xt::zeros<double>({3, 4})));
  auto cube = g.variable("cube", Arr(xt::zeros<double>({2, 3, 4})));
  auto y1 = g.placeholder("y1", {gn::batch, 1});
  CHECK_ERROR(a + b, "op 'add'", "'a' [2, 3]", "'b' [4]", "do not broadcast");
  CHECK_ERROR(x * b, "op 'mul'", "'x' [batch, 2]", "'b' [4]", "do not broadcast");
  CHECK_ERROR(gn::maximum(a, W), "op 'maximum'", "'a' [2, 3]", "'W' [3, 4]");
  CHECK_ERROR(gn::matmul(x, W), "op 'matmul'", "'x' [batch, 2]", "'W' [3, 4]", "inner dimensions differ ([2] vs [3])");
  CHECK_ERROR(gn::matmul(W, x, true, true), "op 'matmul'", "transpose_a=1, transpose_b=1",
              "inner dimensions differ ([3] vs [2])");
  CHECK_ERROR(gn::matmul(cube, W), "op 'matmul'", "'cube' [2, 3, 4]", "2-D");
  CHECK_ERROR(gn::matmul(b, W), "op 'matmul'", "'b' [4]", "2-D");
  CHECK_ERROR(gn::mse(x, y1), "op 'mse'", "'x' [batch, 2]", "'y1' [batch, 1]", "same shape");
  CHECK_ERROR(gn::binary_cross_entropy(x, y1), "op 'binary_cross_entropy'", "'x' [batch, 2]", "'y1' [batch, 1]");
  CHECK_ERROR(gn::sigmoid_cross_entropy(x, y1), "op 'sigmoid_cross_entropy'", "'x' [batch, 2]", "'y1' [batch, 1]");
  CHECK_ERROR(gn::softmax_cross_entropy(x, y1), "op 'softmax_cross_entropy'", "'x' [batch, 2]", "'y1' [batch, 1]",
              "same shape");
  CHECK_ERROR(gn::softmax_cross_entropy(cube, cube), "op 'softmax_cross_entropy'", "'cube' [2, 3, 4]", "2-D");
  CHECK_ERROR(gn::sparse_softmax_cross_entropy(a, b), "op 'sparse_softmax_cross_entropy'", "'a' [2, 3]", "'b' [4]",
              "class ids");
  CHECK_ERROR(gn::reshape(a, {4, 2}), "op 'reshape'", "dims=[4, 2]", "'a' [2, 3]", "cannot reshape [2, 3] into [4, 2]");
  CHECK_ERROR(gn::reshape(x, {4, 2}), "op 'reshape'", "'x' [batch, 2]", "batch");
  CHECK_ERROR(gn::reshape(a, {gn::batch, 6}), "op 'reshape'", "'a' [2, 3]", "no batch dimension");
  CHECK_ERROR(gn::reduce_sum(a, 2), "op 'reduce_sum'", "axis=2", "'a' [2, 3]", "axis 2 is out of range for rank 2");
  CHECK_ERROR(gn::reduce_mean(a, -3), "op 'reduce_mean'", "axis=-3", "'a' [2, 3]", "out of range");
  CHECK_ERROR(gn::expand_dims(a, 3), "op 'expand_dims'", "'a' [2, 3]", "out of range");
  CHECK_ERROR(gn::softmax(g.scalar(1.0)), "op 'softmax'", "[]", "axis");
  CHECK_ERROR(gn::sum_to(b, a), "op 'sum_to'", "'b' [4]", "'a' [2, 3]");
  CHECK_ERROR(gn::one_hot(a, 3), "op 'one_hot'", "'a' [2, 3]");
  CHECK_ERROR(gn::clip(a, 1.0, -1.0), "op 'clip'", "greater than");
  CHECK_ERROR(gn::assign(W, cube * 1.0), "op 'assign'", "'W' [3, 4]", "value [2, 3, 4] does not fit variable [3, 4]");
  CHECK_ERROR(gn::assign(x, x), "op 'assign'", "'x' [batch, 2]", "not a variable");
  auto step = gn::assign_add(b, b);
  CHECK_ERROR(step + 1.0, "'" + step.name() + "'", "is an assignment");
  CHECK_ERROR(g.placeholder("p", {2, gn::batch}), "placeholder 'p' [2, batch]", "leading dimension");
  CHECK_ERROR(g.placeholder("q", {2, -3}), "placeholder 'q'", "negative dimension");
  CHECK_ERROR(g.variable("", Arr{1.0}), "variable", "name");
  CHECK_ERROR(g.find("nope"), "no node named 'nope'");
}

TEST_CASE("errors: duplicate node names") {
  gn::Graph<double> g;
  g.variable("W", Arr{1.0});
  CHECK_ERROR(g.variable("W", Arr{2.0}), "a node named 'W' already exists");
  CHECK_ERROR(g.placeholder("W", {1}), "a node named 'W' already exists");
  CHECK_ERROR(g.constant("W", Arr{1.0}), "a node named 'W' already exists");
  auto x = g.placeholder("x", {2});
  auto y = gn::exp(x);
  CHECK_ERROR(g.placeholder(y.name(), {1}), "a node named '" + y.name() + "' already exists");
  // generated names never collide with user names taken first
  g.variable("exp_4", Arr{1.0});
  auto z = gn::exp(x);
  CHECK(z.name() != "exp_4");
}

TEST_CASE("errors: feeds are checked when the graph is run") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto y = g.placeholder("y", {gn::batch, 1});
  auto fixed = g.placeholder("fixed", {3});
  auto W = g.variable("W", Arr(xt::ones<double>({2, 1})));
  auto loss = gn::mse(gn::matmul(x, W), y);
  gn::Session<double> s(g);
  const Arr X = xt::ones<double>({4, 2}), Y = xt::ones<double>({4, 1}), Y3 = xt::ones<double>({3, 1});
  const Arr bad = xt::ones<double>({3, 3}), flat = xt::ones<double>({8});
  CHECK_ERROR(s.run({loss}, {{x, X}}), "run: placeholder 'y' [batch, 1] is needed by the fetches but was not fed");
  CHECK_ERROR(s.run({loss}), "placeholder 'x' [batch, 2]", "not fed");
  CHECK_ERROR(s.run({loss}, {{x, bad}, {y, Y}}), "run: feed for placeholder 'x' [batch, 2] has shape [3, 3]");
  CHECK_ERROR(s.run({loss}, {{x, flat}, {y, Y}}), "'x' [batch, 2]", "has shape [8]");
  CHECK_ERROR(s.run({fixed}, {{fixed, flat}}), "'fixed' [3]", "has shape [8]");
  CHECK_ERROR(s.run({loss}, {{x, X}, {y, Y3}}), "feeds disagree on the batch size", "'x' has 4", "'y' has 3");
  CHECK_ERROR(s.run({loss}, {{x, X}, {y, Y}, {W, X}}), "run: 'W' [2, 1] is a variable, not a placeholder");
  CHECK_ERROR(s.run({loss}, {{x, X}, {y, Y}, {loss, X}}), "'" + loss.name() + "' []", "not a placeholder");
  // the session still works after every refusal
  CHECK(s.run({loss}, {{x, X}, {y, Y}})[0]() == 1.0);  // (1 + 1 - 1)^2
}

TEST_CASE("errors: nodes of another graph, and empty nodes") {
  gn::Graph<double> g1, g2;
  auto a = g1.variable("a", Arr{1.0, 2.0});
  auto b = g2.variable("b", Arr{1.0, 2.0});
  auto xb = g2.placeholder("xb", {2});
  auto la = gn::reduce_sum(a * a);
  CHECK_ERROR(a + b, "op 'add'", "node 'b' belongs to another graph");
  CHECK_ERROR(gn::matmul(a, b), "op 'matmul'", "'b' belongs to another graph");
  gn::Session<double> s1(g1);
  CHECK_ERROR(s1.run({b}), "run", "'b' belongs to another graph");
  const Arr X{1.0, 2.0};
  CHECK_ERROR(s1.run({la}, {{xb, X}}), "run", "'xb' belongs to another graph");
  CHECK_ERROR(gn::gradients(la, {b}), "gradients", "'b' belongs to another graph");
  CHECK_ERROR(s1.value(b), "value", "'b' belongs to another graph");
  CHECK_ERROR(s1.assign(b, X), "assign", "'b' belongs to another graph");
  CHECK_ERROR(gn::gradients(N(), {a}), "gradients: y is an empty node");
  CHECK_ERROR(gn::gradients(la, {N()}), "gradients", "empty node");
  CHECK_ERROR(gn::exp(N()), "op 'exp'", "empty node");
  CHECK_ERROR(N() + a, "op 'add'", "empty node");
  CHECK_ERROR(a + N(), "op 'add'", "empty node");
  CHECK_ERROR(N() * 2.0, "empty node");
  CHECK_ERROR(s1.run({N()}), "run", "empty node");
}

TEST_CASE("errors: variables in a session") {
  gn::Graph<double> g;
  auto W = g.variable("W1", Arr(xt::zeros<double>({2, 4})));
  auto x = g.placeholder("x", {gn::batch, 2});
  auto c = g.constant("c", Arr{1.0});
  auto h = gn::matmul(x, W);
  gn::Session<double> s(g);
  CHECK_ERROR(s.assign(W, Arr(xt::zeros<double>({3}))),
              "assign: variable 'W1' [2, 4] cannot take a value of shape [3]");
  CHECK_ERROR(s.assign(W, Arr(xt::zeros<double>({4, 2}))), "'W1' [2, 4]", "shape [4, 2]");
  CHECK_ERROR(s.value(x), "value: 'x' [batch, 2] is not a variable");
  CHECK_ERROR(s.assign(c, Arr{2.0}), "assign: 'c' [1] is not a variable");
  CHECK_ERROR(s.assign(h, Arr{2.0}), "assign", "'" + h.name() + "' [batch, 4] is not a variable");
  CHECK_ERROR(s.variable_data(x), "variable_data", "'x' [batch, 2] is not a variable");
  CHECK_CLOSE(s.value(W), Arr(xt::zeros<double>({2, 4})), 0);  // unchanged by the refusals
}

TEST_CASE("errors: element_function") {
  gn::Graph<double> g;
  auto W = g.variable("W", Arr{1.0, 2.0, 3.0});
  auto x = g.placeholder("x", {gn::batch, 3});
  auto y = gn::reduce_sum(x * W);
  auto update = gn::assign_sub(W, W * 0.5);
  gn::Session<double> s(g);
  const Arr X = xt::ones<double>({2, 3});
  auto f = gn::element_function(s, y, W, {{x, X}});
  CHECK_ERROR(f(3, 1.0), "element_function: index 3 is outside variable 'W' [3] (3 elements)");
  CHECK_ERROR(gn::element_function(s, y, x, {{x, X}}), "element_function: 'x' [batch, 3] is not a variable");
  CHECK_ERROR(gn::element_function(s, y, W), "run: placeholder 'x' [batch, 3] is needed by the fetches but was not fed");
  CHECK_ERROR(gn::element_function(s, update, W), "element_function: fetch '" + update.name() + "' [3] runs the assignment",
              "only a function without side effects");
  CHECK(s.value(W) == Arr{1.0, 2.0, 3.0});
}

TEST_CASE("errors: class ids are checked when the loss runs") {
  gn::Graph<double> g;
  auto z = g.placeholder("logits", {gn::batch, 3});
  auto ids = g.placeholder("ids", {gn::batch});
  auto loss = gn::sparse_softmax_cross_entropy(z, ids);
  auto onehot = gn::one_hot(ids, 3);
  gn::Session<double> s(g);
  const Arr Z = xt::zeros<double>({2, 3});
  const Arr out_of_range{0.0, 3.0}, negative{-1.0, 0.0}, fraction{0.0, 1.5}, good{2.0, 0.0};
  CHECK_ERROR(s.run({loss}, {{z, Z}, {ids, out_of_range}}), "sparse_softmax_cross_entropy", "'" + loss.name() + "'",
              "class id 3", "row 1", "[0, 3)");
  CHECK_ERROR(s.run({loss}, {{z, Z}, {ids, negative}}), "sparse_softmax_cross_entropy", "class id -1", "row 0");
  CHECK_ERROR(s.run({loss}, {{z, Z}, {ids, fraction}}), "sparse_softmax_cross_entropy", "class id 1.5",
              "not an integer");
  CHECK_ERROR(s.run({onehot}, {{ids, out_of_range}}), "one_hot", "'" + onehot.name() + "'", "class id 3");
  CHECK(s.run({loss}, {{z, Z}, {ids, good}})[0]() == doctest::Approx(std::log(3.0)));
}

TEST_CASE("errors: gradients that do not exist") {
  gn::Graph<double> g;
  auto softsign = gn::elementwise<double>(
      "softsign", [](const auto& x) { return x / (1.0 + xt::abs(x)); },
      [](const auto& x) { return 1.0 / xt::square(1.0 + xt::abs(x)); });
  auto W = g.variable("W", Arr{{0.5, -1.0, 2.0}, {1.0, 1.0, 1.0}});
  auto first = gn::gradients(gn::reduce_sum(softsign(W)), {W});
  CHECK_ERROR(gn::gradients(gn::reduce_sum(first[0]), {W}), "gradients: op 'softsign''", "[2, 3]",
              "has no gradient rule");
  auto exp_loss = gn::custom_loss<double>(
      "exp_loss", [](const auto& a, const auto& y) { return y * (xt::exp(1.0 - a) - 1.0); },
      [](const auto& a, const auto& y) { return -y * xt::exp(1.0 - a); });
  auto y = g.constant("y", Arr(xt::ones<double>({2, 3})));
  auto lg = gn::gradients(exp_loss(W, y), {W});
  CHECK_ERROR(gn::gradients(gn::reduce_sum(lg[0]), {W}), "op 'exp_loss''", "has no gradient rule");
  CHECK_ERROR(exp_loss(W, g.constant("short", Arr{1.0, 2.0})), "op 'exp_loss'", "'W' [2, 3]", "'short' [2]", "same shape");
  auto upd = gn::assign(W, W * 2.0);
  CHECK_ERROR(gn::gradients(upd, {W}), "'" + upd.name() + "'", "is an assignment");
}
