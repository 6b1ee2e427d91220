#include "model_graph.hpp"

#include <algorithm>
#include <cmath>

#include "fit_data.hpp"
#include "graphnn/distributed.hpp"
#include "graphnn/gradients.hpp"
#include "graphnn/op_names.hpp"
#include "graphnn/ops.hpp"

namespace graphnn {

template <class T>
ModelGraph<T>::ModelGraph()
    : classifier(activation_by_name<T>("identity")), optimizer(std::make_shared<SGD<T>>(0.01)) {}

template <class T>
void ModelGraph<T>::require_unbuilt(const char* what) const {
  if (graph) throw Error(std::string(what) + ": the model is already built; configure it before the first fit or predict");
}

template <class T>
void ModelGraph<T>::add_layer(std::shared_ptr<Layer<T>> layer) {
  require_unbuilt("add");
  if (!layer) throw Error("add: empty layer");
  layers.push_back(std::move(layer));
}

template <class T>
void ModelGraph<T>::set_classifier(const std::string& name) {
  require_unbuilt("set_classifier");
  try {
    classifier = activation_by_name<T>(name);
  } catch (const Error& e) {
    throw Error(std::string("set_classifier: ") + e.what());
  }
  classifier_name = name;
}

template <class T>
void ModelGraph<T>::set_classifier(const ElementwiseFn<T>& fn) {
  require_unbuilt("set_classifier");
  classifier = fn;
  classifier_name = fn.name();
}

namespace {
// The loss names set_loss knows that no op file reserves.
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"cross_entropy"});
}  // namespace

template <class T>
void ModelGraph<T>::set_loss(const std::string& name) {
  require_unbuilt("set_loss");
  if (name == "mse" || name == "binary_cross_entropy" || name == "cross_entropy") {
    custom_loss.reset();
  } else if (const LossFn<T>* custom = find_custom_loss<T>(name)) {
    custom_loss = *custom;
  } else {
    throw Error("set_loss: unknown loss '" + name +
                "' (built in: mse, binary_cross_entropy, cross_entropy; a custom loss must be created with "
                "gn::custom_loss first)");
  }
  loss_name = name;
}

template <class T>
void ModelGraph<T>::set_loss(const LossFn<T>& loss) {
  require_unbuilt("set_loss");
  custom_loss = loss;
  loss_name = loss.name();
}

template <class T>
void ModelGraph<T>::set_optimizer(std::shared_ptr<Optimizer<T>> o) {
  if (!o) throw Error("set_optimizer: empty optimizer");
  optimizer = std::move(o);
  missing_optimizer.clear();
}

template <class T>
void ModelGraph<T>::set_seed(unsigned s) {
  require_unbuilt("set_seed");
  seed = s;
}

template <class T>
void ModelGraph<T>::set_normalizer(Normalizer<T> n) {
  if (graph && n.kind() != "none" && n.columns() != features)
    throw Error("set_normalizer: it has " + std::to_string(n.columns()) + " columns, the model takes " +
                std::to_string(features) + " features");
  normalizer = std::move(n);
}

template <class T>
void ModelGraph<T>::set_metrics(const std::vector<std::string>& names) {
  std::vector<MetricFn<T>> fns;
  for (const auto& name : names) {
    try {
      fns.push_back(metric_by_name<T>(name));
    } catch (const Error& e) {
      throw Error(std::string("set_metrics: ") + e.what());
    }
  }
  metric_names = names;
  metrics = std::move(fns);
}

// Checked when training or evaluation is built: the classifier may be set after the metrics.
template <class T>
void ModelGraph<T>::check_metrics(const char* what) const {
  for (const auto& name : metric_names)
    if (regression() && is_classification_metric(name))
      throw Error(std::string(what) + ": metric '" + name +
                  "' counts classes, but the model is a regression (classifier identity); use mae or rmse");
}

template <class T>
bool ModelGraph<T>::trains_differently() const {
  return std::any_of(layers.begin(), layers.end(), [](const auto& l) { return l->behaves_differently_in_training(); });
}

template <class T>
std::size_t ModelGraph<T>::class_id_classes(std::size_t label_columns) const {
  const auto outputs = static_cast<std::size_t>(logits_eval.shape()[1]);
  return loss_name == "cross_entropy" && label_columns == 1 && outputs > 1 ? outputs : 0;
}

template <class T>
Nodes<T> ModelGraph<T>::parameters() const {
  Nodes<T> p;
  for (const auto& l : layers)
    for (const auto& n : l->parameters()) p.push_back(n);
  return p;
}

template <class T>
Nodes<T> ModelGraph<T>::saved_variables() const {
  Nodes<T> p;  // each layer's parameters, then its state (running statistics)
  for (const auto& l : layers) {
    for (const auto& n : l->parameters()) p.push_back(n);
    for (const auto& n : l->state()) p.push_back(n);
  }
  return p;
}

template <class T>
void ModelGraph<T>::build(std::size_t input_features) {
  if (graph) {
    if (input_features != features)
      throw Error("the model takes " + std::to_string(features) + " features per row, the data has " +
                  std::to_string(input_features));
    return;
  }
  if (layers.empty()) throw Error("Sequential: add layers before using the model");
  graph = std::make_unique<Graph<T>>();
  try {
    build_graph(input_features);
  } catch (...) {
    // A failed build (say, data of the wrong width) leaves the model unbuilt;
    // the next one starts a new graph, in which the layers build anew.
    failed.push_back(std::move(graph));
    layer_outputs.clear();
    state_updates.clear();
    throw;
  }
}

template <class T>
void ModelGraph<T>::build_unused(const std::string& what, const std::string& why) {
  if (graph) return;
  const auto* first = layers.empty() ? nullptr : dynamic_cast<const Linear<T>*>(layers.front().get());
  if (!first) throw Error(what + ": " + why + "; call fit or predict first");
  build(first->in());
}

template <class T>
void ModelGraph<T>::build_graph(std::size_t input_features) {
  features = input_features;
  x = graph->placeholder("x", {batch, static_cast<std::int64_t>(input_features)});
  std::mt19937_64 rng(seed);
  // When no layer trains differently both paths are the same nodes, built once.
  auto path = [&](bool training, bool record) {
    Node<T> h = x;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      BuildContext<T> ctx{*graph, rng, "layer" + std::to_string(i) + "/", training};
      h = layers[i]->build(h, ctx);
      if (training) state_updates.insert(state_updates.end(), ctx.updates.begin(), ctx.updates.end());
      if (record) layer_outputs.push_back(h);
    }
    return h;
  };
  const bool two_paths = trains_differently();
  logits_train = path(true, !two_paths);
  logits_eval = two_paths ? path(false, true) : logits_train;
  if (logits_eval.shape().size() != 2) throw Error("Sequential: the last layer must output [batch, outputs]");
  output = classifier(logits_eval);
  session = std::make_unique<Session<T>>(*graph);
}

template <class T>
Node<T> ModelGraph<T>::loss_of(const Node<T>& logits, const Node<T>& labels, std::size_t cols) {
  const auto outputs = static_cast<std::size_t>(logits.shape()[1]);
  if (loss_name == "cross_entropy") {
    if (classifier_name != "softmax")
      throw Error("set_loss: cross_entropy needs the softmax classifier (set_classifier(\"softmax\"))");
    if (cols == outputs) return softmax_cross_entropy(logits, labels);
    if (cols == 1 && outputs > 1) return sparse_softmax_cross_entropy(logits, labels);
  }
  if (loss_name == "binary_cross_entropy" && classifier_name == "softmax")
    throw Error("set_loss: binary_cross_entropy does not go with the softmax classifier (softmax gives one distribution "
                "per row, not independent probabilities): use cross_entropy with softmax, or binary_cross_entropy with "
                "sigmoid");
  if (cols != outputs)
    throw Error("fit: the labels have " + std::to_string(cols) + " columns but the model outputs " +
                std::to_string(outputs) + (loss_name == "cross_entropy" ? " (give one-hot rows or one class id per row)" : ""));
  const Node<T> p = classifier(logits);
  if (custom_loss) return (*custom_loss)(p, labels);
  if (loss_name == "mse") return mse(p, labels);
  if (loss_name == "binary_cross_entropy") return binary_cross_entropy(p, labels);  // rule bce_of_sigmoid: logits
  throw Error("set_loss: unknown loss '" + loss_name + "'");
}

template <class T>
void ModelGraph<T>::build_training(std::size_t labels) {
  if (labels == label_cols && built_optimizer == optimizer) return;
  Node<T> new_y = y, train = loss_train, eval = loss_eval;
  if (labels != label_cols) {
    new_y = graph->placeholder(label_placeholders++ == 0 ? "y" : "y_" + std::to_string(graph->size()),
                               {batch, static_cast<std::int64_t>(labels)});
    train = loss_of(logits_train, new_y, labels);
    eval = trains_differently() ? loss_of(logits_eval, new_y, labels) : train;
  }
  const Nodes<T> params = parameters();
  updates = optimizer->build(params, distributed::average_gradients(gradients(train, params)));  // over mpirun's processes
  updates.insert(updates.end(), state_updates.begin(), state_updates.end());
  const Nodes<T> state = optimizer->state_variables();  // the learning rate first
  lr_variable = state.empty() ? Node<T>() : state.front();
  built_optimizer = optimizer;
  label_cols = labels;
  y = new_y;
  loss_train = train;
  loss_eval = eval;
}

template <class T>
void ModelGraph<T>::prepare_step(std::size_t iteration, std::size_t epoch) {
  optimizer->prepare(*session, iteration, epoch);
  if (lr_scale != 1) *session->variable_data(lr_variable) *= static_cast<T>(lr_scale);
}

template <class T>
void ModelGraph<T>::scale_learning_rate(double factor) {
  if (!(factor > 0)) throw Error("scale_learning_rate: the factor must be positive, got " + fit_data::value_text(factor));
  lr_scale *= factor;
}

template <class T>
xt::xarray<T> ModelGraph<T>::normalized(const xt::xarray<T>& data) const {
  return normalizer.kind() == "none" ? data : normalizer.apply(data);
}

template <class T>
double ModelGraph<T>::accuracy(const xt::xarray<T>& p, const xt::xarray<T>& labels) const {
  const std::size_t n = p.shape()[0], outputs = p.shape()[1], lc = labels.shape()[1];
  std::size_t right = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const T* pr = p.data() + r * outputs;
    const T* yr = labels.data() + r * lc;
    if (outputs == 1) {
      right += (pr[0] >= T(0.5)) == (yr[0] >= T(0.5));
      continue;
    }
    const auto predicted = static_cast<std::size_t>(std::max_element(pr, pr + outputs) - pr);
    const auto truth = lc == 1 ? static_cast<std::size_t>(yr[0]) : static_cast<std::size_t>(std::max_element(yr, yr + lc) - yr);
    right += predicted == truth;
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

template <class T>
Evaluation ModelGraph<T>::evaluate(const xt::xarray<T>& data, const xt::xarray<T>& labels, std::size_t batch_size) {
  const std::size_t n = data.shape()[0];
  double loss = 0, right = 0;
  std::vector<xt::xarray<T>> out;
  xt::xarray<T> predictions;  // all rows, only for the metrics
  if (!metrics.empty()) predictions = xt::xarray<T>::from_shape({n, static_cast<std::size_t>(output.shape()[1])});
  for (std::size_t begin = 0; begin < n; begin += batch_size) {
    const std::size_t end = std::min(n, begin + batch_size);
    xt::xarray<T> xpart, ypart;
    const xt::xarray<T>& xb = fit_data::rows(data, begin, end, xpart);
    const xt::xarray<T>& yb = fit_data::rows(labels, begin, end, ypart);
    session->run({loss_eval, output}, {{x, xb}, {y, yb}}, out);
    loss += static_cast<double>(out[0]()) * static_cast<double>(end - begin);
    if (!regression()) right += accuracy(out[1], yb) * static_cast<double>(end - begin);
    if (!metrics.empty()) std::copy(out[1].begin(), out[1].end(), predictions.data() + begin * out[1].shape()[1]);
  }
  Evaluation e{loss / static_cast<double>(n), regression() ? std::nan("") : right / static_cast<double>(n), {}};
  for (std::size_t i = 0; i < metrics.size(); ++i) e.metrics[metric_names[i]] = metrics[i](predictions, labels);
  return e;
}

// Under mpirun each process evaluates its share of the rows and the sums are
// reduced, so every process gets the same figures.
template <class T>
Evaluation ModelGraph<T>::evaluate_shared(const xt::xarray<T>& data, const xt::xarray<T>& labels) {
  const std::size_t n = data.shape()[0], size = std::size_t(distributed::size()), r = std::size_t(distributed::rank());
  // The chosen metrics (a confusion matrix, per-class F1) do not sum from shares: every process evaluates all rows.
  if (size == 1 || !metric_names.empty()) return evaluate(data, labels, 1024);
  const std::size_t first = n * r / size, end = n * (r + 1) / size;
  double sums[3] = {0, 0, double(end - first)};
  if (end > first) {
    xt::xarray<T> xpart, ypart;
    const Evaluation mine = evaluate(fit_data::rows(data, first, end, xpart), fit_data::rows(labels, first, end, ypart), 1024);
    sums[0] = mine.loss * sums[2];
    sums[1] = regression() ? 0 : mine.accuracy * sums[2];
  }
  distributed::sum(sums, 3);
  return {sums[0] / sums[2], regression() ? std::nan("") : sums[1] / sums[2], {}};
}

template <class T>
xt::xarray<T> ModelGraph<T>::predict(const xt::xarray<T>& data, std::size_t batch_size) {
  const std::size_t n = data.shape()[0];
  const auto outputs = static_cast<std::size_t>(output.shape()[1]);
  xt::xarray<T> result = xt::xarray<T>::from_shape({n, outputs});
  std::vector<xt::xarray<T>> out;
  for (std::size_t begin = 0; begin < n; begin += batch_size) {
    const std::size_t end = std::min(n, begin + batch_size);
    xt::xarray<T> part;
    session->run({output}, {{x, fit_data::rows(data, begin, end, part)}}, out);
    std::copy(out[0].data(), out[0].data() + out[0].size(), result.data() + begin * outputs);
  }
  return result;
}

template struct ModelGraph<float>;
template struct ModelGraph<double>;

}  // namespace graphnn
