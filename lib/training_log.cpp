// fit()'s reporting: the checkpoint lines (one per epoch when piped), the
// progress bar redrawn in place at a terminal, and the CSV log. The bar never
// reaches the terminal's last column: a line that wraps leaves a copy of
// itself behind at every redraw, since "\r\033[K" clears one screen line.
#include "graphnn/training_log.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <vector>

#include "graphnn/error.hpp"
#include "graphnn/runtime_info.hpp"

namespace graphnn {

std::string format_checkpoint(const Checkpoint& c) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "epoch %zu, iteration %zu, train: loss %.6f", c.epoch, c.iteration, c.loss);
  auto metrics = [&](bool validation) {
    for (const auto& [name, value] : c.metrics)
      if ((name.rfind("val_", 0) == 0) == validation && n < int(sizeof buf))
        n += std::snprintf(buf + n, sizeof buf - n, ", %s %.4f", name.c_str() + (validation ? 4 : 0), value);
  };
  if (c.classifier) n += std::snprintf(buf + n, sizeof buf - n, ", accu %.4f", c.accuracy);
  metrics(false);
  if (c.has_validation && n < int(sizeof buf)) {
    n += std::snprintf(buf + n, sizeof buf - n, ", validation: loss %.6f", c.val_loss);
    if (c.classifier && n < int(sizeof buf)) n += std::snprintf(buf + n, sizeof buf - n, ", accu %.4f", c.val_accuracy);
    metrics(true);
  }
  return buf;
}

namespace {

std::string printed(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string clock_text(double seconds) {
  const long s = std::isfinite(seconds) && seconds > 0 ? std::lround(seconds) : 0;
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

// [=====>    ] of `width` characters, brackets included.
std::string bar_text(double done, std::size_t width) {
  const std::size_t inner = width - 2;
  const std::size_t filled = std::min(inner, static_cast<std::size_t>(done * double(inner)));
  std::string bar = "[" + std::string(filled, '=');
  if (filled < inner) bar += '>' + std::string(inner - filled - 1, ' ');
  return bar + "]";
}

constexpr std::size_t kMinBar = 10, kMaxBar = 32;

}  // namespace

std::string format_progress(const Progress& p, std::size_t width) {
  if (width <= 1) return {};
  const std::size_t room = width - 1;
  const double done = p.iterations ? std::min(1.0, double(p.iteration) / double(p.iterations)) : 1.0;
  // The pieces in printed order; drop_rank: 1 goes first when the line is too
  // long (after the bar), 0 never.
  struct Piece {
    std::string text;
    int drop_rank;
  };
  std::vector<Piece> pieces;
  pieces.push_back({p.epochs ? "epoch " + std::to_string(p.epoch + 1) + "/" + std::to_string(p.epochs)
                             : "epoch " + std::to_string(p.epoch),
                    4});
  pieces.push_back({"", 0});  // the bar, sized to the room left
  pieces.push_back({printed("%3.0f%%", 100 * done), 0});
  pieces.push_back({std::to_string(p.iteration) + "/" + std::to_string(p.iterations), 2});
  if (std::isfinite(p.loss)) pieces.push_back({"loss " + printed("%.4g", p.loss), 0});
  if (std::isfinite(p.steps_per_second) && p.steps_per_second > 0)
    pieces.push_back({printed(p.steps_per_second < 10 ? "%.1f it/s" : "%.0f it/s", p.steps_per_second), 3});
  pieces.push_back({"ETA " + clock_text(p.eta_seconds), 1});
  auto length = [&] {  // the pieces shown, one space apart
    std::size_t n = 0;
    for (const Piece& x : pieces)
      if (!x.text.empty()) n += x.text.size() + (n ? 1 : 0);
    return n;
  };
  if (length() + 1 + kMinBar <= room) {
    pieces[1].text = bar_text(done, std::min(kMaxBar, room - length() - 1));
  } else {
    for (int rank = 1; rank <= 4 && length() > room; ++rank)
      for (Piece& x : pieces)
        if (x.drop_rank == rank) x.text.clear();
  }
  std::string line;
  for (const Piece& x : pieces)
    if (!x.text.empty()) line += (line.empty() ? "" : " ") + x.text;
  return line.substr(0, room);
}

std::size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const long n = std::strtol(columns, nullptr, 10);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return 80;
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

TrainingLog::TrainingLog(std::ostream* out, bool progress, const std::string& csv_path, std::size_t total_iterations)
    : out_(out), progress_(progress && out != nullptr), csv_path_(csv_path), total_(total_iterations),
      width_(terminal_width()), start_(std::chrono::steady_clock::now()) {
  if (!csv_path.empty()) {
    csv_.open(csv_path, std::ios::trunc);
    if (!csv_) throw Error("fit: cannot write the CSV log '" + csv_path + "'");
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

bool TrainingLog::will_draw(std::size_t iteration) const {
  return progress_ && (!bar_shown_ || iteration == total_ ||
                       std::chrono::steady_clock::now() - last_draw_ >= std::chrono::milliseconds(100));
}

void TrainingLog::step(std::size_t iteration, std::size_t epoch, double batch_loss) {
  if (!progress_) return;
  if (epoch != loss_epoch_) loss_epoch_ = epoch, losses_ = 0, loss_sum_ = 0;
  if (std::isfinite(batch_loss)) loss_sum_ += batch_loss, ++losses_;
  if (!will_draw(iteration)) return;
  const auto now = std::chrono::steady_clock::now();
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  Progress p;
  p.epoch = epoch;
  p.epochs = epochs_;
  p.iteration = iteration;
  p.iterations = total_;
  p.loss = losses_ ? loss_sum_ / double(losses_) : std::nan("");
  p.steps_per_second = elapsed > 0 ? double(iteration) / elapsed : std::nan("");
  p.eta_seconds = iteration ? elapsed * double(total_ - std::min(total_, iteration)) / double(iteration) : 0.0;
  *out_ << '\r' << format_progress(p, width_) << "\033[K" << std::flush;
  bar_shown_ = true;
}

// The columns this model has: accuracy only for a classifier, val_* only with
// validation data (fixed by the first checkpoint), then the chosen metrics.
void TrainingLog::write_csv(const Checkpoint& c, const History& h) {
  if (h.size() == 1) {  // the header, once the metrics' names are known
    csv_classifier_ = c.classifier;
    csv_validation_ = c.has_validation;
    csv_ << "epoch,iteration,loss";
    if (csv_classifier_) csv_ << ",accuracy";
    if (csv_validation_) csv_ << (csv_classifier_ ? ",val_loss,val_accuracy" : ",val_loss");
    for (const auto& m : c.metrics) csv_ << ',' << m.first;
    csv_ << '\n';
  }
  csv_ << c.epoch << ',' << c.iteration << ',' << c.loss;
  if (csv_classifier_) csv_ << ',' << h.accuracy.back();
  if (csv_validation_) csv_ << ',' << h.val_loss.back();
  if (csv_validation_ && csv_classifier_) csv_ << ',' << h.val_accuracy.back();
  for (const auto& m : c.metrics) csv_ << ',' << m.second;
  csv_ << '\n' << std::flush;
}

void TrainingLog::checkpoint(const Checkpoint& c, History& h) {
  const double nan = std::nan("");
  h.epoch.push_back(c.epoch);
  h.iteration.push_back(c.iteration);
  h.loss.push_back(c.loss);
  h.accuracy.push_back(c.classifier ? c.accuracy : nan);
  h.val_loss.push_back(c.has_validation ? c.val_loss : nan);
  h.val_accuracy.push_back(c.has_validation && c.classifier ? c.val_accuracy : nan);
  for (const auto& [name, value] : c.metrics) h.metrics[name].push_back(value);
  if (out_) {
    clear_bar();
    *out_ << format_checkpoint(c) << "\n";
  }
  if (csv_.is_open()) write_csv(c, h);
}

}  // namespace graphnn
