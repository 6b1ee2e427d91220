#pragma once
// Shared by the test suites: seeded random tensors, a gradient-check assertion,
// an error-message assertion and a temporary folder.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xio.hpp>

#include <graphnn/graphnn.hpp>

namespace gn = graphnn;

namespace test {

using Arr = xt::xarray<double>;
using N = gn::Node<double>;
using Rng = std::mt19937;

inline double uniform(Rng& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
inline std::size_t dim(Rng& rng, std::size_t lo = 1, std::size_t hi = 5) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}

// A random shape of `rank` dimensions, each 1..5.
inline std::vector<std::size_t> random_dims(Rng& rng, std::size_t rank) {
  std::vector<std::size_t> d(rank);
  for (auto& x : d) x = dim(rng);
  return d;
}

// Uniform values in [lo, hi).
inline Arr random(Rng& rng, const std::vector<std::size_t>& dims, double lo = -1, double hi = 1) {
  Arr a(dims);
  for (auto& v : a) v = uniform(rng, lo, hi);
  return a;
}

// Values with lo <= |v| < hi and a random sign: keeps kinks (0) out of reach
// of the numerical derivative's steps.
inline Arr random_away(Rng& rng, const std::vector<std::size_t>& dims, double lo, double hi) {
  Arr a(dims);
  for (auto& v : a) v = uniform(rng, lo, hi) * (uniform(rng, 0, 1) < 0.5 ? -1 : 1);
  return a;
}

inline std::vector<std::size_t> dims_of(const Arr& a) { return {a.shape().begin(), a.shape().end()}; }

inline std::string shape_text(const Arr& a) { return gn::to_string(gn::Dims(a.shape().begin(), a.shape().end())); }

// Largest |a - b| / max(1, |b|); infinite when the shapes differ or a value is not finite.
template <class A, class B>
double max_rel_diff(const A& a, const B& b) {
  if (!std::equal(a.shape().begin(), a.shape().end(), b.shape().begin(), b.shape().end())) return INFINITY;
  double worst = 0;
  auto ib = b.begin();
  for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib) {
    const double d = std::abs(double(*ia) - double(*ib)) / std::max(1.0, std::abs(double(*ib)));
    worst = std::isfinite(d) ? std::max(worst, d) : INFINITY;
  }
  return worst;
}

template <class A>
bool all_finite(const A& a) {
  return std::all_of(a.begin(), a.end(), [](auto v) { return std::isfinite(double(v)); });
}

// Compares with a shape check and, on failure, prints both arrays.
#define CHECK_CLOSE(actual, expected, tol)                                                         \
  do {                                                                                             \
    const auto act_ = (actual);  /* a copy: `actual` may live in a temporary (s.run(...)[0]) */    \
    const auto& exp_ = (expected);                                                                 \
    const double diff_ = test::max_rel_diff(act_, exp_);                                           \
    std::ostringstream arrays_;                                                                    \
    if (!(diff_ <= (tol))) arrays_ << "actual " << act_ << "\nexpected " << exp_;                    \
    INFO(arrays_.str());                                                                           \
    CHECK(diff_ <= (tol));                                                                         \
  } while (0)

// Runs gn::check_gradients with its defaults and asserts the double bound.
template <class T>
gn::GradCheckReport check_grads(gn::Session<T>& s, const gn::Node<T>& loss, const gn::Nodes<T>& vars,
                                gn::ArrayRef<gn::Feed<T>> feeds = {}) {
  gn::GradCheckReport r = gn::check_gradients(s, loss, vars, feeds);
  std::ostringstream os;
  os << r;
  INFO(os.str());
  CHECK(r.ok);
  CHECK(r.rows.size() == vars.size());
  if (std::is_same_v<T, double>) CHECK(r.max_relative_error < 1e-6);
  return r;
}

// Gradient-checks `f` at the given values, all of them variables: the loss is
// reduce_sum(f(vars) * R) with a random constant R, so every output element
// takes part with its own weight.
template <class F>
void grad_check(Rng& rng, const std::vector<Arr>& values, const F& f) {
  gn::Graph<double> g;
  gn::Nodes<double> vars;
  std::string shapes;
  for (std::size_t i = 0; i < values.size(); ++i) {
    vars.push_back(g.variable("v" + std::to_string(i), values[i]));
    shapes += " " + shape_text(values[i]);
  }
  const N out = f(vars);
  INFO("op " << out.op_type() << " on" << shapes);
  const gn::Dims dims(out.shape().begin(), out.shape().end());
  const N loss = gn::reduce_sum(out * g.constant("R", random_away(rng, dims, 0.5, 1.5)));
  gn::Session<double> s(g);
  check_grads(s, loss, vars);
}

// Fit options without output: `epochs` passes in batches of `batch_size`.
inline gn::FitOptions quiet(std::size_t epochs, std::size_t batch_size) {
  gn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.verbose = false;
  return o;
}

// The message of the graphnn::Error `f` throws; fails the check when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const gn::Error& e) {
    return e.what();
  }
  FAIL_CHECK("expected a graphnn::Error, none was thrown");
  return {};
}

// Asserts `expr` throws graphnn::Error whose message holds every one of the strings.
#define CHECK_ERROR(expr, ...)                                                                      \
  do {                                                                                              \
    const std::string msg_ = test::error_of([&] { (void)(expr); });                                 \
    INFO("message: " << msg_);                                                                      \
    for (const std::string& part_ : std::initializer_list<std::string>{__VA_ARGS__})               \
      CHECK_MESSAGE(msg_.find(part_) != std::string::npos, "missing: " << part_);                   \
  } while (0)

// A fresh folder (mkdtemp: unique across processes and runs), removed with
// everything in it when the test ends.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::filesystem::path& under = std::filesystem::temp_directory_path()) {
    std::string pattern = (under / "graphnn_test_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

}  // namespace test
