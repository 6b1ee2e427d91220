// Zero heap allocations per training step, counted by replacing malloc itself
// (tests/alloc_counter.hpp).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <graphnn/graphnn.hpp>
#include <cstdlib>
#include <random>

// GRAPHNN_VERIFY_PASSES runs every plan twice on copies of the variables:
// allocating per run is what it does, so it is off for this suite.
static const bool verify_off = (unsetenv("GRAPHNN_VERIFY_PASSES"), true);

#include "alloc_counter.hpp"

namespace gn = graphnn;

namespace {

using alloc_counter::allocations_during;

template <class T>
xt::xarray<T> random(std::mt19937& rng, std::vector<std::size_t> shape) {
  xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
  std::normal_distribution<double> d(0.0, 0.5);
  for (auto& v : a) v = static_cast<T>(d(rng));
  return a;
}

}  // namespace

TEST_CASE("the counter sees allocations (the zero results below mean something)") {
  if (!GRAPHNN_COUNTS_ALLOCATIONS) return;
  const long n = allocations_during([] {
    xt::xarray<double> a = xt::zeros<double>({100});
    CHECK(a.size() == 100);
  });
  CHECK(n >= 1);
}

TEST_CASE_TEMPLATE("a raw session training step allocates nothing", T, float, double) {
  if (!GRAPHNN_COUNTS_ALLOCATIONS) return;
  std::mt19937 rng(3);
  gn::Graph<T> g;
  auto x = g.placeholder("x", {gn::batch, 20});
  auto y = g.placeholder("y", {gn::batch, 5});
  auto W1 = g.variable("W1", random<T>(rng, {20, 16}));
  auto b1 = g.variable("b1", xt::zeros<T>({16}));
  auto W2 = g.variable("W2", random<T>(rng, {16, 5}));
  auto b2 = g.variable("b2", xt::zeros<T>({5}));
  auto logits = gn::matmul(gn::relu(gn::matmul(x, W1) + b1), W2) + b2;
  auto loss = gn::softmax_cross_entropy(logits, y);
  const gn::Nodes<T> params{W1, b1, W2, b2};
  gn::Adam<T> adam(1e-3);
  const gn::Nodes<T> updates = adam.build(params, gn::gradients(loss, params));
  gn::Session<T> s(g);

  xt::xarray<T> X = random<T>(rng, {8, 20}), Y = xt::zeros<T>({8, 5});
  xt::xarray<T> X3 = random<T>(rng, {3, 20}), Y3 = xt::zeros<T>({3, 5});
  for (std::size_t r = 0; r < 8; ++r) Y(r, r % 5) = 1;
  for (std::size_t r = 0; r < 3; ++r) Y3(r, r) = 1;
  std::vector<xt::xarray<T>> out;
  std::size_t step = 0;
  auto train = [&](const xt::xarray<T>& xb, const xt::xarray<T>& yb) {
    adam.prepare(s, ++step, 0);
    s.run_targets(updates, {{x, xb}, {y, yb}});
  };
  // the first runs compile the plans (full batch, short last batch, loss fetch)
  train(X, Y);
  train(X3, Y3);
  s.run({loss}, {{x, X}, {y, Y}}, out);

  CHECK(allocations_during([&] {
          for (int i = 0; i < 100; ++i) train(i % 4 == 3 ? X3 : X, i % 4 == 3 ? Y3 : Y);
        }) == 0);
  CHECK(allocations_during([&] {
          for (int i = 0; i < 100; ++i) s.run({loss}, {{x, X}, {y, Y}}, out);
        }) == 0);
  CHECK(std::isfinite(double(out[0]())));
}

TEST_CASE("a Sequential fit step allocates nothing") {
  if (!GRAPHNN_COUNTS_ALLOCATIONS) return;
  // fit's set-up and its checkpoint allocate, the same number of times whatever
  // the data size; 100 more steps must not add a single allocation.
  std::mt19937 rng(5);
  auto data = [&](std::size_t rows) {
    gn::Dataset<double> d{random<double>(rng, {rows, 6}), xt::xarray<double>(xt::zeros<double>({rows, std::size_t{1}}))};
    for (std::size_t r = 0; r < rows; ++r) d.y(r, 0) = d.x(r, 0) > 0 ? 1.0 : 0.0;
    return d;
  };
  const auto small = data(200), large = data(600);
  gn::Sequential<double> model(gn::Linear<double>(6, 8), gn::Activation<double>("tanh"), gn::Linear<double>(8, 1));
  model.set_classifier("sigmoid").set_loss("binary_cross_entropy").set_optimizer(gn::SGD<double>(0.1, 0.9));
  gn::FitOptions o;
  o.epochs = 1;
  o.batch_size = 4;  // 50 and 150 steps
  o.verbose = false;
  model.fit(small.x, small.y, o);  // builds the graph and compiles the plans
  model.fit(large.x, large.y, o);
  const long for_50 = allocations_during([&] { model.fit(small.x, small.y, o); });
  const long for_150 = allocations_during([&] { model.fit(large.x, large.y, o); });
  CHECK(for_50 > 0);  // the set-up is counted...
  CHECK(for_150 == for_50);  // ...and the steps add nothing
}

TEST_CASE("every declared update rule steps without allocating") {
  if (!GRAPHNN_COUNTS_ALLOCATIONS) return;
  std::mt19937 rng(7);
  for (const gn::UpdateRuleInfo& rule : gn::update_rules()) {
    CAPTURE(rule.kind);
    gn::Graph<double> g;
    auto x = g.placeholder("x", {gn::batch, 6});
    auto W = g.variable("W", random<double>(rng, {6, 3}));
    auto b = g.variable("b", xt::zeros<double>({3}));
    auto loss = gn::reduce_mean(gn::square(gn::matmul(x, W) + b));
    // SGD with momentum and Nesterov, the others with weight decay: every slot in use
    const auto opt = gn::make_optimizer<double>(
        {rule.kind, rule.kind == "SGD" ? std::map<std::string, double>{{"momentum", 0.9}, {"nesterov", 1}}
                                       : std::map<std::string, double>{{"weight_decay", 0.1}},
         gn::step_decay(2, 0.5)});
    const gn::Nodes<double> updates = opt->build({W, b}, gn::gradients(loss, {W, b}));
    gn::Session<double> s(g);
    const xt::xarray<double> X = random<double>(rng, {8, 6});
    std::size_t step = 0;
    auto train = [&] {
      ++step;
      opt->prepare(s, step, step / 10);
      s.run_targets(updates, {{x, X}});
    };
    train();
    CHECK(allocations_during([&] {
            for (int i = 0; i < 50; ++i) train();
          }) == 0);
    CHECK(std::isfinite(s.value(W)(0, 0)));
  }
}

TEST_CASE_TEMPLATE("a conv net's training step allocates nothing (im2col tiles are planned workspace)", T, float, double) {
  if (!GRAPHNN_COUNTS_ALLOCATIONS) return;
  std::mt19937 rng(7);
  gn::Graph<T> g;
  std::mt19937_64 init(1);
  auto x = g.placeholder("x", {gn::batch, 10, 9, 2});
  auto y = g.placeholder("y", {gn::batch, 1});
  gn::Conv2D<T> conv1(6, 3, 1, "same");
  gn::BatchNorm<T> bn;
  gn::Conv2D<T> conv2(4, gn::Size2(2, 3), 2, "valid");
  gn::BuildContext<T> ctx1{g, init, "conv1/", true}, ctx2{g, init, "bn/", true}, ctx3{g, init, "conv2/", true};
  auto h = gn::max_pool2d(gn::relu(bn.build(conv1.build(x, ctx1), ctx2)), 2, 2, "same");
  h = gn::avg_pool2d(conv2.build(h, ctx3), 1, 1);
  auto w = g.variable("w", random<T>(rng, {16, 3}));
  auto loss = gn::sparse_softmax_cross_entropy(gn::matmul(gn::flatten(h), w), y);
  gn::Nodes<T> params = conv1.parameters();
  for (const auto& p : bn.parameters()) params.push_back(p);
  for (const auto& p : conv2.parameters()) params.push_back(p);
  params.push_back(w);
  gn::Adam<T> adam(1e-3);
  gn::Nodes<T> updates = adam.build(params, gn::gradients(loss, params));
  updates.insert(updates.end(), ctx2.updates.begin(), ctx2.updates.end());  // BatchNorm's running statistics
  gn::Session<T> s(g);

  xt::xarray<T> X = random<T>(rng, {16, 10, 9, 2}), Y = xt::zeros<T>({16, 1});
  for (std::size_t r = 0; r < 16; ++r) Y(r, 0) = T(r % 3);
  std::size_t step = 0;
  auto train = [&] {
    adam.prepare(s, ++step, 0);
    s.run_targets(updates, {{x, X}, {y, Y}});
  };
  train();  // compiles the plan
  CHECK(allocations_during([&] {
          for (int i = 0; i < 20; ++i) train();
        }) == 0);
  CHECK(std::isfinite(double(s.run({loss}, {{x, X}, {y, Y}})[0]())));
}
