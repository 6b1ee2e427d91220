#include "graphnn/training_log.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ostream>

#include "graphnn/error.hpp"
#include "graphnn/runtime_info.hpp"

namespace graphnn {

std::string format_checkpoint(const Checkpoint& c) {
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, "epoch %zu, iteration %zu, train: loss %.6f", c.epoch, c.iteration, c.loss);
  if (c.classifier) n += std::snprintf(buf + n, sizeof buf - n, ", accu %.4f", c.accuracy);
  if (c.has_validation) {
    n += std::snprintf(buf + n, sizeof buf - n, ", validation: loss %.6f", c.val_loss);
    if (c.classifier) std::snprintf(buf + n, sizeof buf - n, ", accu %.4f", c.val_accuracy);
  }
  return buf;
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

TrainingLog::TrainingLog(std::ostream* out, bool progress, const std::string& csv_path, std::size_t total_iterations)
    : out_(out), progress_(progress && out != nullptr), total_(total_iterations), start_(std::chrono::steady_clock::now()) {
  if (!csv_path.empty()) {
    csv_.open(csv_path, std::ios::trunc);
    if (!csv_) throw Error("fit: cannot write the CSV log '" + csv_path + "'");
    csv_ << "epoch,iteration,loss,accuracy,val_loss,val_accuracy\n";
  }
  if (progress_) *out_ << "graphnn: " << runtime_info() << "\n";  // at a terminal: logs keep the textbook's lines
}

TrainingLog::~TrainingLog() {
  clear_bar();
}

void TrainingLog::clear_bar() {
  if (bar_shown_) *out_ << "\r\033[K" << std::flush;
  bar_shown_ = false;
}

void TrainingLog::step(std::size_t iteration, std::size_t epoch) {
  if (!progress_) return;
  const auto now = std::chrono::steady_clock::now();
  if (bar_shown_ && now - last_draw_ < std::chrono::milliseconds(100) && iteration != total_) return;
  last_draw_ = now;
  const double done = total_ ? static_cast<double>(iteration) / static_cast<double>(total_) : 1.0;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * (1.0 - done) / done : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(done * kWidth);
  char line[160];
  std::snprintf(line, sizeof line, "\r[%-*.*s] %3.0f%% epoch %zu, iteration %zu/%zu, ETA %02d:%02d\033[K", kWidth,
                filled, "==============================", done * 100, epoch, iteration, total_,
                static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  *out_ << line << std::flush;
  bar_shown_ = true;
}

void TrainingLog::checkpoint(const Checkpoint& c, History& h) {
  const double nan = std::nan("");
  h.epoch.push_back(c.epoch);
  h.iteration.push_back(c.iteration);
  h.loss.push_back(c.loss);
  h.accuracy.push_back(c.classifier ? c.accuracy : nan);
  h.val_loss.push_back(c.has_validation ? c.val_loss : nan);
  h.val_accuracy.push_back(c.has_validation && c.classifier ? c.val_accuracy : nan);
  if (out_) {
    clear_bar();
    *out_ << format_checkpoint(c) << "\n";
  }
  if (csv_.is_open()) {
    csv_ << c.epoch << ',' << c.iteration << ',' << c.loss << ',' << h.accuracy.back() << ',' << h.val_loss.back() << ','
         << h.val_accuracy.back() << '\n' << std::flush;
  }
}

}  // namespace graphnn
