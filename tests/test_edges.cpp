// Edge values: NaN through every op with a kink or a comparison (forward and
// backward, as PyTorch), the conventions at kinks (maximum's tie, clip's bounds,
// pow(x, 0)), float64 gradient checks away from the kinks, Sequential's
// rejection of non-finite data by row and column, and the NaN guard's message.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <cstring>
#include <limits>
#include <string>
#include <vector>

using test::Arr;
using test::Rng;
using test::grad_check;
using test::quiet;

namespace {

template <class T>
using A = xt::xarray<T>;
template <class T>
using V = const gn::Nodes<T>&;

template <class T>
constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();

// Equal element by element, NaN equal to NaN; prints both on failure.
template <class T>
void check_same(const A<T>& got, const A<T>& want) {
  bool same = got.shape() == want.shape();
  for (std::size_t i = 0; same && i < got.size(); ++i) {
    const T g = got.data()[i], w = want.data()[i];
    same = std::isnan(w) ? std::isnan(g) : g == w;
  }
  INFO("got " << got << "\nwant " << want);
  CHECK(same);
}

// f applied to constants.
template <class T, class F>
A<T> eval(const std::vector<A<T>>& values, F f) {
  gn::Graph<T> g;
  gn::Nodes<T> in;
  for (std::size_t i = 0; i < values.size(); ++i) in.push_back(g.constant("c" + std::to_string(i), values[i]));
  gn::Session<T> s(g);
  return s.run({f(in)})[0];
}

// The gradients of reduce_sum(f(vars)) for each variable (dL/dy = 1).
template <class T, class F>
std::vector<A<T>> grads(const std::vector<A<T>>& values, F f) {
  gn::Graph<T> g;
  gn::Nodes<T> vars;
  for (std::size_t i = 0; i < values.size(); ++i) vars.push_back(g.variable("v" + std::to_string(i), values[i]));
  const gn::Nodes<T> d = gn::gradients(gn::reduce_sum(f(vars)), vars);
  gn::Session<T> s(g);
  return s.run(d);
}


template <class T>
gn::Sequential<T> regressor() {
  gn::Sequential<T> m;
  m.add(gn::Linear<T>(3, 4)).add(gn::Activation<T>("relu")).add(gn::Linear<T>(4, 1));
  m.set_seed(5);
  return m;
}

// n rows of 3 features and a label.
template <class T>
std::pair<A<T>, A<T>> data(std::size_t n) {
  Rng rng(7);
  A<T> x = A<T>::from_shape({n, std::size_t(3)}), y = A<T>::from_shape({n, std::size_t(1)});
  for (auto& v : x) v = static_cast<T>(test::uniform(rng, -1, 1));
  for (std::size_t r = 0; r < n; ++r) y(r, 0) = x(r, 0) - T(0.5) * x(r, 1) * x(r, 2);
  return {x, y};
}

template <class T>
std::vector<A<T>> weights(gn::Sequential<T>& m) {
  std::vector<A<T>> w;
  for (const auto& p : m.parameters()) w.push_back(m.session().value(p));
  return w;
}

}  // namespace

// ---------------------------------------------------------------- forward

TEST_CASE_TEMPLATE("forward: NaN propagates through kinks as in PyTorch; comparisons with NaN are false", T, float,
                   double) {
  const T nan = kNaN<T>;
  const A<T> x = {nan, T(1), T(-1), T(0)};
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::relu(v[0]); }), {nan, 1, 0, 0});
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::leaky_relu(v[0], T(0.25)); }), {nan, 1, T(-0.25), 0});
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::abs(v[0]); }), {nan, 1, 1, 0});
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::sign(v[0]); }), {nan, 1, -1, 0});
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::step(v[0]); }), {nan, 1, 0, 0});
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::clip(v[0], T(-0.5), T(0.5)); }), {nan, T(0.5), T(-0.5), 0});
  const A<T> sp = eval<T>({x}, [](V<T> v) { return gn::softplus(v[0]); });
  CHECK(std::isnan(sp(0)));
  CHECK(sp(3) == doctest::Approx(std::log(2.0)));
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::pow(v[0], T(0)); }), {1, 1, 1, 1});  // as std::pow(NaN, 0)
  check_same<T>(eval<T>({x}, [](V<T> v) { return gn::pow(v[0], T(2)); }), {nan, 1, 1, 0});
  // maximum: NaN on either side wins (torch.maximum, numpy.maximum)
  const A<T> zero = {T(0)};
  check_same<T>(eval<T>({x, zero}, [](V<T> v) { return gn::maximum(v[0], v[1]); }), {nan, 1, 0, 0});
  check_same<T>(eval<T>({zero, x}, [](V<T> v) { return gn::maximum(v[0], v[1]); }), {nan, 1, 0, 0});
  const A<T> both = {nan}, other = {T(3)};
  check_same<T>(eval<T>({both, other}, [](V<T> v) { return gn::maximum(v[0], v[1]); }), {nan});
  check_same<T>(eval<T>({other, both}, [](V<T> v) { return gn::maximum(v[0], v[1]); }), {nan});
  // greater_equal: a comparison, false (0) with NaN on either side (PyTorch's >=)
  check_same<T>(eval<T>({x, zero}, [](V<T> v) { return gn::greater_equal(v[0], v[1]); }), {0, 1, 0, 1});
  check_same<T>(eval<T>({zero, x}, [](V<T> v) { return gn::greater_equal(v[0], v[1]); }), {0, 0, 1, 1});
  // sign and step of -0 are 0
  check_same<T>(eval<T>({A<T>{T(-0.0)}}, [](V<T> v) { return gn::sign(v[0]) + gn::step(v[0]); }), {0});
}

TEST_CASE("forward: a relu network with one NaN feature gives NaN, not a finite number") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto W = g.variable("W", Arr{{0.5, -0.3, 0.2}, {0.1, 0.4, -0.6}});
  auto loss = gn::reduce_mean(gn::square(gn::relu(gn::matmul(x, W))));
  auto dW = gn::gradients(loss, {W})[0];
  gn::Session<double> s(g);
  const Arr X = {{kNaN<double>, 1.0}};
  const auto out = s.run({loss, dW}, {{x, X}});
  CHECK(std::isnan(out[0]()));
  // every weight of the NaN feature's row gets a NaN gradient (relu_grad no longer zeroes it)
  for (std::size_t j = 0; j < 3; ++j) CHECK(std::isnan(out[1](0, j)));
}

// ---------------------------------------------------------------- backward

TEST_CASE_TEMPLATE("backward: NaN in the gradient is kept; gradients at NaN inputs as PyTorch", T, float, double) {
  const T nan = kNaN<T>;
  const A<T> x = {nan, T(1), T(-1), T(0)};
  // relu: PyTorch's threshold_backward passes g where not (x <= 0): 1 at NaN, 0 at 0
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::relu(v[0]); })[0], {1, 1, 0, 0});
  // a NaN dL/dy (here 2 relu(x) at x = NaN) stays NaN through relu
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::square(gn::relu(v[0])); })[0], {nan, 2, 0, 0});
  // leaky_relu: alpha at x <= 0 (as PyTorch), NaN at NaN (PyTorch: alpha)
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::leaky_relu(v[0], T(0.25)); })[0], {nan, 1, T(0.25), T(0.25)});
  // abs: sign(x): 0 at 0 (as PyTorch), NaN at NaN (PyTorch: 0)
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::abs(v[0]); })[0], {nan, 1, -1, 0});
  // clip: 1 on [lo, hi], bounds included, 0 outside and at NaN (torch.clamp)
  const A<T> c = {nan, T(1), T(-1), T(0), T(-0.5), T(0.5)};
  check_same<T>(grads<T>({c}, [](V<T> v) { return gn::clip(v[0], T(-0.5), T(0.5)); })[0], {0, 0, 0, 1, 1, 1});
  // softplus: sigmoid(x), NaN at NaN
  const A<T> sp = grads<T>({x}, [](V<T> v) { return gn::softplus(v[0]); })[0];
  CHECK(std::isnan(sp(0)));
  CHECK(sp(3) == doctest::Approx(0.5));
  // piecewise constant ops have no gradient: zeros, also at NaN
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::sign(v[0]) + gn::step(v[0]); })[0], {0, 0, 0, 0});
  // maximum: NaN on one side gives both the whole gradient (torch.maximum's rule)
  const A<T> a = {nan, T(1), T(4)}, b = {T(0), nan, nan};
  const auto m = grads<T>({a, b}, [](V<T> v) { return gn::maximum(v[0], v[1]); });
  check_same<T>(m[0], {1, 1, 1});
  check_same<T>(m[1], {1, 1, 1});
}

TEST_CASE_TEMPLATE("backward: maximum splits the gradient half/half at a tie (PyTorch)", T, float, double) {
  const A<T> a = {T(2), T(3), T(-1), T(0)}, b = {T(2), T(1), T(5), T(-0.0)};  // ties at 0 and 3 (0 == -0)
  const auto m = grads<T>({a, b}, [](V<T> v) { return gn::maximum(v[0], v[1]); });
  check_same<T>(m[0], {T(0.5), 1, 0, T(0.5)});
  check_same<T>(m[1], {T(0.5), 0, 1, T(0.5)});
  // broadcast: b = 2 against a tie in two elements collects 0.5 + 0.5 + 1
  const A<T> row = {T(2), T(2), T(1)}, scalar = {T(2)};
  const auto s = grads<T>({row, scalar}, [](V<T> v) { return gn::maximum(v[0], v[1]); });
  check_same<T>(s[0], {T(0.5), T(0.5), 0});
  check_same<T>(s[1], {T(2)});
}

TEST_CASE_TEMPLATE("backward: clip passes the gradient at its bounds, and at x = lo = hi", T, float, double) {
  const A<T> x = {T(-1), T(1), T(0.3), T(2)};
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::clip(v[0], T(-1), T(1)); })[0], {1, 1, 1, 0});
  const A<T> same = {T(0.25), T(0.2), T(0.3)};
  check_same<T>(grads<T>({same}, [](V<T> v) { return gn::clip(v[0], T(0.25), T(0.25)); })[0], {1, 0, 0});
}

TEST_CASE_TEMPLATE("backward: pow(x, 0) has gradient 0 everywhere, at 0 and NaN too (PyTorch)", T, float, double) {
  const T nan = kNaN<T>;
  const A<T> x = {T(0), nan, T(2), T(-1), T(std::numeric_limits<T>::infinity())};
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::pow(v[0], T(0)); })[0], {0, 0, 0, 0, 0});
  // also when dL/dy is not 1, and next to another path
  check_same<T>(grads<T>({x}, [](V<T> v) { return gn::pow(v[0], T(0)) * T(3) + gn::zeros_like(v[0]); })[0],
                {0, 0, 0, 0, 0});
  // pow(x, 1): gradient 1 (x^0 = 1), at 0 too; pow(x, 2) at 0: 0
  check_same<T>(grads<T>({A<T>{T(0), T(5)}}, [](V<T> v) { return gn::pow(v[0], T(1)); })[0], {1, 1});
  check_same<T>(grads<T>({A<T>{T(0), T(5)}}, [](V<T> v) { return gn::pow(v[0], T(2)); })[0], {0, 10});
  // second order of pow(x, 1): 0, not NaN
  gn::Graph<T> g;
  auto v = g.variable("v", A<T>{T(0), T(2)});
  auto d1 = gn::gradients(gn::reduce_sum(gn::pow(v, T(1))), {v})[0];
  auto d2 = gn::gradients(gn::reduce_sum(d1), {v})[0];
  gn::Session<T> s(g);
  check_same<T>(s.run({d2})[0], {0, 0});
}

// ---------------------------------------------------------------- gradient checks

TEST_CASE("gradient check (float64): clip, maximum and pow away from their kinks") {
  Rng rng(41);
  for (int trial = 0; trial < 3; ++trial) {
    const std::vector<std::size_t> d = test::random_dims(rng, test::dim(rng, 1, 3));
    // clip to [-0.5, 0.5]: values at least 0.1 away from both bounds, inside and outside
    Arr x(d);
    for (auto& v : x) v = (test::uniform(rng, 0, 1) < 0.5 ? -1 : 1) * (test::uniform(rng, 0, 1) < 0.5
                                                                          ? test::uniform(rng, 0.0, 0.4)
                                                                          : test::uniform(rng, 0.6, 2.0));
    grad_check(rng, {x}, [](V<double> v) { return gn::clip(v[0], -0.5, 0.5); });
    // maximum: a and b at least 0.1 apart
    Arr a(d), b(d);
    for (std::size_t i = 0; i < a.size(); ++i) {
      a.data()[i] = test::uniform(rng, -2, 2);
      b.data()[i] = a.data()[i] + (test::uniform(rng, 0, 1) < 0.5 ? -1 : 1) * test::uniform(rng, 0.1, 1);
    }
    grad_check(rng, {a, b}, [](V<double> v) { return gn::maximum(v[0], v[1]); });
    // pow: p = 0 (gradient 0) anywhere, p = 1 and 3 anywhere, p = -1.5 and 0.5 on positives
    const Arr any = test::random(rng, d, -2, 2), pos = test::random(rng, d, 0.3, 3);
    grad_check(rng, {any}, [](V<double> v) { return gn::pow(v[0], 0.0) + v[0]; });
    grad_check(rng, {any}, [](V<double> v) { return gn::pow(v[0], 1.0); });
    grad_check(rng, {any}, [](V<double> v) { return gn::pow(v[0], 3.0); });
    grad_check(rng, {pos}, [](V<double> v) { return gn::pow(v[0], -1.5); });
    grad_check(rng, {pos}, [](V<double> v) { return gn::pow(v[0], 0.5); });
  }
}

// ---------------------------------------------------------------- Sequential

TEST_CASE_TEMPLATE("fit, evaluate and predict reject non-finite data, naming row and column", T, float, double) {
  const T nan = kNaN<T>, inf = std::numeric_limits<T>::infinity();
  const auto x_y = data<T>(40);
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x_y);
  gn::Sequential<T> m = regressor<T>();
  m.fit(x, y, quiet(1, 8));
  const auto before = weights(m);

  A<T> bad_x = x;
  bad_x(12, 2) = nan;
  CHECK_ERROR(m.fit(bad_x, y, quiet(1, 8)), "fit: x has a non-finite value (nan) at row 12, column 2");
  A<T> bad_y = y;
  bad_y(5, 0) = inf;
  CHECK_ERROR(m.fit(x, bad_y, quiet(1, 8)), "fit: y has a non-finite value (inf) at row 5, column 0");
  bad_y(3, 0) = -inf;  // the first one is named
  CHECK_ERROR(m.fit(x, bad_y, quiet(1, 8)), "fit: y has a non-finite value (-inf) at row 3, column 0");

  // validation data, given or split off (the row is the caller's, before any shuffle)
  const auto vx_vy = data<T>(10);
  const auto& vx = std::get<0>(vx_vy);  // not a structured binding: clang 14 cannot capture one
  const auto& vy = std::get<1>(vx_vy);
  A<T> bad_vx = vx;
  bad_vx(7, 1) = nan;
  CHECK_ERROR(m.fit(x, y, bad_vx, vy, quiet(1, 8)), "fit: validation_x has a non-finite value (nan) at row 7, column 1");
  A<T> bad_vy = vy;
  bad_vy(9, 0) = nan;
  CHECK_ERROR(m.fit(x, y, vx, bad_vy, quiet(1, 8)), "fit: validation_y has a non-finite value (nan) at row 9, column 0");
  gn::FitOptions split = quiet(1, 8);
  split.validation_fraction = 0.25;
  split.shuffle = true;
  CHECK_ERROR(m.fit(bad_x, y, split), "fit: x has a non-finite value (nan) at row 12, column 2");

  // nothing was trained by the refused calls
  const auto after = weights(m);
  for (std::size_t i = 0; i < before.size(); ++i)
    CHECK(std::memcmp(before[i].data(), after[i].data(), before[i].size() * sizeof(T)) == 0);

  CHECK_ERROR(m.evaluate(bad_x, y), "evaluate: x has a non-finite value (nan) at row 12, column 2");
  CHECK_ERROR(m.evaluate(x, bad_y), "evaluate: y has a non-finite value (-inf) at row 3, column 0");
  A<T> inf_x = x;
  inf_x(39, 0) = inf;
  CHECK_ERROR(m.predict(inf_x), "predict: x has a non-finite value (inf) at row 39, column 0");
  CHECK_ERROR(m.predict_classes(inf_x), "predict: x has a non-finite value (inf) at row 39, column 0");
  // good data still works
  CHECK(test::all_finite(m.predict(x)));
  CHECK(std::isfinite(m.evaluate(x, y).loss));
}

TEST_CASE_TEMPLATE("the non-finite check finds a value in any block, first, last or alone", T, float, double) {
  const auto x_y = data<T>(1500);  // 4500 values: several blocks of the scan
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x_y);
  gn::Sequential<T> m = regressor<T>();
  const std::pair<std::size_t, std::size_t> where[] = {{0, 0}, {341, 1}, {342, 0}, {1023, 2}, {1499, 2}};
  for (const auto& r_c : where) {
    const auto& r = std::get<0>(r_c);  // not a structured binding: clang 14 cannot capture one
    const auto& c = std::get<1>(r_c);
    A<T> bad = x;
    bad(r, c) = -std::numeric_limits<T>::infinity();
    CHECK_ERROR(m.predict(bad), "predict: x has a non-finite value (-inf) at row " + std::to_string(r) + ", column " +
                                    std::to_string(c));
  }
  // two: the first in row-major order
  A<T> bad = x;
  bad(900, 1) = kNaN<T>;
  bad(901, 0) = kNaN<T>;
  bad(100, 2) = std::numeric_limits<T>::infinity();
  CHECK_ERROR(m.predict(bad), "predict: x has a non-finite value (inf) at row 100, column 2");
  // the largest finite values and subnormals pass
  A<T> extreme = x;
  extreme(0, 0) = std::numeric_limits<T>::denorm_min();
  extreme(1, 1) = std::numeric_limits<T>::min();
  extreme(2, 2) = T(1e-30);
  CHECK(m.predict(extreme).shape()[0] == 1500);
  (void)y;
}

TEST_CASE("NaN guard: with finite data a non-finite loss is reported as divergence, with the step and last loss") {
  const auto x0_y = data<double>(32);
  const auto& x0 = std::get<0>(x0_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x0_y);
  const Arr x = x0 * 3.0;
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(3, 1));
  m.set_optimizer(gn::SGD<double>(50.0)).set_seed(3);
  gn::FitOptions o = quiet(500, 32);  // full batch: one iteration per epoch
  o.log_every = 1;
  const std::string msg = test::error_of([&] { m.fit(x, y, o); });
  INFO(msg);
  CHECK(msg.find("fit: the training loss became ") == 0);
  CHECK(msg.find("The training diverged (the inputs and labels are finite: fit checks them before training)") !=
        std::string::npos);
  CHECK(msg.find("try a smaller learning rate") != std::string::npos);
  CHECK(msg.find("-nan") == std::string::npos);
  // the step where it was found, and the last finite loss at the restored iteration
  const auto at = msg.find(", iteration ");
  REQUIRE(at != std::string::npos);
  const std::size_t bad_iteration = std::stoul(msg.substr(at + 12));
  const auto restored = msg.find("weights of iteration ");
  REQUIRE(restored != std::string::npos);
  const std::size_t good = std::stoul(msg.substr(restored + 21));
  CHECK(good + 1 == bad_iteration);
  const auto last = msg.find("the last finite loss was ");
  REQUIRE(last != std::string::npos);
  const double last_loss = std::stod(msg.substr(last + 25));
  CHECK(std::isfinite(last_loss));
  CHECK(last_loss > 1.0);  // it was already growing
  CHECK(msg.find(", at iteration " + std::to_string(good) + ";") != std::string::npos);
  // the restored weights give that loss
  CHECK(m.evaluate(x, y).loss == doctest::Approx(last_loss).epsilon(1e-5));
}

TEST_CASE("NaN guard: divergence before the first checkpoint reports the loss of the weights before fit") {
  const auto x_y = data<double>(32);
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = regressor<double>();
  m.fit(x, y, quiet(2, 8));
  const double start = m.evaluate(x, y).loss;
  m.set_optimizer(gn::SGD<double>(1e300));
  gn::FitOptions o = quiet(3, 8);
  o.log_every = 1;
  const std::string msg = test::error_of([&] { m.fit(x, y, o); });
  INFO(msg);
  // Iterations count on from the first fit's 8 (issue 12: counters continue across fit calls).
  CHECK(msg.find("iteration 9; the weights of iteration 8 were restored") != std::string::npos);
  const auto last = msg.find("the last finite loss was ");
  REQUIRE(last != std::string::npos);
  CHECK(std::stod(msg.substr(last + 25)) == doctest::Approx(start).epsilon(1e-5));
}
