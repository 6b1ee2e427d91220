// Learning from numerical and symbolic gradients (textbook seed 003).
//
// 1. The seed's worked loss values (MSE in its 1/2N form, cross-entropy with
//    one-hot and with index labels), computed with graph ops.
// 2. The seed's TwoLayerNet (784-50-10, sigmoid hidden layer, softmax +
//    cross-entropy, weights N(0, 0.01)). On one mini-batch the symbolic
//    gradients from gn::gradients are checked against central differences, and
//    the seed's own numerical gradient (two loss evaluations per parameter, all
//    39760 of them) is timed against the symbolic one. Each evaluation goes
//    through gn::element_function (lib/incremental.cpp), which recomputes only what the changed
//    parameter reaches: about a second per batch where the seed's numpy code
//    takes half a minute, and still a thousand times one backward pass.
// 3. Training with the symbolic gradients: SGD, batch 100, lr 0.5. On
//    Fashion-MNIST the seed's numpy run reaches 86.5% test accuracy after 10
//    epochs.
//
// Data: Fashion-MNIST from Debian's dataset-fashion-mnist by default; --digits
// for scikit-learn's 8x8 digits (python3-sklearn); --idx-dir for any folder of
// MNIST-format files (the original MNIST works unchanged).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xview.hpp>

#include "../common/flags.hpp"
#include "../common/plots.hpp"
#include "image_data.hpp"
#include "two_layer_net.hpp"
#include "worked_examples.hpp"

using namespace two_layer;

namespace {

// Exit status when the data files are missing (2 is a bad command line, 1 a failed check).
constexpr int exit_data_missing = 3;

struct Options {
  unsigned seed = 1;
  std::size_t epochs = 0;  // 0: 10 on MNIST-format data (as the seed), 200 on the small --digits set
  std::size_t batch = 100;
  double lr = 0.5;
  std::size_t hidden = 50;
  double init_std = 0.01;
  bool digits = false;
  std::string idx_dir;
  std::size_t limit = 0;
  std::size_t numeric_params = 0;  // every parameter, as the textbook: a second with element_function
  std::size_t check_samples = 100;
  std::size_t train_eval_rows = 10000;
  double require_accuracy = 0;
  std::string out = "out/two_layer_digits";
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string duration_text(double s) {
  std::ostringstream os;
  os << std::setprecision(3);
  if (s < 1e-3) os << s * 1e6 << " us";
  else if (s < 1) os << s * 1e3 << " ms";
  else os << s << " s";
  return os.str();
}

void print_worked_examples() {
  const WorkedLosses w = compute_worked_losses();
  std::cout << std::setprecision(15)
            << "seed 003's worked example: labels [2, 0, 1, 0], outputs [0.1, 0.2, 0.7], [0.8, 0.1, 0.1], "
               "[0.3, 0.6, 0.1], [0.1, 0.1, 0.8]\n"
            << "  MSE, 1/2N form: mse(y, t) * 0.5                      " << w.mse_half << "   (by hand: 1.92 / 24 = "
            << w.expected_mse << ")\n"
            << "  cross-entropy, one-hot labels: -sum(t ln y) / 4      " << w.ce_one_hot << "\n"
            << "  cross-entropy, class ids: -mean(ln y[i, t_i])        " << w.ce_index << "\n"
            << "  softmax_cross_entropy(ln y, t)                       " << w.ce_softmax << "\n"
            << "  sparse_softmax_cross_entropy(ln y, ids)              " << w.ce_sparse << "\n"
            << "  -(ln 0.7 + ln 0.8 + ln 0.6 + ln 0.1) / 4             " << w.expected_ce << "\n"
            << "  the seed's code, ln(y + 1e-7)                        " << w.ce_seed_eps
            << "   (eps guards ln 0; it shifts the value by " << std::setprecision(2) << w.expected_ce - w.ce_seed_eps
            << ")\n\n"
            << std::setprecision(6);
}

ImageData load_data(const Options& o) {
  if (o.digits) return load_sklearn_digits(sklearn_digits_csv, 0.2, o.seed);
  if (!o.idx_dir.empty())
    return load_idx_folder(o.idx_dir, "point --idx-dir at a folder with the four MNIST-format files");
  return load_idx_folder(fashion_mnist_dir,
                         "Fashion-MNIST comes with Debian's dataset-fashion-mnist: sudo apt-get install "
                         "dataset-fashion-mnist (or use --digits, or --idx-dir DIR for other MNIST-format files)");
}

// Symbolic gradients against numerical ones on one mini-batch: the error table
// (gn::check_gradients) and the time of the seed's numerical gradient.
bool compare_gradients(TwoLayerNet& net, const xt::xarray<double>& xb, const xt::xarray<double>& tb,
                       const Options& o) {
  std::cout << "gradients on one mini-batch of " << xb.shape()[0] << ":\n";
  gn::GradCheckOptions check;
  check.samples = o.check_samples;
  check.seed = o.seed;
  auto t0 = std::chrono::steady_clock::now();
  const gn::GradCheckReport report = gn::check_gradients(net.session(), net.loss_node, net.params,
                                                         {{net.x, xb}, {net.t, tb}}, check);
  std::cout << "gn::check_gradients (4th-order central differences, up to " << o.check_samples
            << " elements per variable, " << duration_text(seconds_since(t0)) << "):\n"
            << report << "\n";

  // The seed's numerical gradient: two loss evaluations per parameter.
  const double h = 1e-4;
  const NumericalGradient numeric = net.numerical_gradient(xb, tb, h, o.numeric_params);
  net.symbolic_gradient(xb, tb);  // compiles the plan outside the timing
  const int repeats = 20;
  t0 = std::chrono::steady_clock::now();
  std::vector<xt::xarray<double>> symbolic;
  for (int i = 0; i < repeats; ++i) symbolic = net.symbolic_gradient(xb, tb);
  const double symbolic_seconds = seconds_since(t0) / repeats;

  double worst = 0;  // the seed's 2nd-order differences against the symbolic values
  for (std::size_t p = 0; p < symbolic.size(); ++p)
    for (std::size_t i : numeric.indices[p]) {
      const double a = symbolic[p].flat(i), n = numeric.grads[p].flat(i);
      worst = std::max(worst, std::abs(a - n) / std::max({std::abs(a), std::abs(n), 1e-4}));
    }
  const double full_numeric = numeric.seconds / double(numeric.computed) * double(numeric.total);
  std::cout << "the seed's numerical gradient, (f(w + h) - f(w - h)) / 2h with h = 1e-4:\n"
            << "  " << numeric.computed << " of " << numeric.total << " parameters in "
            << duration_text(numeric.seconds);
  if (numeric.computed < numeric.total) std::cout << ", so about " << duration_text(full_numeric) << " for all";
  std::cout << "\n  largest relative difference from the symbolic gradient: " << std::setprecision(2) << worst
            << std::setprecision(6) << "\n"
            << "symbolic gradient (gn::gradients, one forward and backward run): " << duration_text(symbolic_seconds)
            << "\n"
            << "speed-up of the symbolic gradient: " << std::setprecision(3) << full_numeric / symbolic_seconds
            << " x\n\n" << std::setprecision(6);
  return report.ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  samples::Flags flags("two_layer_digits",
                       "The seed 003 TwoLayerNet: worked loss values, numerical vs symbolic gradients, training on\n"
                       "Fashion-MNIST (default), scikit-learn's 8x8 digits (--digits) or any MNIST-format folder.");
  flags.add("seed", o.seed, "initial weights, batch order and the --digits hold-out")
      .add("epochs", o.epochs, "passes over the training data (0: 10, or 200 with --digits)")
      .add("batch", o.batch, "mini-batch size")
      .add("lr", o.lr, "SGD learning rate")
      .add("hidden", o.hidden, "hidden units")
      .add("init-std", o.init_std, "standard deviation of the initial weights")
      .add_switch("digits", o.digits, "scikit-learn's 1797 8x8 digits, 20% held out (needs python3-sklearn)")
      .add("idx-dir", o.idx_dir, "folder with train-/t10k- images-idx3/labels-idx1 -ubyte[.gz] files")
      .add("limit", o.limit, "train on the first N training images only (0: all)")
      .add("numeric-params", o.numeric_params, "parameters the timed numerical gradient visits (0: all)")
      .add("check-samples", o.check_samples, "elements per variable for gn::check_gradients (0: all)")
      .add("train-eval-rows", o.train_eval_rows, "training images the per-epoch train loss/accuracy use (0: all)")
      .add("require-accuracy", o.require_accuracy, "exit with status 1 if the final test accuracy is lower")
      .add("out", o.out, "output folder");
  flags.parse(argc, argv);
  if (o.batch == 0 || o.hidden == 0) {
    std::cerr << "two_layer_digits: --batch and --hidden must be at least 1\n";
    return 2;
  }
  if (o.digits && !o.idx_dir.empty()) {
    std::cerr << "two_layer_digits: --digits and --idx-dir exclude each other\n";
    return 2;
  }
  if (o.epochs == 0) o.epochs = o.digits ? 200 : 10;
  const std::string dir = samples::output_dir(o.out);
  const auto start = std::chrono::steady_clock::now();

  print_worked_examples();

  ImageData data;
  try {
    data = load_data(o);
  } catch (const DataMissing& e) {
    std::cerr << "two_layer_digits: " << e.what() << "\n";
    return exit_data_missing;
  }
  limit_training_rows(data, o.limit);
  const std::size_t pixels = data.train.x.shape()[1];
  const xt::xarray<double> train_t = gn::one_hot_encode(data.train.y, data.classes);
  const xt::xarray<double> test_t = gn::one_hot_encode(data.test.y, data.classes);
  std::cout << "data: " << data.description << " (loaded in " << duration_text(seconds_since(start)) << ")\n";

  TwoLayerNet net(pixels, o.hidden, data.classes, o.init_std, o.lr, o.seed);
  std::cout << "TwoLayerNet " << pixels << "-" << o.hidden << "-" << data.classes << ": " << net.parameter_count()
            << " parameters\n\n";
  // Drawn now: gn::check_gradients adds its own gradient nodes to the graph.
  samples::graph_picture(dir, "graph", gn::to_dot(net.graph()));

  gn::BatchIterator<double> batches(data.train.x, train_t, o.batch, true, o.seed);
  batches.next();
  if (!compare_gradients(net, batches.x_batch(), batches.y_batch(), o)) {
    std::cerr << "two_layer_digits: symbolic and numerical gradients disagree; not training\n";
    return 1;
  }
  batches.reset();

  // Training with the symbolic gradients; the seed's chapter plots train and
  // test accuracy per epoch. The train figures come from the first
  // --train-eval-rows images: all 60000 would cost more than the epoch itself.
  const std::size_t eval_rows = o.train_eval_rows == 0 ? data.train.x.shape()[0]
                                                       : std::min(o.train_eval_rows, data.train.x.shape()[0]);
  const xt::xarray<double> eval_x = xt::view(data.train.x, xt::range(0, eval_rows));
  const xt::xarray<double> eval_t = xt::view(train_t, xt::range(0, eval_rows));
  std::vector<double> epochs, train_loss, test_loss, train_acc, test_acc;
  const std::size_t print_every = std::max<std::size_t>(1, o.epochs / 10);
  auto record = [&](std::size_t epoch, double secs) {
    const Evaluation tr = net.evaluate(eval_x, eval_t), te = net.evaluate(data.test.x, test_t);
    epochs.push_back(double(epoch));
    train_loss.push_back(tr.loss);
    test_loss.push_back(te.loss);
    train_acc.push_back(tr.accuracy);
    test_acc.push_back(te.accuracy);
    if (epoch % print_every != 0 && epoch != o.epochs) return;
    std::cout << "epoch " << std::setw(3) << epoch << "  train: loss " << std::fixed << std::setprecision(4)
              << tr.loss << ", accuracy " << tr.accuracy << "   test: loss " << te.loss << ", accuracy "
              << te.accuracy << std::defaultfloat << std::setprecision(6);
    if (epoch > 0) std::cout << "   (" << duration_text(secs) << " per epoch)";
    std::cout << "\n";
  };
  std::cout << "training: SGD, batch " << o.batch << ", lr " << o.lr << ", " << o.epochs << " epochs (train figures on "
            << eval_rows << " training images)\n";
  record(0, 0);
  std::size_t step = 0;
  double train_seconds = 0;
  for (std::size_t epoch = 0; epoch < o.epochs; ++epoch, batches.reset()) {
    const auto epoch_start = std::chrono::steady_clock::now();
    while (batches.next()) net.train_step(batches.x_batch(), batches.y_batch(), ++step, epoch);
    const double secs = seconds_since(epoch_start);
    train_seconds += secs;
    record(epoch + 1, secs);
  }
  std::cout << "test accuracy " << std::setprecision(4) << 100 * test_acc.back() << "% after " << o.epochs
            << " epochs (" << step << " SGD steps in " << duration_text(train_seconds) << ")" << std::setprecision(6)
            << "\n";
  if (!o.digits && o.idx_dir.empty() && o.limit == 0 && o.epochs == 10 && o.hidden == 50)
    std::cout << "  (the seed's numpy TwoLayerNet: 86.5% on Fashion-MNIST after 10 epochs)\n";

  samples::line_plot(dir, "training_loss", {"TwoLayerNet: cross-entropy loss", "epoch", "loss"},
                     {{"train", epochs, train_loss, "linespoints pt 7"}, {"test", epochs, test_loss, "linespoints pt 7"}});
  samples::line_plot(dir, "training_accuracy", {"TwoLayerNet: accuracy", "epoch", "accuracy", "", false, "bottom right"},
                     {{"train", epochs, train_acc, "linespoints pt 7"}, {"test", epochs, test_acc, "linespoints pt 7"}});
  std::cout << "\n";
  samples::print_written(dir);
  std::cout << "done in " << duration_text(seconds_since(start)) << "\n";

  if (test_acc.back() < o.require_accuracy) {
    std::cerr << "two_layer_digits: test accuracy " << test_acc.back() << " is below the required "
              << o.require_accuracy << "\n";
    return 1;
  }
  return 0;
}
