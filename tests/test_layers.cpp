// The layer extension points, used as a layer written outside the library
// would: variables made once per graph through Layer::variable, state that is
// saved but never optimised, the public initialisers, and a layer that tells
// Sequential it behaves differently in training.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <cstdio>

#include <xtensor/xview.hpp>

namespace {

// y = x * g (a learned per-feature gain) + c, where c is a constant that is
// part of the model's state; in training it also adds `noise`, so the two
// builds differ.
class GainLayer final : public gn::Layer<double> {
 public:
  GainLayer(std::size_t features, double noise) : features_(features), noise_(noise) {}
  std::string kind() const override { return "Gain"; }
  gn::Node<double> build(const gn::Node<double>& x, gn::BuildContext<double>& ctx) override {
    ++builds;
    const auto g = variable(ctx, "g", [&] {
      return gn::initial_value<double>(gn::uniform(0.5, 1.5), {features_}, features_, features_, ctx.rng);
    });
    const auto c = variable(ctx, "c", [&] { return xt::xarray<double>(xt::ones<double>({features_})); }, false);
    const auto y = x * g + c;
    return ctx.training ? y + noise_ : y;
  }
  bool behaves_differently_in_training() const override { return noise_ != 0.0; }
  gn::LayerConfig config() const override {
    return {{"features", std::to_string(features_)}, {"noise", std::to_string(noise_)}};
  }
  int builds = 0;

 private:
  std::size_t features_;
  double noise_;
};

test::Arr inputs() { return {{0.1, -0.2}, {0.3, 0.4}, {-0.5, 0.6}, {0.7, -0.8}}; }
test::Arr targets() { return xt::reshape_view(test::Arr{1.0, 0.0, 1.0, 0.0}, {4, 1}); }

}  // namespace

TEST_CASE("Layer::variable creates each variable once per graph; state is not a parameter") {
  gn::Graph<double> g;
  std::mt19937_64 rng(1);
  gn::BuildContext<double> ctx{g, rng, "gain/", true};
  GainLayer layer(2, 0.0);
  const auto x = g.placeholder("x", {gn::batch, 2});
  layer.build(x, ctx);
  ctx.training = false;
  layer.build(x, ctx);
  REQUIRE(layer.parameters().size() == 1);
  REQUIRE(layer.state().size() == 1);
  CHECK(layer.parameters()[0].name() == "gain/g");
  CHECK(layer.state()[0].name() == "gain/c");

  gn::Graph<double> other;  // a new graph gets its own variables
  gn::BuildContext<double> ctx2{other, rng, "gain/", true};
  layer.build(other.placeholder("x", {gn::batch, 2}), ctx2);
  CHECK(layer.parameters()[0].graph() == &other);
  CHECK(layer.state().size() == 1);
}

TEST_CASE("initial_value draws as the Init says, from the caller's generator") {
  std::mt19937_64 a(5), b(5);
  const auto u = gn::initial_value<double>(gn::uniform(-1, 1), {3, 4}, 3, 4, a);
  CHECK(u.shape() == std::vector<std::size_t>{3, 4});
  CHECK(xt::all(u >= -1.0));
  CHECK(xt::all(u < 1.0));
  CHECK(u == gn::initial_value<double>(gn::uniform(-1, 1), {3, 4}, 3, 4, b));  // same stream, same values
  const auto limit = std::sqrt(6.0 / 7.0);
  const auto w = gn::initial_value<double>(gn::xavier_uniform(), {3, 4}, 3, 4, a);
  CHECK(xt::all(xt::abs(w) <= limit));
  CHECK(gn::initial_value<float>(gn::zeros(), {2}, 1, 1, a) == xt::xarray<float>{0.f, 0.f});
}

TEST_CASE("a user layer that behaves differently in training gets a separate inference path") {
  gn::register_layer<double>("Gain", [](const gn::LayerConfig& c) {
    return std::make_shared<GainLayer>(std::stoul(gn::config_value(c, "features", "Gain")),
                                       std::stod(gn::config_value(c, "noise", "Gain")));
  });
  auto layer = std::make_shared<GainLayer>(2, 0.25);
  gn::Sequential<double> m;
  m.add(layer).add(gn::Linear<double>(2, 1));
  m.set_seed(2);
  m.fit(inputs(), targets(), test::quiet(3, 4));
  CHECK(layer->builds == 2);  // a training build (with noise) and an inference build
  CHECK(m.parameters().size() == 3);  // g, then W and b; the state c is not optimised

  // The state variable travels with the model file (set away from its initial value first).
  m.session().assign(layer->state()[0], test::Arr{2.0, -3.0});
  const auto before = m.predict(inputs());
  const std::string path = "test_layers_gain.gnn";
  m.save(path);
  auto loaded = gn::Sequential<double>::load(path);
  std::remove(path.c_str());
  CHECK(loaded.predict(inputs()) == before);
}
