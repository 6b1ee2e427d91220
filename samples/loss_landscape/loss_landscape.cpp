// Loss landscapes and dead ReLU units (textbook seed 002, section 7.6).
//
// A 1-2-1 network fits a curve, once with Tanh and once with ReLU hidden units.
// Holding every other parameter at its trained value, the loss becomes a
// function of the two first-layer weights (w11, w12) alone, which can be drawn:
// a 3-D surface and a contour map, close up around the trained weights and in
// a wide view around (0, 0). The pictures show the loss is not convex in the
// weights even though MSE is convex in the predictions.
//
// The grid is sampled by writing the two weights in place
// (Session::variable_data) and rerunning the loss fetch: one compiled plan
// serves all the points; nothing is re-planned.
//
// ReLU training then runs from many seeds. With inputs in [0, 1] and zero
// initial biases, a unit whose weight starts negative never fires: it is dead,
// gets no gradient, and the fit is poor. The sample names such units and shows
// the two fixes of the textbook: positive initial weights, or LeakyReLU.
#include <chrono>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include "../common/flags.hpp"
#include "../common/plots.hpp"
#include "../common/training_plots.hpp"
#include "curve_net.hpp"
#include "dead_units.hpp"
#include "loss_grid.hpp"

using namespace landscape;

namespace {

struct Options {
  unsigned seed = 1;
  std::size_t epochs = 2000;
  std::size_t samples = 200;
  std::size_t batch = 10;
  double lr = 0.1;
  double noise = 0.02;
  std::size_t grid = 200;
  double local_radius = 2;
  double wide_radius = 10;
  std::size_t trials = 20;
  double leaky_alpha = 0.1;
  std::string out = "out/loss_landscape";
};

// A validation loss at or below this is a good fit: the noise alone gives
// 0.0004, the best straight line 0.08.
constexpr double good_fit = 0.01;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A number as the user typed it: 0.1, not 0.100000.
std::string fmt(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::vector<double> column(const xt::xarray<double>& a) { return std::vector<double>(a.begin(), a.end()); }

// One view of the loss surface.
struct View {
  std::string name, title;
  double w11, w12;  // the trained weights, marked on the map
  LossGrid grid;
};

View sample_view(CurveNet& net, const CurveData& train, const std::string& name, const std::string& title, double c11,
                 double c12, double radius, std::size_t n) {
  const xt::xarray<double>& W1 = net.session().value(net.W1);
  return {name, title, W1(0, 0), W1(0, 1), sample_loss_grid(net, train, c11, c12, radius, n)};
}

// name.png (3-D) and name_contour.png (map). The loss spans several decades
// (0.001 in the valley, 10 and more far away), so the figures show log10(loss):
// on a linear scale the valley floor and the narrow channels are one flat colour.
void draw_view(const std::string& dir, const View& v) {
  const LossGrid& g = v.grid;
  const std::size_t n = g.w11.size();
  std::vector<std::vector<double>> z(n, std::vector<double>(n));  // z[iy][ix]: y is w12, x is w11
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) z[j][i] = std::log10(g.loss(i, j));
  const std::size_t k = xt::argmin(g.loss)();
  std::cout << "  " << std::left << std::setw(22) << v.name << std::right << " w11 in [" << g.w11.front() << ", "
            << g.w11.back() << "], w12 in [" << g.w12.front() << ", " << g.w12.back() << "]: loss from "
            << g.loss.flat(k) << " (at " << g.w11[k / n] << ", " << g.w12[k % n] << ") to " << xt::amax(g.loss)()
            << "\n";
  samples::surface_plot(dir, v.name, {v.title, "w11", "w12", "log10(loss)"}, g.w11, g.w12, z,
                        {{"trained weights", {v.w11}, {v.w12}, "points pt 7 ps 1.5 lc rgb 'magenta'"}});
}

void print_trials(const TrialSummary& t) {
  std::cout << "  " << std::left << std::setw(26) << t.label << std::right << std::setw(8) << t.started_silent() << "/"
            << t.runs.size() << std::setw(10) << t.ended_silent() << "/" << t.runs.size() << std::setw(10)
            << t.good_fits(good_fit) << "/" << t.runs.size() << std::setw(14) << t.median_val_loss() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  samples::Flags flags("loss_landscape",
                       "Loss surfaces of a 1-2-1 curve-fitting net over two first-layer weights (Tanh vs ReLU),\n"
                       "and how often ReLU units die (textbook seed 002).");
  flags.add("seed", o.seed, "data seed, Tanh run seed and first seed of the ReLU trials")
      .add("epochs", o.epochs, "SGD passes over the training data, every run")
      .add("samples", o.samples, "training points (validation: half as many)")
      .add("batch", o.batch, "mini-batch size")
      .add("lr", o.lr, "SGD learning rate")
      .add("noise", o.noise, "standard deviation of the noise on the curve")
      .add("grid", o.grid, "loss surface resolution: grid x grid points per view")
      .add("local-radius", o.local_radius, "half width of the close-up view around the trained weights")
      .add("wide-radius", o.wide_radius, "half width of the wide view around (0, 0)")
      .add("trials", o.trials, "seeds per ReLU set-up in the dead-unit count")
      .add("leaky-alpha", o.leaky_alpha, "LeakyReLU slope for negative inputs")
      .add("out", o.out, "output folder");
  flags.parse(argc, argv);
  if (o.epochs == 0 || o.samples < 2 || o.batch == 0 || o.grid < 2 || o.trials == 0 || !(o.noise >= 0)) {
    std::cerr << "loss_landscape: --epochs, --batch and --trials must be at least 1, --samples and --grid at least 2,"
                 " --noise not negative\n";
    return 2;
  }
  const std::string dir = samples::output_dir(o.out);
  const auto start = std::chrono::steady_clock::now();

  const CurveData train = make_curve_data(o.samples, o.noise, o.seed);
  const CurveData validation = make_curve_data(std::max<std::size_t>(o.samples / 2, 1), o.noise, o.seed + 1000);
  std::cout << "data: " << o.samples << " training and " << validation.x.shape()[0]
            << " validation points, x in [0, 1], y = 0.45 + 0.55 tanh(7(x - 0.3)) - 0.3 tanh(9(x - 0.7)) + N(0, "
            << o.noise << ")\n";
  TrainOptions to;
  to.epochs = o.epochs;
  to.batch_size = o.batch;

  // 1. Tanh: a smooth fit.
  CurveNet tanh_net(Activation::tanh, o.lr);
  to.seed = o.seed;
  const gn::History tanh_history = tanh_net.train(train, validation, to);
  std::cout << "\nTanh (seed " << o.seed << "): train loss " << tanh_history.loss.back() << ", validation loss "
            << tanh_history.val_loss.back() << ", (w11, w12) = (" << tanh_net.session().value(tanh_net.W1)(0, 0)
            << ", " << tanh_net.session().value(tanh_net.W1)(0, 1) << ")\n";

  // 2. ReLU from many seeds: how often does a unit die, and do the fixes help?
  CurveNet relu_net(Activation::relu, o.lr), leaky_net(Activation::leaky_relu, o.lr, o.leaky_alpha);
  const TrialSummary relu = run_trials(relu_net, "ReLU, Xavier init", train, validation, to, o.seed, o.trials);
  to.positive_init = true;
  const TrialSummary positive =
      run_trials(relu_net, "ReLU, positive init", train, validation, to, o.seed, o.trials);
  to.positive_init = false;
  const TrialSummary leaky = run_trials(leaky_net, "LeakyReLU(" + fmt(o.leaky_alpha) + ")",
                                        train, validation, to, o.seed, o.trials);
  std::cout << "\nReLU runs from seeds " << o.seed << ".." << o.seed + o.trials - 1
            << " (a unit is silent when its pre-activation is <= 0 for every training input):\n"
            << "  set-up                     silent at start  silent at end  good fits  median val loss\n";
  for (const TrialSummary* t : {&relu, &positive, &leaky}) print_trials(*t);
  std::cout << "  (good fit: validation loss <= " << good_fit << "; Tanh above reaches "
            << tanh_history.val_loss.back() << ")\n";
  std::size_t named = 0;
  for (const TrialRun& r : relu.runs)
    for (const SilentUnit& u : r.silent_at_end)
      if (named++ < 4) std::cout << "  ReLU seed " << r.seed << ": " << describe_dead_unit(u) << "\n";
  if (named > 4) std::cout << "  ... " << named - 4 << " more dead units in the ReLU runs above\n";
  std::cout << "  Weights that start positive keep every unit alive at the start (x >= 0, so z = w x >= 0), but a\n"
               "  large early step can still push a bias down and kill a unit (the textbook's second cause), and a\n"
               "  run whose kinks leave [0, 1] is a straight line. LeakyReLU passes alpha times the gradient to\n"
               "  silent units, so they come back to life.\n";

  // The ReLU net of the pictures: the best run, as the textbook shows its lucky 4th case.
  const bool positive_wins = positive.best().val_loss < relu.best().val_loss;
  const TrialRun& chosen = positive_wins ? positive.best() : relu.best();
  to.seed = chosen.seed;
  to.positive_init = positive_wins;
  const gn::History relu_history = relu_net.train(train, validation, to);
  std::cout << "ReLU for the pictures: seed " << chosen.seed << (positive_wins ? " (positive init)" : "")
            << ", validation loss " << relu_history.val_loss.back() << ", (w11, w12) = ("
            << relu_net.session().value(relu_net.W1)(0, 0) << ", " << relu_net.session().value(relu_net.W1)(0, 1)
            << ")\n";

  // 3. The loss surfaces: sampled first (timed), drawn after.
  std::cout << "\nloss over (w11, w12), the other weights fixed, " << o.grid << " x " << o.grid << " points per view:\n";
  const auto grid_start = std::chrono::steady_clock::now();
  std::vector<View> views;
  for (CurveNet* net : {&tanh_net, &relu_net}) {
    const std::string act = net == &tanh_net ? "tanh" : "relu", Act = activation_name(net->activation());
    const xt::xarray<double> W1 = net->session().value(net->W1);
    views.push_back(sample_view(*net, train, "landscape_" + act + "_local",
                                Act + ": log10(loss) around the trained (w11, w12)", W1(0, 0), W1(0, 1),
                                o.local_radius, o.grid));
    views.push_back(sample_view(*net, train, "landscape_" + act + "_wide",
                                Act + ": log10(loss) over a wide range of (w11, w12)", 0, 0, o.wide_radius, o.grid));
  }
  const double grid_seconds = seconds_since(grid_start);
  std::size_t new_plans = 0;
  for (const View& v : views) {
    draw_view(dir, v);
    new_plans += v.grid.new_plans;
  }
  std::cout << "  " << views.size() * o.grid * o.grid << " loss evaluations in " << std::setprecision(3)
            << grid_seconds << " s, all by the one compiled loss plan of each net (plans compiled while sampling: "
            << new_plans << ")\n" << std::setprecision(6);

  // 4. The fits, the training curves and the graph.
  std::vector<double> xs;
  for (int i = 0; i <= 200; ++i) xs.push_back(i / 200.0);
  xt::xarray<double> grid_x = xt::adapt(xs, {xs.size(), std::size_t{1}});
  std::vector<double> truth;
  for (double x : xs) truth.push_back(curve(x));
  std::vector<samples::Series> fits = {
      {"training data", column(train.x), column(train.y), "points pt 7 ps 0.4 lc rgb 'gray'"},
      {"the curve", xs, truth, "lines dt 2 lc rgb 'black'"},
      {"Tanh", xs, column(tanh_net.predict(grid_x)), "lines lw 2"},
      {"ReLU (seed " + std::to_string(chosen.seed) + ")", xs, column(relu_net.predict(grid_x)), "lines lw 2"}};
  for (const TrialRun& r : relu.runs) {
    if (r.silent_at_end.empty()) continue;
    restore(relu_net, r);  // relu_net's own weights are not needed any more
    fits.push_back({"ReLU with a dead unit (seed " + std::to_string(r.seed) + ")", xs,
                    column(relu_net.predict(grid_x)), "lines lw 2"});
    break;
  }
  restore(leaky_net, leaky.best());
  fits.push_back({"LeakyReLU (seed " + std::to_string(leaky.best().seed) + ")", xs, column(leaky_net.predict(grid_x)),
                  "lines lw 2 dt 3"});
  samples::line_plot(dir, "fits", {"1-2-1 network fits", "x", "y", "", false, "bottom right"}, fits);
  samples::training_curves(dir, "training", "1-2-1 network, SGD lr " + fmt(o.lr),
                           {{"Tanh", tanh_history}, {"ReLU", relu_history}});
  samples::graph_picture(dir, "graph", gn::to_dot(tanh_net.graph()));

  // Every trial, for a closer look.
  std::vector<std::vector<double>> cols(5);
  for (const TrialSummary* t : {&relu, &positive, &leaky})
    for (const TrialRun& r : t->runs) {
      cols[0].push_back(t == &relu ? 0 : t == &positive ? 1 : 2);
      cols[1].push_back(r.seed);
      cols[2].push_back(static_cast<double>(r.silent_at_start.size()));
      cols[3].push_back(static_cast<double>(r.silent_at_end.size()));
      cols[4].push_back(r.val_loss);
    }
  samples::write_csv(samples::join(dir, "trials.csv"),
                     {"setup(0=relu,1=relu_positive_init,2=leaky_relu)", "seed", "silent_units_at_start",
                      "silent_units_at_end", "val_loss"},
                     cols);

  std::cout << "\n";
  samples::print_written(dir);
  std::cout << "done in " << std::setprecision(3) << seconds_since(start) << " s\n";
  return 0;
}
