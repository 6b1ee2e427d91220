// Custom functions (textbook seed 000, "customising a network"): an activator,
// a binary classifier and a loss that graphnn does not have, each given only as
// a forward function and its local derivative:
//
//   activator   f(z) = z / (1 + |z|)              f'(z) = 1 / (1 + |z|)^2
//   classifier  g(z) = 0.5 + arctan(z) / pi       g'(z) = 1 / (pi (1 + z^2))
//   loss        L(a, y) = y (e^(1-a) - 1) + (1-y) (e^a - 1)
//               dL/da   = -y e^(1-a) + (1-y) e^a
//
// graphnn does the chain rule: the network Linear(1,2) -> activator ->
// Linear(2,1) -> classifier -> loss gets its gradients from gn::gradients like
// any other. A gradient check against central differences proves the
// derivatives right before training; then the network learns a 1-D two-class
// problem that needs its hidden layer (class 1 inside |x| < 0.4), and the same
// network with the standard tanh, sigmoid and binary cross-entropy learns it too,
// for comparison.
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <random>
#include <string>

#include <graphnn/graphnn.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include "../common/flags.hpp"
#include "../common/plots.hpp"
#include "../common/training_plots.hpp"

namespace gn = graphnn;

namespace {

struct Options {
  unsigned seed = 1;
  std::size_t epochs = 500;
  std::size_t samples = 500;
  double lr = 1.0;
  std::string out = "out/custom_functions";
  double require_accuracy = 0;
};

// The forward functions and derivatives, on xtensor expressions. They serve
// both as the ops' kernels and for drawing the functions.
const double pi = std::acos(-1.0);
const auto activator_f = [](const auto& z) { return z / (1.0 + xt::abs(z)); };
const auto activator_df = [](const auto& z) { return 1.0 / xt::square(1.0 + xt::abs(z)); };
const auto classifier_f = [](const auto& z) { return 0.5 + xt::atan(z) / pi; };
const auto classifier_df = [](const auto& z) { return 1.0 / (pi * (1.0 + xt::square(z))); };
const auto loss_f = [](const auto& a, const auto& y) {
  return y * (xt::exp(1.0 - a) - 1.0) + (1.0 - y) * (xt::exp(a) - 1.0);
};
const auto loss_df = [](const auto& a, const auto& y) { return -y * xt::exp(1.0 - a) + (1.0 - y) * xt::exp(a); };

// x ~ U(-1, 1), class 1 inside |x| < 0.4. No sample lies within `gap` of the two
// class boundaries: with a clean margin the accuracy can reach 100%.
gn::Dataset<double> make_data(std::size_t n, unsigned seed, double gap = 0.05) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  xt::xarray<double> x = xt::zeros<double>({n, std::size_t(1)}), y = xt::zeros<double>({n, std::size_t(1)});
  for (std::size_t i = 0; i < n; ++i) {
    double v;
    do v = u(rng);
    while (std::abs(std::abs(v) - 0.4) < gap);
    x(i, 0) = v;
    y(i, 0) = std::abs(v) < 0.4 ? 1.0 : 0.0;
  }
  return {x, y};
}

// Linear(1,2) -> activation -> Linear(2,1), W1 ~ N(0, 3). Linear's bias starts
// at zero; the hidden bias is drawn from N(0, 1) here because with b1 = 0 both
// hidden units are odd functions of x and the even target |x| < 0.4 is out of
// reach until b1 has slowly drifted away from 0.
template <class Activation>
gn::Sequential<double> make_model(const Activation& activation, unsigned seed) {
  gn::Sequential<double> m(gn::Linear<double>(1, 2, gn::normal(3.0)), activation, gn::Linear<double>(2, 1));
  m.set_seed(seed);
  return m;
}

void draw_hidden_bias(gn::Sequential<double>& m, unsigned seed) {
  std::mt19937 rng(seed + 1000);
  std::normal_distribution<double> n(0.0, 1.0);
  xt::xarray<double> b1 = {n(rng), n(rng)};
  m.session().assign(m.parameters()[1], b1);
}

// Rows of x whose hidden pre-activations x W1 + b1 all stay clear of 0, where
// f'(z) = 1/(1+|z|)^2 has a kink: a central difference across a kink is not a
// derivative, so such rows would only test the finite difference.
gn::Dataset<double> check_batch(gn::Sequential<double>& m, const gn::Dataset<double>& d, std::size_t rows) {
  const xt::xarray<double> W1 = m.session().value(m.parameters()[0]), b1 = m.session().value(m.parameters()[1]);
  std::vector<double> xs, ys;
  for (std::size_t i = 0; i < d.x.shape()[0] && xs.size() < rows; ++i) {
    const double z0 = d.x(i, 0) * W1(0, 0) + b1(0), z1 = d.x(i, 0) * W1(0, 1) + b1(1);
    if (std::abs(z0) < 0.01 || std::abs(z1) < 0.01) continue;
    xs.push_back(d.x(i, 0));
    ys.push_back(d.y(i, 0));
  }
  xt::xarray<double> x = xt::adapt(xs, {xs.size(), std::size_t(1)}), y = xt::adapt(ys, {ys.size(), std::size_t(1)});
  return {x, y};
}

struct Result {
  gn::History history;
  double seconds = 0;
};

Result train(gn::Sequential<double>& m, const gn::Dataset<double>& d, const Options& o, const std::string& csv,
             bool verbose) {
  gn::FitOptions f;
  f.verbose = verbose;
  f.epochs = o.epochs;
  f.batch_size = 32;
  f.validation_fraction = 0.2;
  f.seed = o.seed;
  f.csv_log = csv;
  const auto start = std::chrono::steady_clock::now();
  Result r{m.fit(d.x, d.y, f)};
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  samples::note_written(csv);
  return r;
}

// The first iteration whose validation accuracy reached `level`, or -1.
long first_reaching(const gn::History& h, double level) {
  for (std::size_t i = 0; i < h.size(); ++i)
    if (h.val_accuracy[i] >= level) return static_cast<long>(h.iteration[i]);
  return -1;
}

void compare(const Result& a, const Result& b) {
  const gn::History &ha = a.history, &hb = b.history;
  const std::size_t la = ha.size() - 1, lb = hb.size() - 1;
  auto row = [](const std::string& what, auto va, auto vb) {
    std::cout << "  " << std::left << std::setw(34) << what << std::right << std::setw(14) << va << std::setw(14) << vb
              << "\n";
  };
  std::cout << std::fixed << std::setprecision(4) << "\nside by side:\n";
  row("", "custom", "standard");
  row("train loss", ha.loss[la], hb.loss[lb]);
  row("train accuracy", ha.accuracy[la], hb.accuracy[lb]);
  row("validation loss", ha.val_loss[la], hb.val_loss[lb]);
  row("validation accuracy", ha.val_accuracy[la], hb.val_accuracy[lb]);
  row("first iteration at >= 97% (valid.)", first_reaching(ha, 0.97), first_reaching(hb, 0.97));
  row("training time (s)", a.seconds, b.seconds);
  std::cout << std::defaultfloat;
}

std::vector<double> to_vector(const xt::xarray<double>& a) { return {a.begin(), a.end()}; }

// The three custom functions next to the standard ones they replace.
void draw_functions(const std::string& dir) {
  const xt::xarray<double> z = xt::linspace(-5.0, 5.0, 201), a = xt::linspace(0.01, 0.99, 99);
  const auto Z = to_vector(z), A = to_vector(a);
  samples::line_plot(dir, "activator", {"activator x/(1+|x|) against tanh", "z", "f(z)"},
                     {{"x/(1+|x|)", Z, to_vector(activator_f(z))}, {"tanh", Z, to_vector(xt::tanh(z))}});
  samples::line_plot(dir, "classifier", {"classifier 0.5+arctan(x)/pi against the logistic sigmoid", "z", "g(z)"},
                     {{"0.5+arctan(z)/pi", Z, to_vector(classifier_f(z))},
                      {"sigmoid", Z, to_vector(1.0 / (1.0 + xt::exp(-z)))}});
  const xt::xarray<double> ones = xt::ones_like(a), zeros = xt::zeros_like(a);
  samples::line_plot(dir, "loss_function", {"custom loss against binary cross-entropy", "prediction a", "loss"},
                     {{"custom, y=1", A, to_vector(loss_f(a, ones))},
                      {"custom, y=0", A, to_vector(loss_f(a, zeros))},
                      {"cross-entropy, y=1", A, to_vector(-xt::log(a))},
                      {"cross-entropy, y=0", A, to_vector(-xt::log(1.0 - a))}});
}

// The data and the probability of class 1 that each trained network gives.
void draw_fit(const std::string& dir, const gn::Dataset<double>& d, gn::Sequential<double>& custom,
              gn::Sequential<double>& standard) {
  std::vector<double> x0, x1;
  for (std::size_t i = 0; i < d.x.shape()[0]; ++i) (d.y(i, 0) > 0.5 ? x1 : x0).push_back(d.x(i, 0));
  xt::xarray<double> grid = xt::linspace(-1.0, 1.0, 401);
  grid.reshape({401, 1});
  const auto G = to_vector(grid);
  samples::line_plot(dir, "fit", {"probability of class 1 (inside |x| < 0.4)", "x", "p(class 1)"},
                     {{"class 0", x0, std::vector<double>(x0.size(), 0.0), "points pt 7 ps 0.5"},
                      {"class 1", x1, std::vector<double>(x1.size(), 1.0), "points pt 7 ps 0.5"},
                      {"custom network", G, to_vector(custom.predict(grid)), "lines lw 2"},
                      {"tanh + sigmoid network", G, to_vector(standard.predict(grid)), "lines lw 2 dt 2"}});
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  samples::Flags flags("custom_functions",
                       "A network built from a custom activator, classifier and loss (forward + derivative only),\n"
                       "gradient-checked, then trained on a two-class problem and compared with tanh/sigmoid/BCE.");
  flags.add("seed", o.seed, "seed of the data, the split, the shuffling and the weights")
      .add("epochs", o.epochs, "passes over the training data")
      .add("samples", o.samples, "data set size (a fifth of it is held out for validation)")
      .add("lr", o.lr, "SGD learning rate")
      .add("out", o.out, "folder for the figures and their data")
      .add("require-accuracy", o.require_accuracy,
           "exit with status 3 when the custom network's validation accuracy is below this");
  flags.parse(argc, argv);
  const std::string dir = samples::output_dir(o.out);

  // Custom ops are defined by name, forward and local derivative; nothing else.
  auto my_activator = gn::elementwise<double>("my_activator", activator_f, activator_df);
  auto my_classifier = gn::elementwise<double>("my_classifier", classifier_f, classifier_df);
  auto my_loss = gn::custom_loss<double>("my_loss", loss_f, loss_df);
  draw_functions(dir);

  const gn::Dataset<double> data = make_data(o.samples, o.seed);
  gn::Sequential<double> custom = make_model(my_activator, o.seed);
  custom.set_classifier(my_classifier).set_loss(my_loss).set_optimizer(gn::SGD<double>(o.lr));
  custom.evaluate(data.x, data.y);  // builds the graph: forward, loss, gradients, SGD updates
  draw_hidden_bias(custom, o.seed);
  custom.summary();
  samples::graph_picture(dir, "graph", gn::to_dot(custom.graph()));  // before the check adds its own gradient nodes

  // Every weight of the whole network, symbolic against numerical gradients.
  const gn::Dataset<double> batch = check_batch(custom, data, 16);
  std::cout << "\ngradient check of the whole network (loss " << custom.loss().name() << ", " << batch.x.shape()[0]
            << " samples):\n";
  const gn::GradCheckReport check = gn::check_gradients(custom.session(), custom.loss(), custom.parameters(),
                                                        {{custom.input(), batch.x}, {custom.labels(), batch.y}});
  std::cout << check;
  if (!check.ok) {
    std::cerr << "custom_functions: the derivatives disagree with the numerical ones; not training\n";
    return 1;
  }

  std::cout << "\ntraining the custom network (SGD, lr " << o.lr << ", batch 32):\n";
  const Result a = train(custom, data, o, samples::join(dir, "custom_log.csv"), true);

  gn::Sequential<double> standard = make_model(gn::Activation<double>("tanh"), o.seed);
  standard.set_classifier("sigmoid").set_loss("binary_cross_entropy").set_optimizer(gn::SGD<double>(o.lr));
  standard.predict(data.x);  // builds it, so the hidden bias can start like the custom network's
  draw_hidden_bias(standard, o.seed);
  std::cout << "\ntraining the same network with tanh, sigmoid and binary cross-entropy (log in standard_log.csv)\n";
  const Result b = train(standard, data, o, samples::join(dir, "standard_log.csv"), false);
  compare(a, b);

  samples::training_curves(dir, "training", "custom vs standard network (each on its own loss)",
                           {{"custom", a.history}, {"standard", b.history}});
  draw_fit(dir, data, custom, standard);
  samples::print_written(dir);

  const double accuracy = a.history.val_accuracy.back();
  std::cout << std::fixed << std::setprecision(4) << "result: gradient check passed, custom validation accuracy "
            << accuracy << ", standard validation accuracy " << b.history.val_accuracy.back() << "\n";
  if (accuracy < o.require_accuracy) {
    std::cerr << "custom_functions: validation accuracy " << accuracy << " is below the required " << o.require_accuracy
              << "\n";
    return 3;
  }
  return 0;
}
