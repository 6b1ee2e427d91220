// Shape unification: a known size meets gn::batch at build time, the static
// shape keeps the known size, and the session refuses a feed that contradicts
// it when the feeds bind the batch (graph/shape.cpp, graph/batch_bindings.cpp).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

using test::Arr;
using test::N;

namespace {

const gn::Shape kBatch2{gn::batch, 2};

}  // namespace

TEST_CASE("unify_dims: equal sizes, batch with a known size, two known sizes") {
  CHECK(gn::unify_dims(3, 3) == 3);
  CHECK(gn::unify_dims(gn::batch, gn::batch) == gn::batch);
  CHECK(gn::unify_dims(gn::batch, 5) == 5);
  CHECK(gn::unify_dims(5, gn::batch) == 5);
  CHECK_ERROR(gn::unify_dims(5, 7), "sizes 5 and 7 differ");
}

TEST_CASE("unify_shapes and broadcast_shapes keep the known size") {
  CHECK(gn::unify_shapes({5, 2}, kBatch2) == gn::Shape{5, 2});
  CHECK(gn::unify_shapes(kBatch2, kBatch2) == kBatch2);
  CHECK_ERROR(gn::unify_shapes({5, 2}, {5, 3}), "shapes [5, 2] and [5, 3] differ at dimension 1 (sizes 2 and 3 differ)");
  CHECK_ERROR(gn::unify_shapes({5, 2}, {2}), "shapes [5, 2] and [2] differ in rank");
  CHECK(gn::broadcast_shapes(kBatch2, {5, 1}) == gn::Shape{5, 2});
  CHECK(gn::broadcast_shapes({5, 1}, kBatch2) == gn::Shape{5, 2});
  CHECK(gn::broadcast_shapes(kBatch2, {1, 2}) == kBatch2);  // a size 1 stretches; the batch stays unknown
  CHECK(gn::broadcast_shapes({1, 2}, kBatch2) == kBatch2);
  CHECK_ERROR(gn::broadcast_shapes({5, 2}, {7, 2}), "shapes [5, 2] and [7, 2] do not broadcast (dimension 0)");
  CHECK(gn::broadcasts_to(kBatch2, {5, 2}));
  CHECK_FALSE(gn::broadcasts_to({5, 2}, {7, 2}));
}

TEST_CASE("a shape rule records the size it binds the batch to; two sizes in one rule throw") {
  gn::BatchBindingScope scope;
  CHECK(scope.bound() == gn::batch);
  gn::unify_shapes(kBatch2, kBatch2);
  CHECK(scope.bound() == gn::batch);
  gn::unify_shapes({5, 2}, kBatch2);
  CHECK(scope.bound() == 5);
  {
    gn::BatchBindingScope inner;  // nested: the outer one keeps its own
    gn::unify_dims(gn::batch, 7);
    CHECK(inner.bound() == 7);
  }
  CHECK(scope.bound() == 5);
  CHECK_ERROR(gn::unify_dims(gn::batch, 7), "the batch dimension would have to be both 5 and 7");
}

TEST_CASE("mse(pred [5, 2], y [batch, 2]) builds, keeps [5, 2], runs with 5 rows and refuses 7") {
  gn::Graph<double> g;
  const N pred = g.variable("pred", Arr{{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}});
  const N y = g.placeholder("y", kBatch2);
  const N diff = pred - y;
  CHECK(diff.shape() == gn::Shape{5, 2});
  const N loss = gn::mse(pred, y);
  CHECK(loss.shape().empty());
  const gn::Nodes<double> grads = gn::gradients(loss, {pred});
  CHECK(grads[0].shape() == gn::Shape{5, 2});

  gn::Session<double> s(g);
  const Arr Y = xt::zeros<double>({5, 2});
  const auto out = s.run({loss, grads[0], diff}, {{y, Y}});
  CHECK(out[0]() == doctest::Approx((1 + 4 + 9 + 16 + 25 + 36 + 49 + 64 + 81 + 100) / 10.0));
  CHECK(out[1](4, 1) == doctest::Approx(2 * 10 / 10.0));  // d mean((p - y)^2) / dp = 2 (p - y) / n
  CHECK(out[2].shape()[0] == 5);
  test::check_grads(s, loss, {pred}, {{y, Y}});

  const Arr Y7 = xt::zeros<double>({7, 2});
  CHECK_ERROR(s.run({loss}, {{y, Y7}}), "run: op 'mse' (node 'mse_", "'pred' [5, 2]", "'y' [batch, 2]",
              "the batch must be 5", "placeholder 'y' was fed 7 rows");
  CHECK_ERROR(s.inspect(loss, {{y, Y7}}), "the batch must be 5", "placeholder 'y' was fed 7 rows");
  // the gradient graph unified the same way: refused too, naming its node
  CHECK_ERROR(s.run({grads[0]}, {{y, Y7}}), "the batch must be 5", "was fed 7 rows");
  // a graph part that never met the known size still runs at any batch
  const N y_sum = gn::reduce_sum(y);
  CHECK(s.run({y_sum}, {{y, Y7}})[0]() == 0.0);
}

TEST_CASE("the input as a variable: d loss / d x through a layer, the targets fed") {
  gn::Graph<double> g;
  const N x = g.variable("x", Arr{{0.5, -1.0}, {2.0, 0.25}, {-0.75, 1.5}});
  const N W = g.variable("W", Arr{{0.3, -0.2, 0.1}, {0.4, 0.6, -0.5}});
  const N b = g.variable("b", Arr{0.1, -0.1, 0.2});
  const N t = g.placeholder("t", {gn::batch, 3});
  const N loss = gn::softmax_cross_entropy(gn::matmul(x, W) + b, t) + gn::mse(gn::tanh(gn::matmul(x, W)), t);
  gn::Session<double> s(g);
  const Arr T = Arr{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  test::check_grads(s, loss, {x, W, b}, {{t, T}});
  CHECK_ERROR(s.run({loss}, {{t, Arr(xt::zeros<double>({2, 3}))}}), "the batch must be 3", "'t' was fed 2 rows");
}

TEST_CASE("every rule that compares sizes unifies: broadcasting, matmul inner sizes, add_n, class ids, custom losses") {
  gn::Graph<double> g;
  const N x = g.placeholder("x", kBatch2);
  Arr column{1.0, 2.0, 3.0};
  column.reshape({3, 1});
  const N c = g.variable("c", column);
  CHECK((x * c).shape() == gn::Shape{3, 2});
  const N A = g.variable("A", Arr{{1.0, 2.0, 3.0}});
  CHECK(gn::matmul(A, x).shape() == gn::Shape{1, 2});  // inner sizes 3 and batch
  CHECK(gn::add_n(gn::Nodes<double>{x, g.variable("P", Arr(xt::ones<double>({3, 2})))}).shape() == gn::Shape{3, 2});
  const N ids = g.placeholder("ids", {gn::batch});
  const N logits = g.variable("logits", Arr(xt::zeros<double>({3, 4})));
  CHECK(gn::sparse_softmax_cross_entropy(logits, ids).shape().empty());
  auto sq = gn::custom_loss<double>(
      "sq", [](double a, double y) { return (a - y) * (a - y); }, [](double a, double y) { return 2 * (a - y); });
  const N pred = g.variable("pred3", Arr(xt::ones<double>({3, 2})));
  CHECK(sq(pred, x).shape().empty());
  CHECK_ERROR(gn::mse(g.variable("four", Arr(xt::ones<double>({4, 2}))), c * 1.0), "op 'mse'", "same shape",
              "differ at dimension 0 (sizes 4 and 3 differ)");
  // batch twice in one shape rule: [batch, batch] against [5, 7]
  const N xxT = gn::matmul(x, gn::transpose(x));
  CHECK(xxT.shape() == gn::Shape{gn::batch, gn::batch});
  CHECK_ERROR(gn::mse(xxT, g.variable("K", Arr(xt::zeros<double>({5, 7})))), "op 'mse'",
              "the batch dimension would have to be both 5 and 7");

  gn::Session<double> s(g);
  const Arr X = Arr{{1, 2}, {3, 4}, {5, 6}};
  const auto out = s.run({x * c, gn::matmul(A, x), sq(pred, x)}, {{x, X}});
  CHECK(out[0](2, 1) == 18.0);
  CHECK(out[1](0, 0) == 1 + 6 + 15.0);
  const Arr X4 = xt::zeros<double>({4, 2});
  CHECK_ERROR(s.run({x * c}, {{x, X4}}), "run: op 'mul'", "'x' [batch, 2], 'c' [3, 1]", "the batch must be 3",
              "'x' was fed 4 rows");
}
