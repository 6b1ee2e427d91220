#pragma once
// The seed's TwoLayerNet as a graph:
//   a1 = x W1 + b1,  z1 = sigmoid(a1),  a2 = z1 W2 + b2,  y = softmax(a2)
//   loss = cross-entropy(y, t)  (fused with the softmax: softmax_cross_entropy on a2)
// W ~ N(0, weight_init_std^2), b = 0. The seed trains it with numerical
// gradients; here gn::gradients derives the symbolic ones, and the numerical
// ones are kept to show how much slower they are.
#include <cstddef>
#include <memory>
#include <vector>

#include <graphnn/graphnn.hpp>

namespace two_layer {

namespace gn = graphnn;

struct Evaluation {
  double loss = 0, accuracy = 0;
};

// Central differences the seed's way over some elements of every parameter.
struct NumericalGradient {
  std::vector<xt::xarray<double>> grads;          // like the parameters; NaN where not computed
  std::vector<std::vector<std::size_t>> indices;  // per parameter: the flat indices computed
  std::size_t computed = 0, total = 0;            // elements
  double seconds = 0;
};

class TwoLayerNet {
 public:
  TwoLayerNet(std::size_t input_size, std::size_t hidden_size, std::size_t output_size, double weight_init_std,
              double lr, unsigned seed);
  TwoLayerNet(const TwoLayerNet&) = delete;
  TwoLayerNet& operator=(const TwoLayerNet&) = delete;

  double loss(const xt::xarray<double>& x, const xt::xarray<double>& t);
  // dloss/dparameter for W1, b1, W2, b2 by one forward and backward run.
  std::vector<xt::xarray<double>> symbolic_gradient(const xt::xarray<double>& x, const xt::xarray<double>& t);
  // (f(p + h) - f(p - h)) / 2h for every k-th element of every parameter, k
  // chosen so that at least (and about) `min_elements` are visited (0: every
  // element, as the seed does).
  NumericalGradient numerical_gradient(const xt::xarray<double>& x, const xt::xarray<double>& t, double h,
                                       std::size_t min_elements);
  // One SGD step on a mini-batch (`step` counts from 1).
  void train_step(const xt::xarray<double>& x, const xt::xarray<double>& t, std::size_t step, std::size_t epoch);
  // Mean loss and accuracy over a data set (t one-hot), in batches.
  Evaluation evaluate(const xt::xarray<double>& x, const xt::xarray<double>& t, std::size_t batch = 1000);

  std::size_t parameter_count() const;
  gn::Graph<double>& graph() { return *graph_; }
  gn::Session<double>& session() { return *session_; }

  gn::Node<double> x, t, W1, b1, W2, b2, logits, loss_node;
  gn::Nodes<double> params, grads, updates;

 private:
  std::unique_ptr<gn::Graph<double>> graph_;  // the session refers to it: both live on the heap
  std::unique_ptr<gn::Session<double>> session_;
  std::unique_ptr<gn::SGD<double>> sgd_;
  std::vector<xt::xarray<double>> out_;  // reused by every run
};

}  // namespace two_layer
