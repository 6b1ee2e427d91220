// graphnn-bench --workload cnn: one training step of samples/conv_fashion's
// network (conv 5x5x16 "same", BatchNorm, relu, max pool 2; conv 5x5x32 the
// same; dense 128, relu; dense 10; sparse cross-entropy; Adam), batch 64,
// float32, on 8 cycled random batches, against
//   - the GEMM limit: the step's products at full size (each conv's forward,
//     filter gradient and, but for the first layer, input gradient; each dense
//     layer's three), timed alone in repetitions alternating with the step's;
//   - cnn_torch.py, the same network in PyTorch eager (run it apart, with the
//     same thread count).
// Prints one JSON line. Run with OPENBLAS_NUM_THREADS=1 for the one-thread figures.
#include "cnn_bench.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <graphnn/graphnn.hpp>

namespace gn = graphnn;

namespace {

struct CnnConfig {
  std::size_t batch = 64, filters1 = 16, filters2 = 32, kernel = 5, dense = 128;
  int steps = 20, reps = 5, warmup = 5;
  unsigned seed = 1;
  bool plan = false;  // --plan 1: the compiled step's plan_summary on stderr
};

CnnConfig parse_cnn(int argc, char** argv) {
  CnnConfig c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--workload") continue;
    else if (flag == "--batch") c.batch = std::stoul(v);
    else if (flag == "--filters1") c.filters1 = std::stoul(v);
    else if (flag == "--filters2") c.filters2 = std::stoul(v);
    else if (flag == "--kernel") c.kernel = std::stoul(v);
    else if (flag == "--dense") c.dense = std::stoul(v);
    else if (flag == "--steps") c.steps = std::stoi(v);
    else if (flag == "--reps") c.reps = std::stoi(v);
    else if (flag == "--warmup") c.warmup = std::stoi(v);
    else if (flag == "--seed") c.seed = unsigned(std::stoul(v));
    else if (flag == "--plan") c.plan = v != "0";
    else {
      std::cerr << "graphnn-bench --workload cnn: unknown flag " << flag
                << " (--batch --filters1 --filters2 --kernel --dense --steps --reps --warmup --seed --plan)\n";
      std::exit(2);
    }
  }
  return c;
}

// The step's products at full size, C = op(A) op(B), on buffers of their own.
class CnnGemmLimit {
 public:
  explicit CnnGemmLimit(const CnnConfig& c) {
    const std::size_t b = c.batch, kk = c.kernel * c.kernel;
    auto conv = [&](std::size_t side, std::size_t in, std::size_t out, bool input_grad) {
      const std::size_t p = b * side * side, k = kk * in;
      add(false, false, p, out, k);               // forward: col [p, k] x w [k, out]
      add(true, false, k, out, p);                // filter gradient: col^T dy
      if (input_grad) add(false, true, p, k, out);  // input gradient: dy w^T
    };
    auto dense = [&](std::size_t in, std::size_t out) {
      add(false, false, b, out, in);
      add(true, false, in, out, b);
      add(false, true, b, in, out);
    };
    conv(28, 1, c.filters1, false);
    conv(14, c.filters1, c.filters2, true);
    dense(7 * 7 * c.filters2, c.dense);
    dense(c.dense, 10);
    for (int k = 0; k < c.warmup; ++k) step();
  }
  double time_rep(int steps) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < steps; ++k) step();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / steps;
  }
  double flops() const {
    double f = 0;
    for (const G& g : gemms_) f += 2.0 * double(g.m) * double(g.n) * double(g.k);
    return f;
  }

 private:
  struct G {
    bool ta, tb;
    std::size_t m, n, k;
    std::vector<float> a, b, c;
  };
  void add(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k) {
    gemms_.push_back({ta, tb, m, n, k, std::vector<float>(m * k, 0.5f), std::vector<float>(k * n, 0.25f),
                      std::vector<float>(m * n)});
  }
  void step() {
    for (G& g : gemms_)
      cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, int(g.m), int(g.n),
                  int(g.k), 1.0f, g.a.data(), int(g.ta ? g.m : g.k), g.b.data(), int(g.tb ? g.k : g.n), 0.0f,
                  g.c.data(), int(g.n));
  }
  std::vector<G> gemms_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

int cnn_bench_main(int argc, char** argv) {
  const CnnConfig c = parse_cnn(argc, argv);
  try {
    gn::Graph<float> g;
    std::mt19937_64 rng(c.seed);
    const auto x = g.placeholder("x", {gn::batch, 28, 28, 1});
    const auto y = g.placeholder("y", {gn::batch, 1});
    std::vector<std::shared_ptr<gn::Layer<float>>> layers = {
        std::make_shared<gn::Conv2D<float>>(c.filters1, c.kernel, 1, "same"),
        std::make_shared<gn::BatchNorm<float>>(),
        std::make_shared<gn::Activation<float>>("relu"),
        std::make_shared<gn::MaxPool2D<float>>(2),
        std::make_shared<gn::Conv2D<float>>(c.filters2, c.kernel, 1, "same"),
        std::make_shared<gn::BatchNorm<float>>(),
        std::make_shared<gn::Activation<float>>("relu"),
        std::make_shared<gn::MaxPool2D<float>>(2),
        std::make_shared<gn::Flatten<float>>(),
        std::make_shared<gn::Linear<float>>(7 * 7 * c.filters2, c.dense, gn::he_normal()),
        std::make_shared<gn::Activation<float>>("relu"),
        std::make_shared<gn::Linear<float>>(c.dense, 10)};
    gn::Node<float> h = x;
    gn::Nodes<float> params, state_updates;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      gn::BuildContext<float> ctx{g, rng, "layer" + std::to_string(i) + "/", true};
      h = layers[i]->build(h, ctx);
      state_updates.insert(state_updates.end(), ctx.updates.begin(), ctx.updates.end());
      for (const auto& p : layers[i]->parameters()) params.push_back(p);
    }
    const auto loss = gn::sparse_softmax_cross_entropy(h, y);
    gn::Adam<float> adam(1e-3f);
    gn::Nodes<float> updates = adam.build(params, gn::gradients(loss, params));
    updates.insert(updates.end(), state_updates.begin(), state_updates.end());
    gn::Session<float> s(g);

    std::mt19937 data_rng(c.seed + 1);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    std::vector<xt::xarray<float>> xs, ys;
    for (int k = 0; k < 8; ++k) {
      xt::xarray<float> xb = xt::xarray<float>::from_shape({c.batch, 28, 28, 1}), yb = xt::zeros<float>({c.batch, std::size_t(1)});
      for (auto& v : xb) v = pixel(data_rng);
      for (std::size_t r = 0; r < c.batch; ++r) yb(r, 0) = float(data_rng() % 10);
      xs.push_back(std::move(xb));
      ys.push_back(std::move(yb));
    }
    std::size_t step = 0;
    auto train = [&] {
      const std::size_t k = step % 8;
      adam.prepare(s, ++step, 0);
      s.run_targets(updates, {{x, xs[k]}, {y, ys[k]}});
    };
    for (int k = 0; k < c.warmup; ++k) train();
    if (c.plan) {
      const gn::PlanSummary summary = s.plan_summary();
      std::cerr << summary;
      for (const gn::PlanNode& n : summary.nodes)
        if (!n.leaf) std::cerr << "  " << n.name << " " << n.op << " " << n.shape << "\n";
    }
    CnnGemmLimit limit(c);
    std::vector<double> step_us, gemm_us;
    for (int r = 0; r < c.reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int k = 0; k < c.steps; ++k) train();
      step_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / c.steps);
      gemm_us.push_back(limit.time_rep(c.steps));
    }
    const double loss_last = s.run({loss}, {{x, xs[0]}, {y, ys[0]}})[0]();
    const double step_median = median(step_us), gemm_median = median(gemm_us);
    std::ostringstream all;
    for (double v : step_us) all << (all.tellp() ? "," : "") << v;
    const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
    std::cout << "{\"bench\":\"cnn\",\"impl\":\"graphnn\",\"batch\":" << c.batch << ",\"dtype\":\"float32\",\"layers\":\"conv"
              << c.kernel << "x" << c.kernel << "x" << c.filters1 << ",pool2,conv" << c.kernel << "x" << c.kernel << "x"
              << c.filters2 << ",pool2,dense" << c.dense << ",dense10\",\"env_OPENBLAS_NUM_THREADS\":\""
              << (threads ? threads : "") << "\",\"steps\":" << c.steps << ",\"reps\":" << c.reps
              << ",\"us_per_step_median\":" << step_median << ",\"us_per_step_all\":[" << all.str()
              << "],\"gemm_limit_us_median\":" << gemm_median << ",\"limit_over_step\":" << gemm_median / step_median
              << ",\"gemm_gflops_per_step\":" << limit.flops() * 1e-9 << ",\"loss_last\":" << loss_last << "}"
              << std::endl;
  } catch (const gn::Error& e) {
    std::cerr << "graphnn-bench --workload cnn: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
