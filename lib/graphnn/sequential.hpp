#pragma once
// Sequential<T>: a Keras-like model. Layers build a graph once (a training and
// an inference path sharing variables); the loss, gradients() and the
// optimizer's update nodes are added to it; fit() then only feeds batches to a
// compiled plan. Nothing here computes a gradient by hand.
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "graphnn/callbacks.hpp"
#include "graphnn/custom.hpp"
#include "graphnn/data.hpp"
#include "graphnn/layers.hpp"
#include "graphnn/optimizers.hpp"
#include "graphnn/session.hpp"
#include "graphnn/training_log.hpp"

namespace graphnn {

struct FitOptions {
  std::size_t epochs = 10;
  std::size_t batch_size = 32;
  bool shuffle = true;
  unsigned seed = 0;               // shuffling and the validation split
  double validation_fraction = 0;  // hold out this share of the data (the textbook's data_rate is 1 - this)
  std::size_t log_every = 0;       // iterations between checkpoints; 0: at the end of every epoch
  bool verbose = true;             // log lines on std::cout (a progress bar too when it is a terminal)
  // The progress bar (with verbose): unset, drawn when std::cout is a terminal.
  std::optional<bool> progress;
  std::string csv_log;             // also write every checkpoint to this CSV file
  // Called at every batch and epoch end, in order (callbacks.hpp).
  std::vector<std::shared_ptr<Callback>> callbacks;
  // The number of the first epoch (for the schedule and the logs). Unset, fit
  // continues where the last fit (or the loaded model) stopped. `epochs` is
  // always the number of epochs this call runs (in Keras it is the last one's number).
  std::optional<std::size_t> initial_epoch;
};

struct Evaluation {
  double loss = 0;
  double accuracy = 0;  // NaN for regression models
  std::map<std::string, double> metrics;  // those chosen with set_metrics, by name
};

template <class T>
class Sequential {
 public:
  Sequential();
  template <class... Layers, std::enable_if_t<(sizeof...(Layers) > 0), int> = 0>
  explicit Sequential(Layers... layers) : Sequential() {
    (add(std::move(layers)), ...);
  }
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  ~Sequential();

  // Layers, in order. An ElementwiseFn is added as an Activation layer.
  Sequential& add(std::shared_ptr<Layer<T>> layer);
  Sequential& add(const ElementwiseFn<T>& activation);
  template <class L, std::enable_if_t<std::is_base_of_v<Layer<T>, L>, int> = 0>
  Sequential& add(L layer) {
    return add(std::shared_ptr<Layer<T>>(std::make_shared<L>(std::move(layer))));
  }
  template <class L>
  Sequential& add_layer(L layer) {  // the textbook's name
    return add(std::move(layer));
  }

  // The function from the last layer's output to predictions: "identity"
  // (regression, the default), "sigmoid", "softmax", or a custom op.
  Sequential& set_classifier(const std::string& name);
  Sequential& set_classifier(const ElementwiseFn<T>& classifier);
  // "mse" (the default), "binary_cross_entropy", "cross_entropy" (with softmax;
  // labels one-hot or one class id per row), or a custom loss of (prediction, label).
  Sequential& set_loss(const std::string& name);
  Sequential& set_loss(const LossFn<T>& loss);
  // The default is SGD(0.01).
  Sequential& set_optimizer(std::shared_ptr<Optimizer<T>> optimizer);
  template <class O, std::enable_if_t<std::is_base_of_v<Optimizer<T>, O>, int> = 0>
  Sequential& set_optimizer(O optimizer) {
    return set_optimizer(std::shared_ptr<Optimizer<T>>(std::make_shared<O>(std::move(optimizer))));
  }
  // Metrics to compute at every checkpoint of fit (logged, in History::metrics
  // with "val_" ones for validation data, and in the callbacks' logs) and in
  // evaluate: "mae", "rmse", "accuracy", "top_k_accuracy(k)" (graphnn/metrics.hpp).
  // Keras' compile(metrics=...). Class metrics need a classifier.
  Sequential& set_metrics(const std::vector<std::string>& names);
  // Seeds the weight initialisers (before the model is built).
  Sequential& set_seed(unsigned seed);
  // Applied to every input given to fit/evaluate/predict; saved with the model.
  Sequential& set_normalizer(Normalizer<T> normalizer);

  // Layers, output shapes and parameter counts.
  void summary(std::ostream& os = std::cout);

  History fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const FitOptions& options = {});
  History fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>& validation_x,
              const xt::xarray<T>& validation_y, const FitOptions& options = {});
  History train(const xt::xarray<T>& x, const xt::xarray<T>& y, const FitOptions& options = {}) {
    return fit(x, y, options);
  }
  Evaluation evaluate(const xt::xarray<T>& x, const xt::xarray<T>& y, std::size_t batch_size = 1024);
  // Classifier outputs ([rows, outputs]), computed batch by batch.
  xt::xarray<T> predict(const xt::xarray<T>& x, std::size_t batch_size = 1024);
  // Class ids [rows] as integers: argmax, or output >= 0.5 for a single output
  // (graphnn/metrics.hpp's predicted_classes of predict).
  xt::xarray<std::int64_t> predict_classes(const xt::xarray<T>& x, std::size_t batch_size = 1024);

  // One file with the architecture, the normaliser and every weight (format in serialize.hpp).
  void save(const std::string& path);
  static Sequential load(const std::string& path);
  void save_model(const std::string& path) { save(path); }
  static Sequential load_model(const std::string& path) { return load(path); }
  // Every variable as <dir>/<name>.npy ('/' in names becomes '.'); creates <dir>.
  void export_npy(const std::string& dir);
  void import_npy(const std::string& dir);

  // The graph underneath, for users who want to go beyond Sequential.
  Graph<T>& graph();
  Session<T>& session();
  Node<T> input() const;
  Node<T> output() const;
  Nodes<T> parameters() const;
  // The training loss and its label placeholder (fed with input() to check or
  // extend training, e.g. gn::check_gradients); empty until fit or evaluate has run.
  Node<T> loss() const;
  Node<T> labels() const;
  const Normalizer<T>& normalizer() const;
  // Epochs and iterations trained so far, over every fit call (and before a save).
  const TrainingCounters& counters() const;

 private:
  struct Impl;
  Impl& model(const char* what) const;  // throws on a moved-from model
  std::unique_ptr<Impl> impl_;
};

extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace graphnn
