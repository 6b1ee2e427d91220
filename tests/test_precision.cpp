// float32 against float64, op by op: every op of the public op set
// (ops/graphnn/ops.hpp) runs in a Graph<float> and in a Graph<double> on the
// same inputs (rounded to float first, so both see the same numbers), and the
// float forward value and float gradients must stay within a stated number
// of float ulps of the float64 result. The tolerances are what a correctly
// rounded float kernel reaches plus the error of the few operations a kernel
// chains; every loose one says why. Then the edges: log_softmax and the
// softmax cross-entropies at logits of ±1000 and 100, and the float sums.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <cfloat>
#include <limits>
#include <functional>

using test::Arr;
using test::Rng;

namespace {

// The float value of each element, as a double.
Arr to_float(const Arr& a) {
  Arr out = a;
  for (auto& v : out) v = static_cast<float>(v);
  return out;
}

// The largest error of `got` against `want` in float ulps (FLT_EPSILON) of
// each element's magnitude; magnitudes below `floor` times the array's largest
// count as that much (an element that cancels to near 0 has no relative
// accuracy to keep, in PyTorch's float kernels either). NaN must meet NaN.
double ulps(const Arr& got, const Arr& want, double floor_fraction = 1e-3) {
  if (!std::equal(got.shape().begin(), got.shape().end(), want.shape().begin(), want.shape().end())) return INFINITY;
  double scale = 0;
  for (double w : want) scale = std::isfinite(w) ? std::max(scale, std::abs(w)) : scale;
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = got.flat(i), w = want.flat(i);
    if (std::isnan(g) || std::isnan(w)) {
      if (std::isnan(g) != std::isnan(w)) return INFINITY;
      continue;
    }
    if (!std::isfinite(w) || !std::isfinite(g)) {
      if (g != w) return INFINITY;
      continue;
    }
    const double floor = std::max(floor_fraction * scale, double(FLT_MIN));
    worst = std::max(worst, std::abs(g - w) / std::max(std::abs(w), floor) / FLT_EPSILON);
  }
  return worst;
}

// The output of `f` on variables holding `values`, then the gradients of
// sum(output * weights) for every variable (weights: one per output element,
// in [0.5, 1.5), so every element takes part with its own weight).
template <class T, class F>
std::vector<Arr> evaluate(const std::vector<Arr>& values, const F& f, bool with_gradients) {
  gn::Graph<T> g;
  gn::Nodes<T> vars;
  for (std::size_t i = 0; i < values.size(); ++i) {
    xt::xarray<T> v = xt::cast<T>(values[i]);
    vars.push_back(g.variable("v" + std::to_string(i), v));
  }
  const gn::Node<T> out = f(vars);
  std::vector<gn::Node<T>> fetches{out};
  if (with_gradients) {
    Rng rng(7);
    const Arr w = to_float(test::random_away(rng, gn::Dims(out.shape().begin(), out.shape().end()), 0.5, 1.5));
    const xt::xarray<T> wt = xt::cast<T>(w);
    const gn::Nodes<T> grads = gn::gradients(gn::reduce_sum(out * g.constant("weights", wt)), vars);
    fetches.insert(fetches.end(), grads.begin(), grads.end());
  }
  gn::Session<T> s(g);
  std::vector<Arr> results;
  for (const auto& r : s.run(fetches)) results.emplace_back(xt::cast<double>(r));
  return results;
}

// One op: its forward value within `forward_ulps` of each element, its
// gradients within `gradient_ulps` of the gradient's largest element (not
// taken when the op's output is an assignment). Gradients are compared
// normwise: a gradient element is often a sum of terms of both signs (a
// product's gradient, softmax's g - y sum(g)) that cancels, and there float's
// rounding of each term shows against the small result in any float kernel.
struct Tolerance {
  double forward_ulps;
  double gradient_ulps;
};

template <class F>
void compare(const std::string& op, const std::vector<Arr>& inputs, Tolerance tol, const F& f, bool with_gradients = true) {
  std::vector<Arr> same;
  for (const Arr& a : inputs) same.push_back(to_float(a));
  const std::vector<Arr> got = evaluate<float>(same, f, with_gradients);
  const std::vector<Arr> want = evaluate<double>(same, f, with_gradients);
  REQUIRE(got.size() == want.size());
  const double fwd = ulps(got[0], want[0]);
  INFO(op << ": forward " << fwd << " ulp (tolerance " << tol.forward_ulps << ")");
  CHECK(fwd <= tol.forward_ulps);
  for (std::size_t k = 1; k < got.size(); ++k) {
    const double grad = ulps(got[k], want[k], 1.0);
    INFO(op << ": gradient of input " << k - 1 << " " << grad << " ulp (tolerance " << tol.gradient_ulps << ")");
    CHECK(grad <= tol.gradient_ulps);
  }
}

// Exact in float and in double: the float result is the double one rounded.
constexpr Tolerance kRounded{0.5, 0.5};
// One correctly rounded operation forward, a product or two in the gradient.
constexpr Tolerance kOneOp{0.5, 2};
// libm/libmvec functions (within 2-4 ulp, vector_math.hpp) and their derivatives
// built from two or three of them.
constexpr Tolerance kLibm{4, 4};

Arr values(Rng& rng, std::vector<std::size_t> dims, double lo, double hi) { return test::random_away(rng, dims, lo, hi); }
Arr positive(Rng& rng, std::vector<std::size_t> dims, double lo, double hi) { return test::random(rng, dims, lo, hi); }

// Ops with scalar parameters, the parameters float numbers in both types (same inputs).
template <class T> gn::Node<T> cube(const gn::Node<T>& x) { return gn::pow(x, T(3)); }
template <class T> gn::Node<T> root(const gn::Node<T>& x) { return gn::pow(x, T(0.5)); }
template <class T> gn::Node<T> power_zero(const gn::Node<T>& x) { return gn::pow(x, T(0)); }
template <class T> gn::Node<T> clipped(const gn::Node<T>& x) { return gn::clip(x, T(-0.5), T(0.75)); }
template <class T> gn::Node<T> leaky(const gn::Node<T>& x) { return gn::leaky_relu(x, T(0.1f)); }
template <class T> gn::Node<T> masked(const gn::Node<T>& x) { return x * gn::dropout_mask(x, T(0.3f), 11u); }
template <class T> gn::Node<T> sgd(const gn::Nodes<T>& v) {
  return gn::apply_sgd(v[0], v[1], v[2], v[3], T(0.9f), true, T(0.01f));
}
template <class T> gn::Node<T> adam(const gn::Nodes<T>& v) {
  return gn::apply_adam(v[0], v[1], v[2], v[3], v[4], v[5], T(0.9f), T(0.999f), T(1e-7f), T(0.01f));
}
template <class T> gn::Node<T> rmsprop(const gn::Nodes<T>& v) {
  return gn::apply_rmsprop(v[0], v[1], v[2], v[3], T(0.9f), T(1e-7f), T(0));
}

}  // namespace

TEST_CASE("float32 against float64: arithmetic (ops/arithmetic.cpp)") {
  Rng rng(1);
  const Arr a = values(rng, {3, 4}, 0.1, 2), b = values(rng, {4}, 0.1, 2), c = values(rng, {3, 4}, 0.1, 2);
  compare("add", {a, b}, kOneOp, [](const auto& v) { return v[0] + v[1]; });
  compare("sub", {a, b}, kOneOp, [](const auto& v) { return v[0] - v[1]; });
  compare("mul", {a, b}, kOneOp, [](const auto& v) { return v[0] * v[1]; });
  // div: the gradient for b is -g a / b^2, three roundings
  compare("div", {a, b}, {0.5, 3}, [](const auto& v) { return v[0] / v[1]; });
  compare("maximum", {a, c}, kRounded, [](const auto& v) { return gn::maximum(v[0], v[1]); });
  compare("neg", {a}, kRounded, [](const auto& v) { return -v[0]; });
  compare("pow 3", {a}, {2, 3}, [](const auto& v) { return cube(v[0]); });
  compare("pow 0.5", {positive(rng, {3, 4}, 0.1, 2)}, {2, 3}, [](const auto& v) { return root(v[0]); });
  compare("pow 0", {a}, kRounded, [](const auto& v) { return power_zero(v[0]); });
  // add_n: two float additions; where the terms cancel, the first rounding counts against the smaller sum
  compare("add_n", {a, c, c}, {3, 0.5}, [](const auto& v) { return gn::add_n(v); });
}

TEST_CASE("float32 against float64: element-wise math (ops/unary.cpp)") {
  Rng rng(2);
  const Arr a = values(rng, {4, 5}, 0.05, 3), p = positive(rng, {4, 5}, 0.05, 3);
  compare("exp", {a}, kLibm, [](const auto& v) { return gn::exp(v[0]); });
  compare("log", {p}, kLibm, [](const auto& v) { return gn::log(v[0]); });
  compare("sqrt", {p}, kOneOp, [](const auto& v) { return gn::sqrt(v[0]); });
  compare("square", {a}, kOneOp, [](const auto& v) { return gn::square(v[0]); });
  compare("abs", {a}, kRounded, [](const auto& v) { return gn::abs(v[0]); });
  compare("sign", {a}, kRounded, [](const auto& v) { return gn::sign(v[0]); });
  compare("step", {a}, kRounded, [](const auto& v) { return gn::step(v[0]); });
  compare("greater_equal", {a, values(rng, {4, 5}, 0.05, 3)}, kRounded,
          [](const auto& v) { return gn::greater_equal(v[0], v[1]); });
  compare("clip", {a}, kRounded, [](const auto& v) { return clipped(v[0]); });
}

TEST_CASE("float32 against float64: activations (ops/activations.cpp)") {
  Rng rng(3);
  const Arr a = values(rng, {4, 6}, 0.05, 4);
  compare("sigmoid", {a}, kLibm, [](const auto& v) { return gn::sigmoid(v[0]); });
  compare("tanh", {a}, kLibm, [](const auto& v) { return gn::tanh(v[0]); });
  compare("relu", {a}, kRounded, [](const auto& v) { return gn::relu(v[0]); });
  compare("leaky_relu", {a}, kOneOp, [](const auto& v) { return leaky(v[0]); });
  compare("softplus", {a}, kLibm, [](const auto& v) { return gn::softplus(v[0]); });
}

TEST_CASE("float32 against float64: softmax and log_softmax (ops/softmax.cpp)") {
  Rng rng(4);
  const Arr z = values(rng, {5, 7}, 0.1, 5);
  compare("softmax", {z}, kLibm, [](const auto& v) { return gn::softmax(v[0]); });
  compare("log_softmax", {z}, kLibm, [](const auto& v) { return gn::log_softmax(v[0]); });
}

TEST_CASE("float32 against float64: reductions and their adjoints (ops/reduce.cpp)") {
  Rng rng(5);
  const Arr a = values(rng, {6, 5}, 0.1, 2), row = values(rng, {5}, 0.1, 2);
  // the whole-tensor sums and sum_to add up in double and round once
  compare("reduce_sum", {a}, kRounded, [](const auto& v) { return gn::reduce_sum(v[0]); });
  compare("reduce_mean", {a}, kRounded, [](const auto& v) { return gn::reduce_mean(v[0]); });
  compare("sum_to", {a, row}, kRounded, [](const auto& v) { return gn::sum_to(v[0], v[1]); });
  compare("broadcast_to", {row, a}, kRounded, [](const auto& v) { return gn::broadcast_to(v[0], v[1]); });
  compare("mean_grad", {Arr(1.7), a}, kRounded, [](const auto& v) { return gn::mean_grad(v[0], v[1]); });
  // an axis reduction adds up in float (a running sum of 6 terms of both signs: where they cancel,
  // each rounding counts against the smaller result)
  compare("reduce_sum axis 0", {a}, {4, 0.5}, [](const auto& v) { return gn::reduce_sum(v[0], 0); });
  compare("reduce_mean axis 1", {a}, {4, 1}, [](const auto& v) { return gn::reduce_mean(v[0], 1); });
  compare("expand_dims", {a}, kRounded, [](const auto& v) { return gn::expand_dims(v[0], 1); });
}

TEST_CASE("float32 against float64: shapes (ops/shape_ops.cpp)") {
  Rng rng(6);
  const Arr a = values(rng, {3, 4}, 0.1, 2);
  compare("reshape", {a}, kRounded, [](const auto& v) { return gn::reshape(v[0], {2, 6}); });
  compare("transpose", {a}, kRounded, [](const auto& v) { return gn::transpose(v[0]); });
  compare("stop_gradient", {a}, kRounded, [](const auto& v) { return gn::stop_gradient(v[0]) * v[0]; });
  compare("zeros_like", {a}, kRounded, [](const auto& v) { return gn::zeros_like(v[0]); });
  compare("ones_like", {a}, kRounded, [](const auto& v) { return gn::ones_like(v[0]); });
}

TEST_CASE("float32 against float64: matmul (ops/matmul.cpp)") {
  Rng rng(7);
  const Arr a = positive(rng, {4, 6}, 0.1, 1), b = positive(rng, {6, 3}, 0.1, 1);
  // positive terms, so no cancellation: a float dot product of 6 terms is within 5 roundings
  const Tolerance dot{3, 3};
  compare("matmul", {a, b}, dot, [](const auto& v) { return gn::matmul(v[0], v[1]); });
  compare("matmul ta", {Arr(xt::transpose(a)), b}, dot, [](const auto& v) { return gn::matmul(v[0], v[1], true); });
  compare("matmul tb", {a, Arr(xt::transpose(b))}, dot,
          [](const auto& v) { return gn::matmul(v[0], v[1], false, true); });
  compare("matmul ta tb", {Arr(xt::transpose(a)), Arr(xt::transpose(b))}, dot,
          [](const auto& v) { return gn::matmul(v[0], v[1], true, true); });
}

TEST_CASE("float32 against float64: losses (ops/losses.cpp)") {
  Rng rng(8);
  const Arr p = positive(rng, {4, 3}, 0.05, 0.95), y = positive(rng, {4, 3}, 0, 1), z = values(rng, {4, 3}, 0.1, 4);
  const Arr onehot = Arr{{1, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 0, 1}}, ids = Arr{0, 2, 1, 2};
  compare("mse", {p, y}, {0.5, 1}, [](const auto& v) { return gn::mse(v[0], v[1]); });
  compare("binary_cross_entropy", {p, y}, kLibm, [](const auto& v) { return gn::binary_cross_entropy(v[0], v[1]); });
  compare("sigmoid_cross_entropy", {z, y}, kLibm, [](const auto& v) { return gn::sigmoid_cross_entropy(v[0], v[1]); });
  compare("softmax_cross_entropy", {z, onehot}, kLibm,
          [](const auto& v) { return gn::softmax_cross_entropy(v[0], v[1]); });
  compare("sparse_softmax_cross_entropy", {z, ids}, kLibm,
          [](const auto& v) { return gn::sparse_softmax_cross_entropy(v[0], v[1]); });
  compare("one_hot", {ids}, kRounded, [](const auto& v) { return gn::one_hot(v[0], 3); });
}

TEST_CASE("float32 against float64: assignments, optimizer updates, dropout (one run each)") {
  Rng rng(9);
  const Arr w = values(rng, {3, 4}, 0.1, 2), d = values(rng, {3, 4}, 0.01, 0.1);
  const bool once = false;  // no gradients: the output is an assignment
  compare("assign", {w, d}, kRounded, [](const auto& v) { return gn::assign(v[0], v[1]); }, once);
  compare("assign_add", {w, d}, kOneOp, [](const auto& v) { return gn::assign_add(v[0], v[1]); }, once);
  compare("assign_sub", {w, d}, kOneOp, [](const auto& v) { return gn::assign_sub(v[0], v[1]); }, once);
  // w - lr * (g + decay w) with momentum: four roundings
  compare("apply_sgd", {w, d, Arr(0.1), Arr(xt::zeros<double>({3, 4}))}, {2, 0},
          [](const auto& v) { return sgd(v); }, once);
  // the step divides by sqrt(v) + eps, with the bias corrections 1 - beta^t: about ten roundings
  compare("apply_adam", {w, d, Arr(0.01), Arr(1.0), Arr(xt::zeros<double>({3, 4})), Arr(xt::zeros<double>({3, 4}))}, {4, 0},
          [](const auto& v) { return adam(v); }, once);
  compare("apply_rmsprop", {w, d, Arr(0.01), Arr(xt::zeros<double>({3, 4}))}, {4, 0},
          [](const auto& v) { return rmsprop(v); }, once);
  // the mask value 1 / (1 - rate) is rounded before the product: two roundings
  compare("dropout_mask", {w}, {1.5, 1.5}, [](const auto& v) { return masked(v[0]); });
}

TEST_CASE("float log_softmax and the softmax cross-entropies stay within a few ulp at logits of ±1000 and 100") {
  const Arr onehot = Arr{{1, 0, 0, 0}, {0, 0, 1, 0}, {0, 1, 0, 0}, {0, 0, 0, 1}}, ids = Arr{0, 2, 1, 3};
  for (const double center : {1000.0, -1000.0, 100.0}) {
    INFO("logits near " << center);
    Rng rng(10);
    Arr z = values(rng, {4, 4}, 0.1, 3);
    z += center;
    z(3, 0) = -center;  // a row holding both ends: exp underflows to exactly 0 there
    // x - lse rounded at the logits' magnitude would be off by 6e-5 absolute at 1000 (hundreds of ulp)
    compare("log_softmax", {z}, {4, 8}, [](const auto& v) { return gn::log_softmax(v[0]); });
    compare("softmax", {z}, {4, 8}, [](const auto& v) { return gn::softmax(v[0]); });
    compare("softmax_cross_entropy", {z, onehot}, {4, 8},
            [](const auto& v) { return gn::softmax_cross_entropy(v[0], v[1]); });
    compare("sparse_softmax_cross_entropy", {z, ids}, {4, 8},
            [](const auto& v) { return gn::sparse_softmax_cross_entropy(v[0], v[1]); });
  }
}

TEST_CASE("float sums over many rows keep their digits: sum_to and the bias gradient accumulate in double") {
  Rng rng(11);
  const Arr a = positive(rng, {4096, 3}, 0.5, 1.5), bias = values(rng, {3}, 0.1, 1);
  // a float running sum of 4096 terms near 1 drifts by tens of ulp; summed in double it rounds once
  compare("sum_to over 4096 rows", {a, bias}, {0.5, 0.5}, [](const auto& v) { return gn::sum_to(v[0], v[1]); });
  compare("bias add over 4096 rows", {a, bias}, {0.5, 0.5}, [](const auto& v) { return v[0] + v[1]; });
  const Arr wide = positive(rng, {700, 300}, 0.5, 1.5), wide_bias = values(rng, {300}, 0.1, 1);  // more columns than one block
  compare("bias add over 700 rows of 300", {wide, wide_bias}, {0.5, 0.5}, [](const auto& v) { return v[0] + v[1]; });
}

namespace {

// 1 where `a` is NaN, else 0.
Arr nan_mask(const Arr& a) {
  Arr m = xt::zeros<double>(a.shape());
  for (std::size_t i = 0; i < a.size(); ++i) m.flat(i) = std::isnan(a.flat(i)) ? 1 : 0;
  return m;
}

// The NaN pattern of f's output and of the gradient for input 0, in float and
// in double, against PyTorch's (torch 2, same inputs, sum of the output backward).
template <class F>
void check_nan(const std::string& op, const std::vector<Arr>& inputs, const Arr& output_nan, const Arr& gradient_nan,
               const F& f) {
  for (const auto& got : {evaluate<float>(inputs, f, true), evaluate<double>(inputs, f, true)}) {
    INFO(op << " output " << got[0] << ", gradient " << got[1]);
    CHECK(nan_mask(got[0]) == output_nan);
    CHECK(nan_mask(got[1]) == gradient_nan);
  }
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("NaN goes through the softmax family, the reductions and the losses as in PyTorch") {
  const Arr x = Arr{{kNaN, 1, 2}, {0, 1, 2}};
  const Arr row_nan = Arr{{1, 1, 1}, {0, 0, 0}}, none = xt::zeros<double>({2, 3}), first = Arr{{1, 0, 0}, {0, 0, 0}};
  check_nan("softmax", {x}, row_nan, row_nan, [](const auto& v) { return gn::softmax(v[0]); });
  check_nan("log_softmax", {x}, row_nan, row_nan, [](const auto& v) { return gn::log_softmax(v[0]); });
  check_nan("reduce_sum", {x}, Arr(1.0), none, [](const auto& v) { return gn::reduce_sum(v[0]); });
  check_nan("reduce_mean", {x}, Arr(1.0), none, [](const auto& v) { return gn::reduce_mean(v[0]); });
  check_nan("reduce_sum axis 1", {x}, Arr{1, 0}, none, [](const auto& v) { return gn::reduce_sum(v[0], 1); });
  check_nan("reduce_mean axis 0", {x}, Arr{1, 0, 0}, none, [](const auto& v) { return gn::reduce_mean(v[0], 0); });
  check_nan("sum_to", {x, Arr{1, 1, 1}}, Arr{1, 0, 0}, none, [](const auto& v) { return gn::sum_to(v[0], v[1]); });
  const Arr onehot = Arr{{1, 0, 0}, {0, 0, 1}}, ids = Arr{0, 2};
  check_nan("softmax_cross_entropy", {x, onehot}, Arr(1.0), row_nan,
            [](const auto& v) { return gn::softmax_cross_entropy(v[0], v[1]); });
  check_nan("sparse_softmax_cross_entropy", {x, ids}, Arr(1.0), row_nan,
            [](const auto& v) { return gn::sparse_softmax_cross_entropy(v[0], v[1]); });
  const Arr y = Arr{{1, 0, 1}, {0, 1, 0}};
  check_nan("mse", {x, y}, Arr(1.0), first, [](const auto& v) { return gn::mse(v[0], v[1]); });
  check_nan("sigmoid_cross_entropy", {x, y}, Arr(1.0), first,
            [](const auto& v) { return gn::sigmoid_cross_entropy(v[0], v[1]); });
}

TEST_CASE("binary_cross_entropy: a NaN probability or target gives a NaN loss and gradient, never a clipped 0") {
  // PyTorch refuses a NaN probability with an error; its gradient formula keeps the NaN, as graphnn does.
  // Probabilities 1 and 0 are clipped (gradient 0): the NaN must win there too.
  const Arr p = Arr{kNaN, 0.3, 1.0, 0.0}, y = Arr{1, 0, 0, 1};
  check_nan("binary_cross_entropy (NaN p)", {p, y}, Arr(1.0), Arr{1, 0, 0, 0},
            [](const auto& v) { return gn::binary_cross_entropy(v[0], v[1]); });
  check_nan("binary_cross_entropy (NaN y at clipped p)", {Arr{0.5, 0.3, 1.0, 0.0}, Arr{1, 0, kNaN, 1}}, Arr(1.0),
            Arr{0, 0, 1, 0}, [](const auto& v) { return gn::binary_cross_entropy(v[0], v[1]); });
  // the second-order gradient keeps it too
  check_nan("gradient of binary_cross_entropy", {p, y}, Arr{1, 0, 0, 0}, Arr{1, 0, 0, 0}, [](const auto& v) {
    return gn::gradients(gn::binary_cross_entropy(v[0], v[1]), {v[0]})[0];
  });
}
