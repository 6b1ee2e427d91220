// The program tools/soak runs: a server-like load for a number of minutes,
// `fit` on batches and `predict` on requests of ever different row counts,
// printing the process's resident memory as it goes. Its memory must level
// off: each session keeps a bounded number of plans (SessionOptions::plan_cache_size).
#include <graphnn/graphnn.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

namespace gn = graphnn;

namespace {

// Resident set size in MB, from /proc/self/statm (pages).
double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

xt::xarray<float> uniform(std::mt19937& rng, std::size_t rows, std::size_t cols) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  xt::xarray<float> a = xt::xarray<float>::from_shape({rows, cols});
  for (float& v : a) v = u(rng);
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const double minutes = argc > 1 ? std::atof(argv[1]) : 10.0;
  const double every = argc > 2 ? std::atof(argv[2]) : 30.0;  // seconds between lines
  std::mt19937 rng(7);
  gn::Sequential<float> model(gn::Linear<float>(16, 64), gn::Activation<float>("relu"), gn::Dropout<float>(0.1),
                              gn::Linear<float>(64, 4));
  model.set_seed(1);
  gn::FitOptions fit;
  fit.epochs = 1;
  fit.batch_size = 64;
  fit.verbose = false;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::printf("%8s %10s %8s %10s\n", "seconds", "rss_MB", "fits", "predicts");
  std::size_t fits = 0, predicts = 0;
  double next_line = 0;
  while (seconds() < minutes * 60) {
    // a training set of 100 to 1000 rows: the last batch of each epoch has a new size now and then
    const std::size_t rows = 100 + rng() % 901;
    const xt::xarray<float> x = uniform(rng, rows, 16);
    model.fit(x, uniform(rng, rows, 4), fit);
    ++fits;
    // requests of 1 to 1000 rows, each row count a plan of its own
    for (int k = 0; k < 20; ++k) {
      const xt::xarray<float> request = uniform(rng, 1 + rng() % 1000, 16);
      const xt::xarray<float> answer = model.predict(request);
      if (answer.shape()[0] != request.shape()[0]) return 1;
      ++predicts;
    }
    if (seconds() >= next_line) {
      std::printf("%8.0f %10.1f %8zu %10zu\n", seconds(), rss_mb(), fits, predicts);
      std::fflush(stdout);
      next_line += every;
    }
  }
  std::printf("%8.0f %10.1f %8zu %10zu\n", seconds(), rss_mb(), fits, predicts);
  return 0;
}
