// The session's own promises beyond computing values: a bounded plan cache,
// per-session op state (dropout's stream).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <xtensor/xview.hpp>

using namespace test;

namespace {

Arr rows_of(std::size_t rows) {
  Arr X = xt::zeros<double>({rows, std::size_t(2)});
  for (std::size_t i = 0; i < X.size(); ++i) X.data()[i] = 0.1 * double(i % 7) - 0.3;
  return X;
}

// tanh(X W), by loops
Arr tanh_product(const Arr& X, const Arr& W) {
  Arr out = xt::zeros<double>({X.shape()[0], W.shape()[1]});
  for (std::size_t i = 0; i < X.shape()[0]; ++i)
    for (std::size_t j = 0; j < W.shape()[1]; ++j) {
      double sum = 0;
      for (std::size_t p = 0; p < W.shape()[0]; ++p) sum += X(i, p) * W(p, j);
      out(i, j) = std::tanh(sum);
    }
  return out;
}

}  // namespace

TEST_CASE("plan cache: a predict loop over ever new row counts keeps at most plan_cache_size plans") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto w = g.variable("w", Arr{{0.5, -1.0, 0.25}, {2.0, 0.5, -0.5}});
  auto y = gn::tanh(gn::matmul(x, w));
  gn::SessionOptions options;
  options.plan_cache_size = 5;
  gn::Session<double> bounded(g, options);
  for (std::size_t rows = 1; rows <= 40; ++rows) {
    const Arr X = rows_of(rows);
    const Arr got = bounded.run({y}, {{x, X}})[0];
    CHECK(bounded.plan_count() == std::min<std::size_t>(rows, 5));
    CHECK_CLOSE(got, tanh_product(X, bounded.value(w)), 1e-15);
  }
  // an evicted plan is compiled again when asked for, and computes the same
  const Arr again = bounded.run({y}, {{x, rows_of(1)}})[0];
  CHECK_CLOSE(again, tanh_product(rows_of(1), bounded.value(w)), 1e-15);
  CHECK(bounded.plan_count() == 5);

  gn::Session<double> by_default(g);
  CHECK(by_default.options().plan_cache_size == 32);
  for (std::size_t rows = 1; rows <= 100; ++rows) by_default.run({y}, {{x, rows_of(rows)}});
  CHECK(by_default.plan_count() == 32);
}

TEST_CASE("plan cache: a size of 0 is refused") {
  gn::Graph<double> g;
  gn::SessionOptions options;
  options.plan_cache_size = 0;
  CHECK_ERROR(gn::Session<double>(g, options), "plan_cache_size", "is 0", "at least 1");
}

TEST_CASE("dropout: the mask's stream is the session's, started from the op's seed") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 50});
  auto mask = gn::dropout_mask(x, 0.5, 9u);
  const Arr ones = xt::ones<double>({4, 50});
  gn::Session<double> a(g), b(g);
  const Arr a1 = a.run({mask}, {{x, ones}})[0];
  const Arr a2 = a.run({mask}, {{x, ones}})[0];
  // b's first draw is a's first, not a's continuation
  CHECK(xt::all(xt::equal(b.run({mask}, {{x, ones}})[0], a1)));
  CHECK(xt::all(xt::equal(b.run({mask}, {{x, ones}})[0], a2)));
  CHECK(!xt::all(xt::equal(a1, a2)));
  // and it continues across the session's plans (another batch size)
  gn::Session<double> c(g);
  c.run({mask}, {{x, ones}});
  const Arr c2 = c.run({mask}, {{x, Arr(xt::ones<double>({8, 50}))}})[0];
  CHECK(!xt::all(xt::equal(xt::view(c2, xt::range(0, 4), xt::all()), a1)));
  // the op itself holds no stream: run outside a session, it says so
  const auto& op = *g.data(mask).op;
  Arr out = xt::zeros<double>({4, 50});
  gn::Buffer<double> in{const_cast<double*>(ones.data()), {4, 50}, 200}, buf{out.data(), {4, 50}, 200};
  CHECK_ERROR(op.forward({&in}, buf), "dropout_mask", "session's random stream", "only in a Session");
}

TEST_CASE("feeds: a converted or temporary value is owned by the feed, so a kept feed list stays valid") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto y = x * 2.0;
  gn::Session<double> s(g);
  const xt::xarray<float> Xf{{1.5f, -2.0f}, {0.25f, 4.0f}};
  const Arr X{{1.5, -2.0}, {0.25, 4.0}};
  // each of these once made a temporary double copy that was gone by the run
  std::vector<gn::Feed<double>> from_float = {{x, Xf}};
  std::vector<gn::Feed<double>> from_expression = {{x, X * 1.0}};
  std::vector<gn::Feed<double>> from_temporary = {{x, Arr{{1.5, -2.0}, {0.25, 4.0}}}};
  std::vector<Arr> junk;  // reuse what was freed, so a dangling feed would read garbage
  for (int i = 0; i < 8; ++i) junk.push_back(xt::zeros<double>({2, 2}) - 7.0);
  for (const auto* feeds : {&from_float, &from_expression, &from_temporary}) {
    CHECK((*feeds)[0].owned != nullptr);
    CHECK(xt::all(xt::equal(s.run({y}, *feeds)[0], 2.0 * X)));
  }
  // an array of the session's type is read in place, not copied
  gn::Feed<double> in_place(x, X);
  CHECK(in_place.value == &X);
  CHECK(in_place.owned == nullptr);
}

TEST_CASE("lifetimes: a Session or Node whose Graph is gone throws; a bad node id throws") {
  auto g = std::make_unique<gn::Graph<double>>();
  auto x = g->placeholder("x", {gn::batch, 2});
  auto w = g->variable("w", Arr{1.0, 2.0});
  auto y = x * w;
  gn::Session<double> s(*g);
  const Arr X{{1.0, 1.0}};
  CHECK(xt::all(xt::equal(s.run({y}, {{x, X}})[0], Arr{{1.0, 2.0}})));
  g.reset();
  CHECK_ERROR(s.run({y}, {{x, X}}), "run", "graph was destroyed");
  CHECK_ERROR(s.run_targets({y}, {{x, X}}), "run_targets", "graph was destroyed");
  CHECK_ERROR(s.value(w), "value", "graph was destroyed");
  CHECK_ERROR(s.assign(w, Arr{0.0, 0.0}), "assign", "graph was destroyed");
  CHECK_ERROR(s.variable_data(w), "variable_data", "graph was destroyed");
  CHECK_ERROR(s.graph(), "graph", "graph was destroyed");
  CHECK_ERROR(s.plan_summary(), "plan_summary", "graph was destroyed");
  CHECK_ERROR(y.name(), "graph was destroyed");
  CHECK_ERROR(y.shape(), "graph was destroyed");
  CHECK_ERROR(gn::relu(y), "graph was destroyed");
  CHECK_ERROR(gn::describe(y), "graph was destroyed");
  CHECK(s.plan_count() == 1);  // reads only the session

  // a new graph, perhaps at the same address, does not take the old nodes for its own
  gn::Graph<double> h;
  auto hx = h.placeholder("x", {gn::batch, 2});
  CHECK(hx != x);
  gn::Session<double> t(h);
  CHECK_ERROR(t.run({y}, {{hx, X}}), "graph was destroyed");

  CHECK_ERROR(gn::Node<double>(&h, 1), "node", "no node with id 1", "graph of 1 nodes");
  CHECK_ERROR(h.data(7), "graph", "no node with id 7");
  // neither is copied or moved, so there is no moved-from Graph or Session to misuse
  static_assert(!std::is_move_constructible_v<gn::Graph<double>> && !std::is_move_assignable_v<gn::Graph<double>>);
  static_assert(!std::is_move_constructible_v<gn::Session<double>> &&
                !std::is_move_assignable_v<gn::Session<double>>);
}
