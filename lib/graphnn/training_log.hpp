#pragma once
// What fit() reports: checkpoint records (History), the log lines in the
// textbook's form, a progress bar when writing to a terminal, and a CSV file.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace graphnn {

// One entry per checkpoint. Accuracy is NaN for regression models.
struct History {
  std::vector<std::size_t> epoch, iteration;
  std::vector<double> loss, accuracy, val_loss, val_accuracy;  // val_*: NaN without validation data
  // Further metrics by name ("mae", "val_mae"; graphnn/metrics.hpp), one value per checkpoint.
  std::map<std::string, std::vector<double>> metrics;
  std::size_t size() const { return loss.size(); }
};

struct Checkpoint {
  std::size_t epoch = 0, iteration = 0;
  double loss = 0, accuracy = 0, val_loss = 0, val_accuracy = 0;
  bool has_validation = false, classifier = false;
  // Further metrics in the order they are printed; "val_" names belong to the validation part.
  std::vector<std::pair<std::string, double>> metrics = {};
};

// "epoch 498, iteration 6487, train: loss 0.196141, accu 0.9875, validation: loss 0.204510, accu 0.9800"
// (accuracy only for classifiers; further metrics after it, "mae 0.1234").
std::string format_checkpoint(const Checkpoint& c);

// What the progress bar shows; NaN loss or rate: not known yet, not shown.
struct Progress {
  std::size_t epoch = 0, epochs = 0;          // epoch from 0
  std::size_t iteration = 0, iterations = 0;  // done so far, and in all of fit()
  double loss = 0;                            // running mean of the epoch's batch losses
  double steps_per_second = 0;
  double eta_seconds = 0;
};
// The bar's line in at most width - 1 characters (the last column would wrap):
// "epoch 3/10 [=====>    ]  45% 2250/5000 loss 0.1234 812 it/s ETA 00:12".
// Narrower widths drop the bar first, then the ETA, the count and the rate;
// the percentage and the loss stay while they fit.
std::string format_progress(const Progress& p, std::size_t width);

// The terminal's width in columns (TIOCGWINSZ on standard output, else the
// COLUMNS variable, else 80).
std::size_t terminal_width();

class TrainingLog {
 public:
  // `out` null: silent. `progress`: redraw a one-line bar with ETA between checkpoints.
  TrainingLog(std::ostream* out, bool progress, const std::string& csv_path, std::size_t total_iterations);
  ~TrainingLog();
  // Cheap: redraws at most ~10 times a second, in place. `batch_loss` NaN: not
  // fetched this step (the running loss shows what was).
  void step(std::size_t iteration, std::size_t epoch, double batch_loss = std::nan(""));
  // Whether step(iteration, ...) will redraw the bar: the caller then fetches
  // the batch loss, which costs a copy, only for the ~10 redraws a second.
  bool will_draw(std::size_t iteration) const;
  void checkpoint(const Checkpoint& c, History& history);
  // For a bar drawn without a terminal (tests) or after a resize.
  void set_width(std::size_t columns) { width_ = columns; }
  void set_epochs(std::size_t epochs) { epochs_ = epochs; }

 private:
  void clear_bar();
  void write_csv(const Checkpoint& c, const History& h);
  std::ostream* out_;
  bool progress_;
  std::string csv_path_;
  std::ofstream csv_;
  std::size_t total_;
  std::size_t width_ = 80, epochs_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool bar_shown_ = false;
  std::size_t loss_epoch_ = 0, losses_ = 0;  // the running loss: mean over this epoch's fetched losses
  double loss_sum_ = 0;
  bool csv_classifier_ = false, csv_validation_ = false;  // the CSV's columns, from its first row
};

// True when standard output is a terminal.
bool stdout_is_terminal();

}  // namespace graphnn
