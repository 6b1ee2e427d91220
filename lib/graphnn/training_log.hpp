#pragma once
// What fit() reports: checkpoint records (History), the log lines in the
// textbook's form, a progress bar when writing to a terminal, and a CSV file.
#include <chrono>
#include <cstddef>
#include <fstream>
#include <iosfwd>
#include <string>
#include <vector>

namespace graphnn {

// One entry per checkpoint. Accuracy is NaN for regression models.
struct History {
  std::vector<std::size_t> epoch, iteration;
  std::vector<double> loss, accuracy, val_loss, val_accuracy;  // val_*: NaN without validation data
  std::size_t size() const { return loss.size(); }
};

struct Checkpoint {
  std::size_t epoch = 0, iteration = 0;
  double loss = 0, accuracy = 0, val_loss = 0, val_accuracy = 0;
  bool has_validation = false, classifier = false;
};

// "epoch 498, iteration 6487, train: loss 0.196141, accu 0.9875, validation: loss 0.204510, accu 0.9800"
std::string format_checkpoint(const Checkpoint& c);

class TrainingLog {
 public:
  // `out` null: silent. `progress`: redraw a one-line bar with ETA between checkpoints.
  TrainingLog(std::ostream* out, bool progress, const std::string& csv_path, std::size_t total_iterations);
  ~TrainingLog();
  void step(std::size_t iteration, std::size_t epoch);  // cheap: redraws at most ~10 times a second
  void checkpoint(const Checkpoint& c, History& history);

 private:
  void clear_bar();
  std::ostream* out_;
  bool progress_;
  std::ofstream csv_;
  std::size_t total_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool bar_shown_ = false;
};

// True when standard output is a terminal.
bool stdout_is_terminal();

}  // namespace graphnn
