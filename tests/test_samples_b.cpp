// The samples loss_landscape (seed 002) and two_layer_digits (seed 003): their
// parts checked directly (linked from the samples' static libraries), then the
// programs run in a reduced mode as a user would, checking what they promise:
// gradient checks pass, the seed's loss values, accuracy, dead-unit counts, one
// compiled plan for the whole loss grid, the exit status for missing data, and
// the files written (PNG when gnuplot/dot are installed, else data + script).
// The programs' paths come from meson (LOSS_LANDSCAPE_EXE, TWO_LAYER_DIGITS_EXE).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <graphnn/graphnn.hpp>
#include <xtensor/xview.hpp>

#include "../samples/common/output.hpp"
#include "sample_runs.hpp"
#include "curve_net.hpp"
#include "dead_units.hpp"
#include "image_data.hpp"
#include "loss_grid.hpp"
#include "two_layer_net.hpp"
#include "worked_examples.hpp"

namespace fs = std::filesystem;
namespace gn = graphnn;

namespace {

using namespace sample_runs;

bool nonempty(const std::string& path) { return fs::is_regular_file(path) && fs::file_size(path) > 0; }

bool is_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[8] = {};
  f.read(magic, 8);
  return f && std::string(magic + 1, 3) == "PNG";
}

// A figure: always its data and script; the PNG too when the tool is installed.
void check_figure(const TempDir& out, const std::string& name, const std::string& data_ext, const std::string& tool) {
  INFO("figure ", name);
  CHECK(nonempty(out / (name + data_ext)));
  if (samples::have_tool(tool)) CHECK(is_png(out / (name + ".png")));
}

}  // namespace

// ---------------------------------------------------------------- loss_landscape

TEST_CASE("loss_landscape: the loss grid is sampled by one compiled plan and matches direct evaluations") {
  using namespace landscape;
  const CurveData train = make_curve_data(60, 0.02, 1), validation = make_curve_data(30, 0.02, 2);
  CurveNet net(Activation::tanh, 0.1);
  TrainOptions o;
  o.epochs = 50;
  o.seed = 3;
  net.train(train, validation, o);
  const xt::xarray<double> W1 = net.session().value(net.W1);
  const double trained_loss = net.loss(train);

  const std::size_t plans = net.session().plan_count();
  const LossGrid g = sample_loss_grid(net, train, W1(0, 0), W1(0, 1), 1.5, 21);
  CHECK(g.new_plans == 0);  // the loss fetch was compiled during training; the grid adds nothing
  CHECK(net.session().plan_count() == plans);
  REQUIRE(g.loss.shape()[0] == 21);
  REQUIRE(g.loss.shape()[1] == 21);
  // The centre of an odd grid is the trained point; the weights are restored afterwards.
  CHECK(g.loss(10, 10) == doctest::Approx(trained_loss).epsilon(1e-12));
  CHECK(net.session().value(net.W1) == W1);
  CHECK(g.w11.front() == doctest::Approx(W1(0, 0) - 1.5));
  CHECK(g.w12.back() == doctest::Approx(W1(0, 1) + 1.5));
  // A corner against the weights set with Session::assign.
  xt::xarray<double> corner = W1;
  corner(0, 0) = g.w11[0];
  corner(0, 1) = g.w12[20];
  net.session().assign(net.W1, corner);
  CHECK(g.loss(0, 20) == doctest::Approx(net.loss(train)).epsilon(1e-12));
  net.session().assign(net.W1, W1);

  // A fresh net compiles its loss plan at the first grid point, once.
  CurveNet fresh(Activation::relu, 0.1);
  fresh.initialise(1, true);
  CHECK(sample_loss_grid(fresh, train, 0, 0, 2, 5).new_plans == 1);
}

TEST_CASE("loss_landscape: the curve net's symbolic gradients pass the gradient check") {
  using namespace landscape;
  const CurveData train = make_curve_data(40, 0.02, 5);
  CurveNet net(Activation::tanh, 0.1);
  net.initialise(7, false);
  const gn::GradCheckReport r = gn::check_gradients(net.session(), net.loss_node, {net.W1, net.b1, net.W2, net.b2},
                                                    {{net.x, train.x}, {net.y, train.y}});
  CHECK_MESSAGE(r.ok, r);
}

TEST_CASE("loss_landscape: a ReLU unit silent on every input is named and never learns") {
  using namespace landscape;
  const CurveData train = make_curve_data(50, 0.02, 1), validation = make_curve_data(20, 0.02, 2);
  CurveNet net(Activation::relu, 0.1);
  net.initialise(1, false);
  // Unit 1: z = -0.7 x - 0.1 < 0 for every x in [0, 1]. Unit 0 fires for x > 0.2.
  net.session().assign(net.W1, xt::xarray<double>{{0.5, -0.7}});
  net.session().assign(net.b1, xt::xarray<double>{-0.1, -0.1});
  const auto silent = net.silent_units(train.x);
  REQUIRE(silent.size() == 1);
  CHECK(silent[0].unit == 1);
  CHECK(silent[0].max_pre_activation <= 0);
  const std::string text = describe_dead_unit(silent[0]);
  CHECK(text.find("layer0 unit 1 is dead: its pre-activation is <= 0 for every training input") == 0);

  // Training moves everything but the dead unit's first-layer weight and bias.
  const xt::xarray<double> W2_before = net.session().value(net.W2);
  for (int i = 0; i < 20; ++i) net.session().run_targets(net.updates, {{net.x, train.x}, {net.y, train.y}});
  CHECK(net.session().value(net.W1)(0, 1) == -0.7);
  CHECK(net.session().value(net.b1)(1) == -0.1);
  CHECK(net.session().value(net.W1)(0, 0) != 0.5);
  CHECK(net.session().value(net.W2)(0, 0) != W2_before(0, 0));
  (void)validation;
}

TEST_CASE("loss_landscape: dead units over seeds; positive init and LeakyReLU fix them") {
  using namespace landscape;
  const CurveData train = make_curve_data(200, 0.02, 1), validation = make_curve_data(100, 0.02, 1001);
  TrainOptions o;
  o.epochs = 800;
  CurveNet relu_net(Activation::relu, 0.1), leaky_net(Activation::leaky_relu, 0.1, 0.1);
  const TrialSummary relu = run_trials(relu_net, "relu", train, validation, o, 1, 8);
  o.positive_init = true;
  const TrialSummary positive = run_trials(relu_net, "positive", train, validation, o, 1, 8);
  o.positive_init = false;
  const TrialSummary leaky = run_trials(leaky_net, "leaky", train, validation, o, 1, 8);
  INFO("silent at start/end, good fits: relu ", relu.started_silent(), "/", relu.ended_silent(), " ",
       relu.good_fits(0.01), "; positive ", positive.started_silent(), "/", positive.ended_silent(), " ",
       positive.good_fits(0.01), "; leaky ", leaky.started_silent(), "/", leaky.ended_silent(), " ",
       leaky.good_fits(0.01));

  // Inputs in [0, 1], zero biases: a negative initial weight means a dead unit.
  CHECK(relu.started_silent() >= 4);
  // Under ReLU a dead unit gets no gradient: every unit dead at the start is dead at the end.
  for (const TrialRun& r : relu.runs)
    for (const SilentUnit& u : r.silent_at_start) {
      bool still = false;
      for (const SilentUnit& v : r.silent_at_end) still = still || v.unit == u.unit;
      CHECK_MESSAGE(still, "seed ", r.seed, " unit ", u.unit);
    }
  CHECK(positive.started_silent() == 0);
  CHECK(positive.ended_silent() < relu.ended_silent());
  // LeakyReLU starts from the same weights but brings silent units back.
  CHECK(leaky.started_silent() == relu.started_silent());
  CHECK(leaky.ended_silent() < leaky.started_silent());
  CHECK(leaky.good_fits(0.01) > relu.good_fits(0.01));
  CHECK(relu.median_val_loss() > 0.05);  // mostly a straight line or worse
}

TEST_CASE("loss_landscape program: reduced run writes its figures and names dead units") {
  TempDir out;
  const Result r = run(sample(LOSS_LANDSCAPE_EXE, "--epochs 300 --samples 100 --trials 4 --grid 21 --out " +
                                                      samples::shell_quote(out.path)));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("plans compiled while sampling: 0") != std::string::npos);
  CHECK(r.output.find("is dead: its pre-activation is <= 0 for every training input") != std::string::npos);
  CHECK(r.output.find("files written to " + out.path) != std::string::npos);
  for (const char* view : {"landscape_tanh_local", "landscape_tanh_wide", "landscape_relu_local", "landscape_relu_wide"}) {
    check_figure(out, view, ".csv", "gnuplot");
    if (samples::have_tool("gnuplot")) CHECK(is_png(out / (std::string(view) + "_contour.png")));
  }
  check_figure(out, "fits", ".csv", "gnuplot");
  check_figure(out, "training_loss", ".csv", "gnuplot");
  check_figure(out, "graph", ".dot", "dot");
  CHECK(nonempty(out / "trials.csv"));
  // 21 x 21 grid points, a blank line after each row, and the header.
  std::ifstream grid(out / "landscape_tanh_local.csv");
  std::size_t lines = 0;
  for (std::string line; std::getline(grid, line);) ++lines;
  CHECK(lines == 1 + 21 * 22);
}

TEST_CASE("loss_landscape program: without gnuplot and dot it writes data and scripts and says so") {
  TempDir out;
  const Result r = run("/usr/bin/env PATH=/nonexistent " +
                       sample(LOSS_LANDSCAPE_EXE, "--epochs 20 --samples 40 --trials 2 --grid 5 --out " +
                                                      samples::shell_quote(out.path)));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("gnuplot not found: wrote landscape_relu_wide.csv and landscape_relu_wide.gp") !=
        std::string::npos);
  CHECK(r.output.find("graphviz (dot) not found: wrote graph.dot") != std::string::npos);
  CHECK(nonempty(out / "fits.gp"));
  CHECK(nonempty(out / "graph.dot"));
  CHECK(!fs::exists(out / "fits.png"));
  CHECK(!fs::exists(out / "graph.png"));
}

TEST_CASE("loss_landscape program: --help and bad values") {
  const Result help = run(sample(LOSS_LANDSCAPE_EXE, "--help"));
  CHECK(help.status == 0);
  for (const char* flag : {"--seed", "--epochs", "--grid", "--trials", "--leaky-alpha", "--out"})
    CHECK_MESSAGE(help.output.find(flag) != std::string::npos, flag);
  CHECK(run(sample(LOSS_LANDSCAPE_EXE, "--grid 1")).status == 2);
  CHECK(run(sample(LOSS_LANDSCAPE_EXE, "--epochs many")).status == 2);
}

// ---------------------------------------------------------------- two_layer_digits

TEST_CASE("two_layer_digits: the seed's worked loss values, to 1e-12") {
  const two_layer::WorkedLosses w = two_layer::compute_worked_losses();
  const double ce = -(std::log(0.7) + std::log(0.8) + std::log(0.6) + std::log(0.1)) / 4;
  CHECK(std::abs(w.expected_ce - ce) <= 1e-15);
  CHECK(std::abs(w.ce_one_hot - ce) <= 1e-12);
  CHECK(std::abs(w.ce_index - ce) <= 1e-12);
  CHECK(std::abs(w.ce_softmax - ce) <= 1e-12);
  CHECK(std::abs(w.ce_sparse - ce) <= 1e-12);
  // sum((y - t)^2) = 0.14 + 0.06 + 0.26 + 1.46 = 1.92 over 2N = 24.
  CHECK(std::abs(w.expected_mse - 0.08) <= 1e-15);
  CHECK(std::abs(w.mse_half - 0.08) <= 1e-12);
  // The seed's eps = 1e-7 inside the log moves the value by about eps * mean(1 / y[i, t_i]) = 3.6e-7.
  CHECK(ce - w.ce_seed_eps > 3e-7);
  CHECK(ce - w.ce_seed_eps < 4e-7);
}

TEST_CASE("two_layer_digits: symbolic gradients of the TwoLayerNet against numerical ones") {
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> u(0, 1);
  xt::xarray<double> x = xt::empty<double>({16, 12});
  for (double& v : x) v = u(rng);
  xt::xarray<double> ids = xt::empty<double>({16});
  for (std::size_t i = 0; i < 16; ++i) ids(i) = double(i % 5);
  const xt::xarray<double> t = gn::one_hot_encode(ids, 5);
  // Larger initial weights than the seed's 0.01, so every gradient is well above rounding.
  two_layer::TwoLayerNet net(12, 7, 5, 0.5, 0.5, 1);
  CHECK(net.parameter_count() == 12 * 7 + 7 + 7 * 5 + 5);

  const gn::GradCheckReport r = gn::check_gradients(net.session(), net.loss_node, net.params, {{net.x, x}, {net.t, t}});
  CHECK_MESSAGE(r.ok, r);
  // The seed's plain central difference over every element agrees to its own accuracy (h^2).
  const auto numeric = net.numerical_gradient(x, t, 1e-4, 0);
  CHECK(numeric.computed == numeric.total);
  const auto symbolic = net.symbolic_gradient(x, t);
  for (std::size_t p = 0; p < symbolic.size(); ++p)
    for (std::size_t i = 0; i < symbolic[p].size(); ++i)
      CHECK(std::abs(symbolic[p].flat(i) - numeric.grads[p].flat(i)) <= 1e-7 * std::max(1.0, std::abs(symbolic[p].flat(i))));
  // A partial pass visits at least (and about) the requested number of elements, spread over every parameter.
  const auto some = net.numerical_gradient(x, t, 1e-4, 30);
  CHECK(some.computed >= 30);
  CHECK(some.computed <= 45);
  for (const auto& idx : some.indices) CHECK(!idx.empty());
}

TEST_CASE("two_layer_digits: training on a separable toy set reaches 100%") {
  // Class k: pixel k bright. The seed's net learns it in a few dozen steps.
  xt::xarray<double> x = xt::zeros<double>({40, 6});
  xt::xarray<double> ids = xt::empty<double>({40});
  for (std::size_t i = 0; i < 40; ++i) {
    ids(i) = double(i % 3);
    x(i, i % 3) = 1;
    x(i, 3 + i % 3) = 0.5;
  }
  const xt::xarray<double> t = gn::one_hot_encode(ids, 3);
  two_layer::TwoLayerNet net(6, 8, 3, 0.01, 0.5, 2);
  const double before = net.evaluate(x, t).loss;
  for (std::size_t step = 1; step <= 300; ++step) net.train_step(x, t, step, 0);
  const two_layer::Evaluation e = net.evaluate(x, t, 16);
  CHECK(e.loss < before / 4);
  CHECK(e.accuracy == 1.0);
}

TEST_CASE("two_layer_digits: missing data files are reported with what to install") {
  CHECK_THROWS_AS(two_layer::load_idx_folder("/nonexistent/graphnn", "install X"), two_layer::DataMissing);
  try {
    two_layer::load_sklearn_digits("/nonexistent/digits.csv.gz", 0.2, 1);
    FAIL("no exception");
  } catch (const two_layer::DataMissing& e) {
    CHECK(std::string(e.what()).find("python3-sklearn") != std::string::npos);
  }
  TempDir out;
  const Result r = run(sample(TWO_LAYER_DIGITS_EXE, "--idx-dir /nonexistent/graphnn --out " +
                                                        samples::shell_quote(out.path)));
  CHECK(r.status == 3);
  CHECK(r.output.find("no train-images-idx3-ubyte[.gz] in /nonexistent/graphnn") != std::string::npos);
}

TEST_CASE("two_layer_digits program: --idx-dir reads any MNIST-format folder, gzip or not") {
  TempDir data, out;
  const fs::path fixtures = GRAPHNN_TEST_DATA;
  fs::copy_file(fixtures / "images.idx3-ubyte.gz", data / "train-images-idx3-ubyte.gz");
  fs::copy_file(fixtures / "labels.idx1-ubyte.gz", data / "train-labels-idx1-ubyte.gz");
  fs::copy_file(fixtures / "images.idx3-ubyte", data / "t10k-images.idx3-ubyte");  // the other spelling, plain
  fs::copy_file(fixtures / "labels.idx1-ubyte", data / "t10k-labels.idx1-ubyte");
  const Result r = run(sample(TWO_LAYER_DIGITS_EXE, "--idx-dir " + samples::shell_quote(data.path) +
                                                        " --epochs 2 --batch 2 --numeric-params 0 --check-samples 0 "
                                                        "--out " + samples::shell_quote(out.path)));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("5 training and 5 test images of 6 pixels") != std::string::npos);
  CHECK(r.output.find("gradient check passed") != std::string::npos);
  CHECK(r.output.find("860 of 860 parameters") != std::string::npos);  // 6*50 + 50 + 50*10 + 10
}

TEST_CASE("two_layer_digits program: reduced run on scikit-learn's digits") {
  REQUIRE_MESSAGE(fs::is_regular_file(two_layer::sklearn_digits_csv),
                  "scikit-learn's digits are missing: apt-get install python3-sklearn (tools/setup installs it)");
  TempDir out;
  const Result r = run(sample(TWO_LAYER_DIGITS_EXE, "--digits --epochs 60 --numeric-params 200 --check-samples 20 "
                                                    "--require-accuracy 0.9 --out " + samples::shell_quote(out.path)));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("1438 training and 359 held-out 8x8 digit images") != std::string::npos);
  CHECK(r.output.find("gradient check passed") != std::string::npos);
  CHECK(number_after(r.output, "speed-up of the symbolic gradient: ") > 10);
  CHECK(number_after(r.output, "test accuracy ") >= 90);
  // The worked example is printed with the seed's value.
  CHECK(r.output.find("0.848307303003245") != std::string::npos);
  check_figure(out, "training_loss", ".csv", "gnuplot");
  check_figure(out, "training_accuracy", ".csv", "gnuplot");
  check_figure(out, "graph", ".dot", "dot");
  std::ifstream acc(out / "training_accuracy.csv");
  std::size_t lines = 0;
  for (std::string line; std::getline(acc, line);) ++lines;
  CHECK(lines == 1 + 61);  // header, then epochs 0..60
}

TEST_CASE("two_layer_digits program: reduced run on Fashion-MNIST") {
  const std::string dir = two_layer::fashion_mnist_dir;
  REQUIRE_MESSAGE(fs::is_directory(dir),
                  "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist (tools/setup installs it)");
  TempDir out;
  const Result r = run(sample(TWO_LAYER_DIGITS_EXE, "--limit 10000 --epochs 3 --numeric-params 100 "
                                                    "--check-samples 10 --train-eval-rows 1000 --require-accuracy 0.7 "
                                                    "--out " + samples::shell_quote(out.path)));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("60000 training and 10000 test images of 784 pixels") != std::string::npos);
  CHECK(r.output.find("training on the first 10000") != std::string::npos);
  CHECK(r.output.find("gradient check passed") != std::string::npos);
  CHECK(number_after(r.output, "test accuracy ") >= 70);  // 300 steps from the seed's tiny initial weights
}

TEST_CASE("two_layer_digits program: --help") {
  const Result help = run(sample(TWO_LAYER_DIGITS_EXE, "--help"));
  CHECK(help.status == 0);
  for (const char* flag : {"--seed", "--epochs", "--digits", "--idx-dir", "--limit", "--out"})
    CHECK_MESSAGE(help.output.find(flag) != std::string::npos, flag);
  CHECK(run(sample(TWO_LAYER_DIGITS_EXE, "--digits --idx-dir x")).status == 2);
}
