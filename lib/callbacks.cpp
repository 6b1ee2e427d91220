#include "graphnn/callbacks.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "fit_data.hpp"
#include "graphnn/distributed.hpp"
#include "graphnn/error.hpp"

namespace graphnn {

namespace {

// A callback made of a function, for lambdas: at epoch end or at batch end.
class LambdaCallback final : public Callback {
 public:
  LambdaCallback(EpochFunction epoch, BatchFunction batch) : epoch_(std::move(epoch)), batch_(std::move(batch)) {}
  void on_epoch_end(TrainingControl& c, std::size_t epoch, const Logs& logs) override {
    if (epoch_) epoch_(c, epoch, logs);
  }
  void on_batch_end(TrainingControl& c, std::size_t iteration, const Logs& logs) override {
    if (batch_) batch_(c, iteration, logs);
  }

 private:
  EpochFunction epoch_;
  BatchFunction batch_;
};

std::string names_of(const Logs& logs) {
  std::string s;
  for (const auto& [name, value] : logs) s += (s.empty() ? "" : ", ") + name;
  return s;
}

// `path` with every "{epoch}" replaced by the epoch's number.
std::string with_epoch(std::string path, std::size_t epoch) {
  const std::string key = "{epoch}", number = std::to_string(epoch);
  for (std::size_t at = path.find(key); at != std::string::npos; at = path.find(key, at + number.size()))
    path.replace(at, key.size(), number);
  return path;
}

}  // namespace

std::shared_ptr<Callback> on_epoch_end(EpochFunction f) {
  if (!f) throw Error("on_epoch_end: empty function");
  return std::make_shared<LambdaCallback>(std::move(f), nullptr);
}

std::shared_ptr<Callback> on_batch_end(BatchFunction f) {
  if (!f) throw Error("on_batch_end: empty function");
  return std::make_shared<LambdaCallback>(nullptr, std::move(f));
}

Monitor::Monitor(std::string name, double min_delta, const std::string& who)
    : name_(std::move(name)), who_(who), min_delta_(min_delta), higher_is_better_(name_.find("acc") != std::string::npos) {
  if (name_.empty()) throw Error(who_ + ": the monitored log name is empty");
  if (!(min_delta >= 0)) throw Error(who_ + ": min_delta must be >= 0, got " + fit_data::value_text(min_delta));
  best_ = higher_is_better_ ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

double Monitor::value(const Logs& logs) const {
  const auto it = logs.find(name_);
  if (it == logs.end())
    throw Error(who_ + ": monitors '" + name_ + "', which is not in the logs (there are: " + names_of(logs) +
                "; val_* needs validation data)");
  return it->second;
}

bool Monitor::improves(double v) {
  const bool better = higher_is_better_ ? v > best_ + min_delta_ : v < best_ - min_delta_;
  if (better) best_ = v;
  return better;
}

EarlyStopping::EarlyStopping(std::string monitor, std::size_t patience, double min_delta, bool restore_best_weights)
    : monitor_name_(std::move(monitor)),
      min_delta_(min_delta),
      patience_(patience),
      restore_(restore_best_weights),
      monitor_(monitor_name_, min_delta, "EarlyStopping") {}

void EarlyStopping::on_train_begin(TrainingControl&) {
  monitor_ = Monitor(monitor_name_, min_delta_, "EarlyStopping");
  wait_ = 0;
  best_epoch_ = 0;
  stopped_epoch_ = std::numeric_limits<std::size_t>::max();
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(TrainingControl& control, std::size_t epoch, const Logs& logs) {
  if (monitor_.improves(monitor_.value(logs))) {
    wait_ = 0;
    best_epoch_ = epoch;
    if (restore_) best_weights_ = control.weights();
    return;
  }
  if (++wait_ >= patience_) {
    stopped_epoch_ = epoch;
    control.stop_training();
  }
}

void EarlyStopping::on_train_end(TrainingControl& control) {
  if (restore_ && !best_weights_.empty()) control.set_weights(best_weights_);
}

ModelCheckpoint::ModelCheckpoint(std::string path, std::string monitor, bool save_best_only, std::size_t every_epochs)
    : path_(std::move(path)),
      monitor_name_(std::move(monitor)),
      best_only_(save_best_only),
      every_(every_epochs),
      monitor_(monitor_name_, 0, "ModelCheckpoint") {
  if (path_.empty()) throw Error("ModelCheckpoint: empty path");
  if (every_ == 0) throw Error("ModelCheckpoint: every_epochs must be at least 1");
}

void ModelCheckpoint::on_train_begin(TrainingControl&) { monitor_ = Monitor(monitor_name_, 0, "ModelCheckpoint"); }

void ModelCheckpoint::on_epoch_end(TrainingControl& control, std::size_t epoch, const Logs& logs) {
  const bool due = best_only_ ? monitor_.improves(monitor_.value(logs)) : (epoch + 1) % every_ == 0;
  if (!due) return;
  try {
    control.save(with_epoch(path_, epoch));
  } catch (const Error& e) {
    throw Error("ModelCheckpoint at epoch " + std::to_string(epoch) + ": " + e.what());
  }
  ++saves_;
}

ReduceLROnPlateau::ReduceLROnPlateau(std::string monitor, double factor, std::size_t patience, double min_delta,
                                     std::size_t cooldown, double min_lr)
    : monitor_name_(std::move(monitor)),
      factor_(factor),
      min_delta_(min_delta),
      min_lr_(min_lr),
      patience_(patience),
      cooldown_(cooldown),
      monitor_(monitor_name_, min_delta, "ReduceLROnPlateau") {
  if (!(factor > 0 && factor < 1)) throw Error("ReduceLROnPlateau: factor must be in (0, 1), got " + fit_data::value_text(factor));
  if (!(min_lr >= 0)) throw Error("ReduceLROnPlateau: min_lr must be >= 0, got " + fit_data::value_text(min_lr));
}

void ReduceLROnPlateau::on_train_begin(TrainingControl&) {
  monitor_ = Monitor(monitor_name_, min_delta_, "ReduceLROnPlateau");
  wait_ = cooling_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(TrainingControl& control, std::size_t, const Logs& logs) {
  const bool improved = monitor_.improves(monitor_.value(logs));
  if (cooling_ > 0) {
    --cooling_;
    wait_ = 0;
    return;
  }
  if (improved) {
    wait_ = 0;
    return;
  }
  if (++wait_ < patience_) return;
  const double lr = control.learning_rate();
  if (lr > min_lr_) control.scale_learning_rate(std::max(factor_, min_lr_ / lr));
  wait_ = 0;
  cooling_ = cooldown_;
}

CSVLogger::CSVLogger(std::string path, bool append) : path_(std::move(path)), append_(append) {
  if (path_.empty()) throw Error("CSVLogger: empty path");
}

// Under mpirun every process has the same logs: rank 0 writes them.
void CSVLogger::on_train_begin(TrainingControl&) {
  columns_.clear();
  distributed::on_root([this] { start_file(); });
}

void CSVLogger::start_file() {
  std::ifstream existing(path_);
  std::string header;
  if (append_ && existing && std::getline(existing, header)) {
    std::istringstream names(header);
    for (std::string name; std::getline(names, name, ',');)
      if (name != "epoch") columns_.push_back(name);
    return;
  }
  std::ofstream out(path_, std::ios::trunc);
  if (!out) throw Error("CSVLogger: cannot write '" + path_ + "'");
}

void CSVLogger::on_epoch_end(TrainingControl&, std::size_t epoch, const Logs& logs) {
  distributed::on_root([&] { append(epoch, logs); });
}

void CSVLogger::append(std::size_t epoch, const Logs& logs) {
  std::ofstream out(path_, std::ios::app);
  if (!out) throw Error("CSVLogger: cannot write '" + path_ + "'");
  if (columns_.empty()) {
    out << "epoch";
    for (const auto& [name, value] : logs) {
      columns_.push_back(name);
      out << ',' << name;
    }
    out << '\n';
  }
  out << epoch;
  out.precision(17);
  for (const auto& name : columns_) {
    const auto it = logs.find(name);
    out << ',';
    if (it != logs.end()) out << it->second;
  }
  out << '\n';
}

}  // namespace graphnn
