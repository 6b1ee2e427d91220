#pragma once
// Callbacks steer fit while it runs (Keras' callbacks): they see the logs at
// the end of every batch and epoch and may stop training, change the learning
// rate, keep or restore weights and save the model. They are given to fit in
// FitOptions::callbacks; the built-in ones below are small classes, and a
// lambda becomes one with on_epoch_end / on_batch_end.
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace graphnn {

// Named values at the end of a batch or an epoch. Epoch end: "loss",
// "accuracy" (classifiers only), "val_loss" and "val_accuracy" (with validation
// data), "lr". Batch end: "batch" (from 0 in its epoch), "size" (rows), "lr".
using Logs = std::map<std::string, double>;

// Every saved variable's values, in the model file's order.
using WeightSnapshot = std::vector<std::vector<double>>;

// How far training has come; continues across fit calls and is saved in the model file.
struct TrainingCounters {
  std::size_t epoch = 0;      // epochs completed (the next epoch's number)
  std::size_t iteration = 0;  // batches trained, which is the optimizer's step count
};

// What a callback may do to the model being trained.
class TrainingControl {
 public:
  virtual ~TrainingControl() = default;
  // fit returns after the current batch (its epoch ends there).
  virtual void stop_training() = 0;
  virtual bool stopping() const = 0;
  // The learning rate of the next step, and a factor on it that stays until changed (saved with the model).
  virtual double learning_rate() const = 0;
  virtual void scale_learning_rate(double factor) = 0;
  virtual WeightSnapshot weights() const = 0;
  virtual void set_weights(const WeightSnapshot& weights) = 0;
  // The model file with its training state (Sequential::save), written atomically.
  virtual void save(const std::string& path) = 0;
  virtual const TrainingCounters& counters() const = 0;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(TrainingControl&) {}
  virtual void on_batch_end(TrainingControl&, std::size_t /*iteration*/, const Logs&) {}
  virtual void on_epoch_end(TrainingControl&, std::size_t /*epoch*/, const Logs&) {}
  virtual void on_train_end(TrainingControl&) {}
};

using EpochFunction = std::function<void(TrainingControl&, std::size_t epoch, const Logs&)>;
using BatchFunction = std::function<void(TrainingControl&, std::size_t iteration, const Logs&)>;
std::shared_ptr<Callback> on_epoch_end(EpochFunction f);
std::shared_ptr<Callback> on_batch_end(BatchFunction f);

// Whether a new value of a monitored log improves on the best so far: lower
// ("loss", the default for every name without "acc"), or higher for accuracies.
class Monitor {
 public:
  Monitor(std::string name, double min_delta, const std::string& who);
  // The monitored value in `logs`; throws naming `who` and the logs there are when it is missing.
  double value(const Logs& logs) const;
  // True, and remembers `v` as the best, when `v` beats the best by more than min_delta.
  bool improves(double v);
  const std::string& name() const { return name_; }
  double best() const { return best_; }

 private:
  std::string name_, who_;
  double min_delta_;
  bool higher_is_better_;
  double best_;
};

// Stops when `monitor` has not improved by more than min_delta for `patience`
// epochs; with restore_best_weights, training ends with the best epoch's weights.
class EarlyStopping final : public Callback {
 public:
  explicit EarlyStopping(std::string monitor = "val_loss", std::size_t patience = 0, double min_delta = 0,
                         bool restore_best_weights = false);
  void on_train_begin(TrainingControl&) override;
  void on_epoch_end(TrainingControl& control, std::size_t epoch, const Logs& logs) override;
  void on_train_end(TrainingControl& control) override;
  // The epoch training stopped after; nullopt-like: SIZE_MAX when it ran to the end.
  std::size_t stopped_epoch() const { return stopped_epoch_; }
  std::size_t best_epoch() const { return best_epoch_; }

 private:
  std::string monitor_name_;
  double min_delta_;
  std::size_t patience_;
  bool restore_;
  Monitor monitor_;
  std::size_t wait_ = 0, best_epoch_ = 0, stopped_epoch_ = std::numeric_limits<std::size_t>::max();
  WeightSnapshot best_weights_;
};

// Saves the model (with its training state) to `path` after an epoch: only
// when `monitor` improved (save_best_only), else every `every_epochs` epochs.
// "{epoch}" in `path` becomes the epoch's number. Saving is atomic.
class ModelCheckpoint final : public Callback {
 public:
  explicit ModelCheckpoint(std::string path, std::string monitor = "val_loss", bool save_best_only = true,
                           std::size_t every_epochs = 1);
  void on_train_begin(TrainingControl&) override;
  void on_epoch_end(TrainingControl& control, std::size_t epoch, const Logs& logs) override;
  std::size_t saves() const { return saves_; }

 private:
  std::string path_, monitor_name_;
  bool best_only_;
  std::size_t every_;
  Monitor monitor_;
  std::size_t saves_ = 0;
};

// Multiplies the learning rate by `factor` when `monitor` has not improved by
// more than min_delta for `patience` epochs, then waits `cooldown` epochs;
// never below min_lr.
class ReduceLROnPlateau final : public Callback {
 public:
  explicit ReduceLROnPlateau(std::string monitor = "val_loss", double factor = 0.1, std::size_t patience = 10,
                             double min_delta = 1e-4, std::size_t cooldown = 0, double min_lr = 0);
  void on_train_begin(TrainingControl&) override;
  void on_epoch_end(TrainingControl& control, std::size_t epoch, const Logs& logs) override;

 private:
  std::string monitor_name_;
  double factor_, min_delta_, min_lr_;
  std::size_t patience_, cooldown_;
  Monitor monitor_;
  std::size_t wait_ = 0, cooling_ = 0;
};

// One CSV row per epoch: "epoch" then the logs' names in order, as in Keras.
// `append` keeps an existing file's rows (a resumed training).
class CSVLogger final : public Callback {
 public:
  explicit CSVLogger(std::string path, bool append = false);
  void on_train_begin(TrainingControl&) override;
  void on_epoch_end(TrainingControl& control, std::size_t epoch, const Logs& logs) override;

 private:
  void start_file();
  void append(std::size_t epoch, const Logs& logs);
  std::string path_;
  bool append_;
  std::vector<std::string> columns_;
};

}  // namespace graphnn
