// LayerNorm (lib/layer_norm.cpp): its values against the formula, its
// gradient in float64 with the shipped checker, saving and loading through the
// layer registry, and its errors. Also Dropout's summary line.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <cstdio>

#include <xtensor/xview.hpp>

using test::Arr;
using test::N;

namespace {

// (x - mean) / sqrt(var + eps) * gamma + beta, row by row, written out.
Arr layer_norm_formula(const Arr& x, const Arr& gamma, const Arr& beta, double eps) {
  Arr y = x;
  const std::size_t rows = x.shape()[0], f = x.shape()[1];
  for (std::size_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (std::size_t j = 0; j < f; ++j) mean += x(r, j) / double(f);
    for (std::size_t j = 0; j < f; ++j) var += (x(r, j) - mean) * (x(r, j) - mean) / double(f);
    for (std::size_t j = 0; j < f; ++j) y(r, j) = (x(r, j) - mean) / std::sqrt(var + eps) * gamma(j) + beta(j);
  }
  return y;
}

struct Built {
  gn::Graph<double> g;
  std::mt19937_64 rng{1};
  gn::LayerNorm<double> layer;
  N x, y;
  explicit Built(gn::LayerNorm<double> l, const gn::Shape& shape) : layer(std::move(l)) {
    x = g.placeholder("x", shape);
    gn::BuildContext<double> ctx{g, rng, "ln/", true};
    y = layer.build(x, ctx);
  }
};

}  // namespace

TEST_CASE("LayerNorm normalises each row over its features, then scales and shifts") {
  Built b(gn::LayerNorm<double>(4, 1e-3), {gn::batch, 4});
  REQUIRE(b.layer.parameters().size() == 2);
  CHECK(b.layer.parameters()[0].name() == "ln/gamma");
  CHECK(b.layer.parameters()[1].name() == "ln/beta");
  gn::Session<double> s(b.g);
  const Arr x = {{1.0, 2.0, 3.0, 4.0}, {-2.0, 0.5, 0.5, 7.0}, {3.0, 3.0, 3.0, 3.0}};
  // starting values: gamma 1, beta 0; row 0: mean 2.5, variance 1.25
  const Arr y0 = s.run({b.y}, {{b.x, x}})[0];
  CHECK(y0(0, 0) == doctest::Approx(-1.5 / std::sqrt(1.25 + 1e-3)).epsilon(1e-14));
  CHECK_CLOSE(y0, layer_norm_formula(x, xt::ones<double>({4}), xt::zeros<double>({4}), 1e-3), 1e-14);
  CHECK_CLOSE(Arr(xt::view(y0, 2)), Arr(xt::zeros<double>({4})), 1e-15);  // a constant row: 0, not NaN

  const Arr gamma = {0.5, -1.0, 2.0, 1.5}, beta = {0.1, 0.2, -0.3, 0.0};
  s.assign(b.layer.parameters()[0], gamma);
  s.assign(b.layer.parameters()[1], beta);
  CHECK_CLOSE(s.run({b.y}, {{b.x, x}})[0], layer_norm_formula(x, gamma, beta, 1e-3), 1e-14);

  Built plain(gn::LayerNorm<double>(4, 1e-5, false), {gn::batch, 4});
  CHECK(plain.layer.parameters().empty());
  gn::Session<double> s2(plain.g);
  const Arr y = s2.run({plain.y}, {{plain.x, x}})[0];
  CHECK_CLOSE(Arr(xt::mean(xt::view(y, 1))), Arr(0.0), 1e-14);
  CHECK_CLOSE(Arr(xt::mean(xt::square(xt::view(y, 1)))), Arr(1.0 / (1.0 + 1e-5 / xt::variance(xt::view(x, 1))())), 1e-12);
}

TEST_CASE("LayerNorm's gradient (x, gamma, beta) passes the float64 gradient check") {
  test::Rng rng(11);
  for (const gn::Shape& shape : {gn::Shape{3, 5}, gn::Shape{2, 3, 4}}) {
    gn::Graph<double> g;
    std::mt19937_64 init(2);
    gn::Dims dims(shape.begin(), shape.end());
    const N x = g.variable("x", test::random(rng, dims, -2, 2));
    gn::LayerNorm<double> layer(std::size_t(shape.back()), 0.1);
    gn::BuildContext<double> ctx{g, init, "ln/", true};
    const N y = layer.build(x, ctx);
    const N loss = gn::reduce_sum(y * g.constant("R", test::random_away(rng, dims, 0.5, 1.5)));
    gn::Session<double> s(g);
    s.assign(layer.parameters()[0], test::random_away(rng, {std::size_t(shape.back())}, 0.5, 1.5));
    s.assign(layer.parameters()[1], test::random(rng, {std::size_t(shape.back())}));
    test::check_grads(s, loss, {x, layer.parameters()[0], layer.parameters()[1]});
  }
}

TEST_CASE("LayerNorm trains in a Sequential, saves and loads through the layer registry") {
  test::Rng rng(3);
  const Arr X = test::random(rng, {16, 3}, -1, 1);
  Arr Y = xt::zeros<double>({16, 1});
  for (std::size_t r = 0; r < 16; ++r) Y(r, 0) = X(r, 0) - 2 * X(r, 1) > 0 ? 1.0 : 0.0;
  gn::Sequential<double> m(gn::Linear<double>(3, 4), gn::LayerNorm<double>(4, 1e-4), gn::Activation<double>("tanh"),
                           gn::Dropout<double>(0.1), gn::Linear<double>(4, 1));
  m.set_classifier("sigmoid").set_loss("binary_cross_entropy").set_optimizer(gn::Adam<double>(0.05)).set_seed(4);
  const auto h = m.fit(X, Y, test::quiet(20, 8));
  CHECK(h.loss.back() < h.loss.front());
  CHECK(m.parameters().size() == 6);  // W, b, gamma, beta, W, b

  std::ostringstream summary;
  m.summary(summary);
  INFO(summary.str());
  CHECK(summary.str().find("LayerNorm(4)") != std::string::npos);
  CHECK(summary.str().find("Dropout(0.1) ") != std::string::npos);  // not Dropout(0.100000)

  const std::string path = "test_layer_norm_model.gnn";
  m.save(path);
  auto loaded = gn::Sequential<double>::load(path);
  std::remove(path.c_str());
  CHECK(loaded.predict(X) == m.predict(X));
  std::ostringstream loaded_summary;
  loaded.summary(loaded_summary);
  CHECK(loaded_summary.str().find("layer1 LayerNorm(4)") != std::string::npos);
  CHECK(loaded_summary.str().find("layer3 Dropout(0.1) ") != std::string::npos);
}

TEST_CASE("LayerNorm and Dropout configs round-trip exactly") {
  const gn::LayerConfig c = gn::LayerNorm<float>(7, 0.1, false).config();
  CHECK(c == gn::LayerConfig{{"features", "7"}, {"epsilon", "0.10000000000000001"}, {"affine", "0"}});
  CHECK(gn::make_layer<float>("LayerNorm", c)->config() == c);
  CHECK(gn::make_layer<double>("LayerNorm", c)->describe() == "LayerNorm(7, no affine)");
  CHECK(gn::Dropout<double>(0.1).config().at("rate") == "0.10000000000000001");
  CHECK(gn::Dropout<double>(0.25).describe() == "Dropout(0.25)");
}

TEST_CASE("LayerNorm errors name the layer, the input and the limit") {
  CHECK_ERROR(gn::LayerNorm<double>(0), "LayerNorm: features must be positive, got 0");
  CHECK_ERROR(gn::LayerNorm<double>(3, 0.0), "LayerNorm(3): epsilon must be positive, got 0");
  CHECK_ERROR(Built(gn::LayerNorm<double>(4), {gn::batch, 3}),
              "LayerNorm(4): input 'x' [batch, 3] does not have 4 features in its last dimension");
  CHECK_ERROR(gn::make_layer<double>("LayerNorm", {{"features", "3"}, {"affine", "1"}}),
              "layer LayerNorm: missing setting 'epsilon'");
  CHECK_ERROR(gn::make_layer<double>("LayerNorm", {{"features", "x3"}, {"epsilon", "1e-5"}, {"affine", "1"}}),
              "layer LayerNorm: setting 'features'");
  CHECK_ERROR(gn::make_layer<double>("LayerNorm", {{"features", "3"}, {"epsilon", "nan"}, {"affine", "1"}}),
              "layer LayerNorm: setting 'epsilon'");
}
