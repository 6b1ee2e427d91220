// fit()'s reporting: the progress bar's text at given widths, the plain lines
// when piped, metrics in the log lines, the CSV and History; plot_history's files.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <graphnn/plots.hpp>

namespace fs = std::filesystem;

namespace {

// Epoch 3 of 10, 45% done, running loss 0.5, 812.4 steps per second, 7 s left.
gn::Progress sample_progress() {
  gn::Progress p;
  p.epoch = 2;
  p.epochs = 10;
  p.iteration = 2250;
  p.iterations = 5000;
  p.loss = 0.5;
  p.steps_per_second = 812.4;
  p.eta_seconds = 6.8;
  return p;
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("graphnn_test_progress_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("the progress bar fits the width: the bar shrinks, then ETA, count, rate and epoch go") {
  const gn::Progress p = sample_progress();
  // 30 of the bar's inner characters at 45%: 13 filled
  CHECK(gn::format_progress(p, 120) ==
        "epoch 3/10 [=============>                ]  45% 2250/5000 loss 0.5 812 it/s ETA 00:07");
  // 79 characters: a bar of 25 (23 inside, 10 filled)
  CHECK(gn::format_progress(p, 80) == "epoch 3/10 [==========>            ]  45% 2250/5000 loss 0.5 812 it/s ETA 00:07");
  // 53 characters without a bar, which would need 11 more than the 59: no bar
  CHECK(gn::format_progress(p, 60) == "epoch 3/10  45% 2250/5000 loss 0.5 812 it/s ETA 00:07");
  CHECK(gn::format_progress(p, 50) == "epoch 3/10  45% 2250/5000 loss 0.5 812 it/s");
  CHECK(gn::format_progress(p, 40) == "epoch 3/10  45% loss 0.5 812 it/s");
  CHECK(gn::format_progress(p, 20) == " 45% loss 0.5");
  CHECK(gn::format_progress(p, 10) == " 45% loss");
  CHECK(gn::format_progress(p, 1).empty());
  for (std::size_t width = 1; width <= 200; ++width) {
    CAPTURE(width);
    CHECK(gn::format_progress(p, width).size() < width);  // never the last column: no wrap, no left-over lines
  }
}

TEST_CASE("the progress bar: unknown loss and rate are left out, the end is a full bar, hours in the ETA") {
  gn::Progress p = sample_progress();
  p.loss = std::nan("");
  p.steps_per_second = std::nan("");
  p.eta_seconds = 3725;
  p.epochs = 0;  // not known: the epoch index as given
  CHECK(gn::format_progress(p, 60) == "epoch 2 [=========>            ]  45% 2250/5000 ETA 1:02:05");
  p.iteration = 5000;
  p.eta_seconds = 0;
  p.steps_per_second = 2.5;
  CHECK(gn::format_progress(p, 70) == "epoch 2 [=========================] 100% 5000/5000 2.5 it/s ETA 00:00");
}

TEST_CASE("at a terminal the bar is redrawn in place within the width; checkpoints clear it") {
  std::ostringstream os;
  gn::History history;
  {
    gn::TrainingLog log(&os, true, "", 100);
    log.set_width(50);
    log.set_epochs(2);
    log.step(1, 0, 0.75);
    log.checkpoint({0, 50, 0.5}, history);
  }
  const std::string out = os.str();
  const std::size_t bar = out.find('\r');
  REQUIRE(bar != std::string::npos);
  CHECK(out.substr(0, bar).find("graphnn: ") == 0);  // the runtime line first
  const std::size_t end = out.find("\033[K", bar);
  REQUIRE(end != std::string::npos);
  const std::string drawn = out.substr(bar + 1, end - bar - 1);
  INFO(drawn);
  CHECK(drawn.size() < 50);
  CHECK(drawn.find('\n') == std::string::npos);
  CHECK(drawn.find("epoch 1/2") == 0);
  CHECK(drawn.find("loss 0.75") != std::string::npos);
  CHECK(out.substr(end).find("\033[K\r\033[Kepoch 0, iteration 50, train: loss 0.500000\n") == 0);
}

TEST_CASE("fit's bar shows the loss of the batches it fetched (before their update) and the rate") {
  test::Rng rng(5);
  const test::Arr x = test::random(rng, {40, 2}), y = test::random(rng, {40, 1});
  gn::Sequential<double> m;
  m.add_layer(gn::Linear<double>(2, 1));
  m.set_optimizer(gn::SGD<double>(0.5)).set_seed(3);
  const double before = m.evaluate(x, y).loss;
  gn::FitOptions o;
  o.epochs = 1;
  o.batch_size = 40;  // one batch: the first redraw fetches the loss of the whole set, before the step
  o.shuffle = false;
  o.progress = true;
  std::ostringstream printed;
  std::streambuf* const cout = std::cout.rdbuf(printed.rdbuf());
  try {
    m.fit(x, y, o);
  } catch (...) {
    std::cout.rdbuf(cout);
    throw;
  }
  std::cout.rdbuf(cout);
  const std::string out = printed.str();
  INFO(out);
  char loss[32];
  std::snprintf(loss, sizeof loss, "loss %.4g", before);
  const std::size_t bar = out.find('\r');
  REQUIRE(bar != std::string::npos);
  const std::string drawn = out.substr(bar + 1, out.find("\033[K", bar) - bar - 1);
  CHECK(drawn.find(loss) != std::string::npos);
  CHECK(drawn.find(" it/s") != std::string::npos);
  CHECK(m.evaluate(x, y).loss < before);  // the step did happen
}

TEST_CASE("piped, the log is plain lines, one per checkpoint; metrics are printed, no accuracy for regression") {
  std::ostringstream os;
  gn::History h;
  const fs::path dir = fresh_dir("csv");
  fs::create_directories(dir);
  {
    gn::TrainingLog log(&os, false, (dir / "log.csv").string(), 100);
    for (std::size_t i = 1; i <= 100; ++i) log.step(i, i / 50, 0.5);
    gn::Checkpoint c{0, 50, 0.5, 0, 0.75, 0, true, false, {{"mae", 0.25}, {"val_mae", 0.5}}};
    log.checkpoint(c, h);
    c = {1, 100, 0.4, 0, 0.6, 0, true, false, {{"mae", 0.125}, {"val_mae", 0.375}}};
    log.checkpoint(c, h);
  }
  CHECK(os.str() ==
        "epoch 0, iteration 50, train: loss 0.500000, mae 0.2500, validation: loss 0.750000, mae 0.5000\n"
        "epoch 1, iteration 100, train: loss 0.400000, mae 0.1250, validation: loss 0.600000, mae 0.3750\n");
  CHECK(h.metrics.at("mae") == std::vector<double>{0.25, 0.125});
  CHECK(h.metrics.at("val_mae") == std::vector<double>{0.5, 0.375});
  CHECK(std::isnan(h.accuracy[0]));
  // a regression has no accuracy columns (never "nan")
  CHECK(lines_of(dir / "log.csv") == std::vector<std::string>{"epoch,iteration,loss,val_loss,mae,val_mae",
                                                              "0,50,0.5,0.75,0.25,0.5", "1,100,0.4,0.6,0.125,0.375"});
  // a classifier's line keeps the textbook's form
  const gn::Checkpoint c{3, 7, 0.25, 0.875, 0, 0, false, true, {{"top_k_accuracy(2)", 1.0}}};
  CHECK(gn::format_checkpoint(c) == "epoch 3, iteration 7, train: loss 0.250000, accu 0.8750, top_k_accuracy(2) 1.0000");
}

TEST_CASE("plot_history writes data and script, and the PNG with gnuplot; without it, says so") {
  gn::History h;
  h.epoch = {0, 1, 2};
  h.iteration = {10, 20, 30};
  h.loss = {1.0, 0.5, 0.25};
  h.accuracy = {std::nan(""), std::nan(""), std::nan("")};  // a regression
  h.val_loss = {1.5, 0.75, 0.5};
  h.val_accuracy = h.accuracy;
  h.metrics = {{"mae", {0.9, 0.6, 0.3}}, {"val_mae", {1.0, 0.7, 0.4}}};
  const fs::path dir = fresh_dir("plots");

  SUBCASE("with gnuplot") {
    if (!gn::program_on_path("gnuplot")) return;  // tools/setup installs gnuplot-nox
    const gn::PlotFiles f = gn::plot_history(h, (dir / "sub" / "curves.png").string());
    CHECK(f.rendered);
    std::ifstream png(f.png, std::ios::binary);
    char magic[4] = {};
    png.read(magic, 4);
    CHECK(std::string(magic + 1, 3) == "PNG");
    CHECK(fs::exists(dir / "sub" / "curves.gp"));
  }
  SUBCASE("without gnuplot") {
    const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", "/nonexistent", 1);
    std::ostringstream note;
    const gn::PlotFiles f = gn::plot_history(h, (dir / "curves.png").string(), &note);
    ::setenv("PATH", path.c_str(), 1);
    CHECK(!f.rendered);
    CHECK(!fs::exists(f.png));
    CHECK(note.str() == "plot_history: gnuplot not found: wrote " + (dir / "curves.csv").string() + " and " +
                            (dir / "curves.gp").string() + " (run `gnuplot curves.gp` in " + dir.string() +
                            " to draw curves.png)\n");
    CHECK(lines_of(f.data) == std::vector<std::string>{"iteration,loss,val_loss,mae,val_mae", "10,1,1.5,0.9,1",
                                                       "20,0.5,0.75,0.6,0.7", "30,0.25,0.5,0.3,0.4"});
    const std::vector<std::string> gp = lines_of(f.script);
    CHECK(std::find(gp.begin(), gp.end(), "set output 'curves.png'") != gp.end());
    CHECK(std::find(gp.begin(), gp.end(), "set multiplot layout 2,1") != gp.end());  // loss and mae; no accuracy
    CHECK(std::find(gp.begin(), gp.end(), "plot 'curves.csv' skip 1 using 1:4 with lines title 'train', \\") !=
          gp.end());
  }
  CHECK_ERROR(gn::plot_history(gn::History{}, (dir / "x.png").string()), "plot_history: the history has no checkpoints");
}
