#pragma once
// The data and model test_mpi.cpp trains in one process and
// test_mpi_worker.cpp under mpirun: the same on both sides.
#include <random>
#include <string>

#include <graphnn/graphnn.hpp>

namespace mpi_model {

namespace gn = graphnn;

// Rows of 4 features and a class id of 3, the same on every process.
inline void make_data(std::size_t rows, xt::xarray<double>& x, xt::xarray<double>& y) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0, 1);
  x = xt::xarray<double>::from_shape({rows, 4});
  y = xt::xarray<double>::from_shape({rows, 1});
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < 4; ++c) x(r, c) = normal(rng);
    y(r, 0) = double((x(r, 0) + 0.5 * x(r, 1) > 0) + (x(r, 2) > 0.8));
  }
}

// "sgd": SGD with momentum 0.9; "adam": Adam. Under mpirun each process
// seeds its initial weights differently (11 + rank): fit must start every
// process from rank 0's, which one process makes with seed 11.
inline gn::Sequential<double> model(const std::string& optimizer, std::size_t hidden = 8, unsigned seed = 11) {
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(4, hidden)).add(gn::Activation<double>("tanh")).add(gn::Linear<double>(hidden, 3));
  m.set_classifier("softmax").set_loss("cross_entropy").set_seed(seed);
  if (optimizer == "adam") m.set_optimizer(gn::Adam<double>(0.01));
  else m.set_optimizer(gn::SGD<double>(0.1, 0.9));
  return m;
}

inline gn::FitOptions options(std::size_t epochs, std::size_t batch) {
  gn::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.verbose = false;
  o.seed = 5;
  return o;
}

// 20 steps: one epoch of 20 global batches of `global_batch` rows.
constexpr std::size_t kSteps = 20;

}  // namespace mpi_model
