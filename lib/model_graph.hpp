#pragma once
// ModelGraph<T>: what a Sequential is between calls. Its configuration
// (layers, classifier, loss, optimizer, seed, normaliser), the graph the
// layers build on first use (a training and an inference path sharing
// variables), the loss and update nodes added per label width, and how far
// training has come. It runs batches of inference; the training loop lives in
// trainer.hpp and the file format in model_file.hpp, each reading this.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "graphnn/metrics.hpp"
#include "graphnn/sequential.hpp"

namespace graphnn {

// The shuffling generator and order of the last epoch, kept so that the next
// fit on the same rows (or a resumed one) continues the sequence of orders.
struct ShuffleState {
  bool active = false;  // holds the state of a shuffled fit
  unsigned seed = 0;    // FitOptions::seed it started from
  std::size_t rows = 0;
  std::mt19937_64 generator;
  std::vector<std::size_t> order;
};

template <class T>
struct ModelGraph {
  // Configuration, fixed once the graph is built (the optimizer excepted).
  std::vector<std::shared_ptr<Layer<T>>> layers;
  std::string classifier_name = "identity";
  std::function<Node<T>(const Node<T>&)> classifier;
  std::string loss_name = "mse";
  std::optional<LossFn<T>> custom_loss;
  std::shared_ptr<Optimizer<T>> optimizer;
  unsigned seed = 0;
  Normalizer<T> normalizer;
  std::vector<std::string> metric_names;  // set_metrics, with their functions
  std::vector<MetricFn<T>> metrics;

  // The graph, built on first use.
  std::unique_ptr<Graph<T>> graph;
  std::vector<std::unique_ptr<Graph<T>>> failed;  // kept alive: layers may still hold their nodes
  std::unique_ptr<Session<T>> session;
  std::size_t features = 0;
  Node<T> x, logits_train, logits_eval, output;
  Nodes<T> layer_outputs;  // inference path, for summary()

  // The training part, built per label width.
  std::size_t label_cols = 0, label_placeholders = 0;
  Node<T> y, loss_train, loss_eval;
  Nodes<T> updates;
  Nodes<T> state_updates;  // the layers' training-step assignments (BuildContext::updates: running statistics)
  std::shared_ptr<Optimizer<T>> built_optimizer;
  // Set by load when the file's optimizer was a user's own (not a declared
  // rule): why fit refuses to go on with the default one. set_optimizer clears it.
  std::string missing_optimizer;

  // How far training has come: continues across fit calls, saved with the model.
  TrainingCounters counters;
  ShuffleState shuffle;
  double lr_scale = 1;  // a factor on the optimizer's rate (ReduceLROnPlateau)
  Node<T> lr_variable;  // the optimizer's learning-rate scalar in the graph

  ModelGraph();

  void add_layer(std::shared_ptr<Layer<T>> layer);
  void set_classifier(const std::string& name);
  void set_classifier(const ElementwiseFn<T>& classifier);
  void set_loss(const std::string& name);
  void set_loss(const LossFn<T>& loss);
  void set_optimizer(std::shared_ptr<Optimizer<T>> optimizer);
  void set_seed(unsigned seed);
  void set_normalizer(Normalizer<T> normalizer);
  void set_metrics(const std::vector<std::string>& names);
  // Class metrics need a classifier; checked when used (`what`: "fit"), as the classifier may come later.
  void check_metrics(const char* what) const;

  bool regression() const { return classifier_name == "identity"; }
  // The number of classes when labels of `label_columns` columns are class ids, else 0.
  std::size_t class_id_classes(std::size_t label_columns) const;
  // Some layer (Dropout, BatchNorm) builds differently for training: two paths.
  bool trains_differently() const;
  Nodes<T> parameters() const;       // trainable, layer by layer
  Nodes<T> saved_variables() const;  // what a model file holds

  // Builds the graph for inputs of `input_features` columns (once; later calls check the width).
  void build(std::size_t input_features);
  // Builds a model not used yet when its first layer tells the input width.
  void build_unused(const std::string& what, const std::string& why);
  // The loss for labels of `label_columns` columns and the optimizer's update
  // nodes. Changes nothing when it throws, so the model stays usable.
  void build_training(std::size_t label_columns);

  // Writes the learning rate (times lr_scale) and step count of the next step.
  void prepare_step(std::size_t iteration, std::size_t epoch);
  double learning_rate(std::size_t epoch) const { return optimizer->learning_rate(epoch) * lr_scale; }
  void scale_learning_rate(double factor);

  xt::xarray<T> normalized(const xt::xarray<T>& data) const;
  // Loss and accuracy over normalised data, batch by batch, on the inference path.
  Evaluation evaluate(const xt::xarray<T>& data, const xt::xarray<T>& labels, std::size_t batch_size);
  // The same under mpirun: each process its share of the rows, the sums reduced.
  Evaluation evaluate_shared(const xt::xarray<T>& data, const xt::xarray<T>& labels);
  // Classifier outputs over normalised data, batch by batch.
  xt::xarray<T> predict(const xt::xarray<T>& data, std::size_t batch_size);

 private:
  void require_unbuilt(const char* what) const;
  void build_graph(std::size_t input_features);
  Node<T> loss_of(const Node<T>& logits, const Node<T>& labels, std::size_t label_columns);
  double accuracy(const xt::xarray<T>& predictions, const xt::xarray<T>& labels) const;
};

extern template struct ModelGraph<float>;
extern template struct ModelGraph<double>;

}  // namespace graphnn
