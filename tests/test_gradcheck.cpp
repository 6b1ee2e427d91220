// The gradient checker's verdicts on planted mistakes: a custom activation and
// a custom loss whose derivative is off by 1% everywhere, off by 1% only below
// 0, or missing an abs. In float and in double the checker must name exactly
// the variables whose gradient goes through the wrong derivative, and pass the
// right derivatives. (Before the checker measured the loss's rounding noise,
// its float defaults, step 1e-2 and tolerance 1e-2, let the 1% errors through.)
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <xtensor/xview.hpp>

using namespace test;

namespace {

enum class Planted { none, times_1_01, times_1_01_below_0, missing_abs };
const char* const kPlantedName[] = {"right", "x1.01", "x1.01_below_0", "no_abs"};

double sq(double v) { return v * v; }

// softsign z / (1 + |z|), whose derivative is 1 / (1 + |z|)^2.
template <class T>
gn::ElementwiseFn<T> softsign(Planted p) {
  auto f = [](double z) { return z / (1 + std::abs(z)); };
  const std::string name = std::string("gradcheck_softsign_") + kPlantedName[int(p)];
  switch (p) {
    case Planted::none: return gn::elementwise<T>(name, f, [](double z) { return 1 / sq(1 + std::abs(z)); });
    case Planted::times_1_01: return gn::elementwise<T>(name, f, [](double z) { return 1.01 / sq(1 + std::abs(z)); });
    case Planted::times_1_01_below_0:
      return gn::elementwise<T>(name, f, [](double z) { return (z < 0 ? 1.01 : 1.0) / sq(1 + std::abs(z)); });
    case Planted::missing_abs: return gn::elementwise<T>(name, f, [](double z) { return 1 / sq(1 + z); });
  }
  throw std::logic_error("unreachable");
}

// |a - y|^3 / 3, whose derivative in a is (a - y) |a - y|.
template <class T>
gn::LossFn<T> cube_loss(Planted p) {
  auto f = [](double a, double y) { return std::pow(std::abs(a - y), 3) / 3; };
  const std::string name = std::string("gradcheck_cube_") + kPlantedName[int(p)];
  switch (p) {
    case Planted::none: return gn::custom_loss<T>(name, f, [](double a, double y) { return (a - y) * std::abs(a - y); });
    case Planted::times_1_01:
      return gn::custom_loss<T>(name, f, [](double a, double y) { return 1.01 * (a - y) * std::abs(a - y); });
    case Planted::times_1_01_below_0:
      return gn::custom_loss<T>(name, f,
                                [](double a, double y) { return (a < 0 ? 1.01 : 1.0) * (a - y) * std::abs(a - y); });
    case Planted::missing_abs: return gn::custom_loss<T>(name, f, [](double a, double y) { return (a - y) * (a - y); });
  }
  throw std::logic_error("unreachable");
}

template <class T>
xt::xarray<T> as(const Arr& a) {
  return xt::xarray<T>(xt::cast<T>(a));
}

// x [8, 3] -> softsign(x W1 + b1) [8, 4] -> W2, b2 -> pred [8, 2]; the loss is
// cube(pred, y) + mse(x U, y), so U never meets the custom ops. The data keep
// every pre-activation at least 0.1 and every residual at least 0.2 from the
// kinks at 0, well beyond the largest steps (2h = 2^-6, times inputs below 1),
// and give each hidden unit and the prediction both signs, so an error "only
// below 0" reaches every element of b1 and b2.
struct Data {
  Arr X, Y, W1, b1, W2, b2, U;
};

Data make_data() {
  for (unsigned seed = 1;; ++seed) {
    Rng rng(seed);
    Data d{random_away(rng, {8, 3}, 0.2, 1.0), {}, random(rng, {3, 4}, -1.5, 1.5), random(rng, {4}, -0.5, 0.5),
           random(rng, {4, 2}, -1.5, 1.5), random(rng, {2}, -0.5, 0.5), random(rng, {3, 2})};
    Arr Z = xt::zeros<double>({8, 4}), P = xt::zeros<double>({8, 2});
    for (std::size_t r = 0; r < 8; ++r)
      for (std::size_t j = 0; j < 4; ++j) {
        Z(r, j) = d.b1(j);
        for (std::size_t k = 0; k < 3; ++k) Z(r, j) += d.X(r, k) * d.W1(k, j);
        for (std::size_t o = 0; o < 2; ++o) P(r, o) += Z(r, j) / (1 + std::abs(Z(r, j))) * d.W2(j, o);
      }
    P += d.b2;
    bool mixed = xt::amin(P)() < 0 && xt::amax(P)() > 0;
    for (std::size_t j = 0; j < 4; ++j) mixed = mixed && xt::amin(xt::col(Z, j))() < 0 && xt::amax(xt::col(Z, j))() > 0;
    if (!mixed || xt::amin(xt::abs(Z))() < 0.1) continue;
    d.Y = P - random_away(rng, {8, 2}, 0.2, 0.6);
    return d;
  }
}

struct Verdict {
  gn::GradCheckReport report;
  std::string printed;  // the method, then the report as `std::cout << report` shows it
};

template <class T>
Verdict check_planted(Planted activation, Planted loss_error) {
  static const Data d = make_data();
  const Arr &X = d.X, &Y = d.Y;
  gn::Graph<T> g;
  auto x = g.placeholder("x", {gn::batch, 3});
  auto y = g.placeholder("y", {gn::batch, 2});
  auto W1 = g.variable("W1", as<T>(d.W1));
  auto b1 = g.variable("b1", as<T>(d.b1));
  auto W2 = g.variable("W2", as<T>(d.W2));
  auto b2 = g.variable("b2", as<T>(d.b2));
  auto U = g.variable("U", as<T>(d.U));
  auto z = gn::matmul(x, W1) + b1;
  auto pred = gn::matmul(softsign<T>(activation)(z), W2) + b2;
  auto loss = cube_loss<T>(loss_error)(pred, y) + gn::mse(gn::matmul(x, U), y);
  gn::Session<T> s(g);
  const xt::xarray<T> XT = as<T>(X), YT = as<T>(Y);  // a feed reads its value in place: named, alive
  const std::vector<gn::Feed<T>> feeds{{x, XT}, {y, YT}};

  const auto values = s.run({z, pred}, feeds);
  const Arr Z = xt::cast<double>(values[0]), P = xt::cast<double>(values[1]);
  REQUIRE(xt::amin(xt::abs(Z))() >= 0.1);
  REQUIRE(xt::amin(xt::abs(P - Y))() >= 0.1);  // the data's promises, as the graph computes them
  for (std::size_t j = 0; j < 4; ++j) {  // each hidden unit sees both signs, so "only below 0" reaches every b1[j]
    INFO("hidden unit " << j);
    REQUIRE(xt::amin(xt::col(Z, j))() < 0);
    REQUIRE(xt::amax(xt::col(Z, j))() > 0);
  }
  REQUIRE(xt::amin(P)() < 0);
  REQUIRE(xt::amax(P)() > 0);

  Verdict v{gn::check_gradients<T>(s, loss, {W1, b1, W2, b2, U}, feeds), {}};
  std::ostringstream os;
  os << v.report.method << "\n" << v.report;
  v.printed = os.str();
  return v;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE_TEMPLATE("right derivatives pass the gradient check", T, float, double) {
  const Verdict v = check_planted<T>(Planted::none, Planted::none);
  const gn::GradCheckReport& r = v.report;
  INFO(v.printed);
  CHECK(r.ok);
  CHECK(r.wrong_variables.empty());
  REQUIRE(r.rows.size() == 5);
  for (const auto& row : r.rows) {
    INFO(row.variable);
    CHECK(row.ok);
    CHECK(row.wrong == 0);
    CHECK(row.checked == gn::num_elements(gn::resolve(row.shape, 1)));
  }
}

TEST_CASE_TEMPLATE("a wrong activation derivative is blamed on W1 and b1, and only on them", T, float, double) {
  for (Planted p : {Planted::times_1_01, Planted::times_1_01_below_0, Planted::missing_abs}) {
    INFO("activation derivative " << std::string(kPlantedName[int(p)]));
    const Verdict v = check_planted<T>(p, Planted::none);
    const gn::GradCheckReport& r = v.report;
    INFO(v.printed);
    CHECK(!r.ok);
    CHECK(r.wrong_variables == Names{"W1", "b1"});
  }
}

TEST_CASE_TEMPLATE("a wrong loss derivative is blamed on every variable before the loss, not on U", T, float, double) {
  for (Planted p : {Planted::times_1_01, Planted::times_1_01_below_0, Planted::missing_abs}) {
    INFO("loss derivative " << std::string(kPlantedName[int(p)]));
    const Verdict v = check_planted<T>(Planted::none, p);
    const gn::GradCheckReport& r = v.report;
    INFO(v.printed);
    CHECK(!r.ok);
    CHECK(r.wrong_variables == Names{"W1", "b1", "W2", "b2"});
  }
}

TEST_CASE("the report names every wrong variable and says how it judged") {
  const Verdict v = check_planted<float>(Planted::times_1_01, Planted::none);
  const gn::GradCheckReport& r = v.report;
  const std::string& printed = v.printed;
  INFO(printed);
  CHECK(printed.find("wrong gradients: W1 b1\n") != std::string::npos);
  CHECK(printed.find("gradient check FAILED") != std::string::npos);
  CHECK(r.method.find("computed in float") != std::string::npos);
  CHECK(r.method.find("measured loss noise") != std::string::npos);
  // Every element of W1 and b1 carries the 1% error; it shows wherever the gradient is large against the
  // float noise (the allowance is about 5e-5 absolute here), and it is the largest relative error of all.
  CHECK(r.rows[0].wrong > 0);
  CHECK(r.rows[1].wrong > 0);
  CHECK(r.rows[0].max_relative_error > 0.008);
  CHECK(r.rows[1].max_relative_error > 0.008);
  for (std::size_t v = 2; v < r.rows.size(); ++v) CHECK(r.rows[v].max_relative_error < 0.005);
}

TEST_CASE("the measured loss noise follows the precision") {
  const gn::GradCheckReport f = check_planted<float>(Planted::none, Planted::none).report;
  const gn::GradCheckReport d = check_planted<double>(Planted::none, Planted::none).report;
  for (std::size_t v = 0; v < f.rows.size(); ++v) {
    INFO(f.rows[v].variable << ": float noise " << f.rows[v].noise << ", double noise " << d.rows[v].noise);
    // float rounding is 2^29 times coarser than double's; the loss is about 1, so its noise is near float's ulp
    CHECK(f.rows[v].noise > 1e-9);
    CHECK(f.rows[v].noise < 1e-5);
    CHECK(d.rows[v].noise < 1e-13);
  }
}

TEST_CASE("the old float allowance (tolerance 1e-2, no noise term) misses the 1% error the default catches") {
  // what the checker did before: the planted error is below its tolerance
  gn::GradCheckOptions old;
  old.tolerance = 1e-2;
  old.tiny = 1e-2;
  old.noise_factor = 1e-300;  // no noise term to speak of
  Rng rng(3);
  gn::Graph<float> g;
  auto w = g.variable("w", as<float>(random_away(rng, {5}, 0.2, 1.0)));
  auto loss = gn::reduce_sum(softsign<float>(Planted::times_1_01)(w));
  gn::Session<float> s(g);
  CHECK(gn::check_gradients(s, loss, {w}, {}, old).ok);
  const gn::GradCheckReport now = gn::check_gradients(s, loss, {w});
  CHECK(!now.ok);
  CHECK(now.wrong_variables == Names{"w"});
}
