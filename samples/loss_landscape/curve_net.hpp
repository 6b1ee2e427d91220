#pragma once
// The 1-2-1 regression network of the loss-landscape sample (textbook seed 002):
//   z1 = x W1 + b1   (W1 [1, 2]: the two first-layer weights w11, w12)
//   a  = act(z1)     (Tanh, ReLU or LeakyReLU)
//   z2 = a W2 + b2,  loss = MSE(z2, y)
// trained with plain mini-batch SGD whose update nodes live in the graph.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <graphnn/graphnn.hpp>

namespace landscape {

namespace gn = graphnn;

enum class Activation { tanh, relu, leaky_relu };
std::string activation_name(Activation a);

// Inputs x in [0, 1] (the textbook normalises its features to [0, 1]) and
// targets y = curve(x) + noise, both [n, 1].
struct CurveData {
  xt::xarray<double> x, y;
};
double curve(double x);
CurveData make_curve_data(std::size_t n, double noise, unsigned seed);

struct TrainOptions {
  std::size_t epochs = 300;
  std::size_t batch_size = 10;
  unsigned seed = 0;           // initial weights and batch order
  bool positive_init = false;  // first-layer weights drawn from [0, limit) instead of (-limit, limit)
  bool every_epoch = true;     // record the losses after every epoch, not only after the last
};

// A hidden unit whose pre-activation is <= 0 for every input it was given.
struct SilentUnit {
  std::size_t unit = 0;
  double max_pre_activation = 0;  // over the inputs: <= 0
};

class CurveNet {
 public:
  // `lr`: the SGD learning rate (it is part of the update nodes).
  CurveNet(Activation activation, double lr, double leaky_alpha = 0.01);
  CurveNet(const CurveNet&) = delete;
  CurveNet& operator=(const CurveNet&) = delete;

  // Xavier-uniform weights (the textbook's default initialiser), zero biases.
  void initialise(unsigned seed, bool positive_init);
  // Trains from a fresh initialisation; returns the losses after every epoch
  // (or only the last): loss and val_loss, no accuracy (this is regression).
  gn::History train(const CurveData& train, const CurveData& validation, const TrainOptions& options);

  double loss(const CurveData& d);
  xt::xarray<double> predict(const xt::xarray<double>& x);
  xt::xarray<double> pre_activation(const xt::xarray<double>& x);  // z1, [n, 2]
  // Hidden units whose pre-activation is <= 0 for every row of x. Under ReLU
  // such a unit outputs 0 and gets no gradient, so nothing brings it back: it
  // is dead. LeakyReLU still passes it alpha times the gradient.
  std::vector<SilentUnit> silent_units(const xt::xarray<double>& x);

  Activation activation() const { return activation_; }
  gn::Graph<double>& graph() { return *graph_; }
  gn::Session<double>& session() { return *session_; }
  gn::Node<double> x, y, W1, b1, W2, b2, z1, pred, loss_node;
  gn::Nodes<double> updates;

 private:
  Activation activation_;
  std::unique_ptr<gn::Graph<double>> graph_;  // the session refers to it: both live on the heap
  std::unique_ptr<gn::Session<double>> session_;
  std::unique_ptr<gn::SGD<double>> sgd_;
};

}  // namespace landscape
