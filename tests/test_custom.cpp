// Custom ops written the natural ways: on expressions (with xt::eval where an
// `auto` intermediate is returned), on scalars, with captured numbers. Each
// computes the right values and gradients; the dangling forms are refused at
// compile time (tests/compile_fail/, run by meson test).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <atomic>
#include <thread>

using namespace test;

namespace {
Arr swish(const Arr& z) { return z / (1.0 + xt::exp(-z)); }
Arr swish_df(const Arr& z) {
  const Arr s = 1.0 / (1.0 + xt::exp(-z));
  return s + z * s * (1.0 - s);
}

// value and d/dx of reduce_sum(op(x)) through a session
std::pair<Arr, Arr> value_and_grad(const gn::ElementwiseFn<double>& op, const Arr& X) {
  gn::Graph<double> g;
  auto x = g.variable("x", X);
  auto y = op(x);
  gn::Session<double> s(g);
  auto out = s.run({y, gn::gradients(gn::reduce_sum(y), {x})[0]});
  return {out[0], out[1]};
}
}  // namespace

TEST_CASE("swish: on scalars, and on expressions through xt::eval") {
  const Arr X{-3.0, -0.5, 0.0, 0.7, 4.0};
  auto on_scalars = gn::elementwise<double>(
      "swish_scalar", [](double z) { return z / (1.0 + std::exp(-z)); },
      [](double z) {
        const double s = 1.0 / (1.0 + std::exp(-z));  // a local: fine on scalars
        return s + z * s * (1.0 - s);
      });
  auto on_expressions = gn::elementwise<double>(
      "swish_eval", [](const auto& z) { return z / (1.0 + xt::exp(-z)); },
      [](const auto& z) {
        auto s = 1.0 / (1.0 + xt::exp(-z));
        return xt::eval(s + z * s * (1.0 - s));  // evaluated before `s` is gone
      });
  for (const auto* op : {&on_scalars, &on_expressions}) {
    auto [y, dy] = value_and_grad(*op, X);
    CHECK_CLOSE(y, swish(X), 1e-15);
    CHECK_CLOSE(dy, swish_df(X), 1e-15);
  }
  Rng rng(4);
  gn::Graph<double> g;
  auto w = g.variable("w", random(rng, {3, 2}));
  auto loss = gn::reduce_sum(gn::square(on_expressions(w)) + on_scalars(w));
  gn::Session<double> s(g);
  CHECK(check_grads(s, loss, {w}).ok);
}

TEST_CASE("Huber as a custom loss, on scalars and on expressions") {
  const double delta = 1.0;  // a named number in the expression: kept by reference, and alive
  auto on_scalars = gn::custom_loss<double>(
      "huber_scalar",
      [delta](double a, double y) {
        const double r = a - y;
        return std::abs(r) <= delta ? 0.5 * r * r : delta * (std::abs(r) - 0.5 * delta);
      },
      [delta](double a, double y) {
        const double r = a - y;
        return std::abs(r) <= delta ? r : delta * (r > 0 ? 1.0 : -1.0);
      });
  auto on_expressions = gn::custom_loss<double>(
      "huber_eval",
      [delta](const auto& a, const auto& y) {
        auto r = a - y;
        return xt::eval(xt::where(xt::abs(r) <= delta, 0.5 * r * r, delta * (xt::abs(r) - 0.5 * delta)));
      },
      [delta](const auto& a, const auto& y) {
        auto r = a - y;
        return xt::eval(xt::where(xt::abs(r) <= delta, r, delta * xt::sign(r)));
      });
  const Arr P{0.2, 3.0, -2.5, 0.9}, Y{0.0, 0.5, 0.0, 1.2};
  const Arr r = P - Y;
  const double want = xt::mean(xt::where(xt::abs(r) <= 1.0, 0.5 * r * r, xt::abs(r) - 0.5))();
  const Arr want_grad = xt::where(xt::abs(r) <= 1.0, r, xt::sign(r)) / 4.0;
  for (const auto* loss_fn : {&on_scalars, &on_expressions}) {
    gn::Graph<double> g;
    auto p = g.variable("p", P);
    auto loss = (*loss_fn)(p, g.constant("y", Y));
    gn::Session<double> s(g);
    auto out = s.run({loss, gn::gradients(loss, {p})[0]});
    CHECK(out[0]() == doctest::Approx(want).epsilon(1e-15));
    CHECK_CLOSE(out[1], want_grad, 1e-15);
  }
}

TEST_CASE("a captured parameter and a global constant in an expression") {
  const double alpha = 0.3;
  auto scaled = gn::elementwise<double>(
      "scaled_tanh", [alpha](const auto& z) { return alpha * xt::tanh(z); },
      [alpha](const auto& z) { return alpha * (1.0 - xt::square(xt::tanh(z))); });
  auto [y, dy] = value_and_grad(scaled, Arr{-1.0, 0.5});
  CHECK_CLOSE(y, Arr(0.3 * xt::tanh(Arr{-1.0, 0.5})), 1e-15);
  CHECK_CLOSE(dy, Arr(0.3 * (1.0 - xt::square(xt::tanh(Arr{-1.0, 0.5})))), 1e-15);
}

TEST_CASE("custom op names: a second definition under one name is refused unless replaced") {
  auto f = [](double z) { return 2 * z; };
  auto df = [](double) { return 2.0; };
  auto twice = gn::elementwise<double>("twice", f, df);
  auto again = gn::elementwise<double>("twice", f, df);  // the same functions: the op defined first
  CHECK(again.name() == "twice");
  CHECK(again.op() == twice.op());
  auto thrice = [](double z) { return 3 * z; };
  auto three = [](double) { return 3.0; };
  CHECK_ERROR(gn::elementwise<double>("twice", thrice, three),
              "a custom op named 'twice' is already defined by other functions", "gn::Redefine::replace");
  auto replaced = gn::elementwise<double>("twice", thrice, three, gn::Redefine::replace);
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{1.0});
  gn::Session<double> s(g);
  CHECK(s.run({replaced(x)})[0]() == 3.0);
  CHECK(s.run({twice(x)})[0]() == 2.0);  // a handle keeps the op it was made with
  CHECK(gn::find_elementwise<double>("twice")->name() == "twice");
}

TEST_CASE("custom op names: a built-in op's or activation's name is refused") {
  auto f = [](double z) { return z; };
  auto df = [](double) { return 1.0; };
  auto lf = [](double a, double y) { return a - y; };
  auto ldf = [](double, double) { return 1.0; };
  for (const char* name : {"relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "softplus", "identity",
                           "matmul", "add", "exp", "abs", "reduce_sum", "reshape", "mse", "binary_cross_entropy",
                           "cross_entropy", "softmax_cross_entropy", "dropout", "variable"}) {
    INFO(name);
    CHECK(gn::is_builtin_op_name(name));
    CHECK_ERROR(gn::elementwise<double>(name, f, df), "elementwise: '" + std::string(name) + "' is the name of a built-in op");
    CHECK_ERROR(gn::elementwise<float>(name, f, df), "elementwise: '" + std::string(name) + "' is the name of a built-in op");
    CHECK_ERROR(gn::custom_loss<double>(name, lf, ldf), "custom_loss: '" + std::string(name) + "' is the name of a built-in op");
    CHECK(gn::find_elementwise<double>(name) == nullptr);
  }
  CHECK(!gn::is_builtin_op_name("relu6"));
  CHECK(!gn::is_builtin_op_name("not_sigmoid"));
}

TEST_CASE("custom op names: the list of built-in names holds the type of every node the builders make") {
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{{0.5, -1.0}, {2.0, 0.3}});
  auto p = g.placeholder("p", {gn::batch, 2});
  auto c = g.constant("c", Arr{{1.0, 0.0}, {0.0, 1.0}});
  auto ids = g.constant("ids", Arr{0.0, 1.0});
  // every builder, and the gradient nodes of the differentiable ones
  gn::Node<double> total = gn::reduce_sum(gn::sigmoid(x)) + gn::reduce_sum(gn::tanh(x)) + gn::reduce_sum(gn::relu(x)) +
                           gn::reduce_sum(gn::leaky_relu(x)) + gn::reduce_sum(gn::softplus(x)) +
                           gn::reduce_sum(gn::softmax(x)) + gn::reduce_sum(gn::log_softmax(x)) + gn::mse(x, c) +
                           gn::binary_cross_entropy(gn::sigmoid(x), c) + gn::sigmoid_cross_entropy(x, c) +
                           gn::softmax_cross_entropy(x, c) + gn::sparse_softmax_cross_entropy(x, ids) +
                           gn::reduce_sum(gn::reduce_mean(x, 0)) + gn::reduce_mean(gn::matmul(x, c)) +
                           gn::reduce_sum(x / c + x * c - x) + gn::reduce_sum(gn::exp(x) + gn::log(gn::abs(x))) +
                           gn::reduce_sum(gn::sqrt(gn::square(x)) + gn::pow(x, 3.0)) +
                           gn::reduce_sum(gn::maximum(x, c) + gn::clip(x, -1.0, 1.0)) +
                           gn::reduce_sum(gn::reshape(gn::transpose(x), {4})) + gn::reduce_sum(gn::stop_gradient(x)) +
                           gn::reduce_sum(gn::add_n(gn::Nodes<double>{x, c, x})) + gn::reduce_sum(gn::expand_dims(x, 0)) +
                           gn::reduce_sum(gn::broadcast_to(gn::reduce_sum(x, 0), c)) + gn::reduce_sum(gn::sum_to(c, x));
  gn::gradients(total, {x});
  const gn::Nodes<double> others = {gn::sign(x), gn::step(x), gn::greater_equal(x, c), gn::zeros_like(x),
                                    gn::ones_like(x), gn::dropout_mask(x, 0.5, 1u), gn::one_hot(ids, 2), p + 1.0,
                                    gn::assign(x, c), gn::assign_add(x, c), gn::assign_sub(x, c)};
  CHECK(others.size() == 11);
  for (std::size_t id = 0; id < g.size(); ++id) {
    const std::string type = g.node(id).op_type();
    INFO("node " << g.node(id).name() << " of type " << type);
    CHECK(gn::is_builtin_op_name(type));
  }
}

namespace {
// The same lambda expressions each call, capturing `alpha` by value.
gn::ElementwiseFn<double> scaled_by(double alpha, gn::Redefine redefine = gn::Redefine::refuse) {
  return gn::elementwise<double>(
      "scaled_by", [alpha](double z) { return alpha * z; }, [alpha](double) { return alpha; }, redefine);
}
}  // namespace

TEST_CASE("custom op names: the same lambda with other captured values is another function") {
  const auto a = scaled_by(0.5);
  CHECK(scaled_by(0.5).op() == a.op());  // the same expression, the same capture: the same op
  CHECK_ERROR(scaled_by(0.25), "a custom op named 'scaled_by' is already defined by other functions",
              "captured values differ", "gn::Redefine::replace");
  const auto b = scaled_by(0.25, gn::Redefine::replace);
  CHECK(b.op() != a.op());
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{4.0});
  gn::Session<double> s(g);
  CHECK(s.run({b(x)})[0]() == 1.0);
  CHECK(s.run({a(x)})[0]() == 2.0);
  CHECK(s.run({gn::find_elementwise<double>("scaled_by")->operator()(x)})[0]() == 1.0);

  // captures that cannot be compared as bytes: never "the same"
  const std::vector<double> table{3.0};
  auto with_table = [&table](gn::Redefine r) {
    return gn::elementwise<double>(
        "table_scaled", [table](double z) { return table[0] * z; }, [table](double) { return table[0]; }, r);
  };
  with_table(gn::Redefine::refuse);
  CHECK_ERROR(with_table(gn::Redefine::refuse), "'table_scaled' is already defined", "cannot be compared");
  CHECK(with_table(gn::Redefine::replace).name() == "table_scaled");
}

TEST_CASE("custom op names: a custom loss is refused, kept or replaced the same way") {
  auto f = [](double a, double y) { return (a - y) * (a - y); };
  auto df = [](double a, double y) { return 2 * (a - y); };
  const auto first = gn::custom_loss<double>("names_sq_loss", f, df);
  CHECK(gn::custom_loss<double>("names_sq_loss", f, df).name() == "names_sq_loss");
  auto g4 = [](double a, double y) { return 4 * (a - y); };
  CHECK_ERROR(gn::custom_loss<double>("names_sq_loss", f, g4), "custom_loss: a custom op named 'names_sq_loss'",
              "gn::Redefine::replace");
  gn::custom_loss<double>("names_sq_loss", f, g4, gn::Redefine::replace);
  gn::Graph<double> g;
  auto p = g.variable("p", Arr{1.0});
  auto loss = (*gn::find_custom_loss<double>("names_sq_loss"))(p, g.constant("y", Arr{0.0}));
  gn::Session<double> s(g);
  CHECK(s.run({gn::gradients(loss, {p})[0]})[0]() == 4.0);
  CHECK(first.name() == "names_sq_loss");
}

namespace {
gn::ElementwiseFn<double> threads_shared() {
  return gn::elementwise<double>("threads_shared", [](double z) { return 2 * z; }, [](double) { return 2.0; });
}
gn::ElementwiseFn<double> threads_own(int t, int i) {
  return gn::elementwise<double>("threads_" + std::to_string(t) + "_" + std::to_string(i),
                                 [](double z) { return z + 1; }, [](double) { return 1.0; });
}
gn::ElementwiseFn<double> threads_replaced(int t) {
  return gn::elementwise<double>(
      "threads_replaced", [t](double z) { return z * t; }, [t](double) { return double(t); }, gn::Redefine::replace);
}
}  // namespace

TEST_CASE("custom op registry: defining and looking up from several threads") {
  constexpr int kThreads = 8, kOps = 3000;  // enough that the unlocked map crashed or misread 2 runs in 3
  std::vector<std::thread> threads;
  std::vector<const gn::Op<double>*> shared(kThreads);
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t, &shared, &wrong] {
      for (int i = 0; i < kOps; ++i) {
        const auto mine = threads_own(t, i);
        if (mine.name() != "threads_" + std::to_string(t) + "_" + std::to_string(i)) ++wrong;
        const auto s = threads_shared();
        if (i == 0) shared[t] = s.op().get();
        if (s.op().get() != shared[t]) ++wrong;  // one op for the one name and functions
        const auto r = threads_replaced(t + 1);
        if (r.name() != "threads_replaced") ++wrong;
        // another thread's ops, found while they are being defined
        const int other = (t + 1) % kThreads;
        if (const auto* found = gn::find_elementwise<double>("threads_" + std::to_string(other) + "_" + std::to_string(i)))
          if (found->name() != "threads_" + std::to_string(other) + "_" + std::to_string(i)) ++wrong;
        const auto* replaced = gn::find_elementwise<double>("threads_replaced");
        if (!replaced || replaced->name() != "threads_replaced") ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(wrong.load() == 0);
  for (int t = 1; t < kThreads; ++t) CHECK(shared[t] == shared[0]);
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kOps; i += 371) CHECK(gn::find_elementwise<double>("threads_" + std::to_string(t) + "_" + std::to_string(i)));
  // every op still computes its function
  gn::Graph<double> g;
  auto x = g.variable("x", Arr{3.0});
  gn::Session<double> s(g);
  CHECK(s.run({threads_shared()(x)})[0]() == 6.0);
  CHECK(s.run({threads_own(2, 5)(x)})[0]() == 4.0);
}
