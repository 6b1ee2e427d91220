// ReLU regression (textbook seed 004): a 2-4-1 network with a ReLU hidden layer
// learns 4 samples (two features -> one label) with plain SGD and predicts the
// label of an unseen sample, [28.1, 58.0] -> about 165.
//
// The whole training step lives in the graph: forward pass, loss, the
// gradients derived by gn::gradients, and the SGD updates as assign_sub nodes.
// One Session::run per mini-batch executes all of it.
//
// Weights keep the textbook's (out, in) layout and the forward pass is
// x @ W.T + b, written gn::matmul(x, W, false, true), so the printed weights
// can be compared with the textbook's line by line.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>

#include <graphnn/graphnn.hpp>
#include <xtensor/xio.hpp>
#include <xtensor/xview.hpp>

#include "../common/flags.hpp"
#include "../common/output.hpp"
#include "../common/plots.hpp"

namespace gn = graphnn;

namespace {

struct Options {
  std::uint32_t seed = 99;
  int epochs = 1000;
  double lr = 1e-5;
  std::string out = "out/relu_regression";
};

// numpy's legacy np.random.rand: MT19937 seeded like np.random.seed(n), and a
// 53-bit double from two 32-bit draws. With seed 99 the initial weights are
// exactly the textbook's, so the run reproduces its numbers.
class NumpyRand {
 public:
  explicit NumpyRand(std::uint32_t seed) : mt_(seed) {}
  xt::xarray<double> rand(std::vector<std::size_t> shape) {
    xt::xarray<double> a = xt::empty<double>(shape);
    for (double& v : a) {
      const double hi = mt_() >> 5, lo = mt_() >> 6;
      v = (hi * 67108864.0 + lo) / 9007199254740992.0;
    }
    return a;
  }

 private:
  std::mt19937 mt_;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  samples::Flags flags("relu_regression",
                       "The seed 004 ReLU regression: a 2-4-1 network learns 4 samples and predicts [28.1, 58.0].");
  flags.add("seed", opt.seed, "initial-weight seed (99: the textbook's np.random.seed(99))")
      .add("epochs", opt.epochs, "passes over the 4 samples")
      .add("lr", opt.lr, "SGD learning rate")
      .add("out", opt.out, "output folder");
  flags.parse(argc, argv);
  const std::string dir = samples::output_dir(opt.out);

  // The textbook data: two features per sample, one label.
  const xt::xarray<double> features = {{22.5, 72.0}, {31.4, 45.0}, {19.8, 85.0}, {27.6, 63.0}};
  xt::xarray<double> labels = {95.0, 210.0, 70.0, 155.0};
  labels.reshape({4, 1});
  // Mini-batches of 2, in order, no shuffling (as the textbook).
  const xt::xarray<double> batch_x[2] = {xt::view(features, xt::range(0, 2)), xt::view(features, xt::range(2, 4))};
  const xt::xarray<double> batch_y[2] = {xt::view(labels, xt::range(0, 2)), xt::view(labels, xt::range(2, 4))};

  // Initial weights in the textbook's ranges and draw order.
  NumpyRand rng(opt.seed);
  const xt::xarray<double> W1_init = rng.rand({4, 2}) / 2.0;  // hidden (out=4, in=2)
  const xt::xarray<double> b1_init = rng.rand({4});
  const xt::xarray<double> W2_init = rng.rand({1, 4}) / 4.0;  // output (out=1, in=4)
  const xt::xarray<double> b2_init = xt::zeros<double>({1});

  // The model: pred = relu(x @ W1.T + b1) @ W2.T + b2, loss = mean squared error.
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 2});
  auto y = g.placeholder("y", {gn::batch, 1});
  auto W1 = g.variable("W1", W1_init);
  auto b1 = g.variable("b1", b1_init);
  auto W2 = g.variable("W2", W2_init);
  auto b2 = g.variable("b2", b2_init);
  auto hidden = gn::relu(gn::matmul(x, W1, false, true) + b1);
  auto pred = gn::matmul(hidden, W2, false, true) + b2;
  auto loss = gn::mse(pred, y);

  // Training step as graph nodes: W -= lr * dloss/dW for every parameter.
  // Assignments run after every other node of the run, so all gradients see
  // the weights from before this step, as in the textbook's backward pass.
  const gn::Nodes<double> params = {W1, b1, W2, b2};
  const gn::Nodes<double> grads = gn::gradients(loss, params);
  gn::Nodes<double> step = {loss};
  for (std::size_t i = 0; i < params.size(); ++i) step.push_back(gn::assign_sub(params[i], grads[i] * opt.lr));

  gn::Session<double> s(g);
  // The graph holds the forward pass, the gradients and the updates (drawn
  // before the gradient check adds its own gradient nodes).
  samples::graph_picture(dir, "graph", gn::to_dot(g));

  // Check the symbolic gradients against numerical ones before trusting them.
  // (All hidden pre-activations are far from ReLU's kink at 0 here, where a
  // numerical derivative would be meaningless.)
  std::cout << "gradient check on the first batch:\n";
  const gn::GradCheckReport check = gn::check_gradients(s, loss, params, {{x, batch_x[0]}, {y, batch_y[0]}});
  std::cout << check << "\n";
  if (!check.ok) {
    std::cerr << "relu_regression: symbolic and numerical gradients disagree; not training\n";
    return 1;
  }

  std::vector<xt::xarray<double>> out;  // reused: a steady training loop allocates nothing
  samples::Series curve{"training loss (mean of the epoch's batches)", {}, {}};
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    double epoch_loss = 0;
    for (int b = 0; b < 2; ++b) {
      s.run(step, {{x, batch_x[b]}, {y, batch_y[b]}}, out);
      epoch_loss += out[0]() / 2;  // the loss before this batch's update
    }
    curve.x.push_back(epoch);
    curve.y.push_back(epoch_loss);
    if (epoch % 100 == 0) std::cout << "epoch " << std::setw(5) << epoch << "  loss " << epoch_loss << "\n";
  }
  samples::line_plot(dir, "training_loss", {"ReLU regression (seed 004)", "epoch", "MSE", "", true}, {curve});

  xt::print_options::set_precision(8);
  std::cout << "\nhidden weight:\n" << s.value(W1) << "\nhidden bias:\n" << s.value(b1)
            << "\noutput weight:\n" << s.value(W2) << "\noutput bias:\n" << s.value(b2) << "\n\n";

  const xt::xarray<double> test_x = {{28.1, 58.0}};
  const double prediction = s.run({pred}, {{x, test_x}})[0](0, 0);
  std::cout << std::setprecision(11) << "prediction for [28.1, 58.0]: " << prediction
            << "   (textbook: 164.86371082, label 165)\n";
  samples::print_written(dir);
  if (!std::isfinite(prediction)) {
    std::cerr << "relu_regression: training diverged (try a smaller --lr)\n";
    return 1;
  }
  return 0;
}
