// Runs the samples custom_functions and keras_like as a user would and checks
// what they promise: the gradient check passes, the networks reach their
// accuracy and loss, a loaded model predicts what the saved one did, and the
// figures are written (PNG when gnuplot/dot are installed, else data + script).
// The sample programs' paths come from meson (CUSTOM_FUNCTIONS_EXE, KERAS_LIKE_EXE).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <graphnn/graphnn.hpp>
#include <xtensor/xbuilder.hpp>

#include "../samples/common/output.hpp"
#include "sample_runs.hpp"

namespace fs = std::filesystem;
namespace gn = graphnn;

namespace {

using namespace sample_runs;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool nonempty(const std::string& path) { return fs::is_regular_file(path) && fs::file_size(path) > 0; }

bool is_png(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[8] = {};
  f.read(magic, 8);
  return f && std::string(magic + 1, 3) == "PNG";
}

// Each plot's CSV and gnuplot script, and its PNG when gnuplot is installed.
void check_plots(const TempDir& dir, const std::vector<std::string>& names) {
  const bool gnuplot = samples::have_tool("gnuplot");
  for (const auto& name : names) {
    CAPTURE(name);
    CHECK(nonempty(dir / (name + ".csv")));
    CHECK(nonempty(dir / (name + ".gp")));
    if (gnuplot) CHECK(is_png(dir / (name + ".png")));
  }
}

void check_graph(const TempDir& dir, const std::string& name) {
  CAPTURE(name);
  CHECK(nonempty(dir / (name + ".dot")));
  if (samples::have_tool("dot")) CHECK(is_png(dir / (name + ".png")));
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("custom_functions: the whole network passes the gradient check and reaches 97% validation accuracy") {
  TempDir dir;
  const Result r = run(sample(CUSTOM_FUNCTIONS_EXE, "--out " + samples::shell_quote(dir.path) + " --require-accuracy 0.97"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("gradient check passed") != std::string::npos);
  CHECK(r.output.find("FAIL") == std::string::npos);
  CHECK(count(r.output, "  ok\n") == 4);  // W1, b1, W2, b2
  // The seed's log format, every epoch of the custom network: 500 epochs of 13 batches.
  const std::regex line("epoch \\d+, iteration \\d+, train: loss \\d+\\.\\d{6}, accu \\d\\.\\d{4}, "
                        "validation: loss \\d+\\.\\d{6}, accu \\d\\.\\d{4}\n");
  CHECK(std::distance(std::sregex_iterator(r.output.begin(), r.output.end(), line), std::sregex_iterator()) == 500);
  CHECK(r.output.find("epoch 499, iteration 6500, train:") != std::string::npos);
  CHECK(number_after(r.output, "custom validation accuracy ") >= 0.97);
  CHECK(number_after(r.output, "standard validation accuracy ") >= 0.9);

  check_plots(dir, {"activator", "classifier", "loss_function", "training_loss", "training_accuracy", "fit"});
  check_graph(dir, "graph");
  CHECK(lines_of(dir / "custom_log.csv").size() == 501);  // a header and one line per epoch
  CHECK(lines_of(dir / "standard_log.csv").size() == 501);
  CHECK(r.output.find("files written to " + dir.path) != std::string::npos);
}

TEST_CASE("custom_functions: a run below --require-accuracy exits with status 3") {
  TempDir dir;
  const Result r = run(sample(CUSTOM_FUNCTIONS_EXE, "--epochs 1 --require-accuracy 1.01 --out " + samples::shell_quote(dir.path)));
  INFO(r.output);
  CHECK(r.status == 3);
  CHECK(r.output.find("below the required") != std::string::npos);
}

TEST_CASE("keras_like: both tasks learn, and loaded models predict bit for bit what the saved ones did") {
  TempDir dir;
  const Result r = run(sample(KERAS_LIKE_EXE, "--out " + samples::shell_quote(dir.path) +
                                                   " --require-accuracy 0.97 --require-loss 0.006"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(count(r.output, "identical bit for bit") == 2);
  CHECK(r.output.find("predictions after load identical") != std::string::npos);
  CHECK(number_after(r.output, "regression validation loss ") <= 0.006);
  CHECK(number_after(r.output, "classification validation accuracy ") >= 0.97);

  check_plots(dir, {"regression_loss", "regression_fit", "classification_loss", "classification_accuracy",
                    "classification_regions"});
  check_graph(dir, "regression_graph");
  check_graph(dir, "classification_graph");
  CHECK(lines_of(dir / "regression_log.csv").size() == 201);

  // The saved regression model, loaded here, draws the curve the sample plotted
  // (column 6 of regression_fit.csv, written with 10 significant digits).
  gn::Sequential<double> model = gn::Sequential<double>::load(dir / "regression.gnn");
  xt::xarray<double> grid = xt::linspace(0.0, 1.0, 201);
  grid.reshape({201, 1});
  const xt::xarray<double> p = model.predict(grid);
  const auto csv = lines_of(dir / "regression_fit.csv");
  REQUIRE(csv.size() > 201);
  for (std::size_t i = 0; i < 201; ++i) {
    std::istringstream row(csv[i + 1]);
    std::string cell;
    for (int c = 0; c < 6; ++c) std::getline(row, cell, ',');
    CHECK(std::stod(cell) == doctest::Approx(p(i, 0)).epsilon(1e-8));
  }
}

TEST_CASE("without gnuplot and dot the samples write the data and the scripts and say so in one line each") {
  for (const char* exe : {CUSTOM_FUNCTIONS_EXE, KERAS_LIKE_EXE}) {
    CAPTURE(exe);
    TempDir dir;
    // An empty PATH hides both tools; the sample itself is started by its full path.
    const Result r = run("PATH=" + samples::shell_quote(dir.path) + " " +
                         sample(exe, "--epochs 2 --out " + samples::shell_quote(dir.path)));
    INFO(r.output);
    CHECK(r.status == 0);
    const std::size_t scripts = count(r.output, "gnuplot not found: wrote ");
    CHECK(scripts >= 3);
    CHECK(count(r.output, "graphviz (dot) not found: wrote ") >= 1);
    std::size_t gp = 0, png = 0, dot = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) {
      gp += e.path().extension() == ".gp";
      png += e.path().extension() == ".png";
      dot += e.path().extension() == ".dot";
      if (e.path().extension() == ".gp") CHECK(fs::exists(fs::path(e.path()).replace_extension(".csv")));
    }
    CHECK(gp == scripts);
    CHECK(dot >= 1);
    CHECK(png == 0);
  }
}

TEST_CASE("the samples explain their flags and reject bad ones") {
  for (const char* exe : {CUSTOM_FUNCTIONS_EXE, KERAS_LIKE_EXE}) {
    CAPTURE(exe);
    const Result help = run(sample(exe, "--help"));
    CHECK(help.status == 0);
    for (const char* flag : {"--seed", "--epochs", "--out", "--require-accuracy", "--help"})
      CHECK(help.output.find(flag) != std::string::npos);
    const Result unknown = run(sample(exe, "--bogus"));
    CHECK(unknown.status == 2);
    CHECK(unknown.output.find("unknown option '--bogus'") != std::string::npos);
    const Result bad = run(sample(exe, "--epochs many"));
    CHECK(bad.status == 2);
    CHECK(bad.output.find("bad value 'many' for --epochs") != std::string::npos);
  }
}
