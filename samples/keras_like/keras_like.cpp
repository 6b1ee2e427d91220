// A Keras-like workflow (textbook seed 001): build a network layer by layer
// with add(), train it on mini-batches with part of the data held out for
// validation, save it, load it into a fresh model and predict with it.
//
// Two tasks, as in the seed:
//   regression      a noisy 1-D curve, y = 0.4 sin(2 pi x) + 0.5: sigmoid hidden
//                   layer, identity output, mean squared error;
//   classification  three interleaved spirals in the plane: two ReLU layers,
//                   softmax output with cross-entropy on one-hot labels.
// The seed derives softmax + cross-entropy's fused backward pass by hand;
// here gn::gradients produces it from the graph.
//
// A loaded model must predict exactly what the saved one did: the sample
// compares both predictions bit for bit and exits with status 4 if they differ.
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <random>
#include <string>

#include <graphnn/graphnn.hpp>
#include <xtensor/xbuilder.hpp>

#include "../common/flags.hpp"
#include "../common/plots.hpp"
#include "../common/training_plots.hpp"

namespace gn = graphnn;

namespace {

struct Options {
  unsigned seed = 1;
  std::size_t epochs = 200;
  std::size_t batch_size = 32;
  double validation = 0.2;
  double lr = 0.01;
  std::string out = "out/keras_like";
  double require_accuracy = 0;
  double require_loss = 0;
};

const double pi = std::acos(-1.0);

double curve(double x) { return 0.4 * std::sin(2 * pi * x) + 0.5; }

// x ~ U(0, 1), y = curve(x) + N(0, 0.05).
gn::Dataset<double> curve_data(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 0.05);
  xt::xarray<double> x = xt::zeros<double>({n, std::size_t(1)}), y = xt::zeros<double>({n, std::size_t(1)});
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = u(rng);
    y(i, 0) = curve(x(i, 0)) + noise(rng);
  }
  return {x, y};
}

// Three spiral arms, one per class, with some jitter; y holds class ids [n, 1].
gn::Dataset<double> spiral_data(std::size_t per_class, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> jitter(0.0, 0.2);
  const std::size_t n = 3 * per_class;
  xt::xarray<double> x = xt::zeros<double>({n, std::size_t(2)}), y = xt::zeros<double>({n, std::size_t(1)});
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t i = 0; i < per_class; ++i) {
      const double r = static_cast<double>(i + 1) / static_cast<double>(per_class);
      const double angle = 2 * pi * c / 3 + 4.0 * r + jitter(rng) * r;
      const std::size_t row = c * per_class + i;
      x(row, 0) = r * std::cos(angle);
      x(row, 1) = r * std::sin(angle);
      y(row, 0) = static_cast<double>(c);
    }
  }
  return {x, y};
}

gn::FitOptions fit_options(const Options& o, const std::string& csv) {
  gn::FitOptions f;
  f.epochs = o.epochs;
  f.batch_size = o.batch_size;
  f.validation_fraction = o.validation;  // the seed's data_rate is 1 - this
  f.seed = o.seed;
  f.log_every = 0;
  f.csv_log = csv;
  samples::note_written(csv);
  return f;
}

// Prints one line in ten of the log: fit() prints every epoch, which is too
// much here, so the sample logs through History instead.
void print_history(const gn::History& h) {
  const std::size_t every = std::max<std::size_t>(1, h.size() / 10);
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (i % every != every - 1 && i + 1 != h.size()) continue;
    gn::Checkpoint c{h.epoch[i], h.iteration[i], h.loss[i], h.accuracy[i], h.val_loss[i], h.val_accuracy[i], true,
                     !std::isnan(h.accuracy[i])};
    std::cout << gn::format_checkpoint(c) << "\n";
  }
}

// Saves `model`, loads it into a new one, and compares their predictions on `x` bit for bit.
bool save_and_reload(gn::Sequential<double>& model, const std::string& path, const xt::xarray<double>& x) {
  model.save(path);
  samples::note_written(path);
  gn::Sequential<double> loaded = gn::Sequential<double>::load(path);
  const xt::xarray<double> before = model.predict(x), after = loaded.predict(x);
  const bool same = before.shape() == after.shape() &&
                    std::memcmp(before.data(), after.data(), before.size() * sizeof(double)) == 0;
  std::cout << "saved to " << path << ", loaded into a new model: " << before.size() << " predictions "
            << (same ? "identical bit for bit" : "DIFFER") << "\n";
  return same;
}

std::vector<double> column(const xt::xarray<double>& a, std::size_t c = 0) {
  std::vector<double> v(a.shape()[0]);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = a(i, c);
  return v;
}

struct Outcome {
  double metric = 0;  // validation loss (regression) or accuracy (classification)
  bool identical = false;
};

Outcome regression(const Options& o, const std::string& dir) {
  std::cout << "== regression: y = 0.4 sin(2 pi x) + 0.5 + noise ==\n";
  const gn::Dataset<double> d = curve_data(400, o.seed);
  gn::Sequential<double> model;
  model.add(gn::Linear<double>(1, 16)).add(gn::Activation<double>("sigmoid")).add(gn::Linear<double>(16, 1));
  model.set_loss("mse").set_optimizer(gn::Adam<double>(o.lr)).set_seed(o.seed);
  // Inputs to mean 0, std 1. Linear's biases start at 0, so every hidden unit
  // starts centred on x = 0: on raw x in [0, 1] they all bend at the data's
  // edge and the fit stays a straight line for a long time. The normaliser is
  // saved with the model and applied again after loading.
  model.set_normalizer(gn::Normalizer<double>::z_score(d.x));
  model.summary();
  gn::FitOptions f = fit_options(o, samples::join(dir, "regression_log.csv"));
  f.verbose = false;
  const gn::History h = model.fit(d.x, d.y, f);
  print_history(h);

  xt::xarray<double> grid = xt::linspace(0.0, 1.0, 201);
  grid.reshape({201, 1});
  std::vector<double> truth;
  for (double v : grid) truth.push_back(curve(v));
  const bool same = save_and_reload(model, samples::join(dir, "regression.gnn"), grid);
  samples::training_curves(dir, "regression", "regression", {{"", h}});
  samples::line_plot(dir, "regression_fit", {"regression: fitted curve against the data", "x", "y"},
                     {{"data", column(d.x), column(d.y), "points pt 7 ps 0.4"},
                      {"0.4 sin(2 pi x) + 0.5", column(grid), truth, "lines dt 2 lw 2"},
                      {"network", column(grid), column(model.predict(grid)), "lines lw 2"}});
  samples::graph_picture(dir, "regression_graph", gn::to_dot(model.graph()));
  return {h.val_loss.back(), same};
}

// The plane coloured by predicted class, with the data on top.
void draw_regions(const std::string& dir, gn::Sequential<double>& model, const gn::Dataset<double>& d) {
  const std::size_t side = 121;
  xt::xarray<double> grid = xt::zeros<double>({side * side, std::size_t(2)});
  for (std::size_t i = 0; i < side * side; ++i) {
    grid(i, 0) = -1.2 + 2.4 * static_cast<double>(i % side) / (side - 1);
    grid(i, 1) = -1.2 + 2.4 * static_cast<double>(i / side) / (side - 1);
  }
  const xt::xarray<double> ids = model.predict_classes(grid);
  const char* light[3] = {"'#f4c7c3'", "'#c6e5c1'", "'#c4d7f2'"};
  const char* dark[3] = {"'#c0392b'", "'#27883a'", "'#2659a8'"};
  std::vector<samples::Series> series;
  for (std::size_t c = 0; c < 3; ++c) {
    samples::Series region{"", {}, {}, std::string("points pt 5 ps 0.8 lc rgb ") + light[c]};  // no key entry
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids(i) == c) region.x.push_back(grid(i, 0)), region.y.push_back(grid(i, 1));
    series.push_back(region);
  }
  for (std::size_t c = 0; c < 3; ++c) {
    samples::Series points{"class " + std::to_string(c), {}, {}, std::string("points pt 7 ps 0.5 lc rgb ") + dark[c]};
    for (std::size_t i = 0; i < d.x.shape()[0]; ++i)
      if (d.y(i, 0) == c) points.x.push_back(d.x(i, 0)), points.y.push_back(d.x(i, 1));
    series.push_back(points);
  }
  const samples::Axes axes{"classification: predicted class over the plane", "x1", "x2", "", false, "outside right"};
  samples::line_plot(dir, "classification_regions", axes, series);
}

Outcome classification(const Options& o, const std::string& dir) {
  std::cout << "\n== classification: three spirals, softmax + cross-entropy ==\n";
  const gn::Dataset<double> d = spiral_data(200, o.seed);
  const xt::xarray<double> onehot = gn::one_hot_encode(d.y, 3);
  gn::Sequential<double> model;
  model.add(gn::Linear<double>(2, 32, gn::he_normal())).add(gn::Activation<double>("relu"));
  model.add(gn::Linear<double>(32, 32, gn::he_normal())).add(gn::Activation<double>("relu"));
  model.add(gn::Linear<double>(32, 3));
  model.set_classifier("softmax").set_loss("cross_entropy").set_optimizer(gn::Adam<double>(o.lr)).set_seed(o.seed);
  model.summary();
  gn::FitOptions f = fit_options(o, samples::join(dir, "classification_log.csv"));
  f.verbose = false;
  const gn::History h = model.fit(d.x, onehot, f);
  print_history(h);

  const bool same = save_and_reload(model, samples::join(dir, "classification.gnn"), d.x);
  samples::training_curves(dir, "classification", "classification", {{"", h}});
  draw_regions(dir, model, d);
  samples::graph_picture(dir, "classification_graph", gn::to_dot(model.graph()));
  return {h.val_accuracy.back(), same};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  samples::Flags flags("keras_like",
                       "Keras-like models: add layers, fit on mini-batches with a validation split, save, load,\n"
                       "predict. A regression of a 1-D curve and a three-class classification.");
  flags.add("seed", o.seed, "seed of the data, the weights, the split and the shuffling")
      .add("epochs", o.epochs, "passes over the training data (both tasks)")
      .add("batch-size", o.batch_size, "rows per mini-batch")
      .add("validation", o.validation, "share of the data held out for validation")
      .add("lr", o.lr, "Adam learning rate")
      .add("out", o.out, "folder for the models, figures and their data")
      .add("require-accuracy", o.require_accuracy,
           "exit with status 3 when the classification's validation accuracy is below this")
      .add("require-loss", o.require_loss,
           "exit with status 3 when the regression's validation loss is above this (0: no limit)");
  flags.parse(argc, argv);
  const std::string dir = samples::output_dir(o.out);

  const Outcome r = regression(o, dir);
  const Outcome c = classification(o, dir);
  std::cout << "\n";
  samples::print_written(dir);
  std::cout << std::setprecision(6) << "result: regression validation loss " << r.metric
            << ", classification validation accuracy " << std::fixed << std::setprecision(4) << c.metric
            << ", predictions after load " << (r.identical && c.identical ? "identical" : "DIFFERENT") << "\n";
  if (!r.identical || !c.identical) return 4;
  if (c.metric < o.require_accuracy || (o.require_loss > 0 && r.metric > o.require_loss)) {
    std::cerr << "keras_like: below the required accuracy or above the required loss\n";
    return 3;
  }
  return 0;
}
