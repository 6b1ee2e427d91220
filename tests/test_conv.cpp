// Convolutional ops: forward values against direct loops, float64 gradient
// checks on random shapes, strides and paddings (gradients of the gradient ops
// too), a Hessian-vector product through a small conv net, and shape errors
// by message.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

namespace {

using test::Arr;
using test::N;
using test::Rng;

// One random convolution setting that has an output.
struct Setting {
  std::size_t n, h, w, c, f, kh, kw;
  gn::Size2 stride, dilation;
  gn::Padding padding;
  std::string text() const {
    return "x [" + std::to_string(n) + "," + std::to_string(h) + "," + std::to_string(w) + "," + std::to_string(c) +
           "] kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " stride " + std::to_string(stride.h) + "x" +
           std::to_string(stride.w) + " dilation " + std::to_string(dilation.h) + "x" + std::to_string(dilation.w) +
           " padding " + padding.to_string() + " filters " + std::to_string(f);
  }
};

// Odd and even sizes, kernels 1-4 (even kernels with "same" included),
// strides 1-3, dilation 1-2, the three paddings.
Setting random_setting(Rng& rng, bool dilate = true) {
  Setting s{};
  s.n = test::dim(rng, 1, 3);
  s.c = test::dim(rng, 1, 3);
  s.f = test::dim(rng, 1, 3);
  s.kh = test::dim(rng, 1, 4);
  s.kw = test::dim(rng, 1, 4);
  s.stride = gn::Size2(test::dim(rng, 1, 3), test::dim(rng, 1, 2));
  s.dilation = dilate ? gn::Size2(test::dim(rng, 1, 2), test::dim(rng, 1, 2)) : gn::Size2(1);
  const std::size_t kind = test::dim(rng, 0, 2);
  s.padding = kind == 0 ? gn::Padding("valid")
              : kind == 1 ? gn::Padding("same")
                          : gn::Padding::explicit_pads(test::dim(rng, 0, s.kh - 1), test::dim(rng, 0, s.kh - 1),
                                                       test::dim(rng, 0, s.kw - 1), test::dim(rng, 0, s.kw - 1));
  // at least one output: the input spans the dilated kernel
  s.h = (s.kh - 1) * s.dilation.h + 1 + test::dim(rng, 0, 4);
  s.w = (s.kw - 1) * s.dilation.w + 1 + test::dim(rng, 0, 4);
  return s;
}

// The padding before and the output size of one dimension, computed apart from the library.
struct Axis {
  std::size_t before, out;
};
Axis axis(std::size_t in, std::size_t k, std::size_t stride, std::size_t dil, const gn::Padding& p, bool height) {
  const std::size_t span = (k - 1) * dil + 1;
  if (p.kind == gn::Padding::Kind::same) {
    const std::size_t out = (in + stride - 1) / stride;
    const long total = std::max(0L, long((out - 1) * stride + span) - long(in));
    return {std::size_t(total / 2), out};
  }
  std::size_t b = 0, a = 0;
  if (p.kind == gn::Padding::Kind::explicit_pads) b = height ? p.top : p.left, a = height ? p.bottom : p.right;
  return {b, (in + b + a - span) / stride + 1};
}

// y[n, i, j, f] = sum over kernel cells and channels of x * w, zero outside: the definition.
Arr direct_conv(const Arr& x, const Arr& w, const Setting& s) {
  const Axis ah = axis(s.h, s.kh, s.stride.h, s.dilation.h, s.padding, true);
  const Axis aw = axis(s.w, s.kw, s.stride.w, s.dilation.w, s.padding, false);
  Arr y = xt::zeros<double>({s.n, ah.out, aw.out, s.f});
  for (std::size_t n = 0; n < s.n; ++n)
    for (std::size_t i = 0; i < ah.out; ++i)
      for (std::size_t j = 0; j < aw.out; ++j)
        for (std::size_t f = 0; f < s.f; ++f) {
          double sum = 0;
          for (std::size_t p = 0; p < s.kh; ++p)
            for (std::size_t q = 0; q < s.kw; ++q) {
              const long r = long(i * s.stride.h + p * s.dilation.h) - long(ah.before);
              const long c = long(j * s.stride.w + q * s.dilation.w) - long(aw.before);
              if (r < 0 || c < 0 || r >= long(s.h) || c >= long(s.w)) continue;
              for (std::size_t ch = 0; ch < s.c; ++ch) sum += x(n, r, c, ch) * w(p, q, ch, f);
            }
          y(n, i, j, f) = sum;
        }
  return y;
}

// Max or mean over the window's cells inside the image: the definition of the pools.
Arr direct_pool(const Arr& x, const Setting& s, bool max) {
  const Axis ah = axis(s.h, s.kh, s.stride.h, 1, s.padding, true);
  const Axis aw = axis(s.w, s.kw, s.stride.w, 1, s.padding, false);
  Arr y = xt::zeros<double>({s.n, ah.out, aw.out, s.c});
  for (std::size_t n = 0; n < s.n; ++n)
    for (std::size_t i = 0; i < ah.out; ++i)
      for (std::size_t j = 0; j < aw.out; ++j)
        for (std::size_t ch = 0; ch < s.c; ++ch) {
          double best = -std::numeric_limits<double>::infinity(), sum = 0;
          std::size_t count = 0;
          for (std::size_t p = 0; p < s.kh; ++p)
            for (std::size_t q = 0; q < s.kw; ++q) {
              const long r = long(i * s.stride.h + p) - long(ah.before), c = long(j * s.stride.w + q) - long(aw.before);
              if (r < 0 || c < 0 || r >= long(s.h) || c >= long(s.w)) continue;
              best = std::max(best, x(n, r, c, ch));
              sum += x(n, r, c, ch);
              ++count;
            }
          y(n, i, j, ch) = max ? best : sum / double(count);
        }
  return y;
}

// `values` in row-major order as an array of shape `dims`.
Arr shaped(const std::vector<double>& values, const std::vector<std::size_t>& dims) {
  Arr a(dims);
  std::copy(values.begin(), values.end(), a.begin());
  return a;
}

Arr run1(gn::Graph<double>& g, const N& node) {
  gn::Session<double> s(g);
  return s.run({node})[0];
}

gn::Shape shape_of(const Setting& s) { return {gn::Shape::value_type(s.n), gn::Shape::value_type(s.h),
                                               gn::Shape::value_type(s.w), gn::Shape::value_type(s.c)}; }

// Distinct values far apart (no ties within a numerical step), shuffled: max
// pooling's arg-max is then stable under the gradient checker's steps.
Arr distinct(Rng& rng, const std::vector<std::size_t>& dims) {
  Arr a(dims);
  std::vector<double> v(a.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * double(i) - 0.05 * double(v.size());
  std::shuffle(v.begin(), v.end(), rng);
  std::copy(v.begin(), v.end(), a.begin());
  return a;
}

// The gradient's directional derivative along a random direction, through
// gradients() twice, against central differences of the gradient.
void check_hessian_vector_product(Rng& rng, gn::Graph<double>& g, const N& loss, const gn::Nodes<double>& params) {
  const gn::Nodes<double> grads = gn::gradients(loss, params);
  std::vector<Arr> directions;
  N gv;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const gn::Shape& shape = params[k].shape();
    directions.push_back(test::random(rng, std::vector<std::size_t>(shape.begin(), shape.end())));
    const N term = gn::reduce_sum(grads[k] * g.constant("v" + std::to_string(k), directions[k]));
    gv = k == 0 ? term : gv + term;
  }
  const gn::Nodes<double> hv = gn::gradients(gv, params);
  gn::Session<double> s(g);
  const auto exact = s.run(hv);
  std::vector<Arr> start;
  for (const N& p : params) start.push_back(s.value(p));
  const double eps = 1e-5;
  auto grads_at = [&](double t) {
    for (std::size_t k = 0; k < params.size(); ++k) s.assign(params[k], Arr(start[k] + t * directions[k]));
    return s.run(grads);
  };
  const auto plus = grads_at(eps), minus = grads_at(-eps);
  for (std::size_t k = 0; k < params.size(); ++k) CHECK_CLOSE(Arr((plus[k] - minus[k]) / (2 * eps)), exact[k], 1e-7);
  CHECK(xt::amax(xt::abs(exact[0]))() > 1e-3);  // a product that is not trivially zero
}

}  // namespace

TEST_CASE("conv2d forward equals the direct loop convolution") {
  Rng rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    const Setting s = random_setting(rng);
    INFO(s.text());
    const Arr x = test::random(rng, {s.n, s.h, s.w, s.c}), w = test::random(rng, {s.kh, s.kw, s.c, s.f});
    gn::Graph<double> g;
    const N y = gn::conv2d(g.constant("x", x), g.constant("w", w), s.stride, s.padding, s.dilation);
    CHECK_CLOSE(run1(g, y), direct_conv(x, w, s), 1e-12);
  }
}

TEST_CASE("conv2d in float agrees with double, big enough for several im2col tiles") {
  Rng rng(12);
  Setting s{9, 30, 30, 16, 8, 5, 5, gn::Size2(1), gn::Size2(1), gn::Padding("same")};  // 8100 pixels x 400 > one tile
  const Arr x = test::random(rng, {s.n, s.h, s.w, s.c}), w = test::random(rng, {s.kh, s.kw, s.c, s.f});
  gn::Graph<float> g;
  const auto y = gn::conv2d(g.constant("x", xt::xarray<float>(xt::cast<float>(x))),
                            g.constant("w", xt::xarray<float>(xt::cast<float>(w))), s.stride, s.padding);
  gn::Session<float> session(g);
  CHECK_CLOSE(session.run({y})[0], direct_conv(x, w, s), 1e-4);
}

TEST_CASE("one input channel: the transposed patch tiles give the definition over several tiles, stride 2 included") {
  Rng rng(14);
  for (const gn::Size2 stride : {gn::Size2(1), gn::Size2(2, 1)}) {
    Setting s{24, 28, 28, 1, 4, 5, 5, stride, gn::Size2(1), gn::Padding("same")};  // 18816 pixels x 25 > one tile
    INFO(s.text());
    const Arr x = test::random(rng, {s.n, s.h, s.w, s.c}), w = test::random(rng, {s.kh, s.kw, s.c, s.f});
    gn::Graph<double> g;
    const N xs = g.constant("x", x), y = gn::conv2d(xs, g.constant("w", w), s.stride, s.padding);
    const Arr expected = direct_conv(x, w, s);
    const Arr dy = test::random(rng, std::vector<std::size_t>(expected.shape().begin(), expected.shape().end()));
    // The filter gradient against the adjoint identity <conv2d(x, G), dy> = <G, backprop_filter(x, dy)>.
    const Arr G = test::random(rng, {s.kh, s.kw, s.c, s.f});
    const N dw = gn::conv2d_backprop_filter(xs, g.constant("dy", dy), gn::Size2(5, 5), s.stride, s.padding);
    CHECK_CLOSE(run1(g, y), expected, 1e-12);
    const double lhs = xt::sum(direct_conv(x, G, s) * dy)(), rhs = xt::sum(G * run1(g, dw))();
    CHECK(std::abs(lhs - rhs) <= 1e-10 * std::abs(lhs));
  }
}

TEST_CASE("conv2d with a 1x1 kernel is one product (no im2col) and still the definition") {
  Rng rng(13);
  Setting s{2, 3, 5, 4, 3, 1, 1, gn::Size2(1), gn::Size2(1), gn::Padding("valid")};
  const Arr x = test::random(rng, {s.n, s.h, s.w, s.c}), w = test::random(rng, {1, 1, s.c, s.f});
  gn::Graph<double> g;
  const N xs = g.variable("x", x), ws = g.variable("w", w);
  CHECK_CLOSE(run1(g, gn::conv2d(xs, ws)), direct_conv(x, w, s), 1e-12);
  test::grad_check(rng, {x, w}, [](const gn::Nodes<double>& v) { return gn::conv2d(v[0], v[1]); });
}

TEST_CASE("max_pool2d and avg_pool2d forward equal the direct loops") {
  Rng rng(14);
  for (int trial = 0; trial < 60; ++trial) {
    const Setting s = random_setting(rng, false);
    INFO(s.text());
    const Arr x = test::random(rng, {s.n, s.h, s.w, s.c});
    gn::Graph<double> g;
    const N xs = g.constant("x", x);
    const gn::Size2 window(s.kh, s.kw);
    CHECK_CLOSE(run1(g, gn::max_pool2d(xs, window, s.stride, s.padding)), direct_pool(x, s, true), 1e-12);
    CHECK_CLOSE(run1(g, gn::avg_pool2d(xs, window, s.stride, s.padding)), direct_pool(x, s, false), 1e-12);
  }
}

TEST_CASE("max_pool2d_grad equals the direct routing, with windows that tile the image and windows that do not") {
  Rng rng(15);
  for (const std::size_t side : {4, 5}) {  // 2x2 windows of stride 2 cover a 4x4 image; a 5x5 one keeps a border
    INFO("side " << side);
    gn::Graph<double> g;
    const N x = g.placeholder("x", {2, std::int64_t(side), std::int64_t(side), 3});
    const N dy = g.placeholder("dy", {2, 2, 2, 3});
    const N dx = gn::max_pool2d_grad(x, dy, 2, 2);
    gn::Session<double> s(g);
    for (int run = 0; run < 3; ++run) {  // the planned buffer is reused: nothing may be left from the last run
      Arr X = test::random(rng, {2, side, side, 3}, 0.0, 3.0), G = test::random(rng, {2, 2, 2, 3});
      X = xt::floor(X);  // small integers: ties in most windows
      Arr expected = xt::zeros<double>({std::size_t(2), side, side, std::size_t(3)});
      for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t oh = 0; oh < 2; ++oh)
          for (std::size_t ow = 0; ow < 2; ++ow)
            for (std::size_t c = 0; c < 3; ++c) {
              std::size_t bh = 2 * oh, bw = 2 * ow;  // the first maximum in row-major window order
              for (std::size_t i = 2 * oh; i < 2 * oh + 2; ++i)
                for (std::size_t j = 2 * ow; j < 2 * ow + 2; ++j)
                  if (X(n, i, j, c) > X(n, bh, bw, c)) bh = i, bw = j;
              expected(n, bh, bw, c) += G(n, oh, ow, c);
            }
      CHECK_CLOSE(s.run({dx}, {{x, X}, {dy, G}})[0], expected, 0.0);
    }
  }
}

TEST_CASE("max_pool2d's gradient goes to the first maximum of a window at ties") {
  gn::Graph<double> g;
  const N x = g.variable("x", shaped({1.0, 3.0, 3.0, 2.0}, {1, 2, 2, 1}));  // two maxima
  const N loss = gn::reduce_sum(gn::max_pool2d(x, 2, 2));
  gn::Session<double> s(g);
  const Arr grad = s.run({gn::gradients(loss, {x})[0]})[0];
  CHECK_CLOSE(grad, shaped({0.0, 1.0, 0.0, 0.0}, {1, 2, 2, 1}), 0.0);
}

TEST_CASE("conv2d and its two gradient ops pass float64 gradient checks on random settings") {
  Rng rng(21);
  for (int trial = 0; trial < 25; ++trial) {
    const Setting s = random_setting(rng);
    INFO(s.text());
    const Arr x = test::random(rng, {s.n, s.h, s.w, s.c}), w = test::random(rng, {s.kh, s.kw, s.c, s.f});
    test::grad_check(rng, {x, w}, [&](const gn::Nodes<double>& v) {
      return gn::conv2d(v[0], v[1], s.stride, s.padding, s.dilation);
    });
    gn::Graph<double> probe;
    const N y = gn::conv2d(probe.constant("x", x), probe.constant("w", w), s.stride, s.padding, s.dilation);
    const Arr dy = test::random(rng, {y.shape().begin(), y.shape().end()});
    test::grad_check(rng, {dy, w}, [&](const gn::Nodes<double>& v) {
      return gn::conv2d_backprop_input(v[0], v[1], shape_of(s), s.stride, s.padding, s.dilation);
    });
    test::grad_check(rng, {x, dy}, [&](const gn::Nodes<double>& v) {
      return gn::conv2d_backprop_filter(v[0], v[1], gn::Size2(s.kh, s.kw), s.stride, s.padding, s.dilation);
    });
  }
}

TEST_CASE("conv2d's gradient ops are the adjoints of conv2d (exact, in the inner product)") {
  Rng rng(22);
  for (int trial = 0; trial < 21; ++trial) {
    // the last setting spans several im2col tiles (8100 pixels x 400 > 2^18) for every op
    const Setting s = trial < 20 ? random_setting(rng)
                                 : Setting{9, 30, 30, 16, 8, 5, 5, gn::Size2(1), gn::Size2(1), gn::Padding("same")};
    INFO(s.text());
    const Arr x = test::random(rng, {s.n, s.h, s.w, s.c}), w = test::random(rng, {s.kh, s.kw, s.c, s.f});
    const Arr y = direct_conv(x, w, s);
    const Arr dy = test::random(rng, test::dims_of(y));
    gn::Graph<double> g;
    const N dx = gn::conv2d_backprop_input(g.constant("dy", dy), g.constant("w", w), shape_of(s), s.stride, s.padding,
                                           s.dilation);
    const N dw = gn::conv2d_backprop_filter(g.constant("x", x), g.constant("dy2", dy), gn::Size2(s.kh, s.kw), s.stride,
                                            s.padding, s.dilation);
    gn::Session<double> session(g);
    const auto out = session.run({dx, dw});
    const double lhs = xt::sum(y * dy)();
    CHECK(xt::sum(out[0] * x)() == doctest::Approx(lhs).epsilon(1e-12));
    CHECK(xt::sum(out[1] * w)() == doctest::Approx(lhs).epsilon(1e-12));
  }
}

TEST_CASE("the pools and their gradient ops pass float64 gradient checks on random settings") {
  Rng rng(23);
  for (int trial = 0; trial < 25; ++trial) {
    const Setting s = random_setting(rng, false);
    INFO(s.text());
    const gn::Size2 window(s.kh, s.kw);
    const Arr x = distinct(rng, {s.n, s.h, s.w, s.c});
    gn::Graph<double> probe;
    const N pooled = gn::max_pool2d(probe.constant("x", x), window, s.stride, s.padding);
    const Arr dy = test::random(rng, {pooled.shape().begin(), pooled.shape().end()});
    const Arr v = test::random(rng, test::dims_of(x));
    test::grad_check(rng, {x}, [&](const gn::Nodes<double>& a) { return gn::max_pool2d(a[0], window, s.stride, s.padding); });
    test::grad_check(rng, {x, dy}, [&](const gn::Nodes<double>& a) {
      return gn::max_pool2d_grad(a[0], a[1], window, s.stride, s.padding);
    });
    test::grad_check(rng, {x, v}, [&](const gn::Nodes<double>& a) {
      return gn::max_pool2d_select(a[0], a[1], window, s.stride, s.padding);
    });
    test::grad_check(rng, {x}, [&](const gn::Nodes<double>& a) { return gn::avg_pool2d(a[0], window, s.stride, s.padding); });
    test::grad_check(rng, {dy}, [&](const gn::Nodes<double>& a) {
      return gn::avg_pool2d_grad(a[0], shape_of(s), window, s.stride, s.padding);
    });
  }
}

TEST_CASE("batch_norm and flatten pass float64 gradient checks") {
  Rng rng(24);
  for (int trial = 0; trial < 6; ++trial) {
    const std::size_t c = test::dim(rng, 1, 4);
    const std::vector<std::size_t> dims = trial % 2 ? std::vector<std::size_t>{3, c} : std::vector<std::size_t>{2, 3, 2, c};
    const Arr x = test::random(rng, dims), mean = test::random(rng, {c}), var = test::random(rng, {c}, 0.5, 2.0);
    const Arr gamma = test::random(rng, {c}), beta = test::random(rng, {c});
    test::grad_check(rng, {x, mean, var, gamma, beta},
                     [](const gn::Nodes<double>& v) { return gn::batch_norm(v[0], v[1], v[2], v[3], v[4], 1e-3); });
    test::grad_check(rng, {x}, [](const gn::Nodes<double>& v) { return gn::flatten(v[0]) * 1.0; });
  }
}

TEST_CASE("batch_normalize and batch_normalize_grad pass float64 gradient checks (the latter's: second derivatives)") {
  Rng rng(25);
  for (int trial = 0; trial < 6; ++trial) {
    const std::size_t c = test::dim(rng, 1, 4);
    const std::vector<std::size_t> dims = trial % 2 ? std::vector<std::size_t>{5, c} : std::vector<std::size_t>{2, 3, 2, c};
    const Arr x = test::random(rng, dims), dy = test::random(rng, dims);
    test::grad_check(rng, {x}, [](const gn::Nodes<double>& v) { return gn::batch_normalize(v[0], 1e-3); });
    test::grad_check(rng, {x, dy}, [](const gn::Nodes<double>& v) { return gn::batch_normalize_grad(v[0], v[1], 1e-3); });
  }
}

TEST_CASE("batch_normalize is batch_norm with the batch's own moments, and its gradient is that graph's") {
  Rng rng(26);
  const Arr X = test::random(rng, {3, 4, 2, 3}, -2.0, 5.0), R = test::random(rng, {3, 4, 2, 3});
  gn::Graph<double> g;
  const N x = g.variable("x", X), r = g.constant("r", R), ones = g.constant("ones", Arr{1.0, 1.0, 1.0});
  const N mean = gn::mean_over_leading_axes(x);
  const N composite = gn::batch_norm(x, mean, gn::mean_over_leading_axes(gn::square(x - mean)), ones, ones * 0.0, 0.01);
  const N fused = gn::batch_normalize(x, 0.01);
  const N composite_grad = gn::gradients(gn::reduce_sum(composite * r), {x})[0];
  gn::Session<double> s(g);
  const auto out = s.run({fused, composite, gn::batch_normalize_grad(x, r, 0.01), composite_grad});
  CHECK_CLOSE(out[0], out[1], 1e-14);
  CHECK_CLOSE(out[2], out[3], 1e-13);
}

TEST_CASE("batch_normalize's errors name the op, the input and the rule") {
  gn::Graph<double> g;
  const N rows = g.placeholder("rows", {gn::batch, 4});
  CHECK_ERROR(gn::batch_normalize(g.placeholder("flat", {4}), 1e-5), "op 'batch_normalize'", "'flat'",
              "input [4] needs a batch axis and a fixed channel count on its last axis");
  CHECK_ERROR(gn::batch_normalize(rows, -1.0), "op 'batch_normalize': epsilon -1");
  CHECK_ERROR(gn::batch_normalize_grad(rows, g.placeholder("g", {gn::batch, 3}), 1e-5), "op 'batch_normalize_grad'",
              "gradient [batch, 3] is not shaped like the input [batch, 4]");
}

TEST_CASE("gradients of gradients through batch_normalize: a Hessian-vector product matches central differences") {
  Rng rng(32);
  gn::Graph<double> g;
  const N x = g.constant("x", test::random(rng, {3, 4, 3, 1}));
  const N w = g.variable("w", test::random(rng, {2, 2, 1, 2}, -0.5, 0.5));
  const N h = gn::tanh(gn::batch_normalize(gn::conv2d(x, w, 1, "same"), 1e-3) * 1.5);
  const N loss = gn::reduce_sum(gn::square(gn::flatten(h)) * g.constant("r", test::random(rng, {3, 24})));
  check_hessian_vector_product(rng, g, loss, {w});
}

TEST_CASE("batch_norm normalises each channel: (x - mean) / sqrt(var + eps) * gamma + beta") {
  gn::Graph<double> g;
  const Arr x{{1.0, 10.0}, {3.0, 30.0}};
  const N y = gn::batch_norm(g.constant("x", x), g.constant("m", Arr{2.0, 20.0}), g.constant("v", Arr{1.0, 100.0}),
                             g.constant("g", Arr{2.0, 1.0}), g.constant("b", Arr{0.5, -1.0}), 0.0);
  CHECK_CLOSE(run1(g, y), (Arr{{-1.5, -2.0}, {2.5, 0.0}}), 1e-15);
}

TEST_CASE("gradients of gradients through a convolution: a Hessian-vector product matches central differences") {
  Rng rng(31);
  const Arr X = test::random(rng, {2, 7, 6, 2});
  gn::Graph<double> g;
  const N x = g.constant("x", X);
  const N w1 = g.variable("w1", test::random(rng, {3, 2, 2, 3}, -0.5, 0.5));
  const N w2 = g.variable("w2", test::random(rng, {2, 2, 3, 2}, -0.5, 0.5));
  const N h1 = gn::tanh(gn::conv2d(x, w1, gn::Size2(1, 2), "same"));
  const N h2 = gn::avg_pool2d(gn::tanh(gn::conv2d(h1, w2, 1, gn::Padding::explicit_pads(1, 0, 0, 1), gn::Size2(2, 1))),
                              2, 1, "same");
  const N loss = gn::reduce_sum(gn::square(gn::flatten(h2)));
  check_hessian_vector_product(rng, g, loss, {w1, w2});
}

TEST_CASE("shape errors name the op, the node, the shapes and the arithmetic that failed") {
  gn::Graph<double> g;
  const N x = g.placeholder("images", {gn::batch, 28, 28, 1});
  const N w = g.variable("filter", xt::zeros<double>({5, 5, 1, 8}));
  CHECK_ERROR(gn::conv2d(g.placeholder("small", {gn::batch, 4, 28, 1}), w, 2), "op 'conv2d'", "'small'",
              "[batch, 4, 28, 1]", "input height 4 with kernel 5, stride 2, padding valid gives no output");
  CHECK_ERROR(gn::conv2d(x, w, 1, "valid", 7), "input height 28 with kernel 5 dilated 7 (span 29), stride 1",
              "gives no output");
  CHECK_ERROR(gn::conv2d(x, g.variable("w3", xt::zeros<double>({5, 5, 3, 8}))), "op 'conv2d'",
              "filter [5, 5, 3, 8] takes 3 input channels, input [batch, 28, 28, 1] has 1");
  CHECK_ERROR(gn::conv2d(g.placeholder("flat", {gn::batch, 784}), w), "'flat'",
              "input must be 4-D [batch, height, width, channels] (NHWC), got [batch, 784]");
  CHECK_ERROR(gn::conv2d(x, g.variable("w2d", xt::zeros<double>({5, 5}))), "filter must be 4-D");
  CHECK_ERROR(gn::conv2d(x, w, 0), "stride must be at least 1, got 0x0");
  CHECK_ERROR(gn::max_pool2d(x, 2, 2, gn::Padding::explicit_pads(2, 0, 0, 0)), "op 'max_pool2d'",
              "a pad of 2 leaves windows with no input cell (pads must be smaller than the window's span 2)");
  CHECK_ERROR(gn::avg_pool2d(g.placeholder("tiny", {gn::batch, 1, 1, 3}), 2, 2), "op 'avg_pool2d'",
              "input height 1 with kernel 2, stride 2, padding valid gives no output");
  CHECK_ERROR(gn::conv2d_backprop_input(g.placeholder("dy", {gn::batch, 10, 10, 8}), w, {gn::batch, 28, 28, 1}),
              "op 'conv2d_backprop_input'", "gradient [batch, 10, 10, 8] is not conv2d's output [batch, 24, 24, 8]");
  CHECK_ERROR(gn::conv2d_backprop_filter(x, g.placeholder("dy2", {gn::batch, 24, 24, 4}), 3),
              "op 'conv2d_backprop_filter'", "gradient [batch, 24, 24, 4] is not conv2d's output [batch, 26, 26, 4]");
  CHECK_ERROR(gn::max_pool2d_grad(x, g.placeholder("dy3", {gn::batch, 13, 14, 1}), 2, 2), "op 'max_pool2d_grad'",
              "gradient [batch, 13, 14, 1] does not have the expected shape [batch, 14, 14, 1]");
  const N c3 = g.variable("c3", xt::zeros<double>({3}));
  CHECK_ERROR(gn::batch_norm(x, c3, c3, c3, c3, 1e-5), "op 'batch_norm'",
              "mean [3] is not [1], one value per channel of input [batch, 28, 28, 1]");
  CHECK_ERROR(gn::batch_norm(x, c3, c3, c3, c3, -1.0), "op 'batch_norm': epsilon -1");
  CHECK_ERROR(gn::flatten(c3), "op 'flatten'", "input [3] has no axes after the first to flatten");
  CHECK_ERROR(gn::conv2d(x, w, 1, "full"), "padding 'full' is not \"valid\", \"same\" or explicit(top,bottom,left,right)");
}

TEST_CASE("Padding's text round-trips") {
  for (const gn::Padding& p : {gn::Padding("valid"), gn::Padding("same"), gn::Padding::explicit_pads(1, 2, 3, 4)}) {
    const gn::Padding back(p.to_string());
    CHECK(back.to_string() == p.to_string());
    CHECK(back.kind == p.kind);
  }
  CHECK(gn::Padding::explicit_pads(1, 2, 3, 4).to_string() == "explicit(1,2,3,4)");
}

// --- layers ------------------------------------------------------------------

namespace {

// A small CNN for 6x6 single-channel images and 3 classes, every conv layer kind in it.
gn::Sequential<double> small_cnn() {
  gn::Sequential<double> model;
  model.add(gn::Reshape<double>({6, 6, 1}))
      .add(gn::Conv2D<double>(4, 3, 1, "same"))
      .add(gn::BatchNorm<double>(0.5))
      .add(gn::Activation<double>("relu"))
      .add(gn::MaxPool2D<double>(2))
      .add(gn::AvgPool2D<double>(2, 1, "same"))
      .add(gn::Conv2D<double>(2, gn::Size2(2, 1), gn::Size2(1, 2), gn::Padding::explicit_pads(1, 0, 0, 0)))
      .add(gn::Flatten<double>())
      .add(gn::Linear<double>(3 * 2 * 2, 3));
  model.set_classifier("softmax").set_loss("cross_entropy").set_optimizer(gn::Adam<double>(0.01)).set_seed(3);
  return model;
}

}  // namespace

TEST_CASE("a CNN of the conv layers trains, and save/load gives bit-identical predictions (BatchNorm included)") {
  Rng rng(41);
  Arr x = test::random(rng, {60, 36}, 0, 1);
  Arr y = xt::zeros<double>({std::size_t(60), std::size_t(1)});
  for (std::size_t r = 0; r < 60; ++r) y(r, 0) = double(r % 3);
  for (std::size_t r = 0; r < 60; ++r) x(r, r % 3) += 2.0;  // learnable: the class lights a pixel
  gn::Sequential<double> model = small_cnn();
  const double before = model.evaluate(x, y).loss;
  model.fit(x, y, test::quiet(40, 10));
  const gn::Evaluation after = model.evaluate(x, y);
  CHECK(after.loss < before);
  CHECK(after.accuracy > 0.9);

  // the running statistics moved away from their start (the training step ran their assignments)
  const Arr running_mean = model.session().value(model.graph().find("layer2/running_mean"));
  CHECK(xt::amax(xt::abs(running_mean))() > 1e-3);

  const std::string path = "test_conv_model.gnn";
  model.save(path);
  gn::Sequential<double> loaded = gn::Sequential<double>::load(path);
  const Arr p1 = model.predict(x), p2 = loaded.predict(x);
  CHECK(p1.shape() == p2.shape());
  CHECK(std::equal(p1.begin(), p1.end(), p2.begin()));  // bit for bit
  CHECK(xt::amax(xt::abs(loaded.session().value(loaded.graph().find("layer2/running_mean")) - running_mean))() == 0.0);
  std::remove(path.c_str());
}

TEST_CASE("BatchNorm: training normalises with the batch's moments and moves the running ones; inference uses those") {
  gn::Graph<double> g;
  std::mt19937_64 rng(1);
  const N x = g.placeholder("x", {gn::batch, 2, 1, 2});
  gn::BatchNorm<double> bn(0.75, 1e-3);
  gn::BuildContext<double> train{g, rng, "bn/", true};
  const N y_train = bn.build(x, train);
  gn::BuildContext<double> infer{g, rng, "bn/", false};
  const N y_infer = bn.build(x, infer);
  REQUIRE(train.updates.size() == 2);
  CHECK(bn.parameters().size() == 2);  // gamma, beta
  CHECK(bn.state().size() == 2);       // running mean, running variance

  const Arr X = shaped({1.0, 10.0, 3.0, 20.0, 5.0, 30.0, 7.0, 40.0}, {2, 2, 1, 2});
  gn::Session<double> s(g);
  const auto out = s.run({y_train, y_infer}, {{x, X}});
  // channel 0: mean 4, variance 5; channel 1: mean 25, variance 125
  CHECK(out[0](0, 0, 0, 0) == doctest::Approx((1.0 - 4.0) / std::sqrt(5.0 + 1e-3)));
  CHECK(out[0](1, 1, 0, 1) == doctest::Approx((40.0 - 25.0) / std::sqrt(125.0 + 1e-3)));
  CHECK(out[1](0, 0, 0, 1) == doctest::Approx(10.0 / std::sqrt(1.0 + 1e-3)));  // running: mean 0, variance 1
  s.run_targets(train.updates, {{x, X}});
  CHECK_CLOSE(s.value(g.find("bn/running_mean")), (Arr{0.25 * 4.0, 0.25 * 25.0}), 1e-12);
  CHECK_CLOSE(s.value(g.find("bn/running_variance")), (Arr{0.75 + 0.25 * 5.0, 0.75 + 0.25 * 125.0}), 1e-12);
}

TEST_CASE("conv layer errors name the layer and the input") {
  gn::Graph<double> g;
  std::mt19937_64 rng(1);
  gn::BuildContext<double> ctx{g, rng, "c/", true};
  gn::Conv2D<double> conv(8, 3);
  CHECK_ERROR(conv.build(g.placeholder("rows", {gn::batch, 784}), ctx), "Conv2D(8, 3x3, stride 1x1, valid)",
              "'rows' [batch, 784] is not an image batch [batch, height, width, channels]; start with a Reshape layer");
  CHECK_ERROR(gn::Conv2D<double>(0, 3), "Conv2D: filters and kernel must be positive, got 0 filters of 3x3");
  CHECK_ERROR(gn::BatchNorm<double>(1.5), "BatchNorm: momentum 1.5");
  gn::BatchNorm<double> bn;
  CHECK_ERROR(bn.build(g.variable("v", xt::zeros<double>({5})), ctx), "BatchNorm(momentum 0.9",
              "input 'v' [5] needs a batch axis and a fixed channel axis last");
  CHECK_ERROR(gn::Reshape<double>({28, 0}), "Reshape(28, 0): the dimensions must be given and positive");
  CHECK_ERROR(gn::make_layer<double>("MaxPool2D", {{"window", "2x2"}, {"stride", "2x2"}}),
              "layer MaxPool2D: missing setting 'padding'");
  CHECK_ERROR(gn::make_layer<double>("Conv2D", {{"filters", "8"}, {"kernel", "3by3"}, {"stride", "1x1"},
                                                {"padding", "valid"}, {"dilation", "1x1"}, {"init", "he_normal"},
                                                {"bias", "1"}}),
              "Conv2D kernel: '3by3' is not a size like 5x5");
}
