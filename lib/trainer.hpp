#pragma once
// Trainer<T>: one fit call. It checks and prepares the data, feeds batches to
// the model's update nodes, measures at checkpoints (and rolls back when the
// loss stops being finite), keeps the counters and shuffling state going
// across calls, and runs the callbacks, to which it is the TrainingControl.
#include <cstddef>
#include <memory>
#include <vector>

#include "graphnn/distributed.hpp"
#include "model_graph.hpp"

namespace graphnn {

template <class T>
class Trainer final : public TrainingControl {
 public:
  Trainer(ModelGraph<T>& model, const FitOptions& options);
  History fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>* validation_x,
              const xt::xarray<T>* validation_y);

  void stop_training() override { stop_ = true; }
  bool stopping() const override { return stop_; }
  double learning_rate() const override;
  void scale_learning_rate(double factor) override;
  WeightSnapshot weights() const override;
  void set_weights(const WeightSnapshot& weights) override;
  void save(const std::string& path) override;
  const TrainingCounters& counters() const override { return m_.counters; }

 private:
  void check(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>* validation_x,
             const xt::xarray<T>* validation_y) const;
  void prepare_data(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>* validation_x,
                    const xt::xarray<T>* validation_y);
  void start_order(BatchIterator<T>& batches);
  void keep_order(const BatchIterator<T>& batches);
  void train_batch(distributed::ShardedBatches<T>& batches, std::size_t epoch, std::size_t batch_in_epoch);
  void end_epoch(std::size_t epoch, bool last);
  Checkpoint measure(std::size_t epoch);
  void checkpoint(std::size_t epoch);
  void keep_good_weights();
  [[noreturn]] void roll_back(const Checkpoint& bad);
  Logs logs_of(const Checkpoint& c) const;

  ModelGraph<T>& m_;
  FitOptions o_;
  Dataset<T> made_, validation_;
  const xt::xarray<T>* train_x_ = nullptr;
  const xt::xarray<T>* train_y_ = nullptr;
  bool has_validation_ = false;
  std::unique_ptr<TrainingLog> log_;
  History history_;
  std::size_t first_iteration_ = 0;  // the counter when this fit began

  // The NaN guard: the weights at the last finite checkpoint.
  Nodes<T> params_;
  std::vector<xt::xarray<T>> good_;
  std::size_t good_iteration_ = 0;
  double good_loss_ = 0;
  bool has_good_loss_ = false;

  Checkpoint last_;  // the latest measurement, reused for the epoch's logs when it is fresh
  bool last_fresh_ = false;
  Logs batch_logs_;  // filled in place: no allocation per batch
  Nodes<T> step_with_loss_;               // the update nodes and the training loss, for the bar's redraws
  std::vector<xt::xarray<T>> fetched_;    // their values, reused
  bool stop_ = false;
};

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace graphnn
