// What the README's "Threads" section promises, run on threads and compared
// with the same work done serially: Sessions over one Graph (with dropout,
// whose random stream is each session's), one Session shared by threads (its
// calls serialised), and custom ops created on several threads. Built under
// ThreadSanitizer too (.ci/run), where it must run with no report.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <functional>
#include <thread>

using namespace test;

namespace {

constexpr std::size_t kThreads = 4;

// Runs f(i) for i in [0, n) on n threads at once.
void on_threads(std::size_t n, const std::function<void(std::size_t)>& f) {
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back(f, i);
  for (auto& t : threads) t.join();
}

// A small regression net with dropout and its training step (products small
// enough to stay off BLAS, whose threads ThreadSanitizer cannot see).
struct Net {
  gn::Graph<double> g;
  N x = g.placeholder("x", {gn::batch, 3});
  N y = g.placeholder("y", {gn::batch, 1});
  N w1 = g.variable("w1", Arr{{0.2, -0.1, 0.4, 0.3}, {-0.5, 0.1, 0.2, 0.6}, {0.3, 0.3, -0.2, 0.1}});
  N w2 = g.variable("w2", Arr{{0.5}, {-0.4}, {0.3}, {0.2}});
  N hidden = gn::relu(gn::matmul(x, w1));
  N pred = gn::matmul(hidden * gn::dropout_mask(hidden, 0.25, 7u), w2);
  N loss = gn::mse(pred, y);
  N step_w1, step_w2;
  Net() {
    auto grads = gn::gradients(loss, {w1, w2});
    step_w1 = gn::assign_sub(w1, grads[0] * 0.05);
    step_w2 = gn::assign_sub(w2, grads[1] * 0.05);
  }
};

Arr inputs(std::size_t rows, double shift) {
  Arr X = xt::zeros<double>({rows, std::size_t(3)});
  for (std::size_t i = 0; i < X.size(); ++i) X.data()[i] = std::sin(0.7 * double(i) + shift);
  return X;
}
Arr targets(const Arr& X) {
  Arr Y = xt::zeros<double>({X.shape()[0], std::size_t(1)});
  for (std::size_t r = 0; r < X.shape()[0]; ++r) Y(r, 0) = X(r, 0) - 0.5 * X(r, 2);
  return Y;
}

// Every loss of `steps` training steps, then both weights.
std::vector<Arr> train(Net& net, gn::Session<double>& s, std::size_t steps) {
  const Arr X = inputs(8, 0.0), Y = targets(X);
  std::vector<Arr> seen;
  for (std::size_t k = 0; k < steps; ++k)
    seen.push_back(s.run({net.loss, net.step_w1, net.step_w2}, {{net.x, X}, {net.y, Y}})[0]);
  seen.push_back(s.value(net.w1));
  seen.push_back(s.value(net.w2));
  return seen;
}

bool identical(const std::vector<Arr>& a, const std::vector<Arr>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || !std::equal(a[i].begin(), a[i].end(), b[i].begin())) return false;
  return true;
}

}  // namespace

TEST_CASE("Sessions over one Graph: with dropout, each session's run is its serial run, on threads or not") {
  Net net;
  // Each session's masks come from its own stream, started from the op's seed:
  // two sessions in turn see the same masks (a stream in the op gave the
  // second session the first one's continuation).
  std::vector<std::vector<Arr>> serial(kThreads);
  for (std::size_t i = 0; i < kThreads; ++i) {
    gn::Session<double> s(net.g);
    serial[i] = train(net, s, 40);
  }
  for (std::size_t i = 1; i < kThreads; ++i) CHECK(identical(serial[i], serial[0]));
  // The masks do vary from step to step: the losses are not a smooth descent of one net.
  CHECK(!identical({serial[0][0]}, {serial[0][1]}));

  std::vector<std::vector<Arr>> parallel(kThreads);
  on_threads(kThreads, [&](std::size_t i) {
    gn::Session<double> s(net.g);
    parallel[i] = train(net, s, 40);
  });
  for (std::size_t i = 0; i < kThreads; ++i) CHECK(identical(parallel[i], serial[0]));
}

TEST_CASE("one Session shared by threads: every run's result is the serial one") {
  Net net;
  // Forward only (masks off the path): each request's prediction is fixed; the
  // row counts differ, so the threads also switch the session between plans.
  gn::Session<double> s(net.g);
  const N clean = gn::matmul(net.hidden, net.w2);
  std::vector<Arr> requests, expected;
  for (std::size_t r = 1; r <= 6; ++r) {
    requests.push_back(inputs(r, double(r)));
    expected.push_back(s.run({clean}, {{net.x, requests.back()}})[0]);
  }
  std::vector<std::size_t> wrong(kThreads, 0);
  on_threads(kThreads, [&](std::size_t t) {
    std::vector<xt::xarray<double>> out;
    for (std::size_t k = 0; k < 300; ++k) {
      const std::size_t r = (k + t) % requests.size();
      s.run({clean}, {{net.x, requests[r]}}, out);
      wrong[t] += !identical({out[0]}, {expected[r]});
    }
  });
  for (std::size_t t = 0; t < kThreads; ++t) CHECK(wrong[t] == 0);
}

TEST_CASE("one Session shared by threads: training steps are whole, so N steps on threads equal N serial steps") {
  // Without dropout every step is the same function of the weights, whichever
  // thread runs it, so only a torn step could make the two differ.
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 3});
  auto w = g.variable("w", Arr{{0.1}, {-0.2}, {0.3}});
  const Arr X = inputs(5, 1.0), Y = targets(X);
  auto loss = gn::mse(gn::matmul(x, w), g.constant("y", Y));
  auto step = gn::assign_sub(w, gn::gradients(loss, {w})[0] * 0.1);
  gn::Session<double> serial(g), shared(g);
  for (std::size_t k = 0; k < kThreads * 50; ++k) serial.run_targets({step}, {{x, X}});
  on_threads(kThreads, [&](std::size_t) {
    for (std::size_t k = 0; k < 50; ++k) shared.run_targets({step}, {{x, X}});
  });
  CHECK(identical({shared.value(w)}, {serial.value(w)}));
}

TEST_CASE("custom ops created and run on several threads compute what they compute serially") {
  auto build_and_run = [](std::size_t i) {
    const double scale = 1.0 + double(i);
    auto scaled_tanh = gn::elementwise<double>(
        "scaled_tanh_" + std::to_string(i), [scale](double z) { return scale * std::tanh(z); },
        [scale](double z) { return scale * (1.0 - std::tanh(z) * std::tanh(z)); });
    gn::Graph<double> g;
    auto w = g.variable("w", Arr{-1.0, 0.25, 2.0});
    auto y = scaled_tanh(w);
    gn::Session<double> s(g);
    return s.run({y, gn::gradients(gn::reduce_sum(y), {w})[0]});
  };
  std::vector<std::vector<Arr>> parallel(kThreads);
  on_threads(kThreads, [&](std::size_t i) { parallel[i] = build_and_run(i); });
  for (std::size_t i = 0; i < kThreads; ++i) {
    const double scale = 1.0 + double(i);
    const Arr w{-1.0, 0.25, 2.0};
    CHECK_CLOSE(parallel[i][0], Arr(scale * xt::tanh(w)), 1e-15);
    CHECK_CLOSE(parallel[i][1], Arr(scale * (1.0 - xt::square(xt::tanh(w)))), 1e-15);
    CHECK(identical(parallel[i], build_and_run(i)));
  }
}

TEST_CASE("Sequential models with dropout trained on threads equal the same models trained serially") {
  auto fit_one = [] {
    gn::Sequential<double> model(gn::Linear<double>(3, 4), gn::Activation<double>("relu"), gn::Dropout<double>(0.25),
                                 gn::Linear<double>(4, 1));
    model.set_optimizer(gn::SGD<double>(0.05)).set_seed(3);
    const Arr X = inputs(16, 2.0), Y = targets(X);
    model.fit(X, Y, quiet(3, 4));
    return model.predict(X);
  };
  const Arr alone = fit_one();
  std::vector<Arr> parallel(kThreads);
  on_threads(kThreads, [&](std::size_t i) { parallel[i] = fit_one(); });
  for (const Arr& p : parallel) CHECK(identical({p}, {alone}));
}
