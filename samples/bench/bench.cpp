// graphnn-bench: times one MLP training step (forward, backward, SGD) built
// entirely from graph ops, and prints one JSON line per run, comparable with
// the anchor benches next to it (mlp_numpy.py, mlp_torch.py).
//
// The workloads, data and initial weights mirror _common.py (next to it) bit
// for bit (numpy's default_rng is reproduced in numpy_random.hpp): weights
// (out, in) ~ U(-1/sqrt(in), 1/sqrt(in)) from default_rng(seed), 8 batches of
// data from default_rng(seed + 1), cycled. The forward pass is the textbook's
// x @ W.T + b. So loss_first / loss_last can be compared with the anchors'.
//
// A step is one Session call running the SGD update nodes: run_targets,
// which copies nothing out (--fetch none, the default), or run fetching the
// updated variables into reused arrays (--fetch updates); either way the steady
// state allocates nothing. The first and the very last step also fetch the loss.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <cblas.h>
#include <xtensor/xbuilder.hpp>

#include <graphnn/graphnn.hpp>

#include "cnn_bench.hpp"
#include "numpy_random.hpp"

namespace gn = graphnn;

namespace {

struct Config {
  std::string workload = "custom";
  std::vector<std::int64_t> layers = {784, 256, 10};
  std::int64_t batch = 128;
  std::string act = "relu";
  std::string loss;  // "softmax_ce" or "mse"; empty: softmax_ce when there are several outputs
  double lr = 0.01;
  std::string data;  // "textbook", "sine" or "random"; empty: chosen from the layers
  std::string dtype = "float32";
  int steps = 200, reps = 5, warmup = -1;  // warmup -1: as many as steps
  std::uint32_t seed = 0;
  bool plan = false;  // --plan: print the compiled plan's summary (graph compiler) to stderr
  std::string fetch = "none";  // steady-state steps: "none" (run_targets) or "updates" (run, copying them out)
  std::string mode = "step";   // "fit": also time Sequential::fit on the same network and data
  bool distributed = false;    // --distributed 1: under mpirun, --batch is the global batch, split over the ranks
};

const char* const usage_text =
    "usage: graphnn-bench [--workload a|b|c|d] [--layers 784,256,10] [--batch N] [--act relu|tanh|sigmoid]\n"
    "                     [--loss softmax_ce|mse] [--lr X] [--data textbook|sine|random] [--dtype float|double]\n"
    "                     [--steps N] [--reps R] [--warmup W] [--seed S] [--fetch none|updates] [--mode step|fit]\n"
    "                     [--plan 1] (the compiled step's plan_summary on stderr) [--distributed 1]\n"
    "Presets (explicit flags override them), as _common.py:\n"
    "  a  2,4,1 batch 2, relu, mse, lr 1e-5, the 4 textbook samples of seed 004\n"
    "  b  1,16,1 batch 32, tanh, mse, lr 0.05, y = sin(x)\n"
    "  c  784,256,10 batch 128, relu, softmax_ce, lr 0.01, uniform inputs, random labels\n"
    "  d  784,1024,1024,10 batch 256, same as c\n"
    "Timing: W untimed warm-up steps (default N), then R repetitions of N steps (default 200 x 5);\n"
    "median/min/max of the per-repetition microseconds per step. Threads: OPENBLAS_NUM_THREADS.\n"
    "--fetch none: a step is Session::run_targets(updates); updates: Session::run(updates, feeds, out),\n"
    "which also copies the updated weights out.\n"
    "--mode fit: the same network as a Sequential (Linear layers, x W + b) trained with fit on the 8 batches\n"
    "(shuffled, batch N, SGD), timed in repetitions interleaved with raw steps of an equal graph; adds\n"
    "fit_us_per_step_* and fit_over_raw (a fit of N/8 epochs, its final checkpoint included) and\n"
    "fit_marginal_* (the difference between fits of 2N/8 and N/8 epochs, per step).\n"
    "--distributed 1 (under mpirun -np N): data-parallel, each rank its --batch/N rows of every batch, gradients\n"
    "averaged by allreduce_mean; adds allreduce_us_per_step (the averaging alone), compute_us_per_step (the step\n"
    "without it, all ranks busy) and hidden_share (the part of the allreduce time the step does not pay).\n"
    "Prints one JSON line (rank 0 only).\n";

[[noreturn]] void fail(const std::string& why) {
  std::cerr << "graphnn-bench: " << why << "\n" << usage_text;
  std::exit(2);
}

std::vector<std::int64_t> parse_layers(const std::string& s) {
  std::vector<std::int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || v <= 0) fail("bad --layers '" + s + "'");
    out.push_back(v);
  }
  if (out.size() < 2) fail("--layers needs at least an input and an output width");
  return out;
}

template <class N>
N parse_number(const std::string& flag, const std::string& s) {
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && v >= 0 && (std::is_floating_point_v<N> || v == std::floor(v))) return static_cast<N>(v);
  } catch (const std::exception&) {
  }
  fail("bad value '" + s + "' for " + flag);
}

Config parse(int argc, char** argv) {
  // The preset comes first whatever its position, so explicit flags override it.
  Config c;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) != "--workload") continue;
    c.workload = argv[i + 1];
    if (c.workload == "a") {
      c.layers = {2, 4, 1}, c.batch = 2, c.act = "relu", c.loss = "mse", c.lr = 1e-5, c.data = "textbook";
    } else if (c.workload == "b") {
      c.layers = {1, 16, 1}, c.batch = 32, c.act = "tanh", c.loss = "mse", c.lr = 0.05, c.data = "sine";
    } else if (c.workload == "c") {
      c.layers = {784, 256, 10}, c.batch = 128, c.act = "relu", c.loss = "softmax_ce", c.lr = 0.01, c.data = "random";
    } else if (c.workload == "d") {
      c.layers = {784, 1024, 1024, 10}, c.batch = 256, c.act = "relu", c.loss = "softmax_ce", c.lr = 0.01;
      c.data = "random";
    } else {
      fail("unknown workload '" + c.workload + "'");
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage_text;
      std::exit(0);
    }
    if (i + 1 >= argc) fail("missing value for " + flag);
    const std::string v = argv[++i];
    if (flag == "--workload") continue;
    if (flag == "--layers") c.layers = parse_layers(v);
    else if (flag == "--batch") c.batch = parse_number<std::int64_t>(flag, v);
    else if (flag == "--act") c.act = v;
    else if (flag == "--loss") c.loss = v == "ce" ? "softmax_ce" : v;
    else if (flag == "--lr") c.lr = parse_number<double>(flag, v);
    else if (flag == "--data") c.data = v;
    else if (flag == "--dtype") c.dtype = v == "float" ? "float32" : v == "double" ? "float64" : v;
    else if (flag == "--steps") c.steps = parse_number<int>(flag, v);
    else if (flag == "--reps") c.reps = parse_number<int>(flag, v);
    else if (flag == "--warmup") c.warmup = parse_number<int>(flag, v);
    else if (flag == "--seed") c.seed = parse_number<std::uint32_t>(flag, v);
    else if (flag == "--fetch") c.fetch = v;
    else if (flag == "--mode") c.mode = v;
    else if (flag == "--plan") c.plan = v != "0";
    else if (flag == "--distributed") c.distributed = v != "0";
    else fail("unknown flag " + flag);
  }
  if (c.loss.empty()) c.loss = c.layers.back() > 1 ? "softmax_ce" : "mse";
  if (c.data.empty())
    c.data = c.layers == std::vector<std::int64_t>{2, 4, 1} ? "textbook" : c.layers[0] == 1 ? "sine" : "random";
  if (c.warmup < 0) c.warmup = c.steps;
  if (c.act != "relu" && c.act != "tanh" && c.act != "sigmoid") fail("unknown --act " + c.act);
  if (c.loss != "softmax_ce" && c.loss != "mse") fail("unknown --loss " + c.loss);
  if (c.data != "textbook" && c.data != "sine" && c.data != "random") fail("unknown --data " + c.data);
  if (c.dtype != "float32" && c.dtype != "float64") fail("unknown --dtype " + c.dtype);
  if (c.fetch != "none" && c.fetch != "updates") fail("unknown --fetch " + c.fetch);
  if (c.mode != "step" && c.mode != "fit") fail("unknown --mode " + c.mode);
  if (c.mode == "fit" && c.fetch != "none") fail("--mode fit times run_targets steps; drop --fetch");
  if (c.batch < 1 || c.steps < 1 || c.reps < 1) fail("--batch, --steps and --reps must be at least 1");
  if (c.data == "textbook" && (c.layers.front() != 2 || c.layers.back() != 1 || c.loss != "mse" || c.batch > 4))
    fail("--data textbook needs 2 inputs, 1 output, mse and a batch of at most 4");
  return c;
}

// Mini-batches as _common.make_data draws them (in double, then cast to T).
// Classification labels become one-hot rows for softmax_cross_entropy.
template <class T>
void make_data(const Config& c, std::vector<xt::xarray<T>>& xs, std::vector<xt::xarray<T>>& ys) {
  const std::size_t B = std::size_t(c.batch), in = std::size_t(c.layers.front()), out = std::size_t(c.layers.back());
  if (c.data == "textbook") {
    const double X[4][2] = {{22.5, 72.0}, {31.4, 45.0}, {19.8, 85.0}, {27.6, 63.0}};
    const double Y[4] = {95.0, 210.0, 70.0, 155.0};
    for (std::size_t start = 0; start < 4; start += B) {
      const std::size_t n = std::min(B, 4 - start);
      xt::xarray<T> x = xt::empty<T>({n, std::size_t(2)}), y = xt::empty<T>({n, std::size_t(1)});
      for (std::size_t r = 0; r < n; ++r) {
        x(r, 0) = T(X[start + r][0]), x(r, 1) = T(X[start + r][1]);
        y(r, 0) = T(Y[start + r]);
      }
      xs.push_back(x), ys.push_back(y);
    }
    return;
  }
  bench::NumpyRng rng(c.seed + 1);
  const double pi = std::acos(-1.0);
  for (int b = 0; b < 8; ++b) {
    xt::xarray<T> x = xt::empty<T>({B, in}), y = xt::zeros<T>({B, out});
    std::vector<double> xd(B * in);
    for (double& v : xd) v = c.data == "sine" ? rng.uniform(-pi, pi) : rng.uniform(0.0, 1.0);
    std::copy(xd.begin(), xd.end(), x.begin());
    for (std::size_t r = 0; r < B; ++r) {
      if (c.data == "sine") {
        double s = 0;
        for (std::size_t k = 0; k < in; ++k) s += std::sin(xd[r * in + k]);
        for (std::size_t j = 0; j < out; ++j) y(r, j) = T(s);
      } else if (c.loss == "softmax_ce") {
        y(r, std::size_t(rng.integer(out))) = T(1);
      } else {
        // numpy draws standard_normal (ziggurat) here; Box-Muller has the same
        // distribution but not numpy's numbers (no preset uses this).
        for (std::size_t j = 0; j < out; ++j)
          y(r, j) = T(std::sqrt(-2.0 * std::log(1.0 - rng.next_double())) * std::cos(2 * pi * rng.next_double()));
      }
    }
    xs.push_back(x), ys.push_back(y);
  }
}

struct Timing {
  std::vector<double> us_per_step;  // one per repetition
  std::vector<double> fit_us_per_step;  // --mode fit: Sequential::fit, one per repetition
  std::vector<double> fit_marginal_us_per_step;
  std::vector<double> gemm_us_per_step;  // the step's GEMMs alone, one per repetition
  double loss_first = NAN, loss_last = NAN, minor_faults_per_step = 0;
  int processes = 1;
  std::vector<double> allreduce_us_per_step, compute_us_per_step;  // --distributed, one per repetition
};

// --distributed: rank r's rows [r b, (r + 1) b) of every batch, b = batch / ranks.
template <class T>
void shard(std::vector<xt::xarray<T>>& batches) {
  const std::size_t ranks = std::size_t(gn::distributed::size()), r = std::size_t(gn::distributed::rank());
  for (auto& a : batches) {
    const std::size_t rows = a.shape()[0] / ranks, width = a.size() / a.shape()[0];
    xt::xarray<T> part = xt::xarray<T>::from_shape({rows, width});
    std::copy(a.data() + r * rows * width, a.data() + (r + 1) * rows * width, part.data());
    a = std::move(part);
  }
}

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
              ta ? m : k, b, tb ? k : n, 0.0f, c, n);
}
void gemm(bool ta, bool tb, int m, int n, int k, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a,
              ta ? m : k, b, tb ? k : n, 0.0, c, n);
}

// The GEMM limit: the products a step needs, per layer the
// forward Y = X W^T, dW = D^T X, and dX = D W for every layer but the first,
// timed alone. Its repetitions alternate with the training step's, so a
// shared machine's changing speed affects both alike.
template <class T>
class GemmLimit {
 public:
  explicit GemmLimit(const Config& c) : steps_(c.steps) {
    for (std::size_t l = 0; l + 1 < c.layers.size(); ++l) {
      const int in = int(c.layers[l]), out = int(c.layers[l + 1]), b = int(c.batch);
      add(false, true, b, out, in);              // forward
      add(true, false, out, in, b);              // dW
      if (l > 0) add(false, false, b, in, out);  // dX
    }
    for (int k = 0; k < c.warmup; ++k) step();
  }
  // Microseconds per step over one repetition.
  double time_rep() {
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < steps_; ++k) step();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / steps_;
  }

 private:
  struct G {
    bool ta, tb;
    int m, n, k;
    std::vector<T> a, b, out;
  };
  void add(bool ta, bool tb, int m, int n, int k) {
    gs_.push_back({ta, tb, m, n, k, std::vector<T>(std::size_t(m) * k, T(0.01)),
                   std::vector<T>(std::size_t(k) * n, T(0.02)), std::vector<T>(std::size_t(m) * n)});
  }
  void step() {
    for (auto& g : gs_) gemm(g.ta, g.tb, g.m, g.n, g.k, g.a.data(), g.b.data(), g.out.data());
  }
  int steps_;
  std::vector<G> gs_;
};

template <class T>
Timing train(const Config& c) {
  std::vector<xt::xarray<T>> xs, ys;
  make_data(c, xs, ys);
  if (c.distributed && c.batch % gn::distributed::size() != 0)
    fail("--distributed: --batch " + std::to_string(c.batch) + " does not split over " +
         std::to_string(gn::distributed::size()) + " ranks");
  if (c.distributed) shard(xs), shard(ys);

  gn::Graph<T> g;
  auto x = g.placeholder("x", {gn::batch, c.layers.front()});
  auto y = g.placeholder("y", {gn::batch, c.layers.back()});
  bench::NumpyRng rng(c.seed);
  gn::Nodes<T> params;
  auto h = x;
  // --mode fit compares with a Sequential, whose Linear layers compute x W + b with W [in, out].
  const bool linear_layout = c.mode == "fit";
  for (std::size_t l = 0; l + 1 < c.layers.size(); ++l) {
    const std::size_t in = std::size_t(c.layers[l]), out = std::size_t(c.layers[l + 1]);
    const double k = 1.0 / std::sqrt(double(in));
    xt::xarray<T> W = xt::empty<T>(linear_layout ? std::vector<std::size_t>{in, out} : std::vector<std::size_t>{out, in});
    xt::xarray<T> b = xt::empty<T>({out});
    for (T& v : W) v = T(rng.uniform(-k, k));
    for (T& v : b) v = T(rng.uniform(-k, k));
    auto Wn = g.variable("W" + std::to_string(l), W), bn = g.variable("b" + std::to_string(l), b);
    params.push_back(Wn), params.push_back(bn);
    h = gn::matmul(h, Wn, false, !linear_layout) + bn;
    if (l + 2 < c.layers.size()) h = c.act == "relu" ? gn::relu(h) : c.act == "tanh" ? gn::tanh(h) : gn::sigmoid(h);
  }
  auto loss = c.loss == "mse" ? gn::mse(h, y) : gn::softmax_cross_entropy(h, y);

  const gn::Nodes<T> local_grads = gn::gradients(loss, params);
  const gn::Nodes<T> grads = c.distributed ? gn::distributed::average_gradients(local_grads) : local_grads;
  // Plain SGD as graphnn's optimizer builds it: one fused update node per variable
  // (for a weight whose gradient is a product, one accumulating GEMM).
  gn::SGD<T> sgd(c.lr);
  const gn::Nodes<T> updates = sgd.build(params, grads);
  gn::Nodes<T> updates_and_loss = updates;
  updates_and_loss.push_back(loss);  // last, so the update outputs keep their slots (and arrays) in `out`

  gn::Session<T> s(g);
  sgd.prepare(s, 1, 0);  // the learning rate is constant: set it once
  if (c.distributed) gn::distributed::broadcast_variables(s, params);
  std::vector<xt::xarray<T>> out;
  std::size_t i = 0;
  const std::size_t last = std::size_t(c.warmup) + std::size_t(c.reps) * std::size_t(c.steps) - 1;
  const bool copy_out = c.fetch == "updates";
  Timing t;
  auto step = [&]() {
    const std::size_t b = i % xs.size();
    if (i == 0 || i == last) {
      s.run(updates_and_loss, {{x, xs[b]}, {y, ys[b]}}, out);
      (i == 0 ? t.loss_first : t.loss_last) = double(out.back()());
      if (i == 0 && c.plan) std::cerr << s.plan_summary(updates, {{x, xs[b]}, {y, ys[b]}});
    } else if (copy_out) {
      s.run(updates, {{x, xs[b]}, {y, ys[b]}}, out);
    } else {
      s.run_targets(updates, {{x, xs[b]}, {y, ys[b]}});
    }
    ++i;
  };

  // --mode fit: the same network and data through Sequential::fit, shuffled
  // mini-batches of the same size; one checkpoint (a pass over the data) at the end.
  std::unique_ptr<gn::Sequential<T>> model;
  xt::xarray<T> X, Y;
  gn::FitOptions fit_options;
  if (c.mode == "fit") {
    model = std::make_unique<gn::Sequential<T>>();
    for (std::size_t l = 0; l + 1 < c.layers.size(); ++l) {
      model->add(gn::Linear<T>(std::size_t(c.layers[l]), std::size_t(c.layers[l + 1])));
      if (l + 2 < c.layers.size()) model->add(gn::Activation<T>(c.act));
    }
    const bool ce = c.loss == "softmax_ce";
    model->set_classifier(ce ? "softmax" : "identity").set_loss(ce ? "cross_entropy" : "mse");
    model->set_optimizer(gn::SGD<T>(c.lr)).set_seed(c.seed);
    X = xt::concatenate(xt::xtuple(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], xs[7]), 0);
    Y = xt::concatenate(xt::xtuple(ys[0], ys[1], ys[2], ys[3], ys[4], ys[5], ys[6], ys[7]), 0);
    fit_options.batch_size = std::size_t(c.batch);
    fit_options.epochs = std::max<std::size_t>(1, std::size_t(c.steps) / xs.size());
    fit_options.verbose = false;
    fit_options.log_every = std::numeric_limits<std::size_t>::max();  // one checkpoint, at the end
    model->fit(X, Y, fit_options);  // warm-up: builds the model and its plans
  }
  // fit's time per step, and its marginal time per step: the difference
  // between fits of E and 2E epochs, free of the costs paid once per call
  // (the checkpoint's pass over the data at the end, the shuffled order).
  auto time_fit = [&] {
    auto fit_us = [&](std::size_t epochs) {
      gn::FitOptions o = fit_options;
      o.epochs = epochs;
      const auto t0 = std::chrono::steady_clock::now();
      model->fit(X, Y, o);
      return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    };
    const std::size_t e = fit_options.epochs, steps = e * xs.size();
    const double once = fit_us(e), twice = fit_us(2 * e);
    t.fit_us_per_step.push_back(once / double(steps));
    t.fit_marginal_us_per_step.push_back((twice - once) / double(steps));
  };

  for (int k = 0; k < c.warmup; ++k) step();
  Config per_rank = c;
  per_rank.batch = c.distributed ? c.batch / gn::distributed::size() : c.batch;
  GemmLimit<T> limit(per_rank);
  // --distributed: the same step without the averaging, and the averaging of
  // the gradients' bytes alone (as buckets of the same size), each timed with all ranks busy.
  gn::SGD<T> local_sgd(c.lr);
  const gn::Nodes<T> local_updates = c.distributed ? local_sgd.build(params, local_grads) : gn::Nodes<T>{};
  gn::Nodes<T> averaged;
  for (const auto& p : params) averaged.push_back(c.distributed ? gn::distributed::average_gradients<T>({p})[0] : p);
  if (c.distributed) local_sgd.prepare(s, 1, 0);
  auto timed = [&](const gn::Nodes<T>& targets) {
    gn::distributed::barrier();
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < c.steps; ++k) s.run_targets(targets, {{x, xs[std::size_t(k) % xs.size()]}, {y, ys[std::size_t(k) % ys.size()]}});
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / c.steps;
  };
  t.processes = c.distributed ? gn::distributed::size() : 1;
  if (c.distributed) timed(local_updates), timed(averaged);  // compiles their plans before the timing
  rusage before{}, after{};
  double raw_faults = 0;
  for (int r = 0; r < c.reps; ++r) {
    gn::distributed::barrier();  // the ranks start each repetition together
    getrusage(RUSAGE_SELF, &before);
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < c.steps; ++k) step();
    const auto t1 = std::chrono::steady_clock::now();
    getrusage(RUSAGE_SELF, &after);
    raw_faults += double(after.ru_minflt - before.ru_minflt);
    t.us_per_step.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / c.steps);
    t.gemm_us_per_step.push_back(limit.time_rep());  // interleaved, so all see the same machine
    if (model) time_fit();
    if (c.distributed) t.compute_us_per_step.push_back(timed(local_updates)), t.allreduce_us_per_step.push_back(timed(averaged));
  }
  t.minor_faults_per_step = raw_faults / (double(c.reps) * c.steps);
  return t;
}

// Each rank's value, on every rank (a sum of vectors that are zero but at their own rank).
std::vector<double> per_rank(double mine) {
  std::vector<double> all(std::size_t(gn::distributed::size()), 0.0);
  all[std::size_t(gn::distributed::rank())] = mine;
  gn::distributed::sum(all.data(), all.size());
  return all;
}

// JSON numbers (NaN and infinities become null); 17 digits round-trip a double.
std::string num(double v, int digits = 10) {
  if (!std::isfinite(v)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}
std::string str(const std::string& s) {  // a JSON string: our strings have no control characters
  std::string q = "\"";
  for (char ch : s) q += ch == '"' || ch == '\\' ? std::string{'\\', ch} : std::string{ch};
  return q + "\"";
}
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? str(v) : "null";
}

// The BLAS this process runs on (gn::runtime_info()) as a JSON object.
std::string runtime_json(const gn::RuntimeInfo& r) {
  return "{\"blas_library\":" + str(r.blas_library) + ",\"blas_config\":" + str(r.blas_config) +
         ",\"blas_kernel\":" + str(r.blas_kernel) + ",\"blas_threads\":" + std::to_string(r.blas_threads) +
         ",\"cpu_features\":" + str(r.cpu_features) +
         ",\"generic_kernel_on_capable_cpu\":" + (r.generic_kernel_on_capable_cpu ? "true" : "false") +
         ",\"advice\":" + str(r.advice) + "}";
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// --mode fit: fit's time per step next to the raw step's, and their ratio.
std::string fit_fields(const Timing& t, double raw_median) {
  if (t.fit_us_per_step.empty()) return "";
  const auto [lo, hi] = std::minmax_element(t.fit_us_per_step.begin(), t.fit_us_per_step.end());
  const double median = median_of(t.fit_us_per_step);
  const double marginal = median_of(t.fit_marginal_us_per_step);
  return ",\"fit_us_per_step_median\":" + num(median) + ",\"fit_us_per_step_min\":" + num(*lo) +
         ",\"fit_us_per_step_max\":" + num(*hi) + ",\"fit_over_raw\":" + num(median / raw_median, 4) +
         ",\"fit_marginal_us_per_step_median\":" + num(marginal) +
         ",\"fit_marginal_over_raw\":" + num(marginal / raw_median, 4);
}

// Samples per second at the global batch; with --distributed, the allreduce's
// cost per step and the share of it hidden behind computation.
// Every step waits for the slowest rank, so the hidden share is taken against
// its compute; the per-rank figures show when one core runs slower than another.
std::string distributed_fields(const Config& c, const Timing& t, double median) {
  std::string f = ",\"processes\":" + std::to_string(t.processes) + ",\"samples_per_s\":" + num(double(c.batch) / median * 1e6);
  if (t.allreduce_us_per_step.empty()) return f;
  const double ar = median_of(t.allreduce_us_per_step);
  const std::vector<double> by_rank = per_rank(median_of(t.compute_us_per_step));
  const double slowest = *std::max_element(by_rank.begin(), by_rank.end());
  const double hidden = std::clamp((slowest + ar - median) / ar, 0.0, 1.0);
  std::string ranks;
  for (double v : by_rank) ranks += (ranks.empty() ? "" : ",") + num(v);
  return f + ",\"allreduce_transport\":" + str(gn::distributed::allreduce_transport()) + ",\"allreduce_us_per_step\":" + num(ar) + ",\"compute_us_per_step\":" + num(slowest) +
         ",\"compute_us_per_step_by_rank\":[" + ranks + "],\"hidden_share\":" + num(hidden, 4);
}

void report(const Config& c, const Timing& t) {
  const double median = median_of(t.us_per_step);
  const std::string distributed = distributed_fields(c, t, median);  // every rank takes part
  if (gn::distributed::rank() != 0) return;  // --distributed: rank 0 speaks for the job
  std::vector<double> sorted = t.us_per_step;
  std::sort(sorted.begin(), sorted.end());
  const double limit = median_of(t.gemm_us_per_step);
  double flops = 0;
  for (std::size_t l = 0; l + 1 < c.layers.size(); ++l) flops += double(c.layers[l]) * double(c.layers[l + 1]);
  flops *= 6.0 * double(c.batch);  // forward, dW and dX gemm per layer
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const gn::RuntimeInfo runtime = gn::runtime_info();

  std::string layers, all;
  for (auto w : c.layers) layers += (layers.empty() ? "" : ",") + std::to_string(w);
  for (double v : t.us_per_step) all += (all.empty() ? "" : ",") + num(v);
  std::ostringstream o;
  o << "{\"bench\":\"mlp\",\"impl\":\"graphnn\",\"workload\":" << str(c.workload) << ",\"layers\":" << str(layers)
    << ",\"batch\":" << c.batch << ",\"act\":" << str(c.act) << ",\"loss\":" << str(c.loss) << ",\"lr\":" << num(c.lr)
    << ",\"data\":" << str(c.data) << ",\"dtype\":" << str(c.dtype) << ",\"threads\":" << runtime.blas_threads
    << ",\"fetch\":" << str(c.fetch) << ",\"mode\":" << str(c.mode) << ",\"steps\":" << c.steps << ",\"reps\":" << c.reps << ",\"warmup\":" << c.warmup
    << ",\"us_per_step_median\":" << num(median) << ",\"us_per_step_min\":" << num(sorted.front())
    << ",\"us_per_step_max\":" << num(sorted.back()) << ",\"us_per_step_all\":[" << all << "]"
    << fit_fields(t, median) << ",\"gemm_limit_us_median\":" << num(limit) << ",\"limit_over_step\":" << num(limit / median, 4)
    << distributed << ",\"nominal_flops_per_step\":" << num(flops) << ",\"gflops\":" << num(flops / median * 1e-3)
    << ",\"peak_rss_mb\":" << num(double(ru.ru_maxrss) / 1024.0) << ",\"loss_first\":" << num(t.loss_first, 17)
    << ",\"loss_last\":" << num(t.loss_last, 17)
    << ",\"loss_finite\":" << (std::isfinite(t.loss_last) ? "true" : "false")
    << ",\"minor_faults_per_step\":" << num(t.minor_faults_per_step)
    << ",\"openblas_corename\":" << str(runtime.blas_kernel) << ",\"runtime\":" << runtime_json(runtime)
    << ",\"env_OPENBLAS_NUM_THREADS\":" << env("OPENBLAS_NUM_THREADS")
    << ",\"env_OPENBLAS_CORETYPE\":" << env("OPENBLAS_CORETYPE") << "}";
  std::cout << o.str() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i)  // the CNN workload has its own flags (cnn_bench.cpp)
    if (std::string(argv[i]) == "--workload" && std::string(argv[i + 1]) == "cnn") return cnn_bench_main(argc, argv);
  const Config c = parse(argc, argv);
  try {
    report(c, c.dtype == "float32" ? train<float>(c) : train<double>(c));
  } catch (const gn::Error& e) {
    std::cerr << "graphnn-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
