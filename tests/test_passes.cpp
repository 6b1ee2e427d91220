// The graph compiler (graph/passes/): each rule fires where its pattern and
// precondition hold and leaves the graph alone where the precondition fails;
// every graph here agrees with the passes on and off. The whole suite is run
// again under GRAPHNN_VERIFY_PASSES=1 (`meson test --setup verify`), which
// compares every run of every test with its pass-free plan.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <cstring>

using namespace test;

namespace {

gn::SessionOptions passes_off() {
  gn::SessionOptions o;
  o.passes.enabled = false;
  o.passes.verify = false;
  return o;
}
gn::SessionOptions passes_on(std::vector<std::string> disabled = {}) {
  gn::SessionOptions o;
  o.passes.enabled = true;
  o.passes.verify = false;
  o.passes.disabled = std::move(disabled);
  return o;
}

std::size_t fired(const gn::PlanSummary& s, const std::string& rule) {
  for (const auto& c : s.rules)
    if (c.rule == rule) return c.count;
  FAIL("no rule named " << rule);
  return 0;
}

// Runs the fetches with the passes off and on; checks they agree to 1e-12 and
// returns the summary of the plan with the passes on.
gn::PlanSummary agree(gn::Graph<double>& g, const gn::Nodes<double>& fetches, const std::vector<gn::Feed<double>>& feeds = {},
                      gn::SessionOptions on = passes_on()) {
  gn::Session<double> off(g, passes_off()), opt(g, on);
  const auto want = off.run(fetches, feeds);
  const auto got = opt.run(fetches, feeds);
  REQUIRE(want.size() == got.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("fetch " << fetches[i].name());
    CHECK(max_rel_diff(got[i], want[i]) <= 1e-12);
  }
  return opt.plan_summary();
}

}  // namespace

// Rules match an op's identity, never its name. (A custom op may no longer be
// called "sigmoid" at all: tests/test_custom.cpp; this one imitates it otherwise.)
TEST_CASE("a custom sigmoid-like op is not taken for the built-in sigmoid") {
  gn::Graph<double> g;
  auto z = g.variable("z", Arr{-1.5, 0.3, 2.0});
  auto y = g.constant("y", Arr{0.0, 1.0, 1.0});
  auto fake = gn::elementwise<double>(
      "not_sigmoid", [](const auto& x) { return 0.5 + 0.25 * x / (1.0 + xt::abs(x)); },
      [](const auto& x) { return 0.25 / xt::square(1.0 + xt::abs(x)); });
  auto p = fake(z);
  auto loss = gn::binary_cross_entropy(p, y);
  auto dz = gn::gradients(loss, {z})[0];
  const gn::PlanSummary s = agree(g, {loss, dz});
  CHECK(fired(s, "bce_of_sigmoid") == 0);
  CHECK(fired(s, "bce_of_sigmoid_gradient") == 0);
  // the loss of the function the user wrote
  const Arr zs{-1.5, 0.3, 2.0}, ys{0.0, 1.0, 1.0};
  const Arr ps = 0.5 + 0.25 * zs / (1.0 + xt::abs(zs));
  const double want = -xt::mean(ys * xt::log(ps) + (1.0 - ys) * xt::log(1.0 - ps))();
  gn::Session<double> sess(g, passes_on());
  CHECK(sess.run({loss})[0]() == doctest::Approx(want).epsilon(1e-14));
}

TEST_CASE("the gradient for a sigmoid's output is kept when the loss reads it") {
  gn::Graph<double> g;
  auto z = g.variable("z", Arr{-0.7, 1.2});
  auto y = g.constant("y", Arr{1.0, 0.0});
  auto p = gn::sigmoid(z);
  auto loss = gn::binary_cross_entropy(p, y);
  auto grads = gn::gradients(loss, {p, z});
  const gn::PlanSummary s = agree(g, {loss, grads[0], grads[1]});
  CHECK(fired(s, "bce_of_sigmoid") == 1);
  CHECK(fired(s, "bce_of_sigmoid_gradient") == 1);
  gn::Session<double> sess(g, passes_on());
  const auto out = sess.run({grads[0], grads[1]});
  const Arr ps = 1.0 / (1.0 + xt::exp(-Arr{-0.7, 1.2})), ys{1.0, 0.0};
  CHECK(max_rel_diff(out[0], Arr((ps - ys) / (ps * (1.0 - ps)) / 2.0)) <= 1e-14);  // d/dp, PyTorch's value
  CHECK(max_rel_diff(out[1], Arr((ps - ys) / 2.0)) <= 1e-14);                       // d/dz
  CHECK(std::abs(out[0](0)) > 0.1);
}

TEST_CASE("plain SGD as one GEMM: fused where exact, refused where a factor is the weight's storage") {
  SUBCASE("the weight is a factor of its own gradient (stop_gradient shares its storage)") {
    gn::Graph<double> g;
    auto W = g.variable("W", Arr{{1.0, 2.0}, {3.0, 4.0}});
    auto lr = g.constant("lr", Arr(0.1));
    auto loss = gn::reduce_sum(gn::matmul(gn::stop_gradient(W), W));
    auto step = gn::apply_sgd(W, gn::gradients(loss, {W})[0], lr, gn::Node<double>(), 0.0, false, 0.0);
    gn::Session<double> s(g, passes_on());
    s.run_targets({step});
    CHECK(max_rel_diff(s.value(W), Arr{{0.6, 1.6}, {2.4, 3.4}}) <= 1e-15);
    CHECK(fired(s.plan_summary(), "sgd_matmul_update") == 0);
  }
  SUBCASE("a factor is another variable updated in the same run") {
    gn::Graph<double> g;
    auto A = g.variable("A", Arr{{1.0, -1.0}, {0.5, 2.0}});
    auto B = g.variable("B", Arr{{0.3, 0.2}, {-0.4, 1.0}});
    auto lr = g.constant("lr", Arr(0.1));
    auto loss = gn::reduce_sum(gn::square(gn::matmul(A, B)));
    auto grads = gn::gradients(loss, {A, B});
    const gn::Node<double> none;
    auto steps = gn::Nodes<double>{gn::apply_sgd(A, grads[0], lr, none, 0.0, false, 0.0),
                                   gn::apply_sgd(B, grads[1], lr, none, 0.0, false, 0.0)};
    gn::Session<double> off(g, passes_off()), on(g, passes_on());
    off.run_targets(steps);
    on.run_targets(steps);
    CHECK(max_rel_diff(on.value(A), off.value(A)) <= 1e-15);
    CHECK(max_rel_diff(on.value(B), off.value(B)) <= 1e-15);
    // dA = g B^T reads B, dB = A^T g reads A: each factor is the other's updated weight
    CHECK(fired(on.plan_summary(), "sgd_matmul_update") == 0);
  }
  SUBCASE("a two-layer net: the weights' products are fused, the same numbers") {
    gn::Graph<double> g;
    Rng rng(5);
    auto x = g.placeholder("x", {gn::batch, 3});
    auto W1 = g.variable("W1", random(rng, {3, 4}));
    auto W2 = g.variable("W2", random(rng, {4, 1}));
    auto lr = g.constant("lr", Arr(0.05));
    auto loss = gn::reduce_mean(gn::square(gn::matmul(gn::tanh(gn::matmul(x, W1)), W2)));
    auto grads = gn::gradients(loss, {W1, W2});
    const gn::Node<double> none;
    gn::Nodes<double> steps{gn::apply_sgd(W1, grads[0], lr, none, 0.0, false, 0.0),
                            gn::apply_sgd(W2, grads[1], lr, none, 0.0, false, 0.0)};
    const Arr X = random(rng, {5, 3});
    gn::Session<double> off(g, passes_off()), on(g, passes_on());
    for (int i = 0; i < 3; ++i) {
      off.run_targets(steps, {{x, X}});
      on.run_targets(steps, {{x, X}});
    }
    CHECK(max_rel_diff(on.value(W1), off.value(W1)) <= 1e-13);
    CHECK(max_rel_diff(on.value(W2), off.value(W2)) <= 1e-13);
    CHECK(fired(on.plan_summary(), "sgd_matmul_update") == 2);
  }
  SUBCASE("momentum, or a product that is also fetched: not fused") {
    gn::Graph<double> g;
    auto x = g.constant("x", Arr{{1.0, 2.0}, {0.5, -1.0}});
    auto W = g.variable("W", Arr{{0.2, -0.3}, {0.4, 0.1}});
    auto v = g.variable("v", Arr(xt::zeros<double>({2, 2})));
    auto lr = g.constant("lr", Arr(0.1));
    auto dW = gn::gradients(gn::reduce_sum(gn::matmul(x, W)), {W})[0];
    gn::Session<double> s(g, passes_on());
    s.run_targets({gn::apply_sgd(W, dW, lr, v, 0.9, false, 0.0)});
    CHECK(fired(s.plan_summary(), "sgd_matmul_update") == 0);
    s.run({dW, gn::apply_sgd(W, dW, lr, gn::Node<double>(), 0.0, false, 0.0)});
    CHECK(fired(s.plan_summary(), "sgd_matmul_update") == 0);
  }
}

TEST_CASE("common subexpressions: merged when op and parameters match, not across attributes") {
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{{-1.0, 2.0}, {3.0, -0.5}});
  auto a = gn::leaky_relu(x, 0.1), b = gn::leaky_relu(x, 0.2), c = gn::leaky_relu(x, 0.1);
  auto r0 = gn::reduce_sum(x, 0), r1 = gn::reduce_sum(x, 1);
  auto m0 = gn::matmul(x, x), m1 = gn::matmul(x, x, true, false);
  const gn::PlanSummary s = agree(g, {a, b, c, r0, r1, m0, m1});
  CHECK(fired(s, "common_subexpression") == 1);  // c is a; nothing else merges
  // a custom op applied twice to one input is one node
  gn::Graph<double> h;
  auto z = h.variable("z", Arr{0.5, -2.0});
  auto softsign = gn::elementwise<double>("softsign", [](const auto& v) { return v / (1.0 + xt::abs(v)); },
                                          [](const auto& v) { return 1.0 / xt::square(1.0 + xt::abs(v)); });
  auto twice = softsign(z) + softsign(z);
  CHECK(fired(agree(h, {twice}), "common_subexpression") == 1);
  // random masks are never merged
  gn::Graph<double> k;
  auto w = k.variable("w", Arr(xt::ones<double>({64})));
  auto m = gn::dropout_mask(w, 0.5, 7u) - gn::dropout_mask(w, 0.5, 7u);
  gn::Session<double> sess(k, passes_on());
  sess.run({m});
  CHECK(fired(sess.plan_summary(), "common_subexpression") == 0);
}

TEST_CASE("algebra: x*1, x+0, neg(neg(x)), transpose(transpose(x)) only where the shape is kept") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 1});
  Arr X{1.0, -2.0, 0.5};
  X.reshape({3, 1});
  auto ones = g.constant("ones", Arr{{1.0, 1.0, 1.0}});    // [1, 3]: x * ones broadcasts to [batch, 3]
  auto zero = g.constant("zero", Arr{0.0});
  auto kept_shape = x * 1.0 + zero;                       // both simplify
  auto widened = x * ones;                                // not x: a new shape
  auto zero_minus = zero - x;                             // not x
  auto widened_sum = x + g.constant("zeros", Arr{{0.0, 0.0, 0.0}});  // not x: [batch, 3]
  auto nn = -(-x);
  auto tt = gn::transpose(gn::transpose(x));
  const gn::PlanSummary s = agree(g, {kept_shape, widened, zero_minus, widened_sum, nn, tt}, {{x, X}});
  CHECK(fired(s, "mul_by_one") == 1);
  CHECK(fired(s, "add_zero") == 1);
  CHECK(fired(s, "double_negation") == 1);
  CHECK(fired(s, "double_transpose") == 1);
}

TEST_CASE("constant folding: small constant subgraphs only") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto c = g.constant("c", Arr{1.0, 2.0});
  auto big = g.constant("big", Arr(xt::ones<double>({70000})));
  auto folded = x * gn::exp(c * 2.0);  // exp(c * 2) is folded; x * ... is not
  auto too_big = gn::reduce_sum(gn::exp(big));
  const gn::PlanSummary s = agree(g, {folded, too_big}, {{x, Arr{{1.0, 2.0}}}});
  CHECK(fired(s, "constant_folding") == 2);  // c * 2.0, then exp of it
}

TEST_CASE("sum chains: one add_n for same-shape terms, broadcasting adds and shared sums stay") {
  gn::Graph<double> g;
  auto a = g.variable("a", Arr{1.0, 2.0}), b = g.variable("b", Arr{3.0, 4.0}), c = g.variable("c", Arr{5.0, 6.0});
  auto chain = (a + b) + (c + a);  // one add_n of four terms
  const gn::PlanSummary chained = agree(g, {chain});
  CHECK(fired(chained, "sum_chain") >= 1);
  CHECK(chained.nodes_after == 1);
  gn::Graph<double> h;
  auto p = h.variable("p", Arr{1.0, 2.0}), q = h.variable("q", Arr{3.0, 4.0}), r = h.variable("r", Arr{10.0});
  auto inner = p + q;
  auto broadcast = (p + r) + q;  // the inner sum has the outer's shape, but its term r [1] broadcasts
  auto shared = inner + p;       // inner is also fetched
  const gn::PlanSummary kept = agree(h, {inner, shared, broadcast});
  CHECK(fired(kept, "sum_chain") == 0);
}

TEST_CASE("transposes fold into the product's flags") {
  gn::Graph<double> g;
  Rng rng(3);
  auto a = g.variable("a", random(rng, {3, 2})), b = g.variable("b", random(rng, {4, 3}));
  auto prod = gn::matmul(gn::transpose(a), gn::transpose(b));  // [2, 4]
  auto grads = gn::gradients(gn::reduce_sum(gn::square(prod)), {a, b});
  const gn::PlanSummary s = agree(g, {prod, grads[0], grads[1]});
  CHECK(fired(s, "transpose_into_matmul") >= 1);
  CHECK(fired(s, "transpose_of_matmul") >= 1);
  for (const auto& n : s.nodes) CHECK(n.op != "transpose");
  // a product also read as itself is computed once, and its transpose stays a transpose
  gn::Graph<double> h;
  auto p = h.variable("p", random(rng, {2, 3})), q = h.variable("q", random(rng, {3, 2}));
  auto pq = gn::matmul(p, q);
  const gn::PlanSummary shared = agree(h, {pq, gn::transpose(pq)});
  CHECK(fired(shared, "transpose_of_matmul") == 0);
}

// True when one fused group has members of both kinds ("(add)", "(tanh)": an op type in parentheses).
bool fuses_together(const gn::PlanSummary& s, const std::string& a, const std::string& b) {
  for (const auto& group : s.groups) {
    std::string all;
    for (const auto& m : group.members) all += m + ";";
    if (all.find(a) != std::string::npos && all.find(b) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("element-wise fusion: a bias add and activation as one pass; fetched values stay whole") {
  gn::Graph<double> g;
  Rng rng(11);
  auto x = g.placeholder("x", {gn::batch, 3});
  auto W = g.variable("W", random(rng, {3, 5}));
  auto bias = g.variable("b", random(rng, {5}));
  auto h = gn::tanh(gn::matmul(x, W) + bias);
  auto loss = gn::reduce_mean(gn::square(h));
  auto grads = gn::gradients(loss, {W, bias});
  const Arr X = random(rng, {700, 3});  // rows in blocks of 1024 / 5
  const std::vector<gn::Feed<double>> feeds{{x, X}};
  const gn::PlanSummary s = agree(g, {loss, grads[0], grads[1]}, feeds);
  CHECK(fired(s, "elementwise_fusion") >= 2);  // add + tanh forward, the tanh gradient chain backward
  CHECK(fuses_together(s, "(add)", "(tanh)"));
  // fetching the pre-activation makes it a value of its own: no group swallows it
  auto pre = gn::matmul(x, W) + bias;
  auto act = gn::tanh(pre);
  gn::Session<double> sess(g, passes_on());
  const auto out = sess.run({pre, act}, feeds);
  CHECK(max_rel_diff(out[1], Arr(xt::tanh(out[0]))) <= 1e-15);
  for (const auto& group : sess.plan_summary().groups)
    for (const auto& m : group.members) CHECK(m.find(pre.name()) == std::string::npos);
  const std::string dot = gn::to_dot(s);
  CHECK(dot.find("fused") != std::string::npos);
  CHECK(dot.find("(tanh)") != std::string::npos);
}

TEST_CASE("relu's gradient reads relu's output, so a bias add fuses with the relu it feeds") {
  gn::Graph<double> g;
  Rng rng(12);
  auto x = g.placeholder("x", {gn::batch, 3});
  auto W = g.variable("W", random(rng, {3, 5}));
  auto bias = g.variable("b", random(rng, {5}));
  auto h = gn::relu(gn::matmul(x, W) + bias);
  auto grads = gn::gradients(gn::reduce_mean(gn::square(h)), {W, bias});
  const Arr X = random(rng, {40, 3});
  const gn::PlanSummary s = agree(g, {grads[0], grads[1]}, {{x, X}});
  CHECK(fuses_together(s, "(add)", "(relu)"));  // the pre-activation had a second reader, relu_grad, before
}

// Runs the fetches with `on` and with the passes off; every value must be the same bits.
void same_bits(gn::Graph<double>& g, const gn::Nodes<double>& fetches, const std::vector<gn::Feed<double>>& feeds,
               gn::Session<double>& on) {
  gn::Session<double> off(g, passes_off());
  const auto want = off.run(fetches, feeds), got = on.run(fetches, feeds);
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("fetch " << fetches[i].name());
    REQUIRE(want[i].shape() == got[i].shape());
    CHECK(std::memcmp(want[i].data(), got[i].data(), want[i].size() * sizeof(double)) == 0);  // NaN included
  }
}

TEST_CASE("rule bias_into_conv: a per-channel bias joins its convolution, the same bits; not when the sum is not that") {
  gn::Graph<double> g;
  Rng rng(13);
  auto x = g.placeholder("x", {gn::batch, 6, 5, 2});
  auto w = g.variable("w", random(rng, {3, 3, 2, 4}));
  auto b = g.variable("b", random(rng, {4}));
  auto conv = gn::conv2d(x, w, 1, "same");
  auto loss = gn::reduce_sum(gn::square(gn::tanh(b + conv)));
  auto grads = gn::gradients(loss, {w, b});
  const std::vector<gn::Feed<double>> feeds{{x, random(rng, {3, 6, 5, 2})}};
  gn::Session<double> on(g, passes_on());
  same_bits(g, {loss, grads[0], grads[1]}, feeds, on);
  CHECK(fired(on.plan_summary(), "bias_into_conv") == 1);

  gn::Session<double> fetched(g, passes_on());  // the convolution's own value is fetched: it stays whole
  same_bits(g, {loss, conv}, feeds, fetched);
  CHECK(fired(fetched.plan_summary(), "bias_into_conv") == 0);
  auto full = g.variable("full", random(rng, {6, 5, 4}));  // not one value per channel
  gn::Session<double> other(g, passes_on());
  same_bits(g, {gn::reduce_sum(conv + full)}, feeds, other);
  CHECK(fired(other.plan_summary(), "bias_into_conv") == 0);
  gn::Session<double> off(g, passes_on({"bias_into_conv"}));
  same_bits(g, {loss}, feeds, off);
  CHECK(fired(off.plan_summary(), "bias_into_conv") == 0);
}

TEST_CASE("rule relu_grad_into_max_pool2d_grad: the pool's routing applies relu's mask, the same bits; not for another mask") {
  gn::Graph<double> g;
  Rng rng(16);
  auto x = g.placeholder("x", {gn::batch, 4, 6, 3});
  auto w = g.variable("w", random(rng, {2, 2, 3, 3}));
  auto y = gn::relu(gn::conv2d(x, w, 1, "same"));
  auto loss = gn::reduce_sum(gn::square(gn::max_pool2d(y, 2, 2)));
  auto shifted = gn::reduce_sum(gn::square(gn::max_pool2d(y + 0.25, 2, 2)));  // relu's mask is not the pool's input
  Arr X = random(rng, {3, 4, 6, 3});
  X(0, 0, 0, 0) = std::numeric_limits<double>::quiet_NaN();  // relu_grad passes NaN through: so must the mask
  const std::vector<gn::Feed<double>> feeds{{x, X}};
  gn::Session<double> on(g, passes_on());
  same_bits(g, {gn::gradients(loss, {w})[0]}, feeds, on);
  CHECK(fired(on.plan_summary(), "relu_grad_into_max_pool2d_grad") == 1);
  gn::Session<double> other(g, passes_on());
  same_bits(g, {gn::gradients(shifted, {w})[0]}, feeds, other);
  CHECK(fired(other.plan_summary(), "relu_grad_into_max_pool2d_grad") == 0);
  auto x2 = g.placeholder("x2", {gn::batch, 5, 5, 3});
  auto routed = gn::gradients(gn::reduce_sum(gn::square(gn::max_pool2d(gn::relu(x2), 2, 2))), {x2})[0];
  gn::Session<double> border(g, passes_on());
  same_bits(g, {routed}, {{x2, random(rng, {2, 5, 5, 3}, -1.0, 1.0)}}, border);
  CHECK(fired(border.plan_summary(), "relu_grad_into_max_pool2d_grad") == 1);  // the pool's general path
}

TEST_CASE("reduction fusion: a group finishes the reduction over its rows, the same bits; not when its value is needed") {
  gn::Graph<double> g;
  Rng rng(14);
  auto x = g.placeholder("x", {gn::batch, 3, 4});
  auto c = g.variable("c", random(rng, {4}));
  auto centred = gn::square(x - gn::mean_over_leading_axes(x));
  auto variance = gn::reduce_mean(centred, 0);        // row mean of a two-member group
  auto column = gn::sum_to(x * c, c);                  // column sum of a one-member group
  auto by_axis_1 = gn::reduce_sum(gn::exp(x), 1);      // not over the rows
  const std::vector<gn::Feed<double>> feeds{{x, random(rng, {7, 3, 4})}};
  gn::Session<double> on(g, passes_on());
  same_bits(g, {variance, column, by_axis_1}, feeds, on);
  CHECK(fired(on.plan_summary(), "reduction_fusion") == 2);
  CHECK(fuses_together(on.plan_summary(), "(square)", "(reduce_mean)"));
  CHECK(fuses_together(on.plan_summary(), "(mul)", "(sum_to)"));

  gn::Session<double> whole(g, passes_on());  // the squares are fetched as well: they are written whole
  same_bits(g, {variance, centred}, feeds, whole);
  CHECK(fired(whole.plan_summary(), "reduction_fusion") == 0);
  auto rows = g.placeholder("rows", {gn::batch, 1}), cols = g.placeholder("cols", {1, 4});
  gn::Session<double> no_whole_input(g, passes_on());  // no input has the group's shape: its rows are unknown
  same_bits(g, {gn::reduce_sum(gn::exp(rows + cols), 0)}, {{rows, random(rng, {5, 1})}, {cols, random(rng, {1, 4})}},
            no_whole_input);
  CHECK(fired(no_whole_input.plan_summary(), "reduction_fusion") == 0);
  gn::Session<double> off(g, passes_on({"reduction_fusion"}));
  same_bits(g, {variance, column}, feeds, off);
  CHECK(fired(off.plan_summary(), "reduction_fusion") == 0);
  CHECK(fired(off.plan_summary(), "elementwise_fusion") == 1);
}

TEST_CASE("reduction fusion in float32 keeps sum_to's double sums and reduce_mean's float sums, bit for bit") {
  gn::Graph<float> g;
  Rng rng(15);
  auto x = g.placeholder("x", {gn::batch, 300});
  auto c = g.variable("c", xt::xarray<float>(xt::cast<float>(random(rng, {300}))));
  const gn::Nodes<float> fetches{gn::sum_to(x * c, c), gn::reduce_mean(gn::square(x - c), 0)};
  const xt::xarray<float> X = xt::cast<float>(random(rng, {4000, 300}) * 1000.0);
  gn::Session<float> on(g, passes_on()), off(g, passes_off());
  const auto got = on.run(fetches, {{x, X}}), want = off.run(fetches, {{x, X}});
  CHECK(fired(on.plan_summary(), "reduction_fusion") == 2);
  for (std::size_t i = 0; i < want.size(); ++i) CHECK(std::equal(want[i].begin(), want[i].end(), got[i].begin(), got[i].end()));
}

TEST_CASE("switches: options, rule names, environment, summary") {
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{1.0, -2.0});
  auto y = -(-x) * 1.0;
  gn::Session<double> off(g, passes_off());
  off.run({y});
  const gn::PlanSummary s = off.plan_summary();
  CHECK_FALSE(s.passes);
  CHECK(s.rules.empty());
  CHECK(s.nodes_before == s.nodes_after);
  gn::Session<double> no_neg(g, passes_on({"double_negation"}));
  no_neg.run({y});
  CHECK(fired(no_neg.plan_summary(), "double_negation") == 0);
  CHECK(fired(no_neg.plan_summary(), "mul_by_one") == 1);
  std::ostringstream text;
  text << no_neg.plan_summary();
  CHECK(text.str().find("rule mul_by_one: 1") != std::string::npos);

  CHECK_ERROR(gn::Session<double>(g, passes_on({"no_such_rule"})), "no pass named 'no_such_rule'",
              "double_negation");
  gn::Session<double> fresh(g, passes_on());
  CHECK_ERROR(fresh.plan_summary(), "plan_summary: the session has not run yet");

  setenv("GRAPHNN_PASSES", "off", 1);
  CHECK_FALSE(gn::PassOptions::from_environment().enabled);
  setenv("GRAPHNN_PASSES", "no-cse,no-elementwise_fusion", 1);
  const gn::PassOptions listed = gn::PassOptions::from_environment();
  CHECK(listed.enabled);
  CHECK(listed.disabled == std::vector<std::string>{"cse", "elementwise_fusion"});
  unsetenv("GRAPHNN_PASSES");
  CHECK(gn::PassOptions::from_environment().enabled);
}

TEST_CASE("verify mode reports a rule that changes a value") {
  // bce_of_sigmoid is exact only where sigmoid does not saturate; at 40 the
  // clipped graph as written differs, and verify says so.
  gn::Graph<double> g;
  auto z = g.variable("z", Arr{40.0});
  auto loss = gn::binary_cross_entropy(gn::sigmoid(z), g.constant("y", Arr{0.0}));
  gn::SessionOptions o = passes_on();
  o.passes.verify = true;
  gn::Session<double> s(g, o);
  CHECK_ERROR(s.run({loss}), "verify passes: fetch 'binary_cross_entropy_", "differs with the passes on");
  gn::Graph<double> h;
  auto w = h.variable("w", Arr{0.5});
  gn::Session<double> fine(h, o);
  CHECK(fine.run({gn::sigmoid(w) * 1.0})[0]() == doctest::Approx(1 / (1 + std::exp(-0.5))));
}

TEST_CASE("gradients(): a rule giving the wrong number of gradients is an error") {
  struct TwoGrads final : gn::Op<double> {
    std::string type() const override { return "two_grads"; }
    gn::Shape infer(const std::vector<gn::Shape>& in) const override { return in[0]; }
    void forward(const std::vector<const gn::Buffer<double>*>& in, gn::Buffer<double>& out) const override {
      std::copy(in[0]->data, in[0]->data + out.size, out.data);
    }
    gn::Nodes<double> backward(const gn::GradArgs<double>& a) const override { return {a.grad, a.grad}; }
  };
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{1.0});
  auto y = g.add(std::make_shared<TwoGrads>(), {x});
  CHECK_ERROR(gn::gradients(y, {x}), "gradient rule of op 'two_grads'", "gave 2 gradients for 1 inputs");
}

TEST_CASE("check_numerics stops at the first node that is not finite") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto l = gn::log(x);
  auto y = gn::reduce_sum(l * 2.0);
  gn::SessionOptions checked = passes_on();  // fusion is off while checking: the user's nodes are named
  checked.check_numerics = true;
  gn::Session<double> s(g, checked);
  const Arr good{{1.0, 2.0}}, bad{{1.0, -1.0}};
  CHECK(s.run({y}, {{x, good}})[0]() == doctest::Approx(2 * std::log(2.0)));
  CHECK_ERROR(s.run({y}, {{x, bad}}), "check_numerics: node '" + l.name() + "'", "(op 'log')",
              "and 1 NaN from input 0 [-1.000000, 1.000000]");
  gn::Session<double> unchecked(g, passes_off());
  CHECK(std::isnan(unchecked.run({y}, {{x, bad}})[0]()));
}
