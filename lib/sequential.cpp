#include "graphnn/sequential.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <optional>
#include <sstream>
#include <type_traits>

#include "graphnn/gradients.hpp"
#include "graphnn/ops.hpp"
#include "graphnn/serialize.hpp"

namespace graphnn {

template <class T>
struct Sequential<T>::Impl {
  // Configuration.
  std::vector<std::shared_ptr<Layer<T>>> layers;
  std::string classifier_name = "identity";
  std::function<Node<T>(const Node<T>&)> classifier = activation_by_name<T>("identity");
  std::string loss_name = "mse";
  std::optional<LossFn<T>> custom_loss;
  std::shared_ptr<Optimizer<T>> optimizer = std::make_shared<SGD<T>>(0.01);
  unsigned seed = 0;
  Normalizer<T> normalizer;

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
  std::shared_ptr<Optimizer<T>> built_optimizer;
  std::size_t steps = 0;  // optimizer steps so far (Adam's step count continues across fit calls)

  void require_unbuilt(const char* what) const {
    if (graph) throw Error(std::string(what) + ": the model is already built; configure it before the first fit or predict");
  }
  bool regression() const { return classifier_name == "identity"; }
  bool has_dropout() const {
    return std::any_of(layers.begin(), layers.end(), [](const auto& l) { return l->kind() == "Dropout"; });
  }
  Nodes<T> parameters() const {
    Nodes<T> p;
    for (const auto& l : layers)
      for (const auto& n : l->parameters()) p.push_back(n);
    return p;
  }

  void build(std::size_t input_features) {
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
      throw;
    }
  }

  // Builds a model not used yet when its first layer tells the input width.
  void build_unused(const std::string& what, const std::string& why) {
    if (graph) return;
    const auto* first = layers.empty() ? nullptr : dynamic_cast<const Linear<T>*>(layers.front().get());
    if (!first) throw Error(what + ": " + why + "; call fit or predict first");
    build(first->in());
  }

  void build_graph(std::size_t input_features) {
    features = input_features;
    x = graph->placeholder("x", {batch, static_cast<std::int64_t>(input_features)});
    std::mt19937_64 rng(seed);
    // Without dropout both paths are the same nodes, built once.
    auto path = [&](bool training, bool record) {
      Node<T> h = x;
      for (std::size_t i = 0; i < layers.size(); ++i) {
        BuildContext<T> ctx{*graph, rng, "layer" + std::to_string(i) + "/", training};
        h = layers[i]->build(h, ctx);
        if (record) layer_outputs.push_back(h);
      }
      return h;
    };
    logits_train = path(true, !has_dropout());
    logits_eval = has_dropout() ? path(false, true) : logits_train;
    if (logits_eval.shape().size() != 2) throw Error("Sequential: the last layer must output [batch, outputs]");
    output = classifier(logits_eval);
    session = std::make_unique<Session<T>>(*graph);
  }

  Node<T> loss_of(const Node<T>& logits, const Node<T>& labels, std::size_t cols) {
    const auto outputs = static_cast<std::size_t>(logits.shape()[1]);
    if (loss_name == "cross_entropy") {
      if (classifier_name != "softmax")
        throw Error("set_loss: cross_entropy needs the softmax classifier (set_classifier(\"softmax\"))");
      if (cols == outputs) return softmax_cross_entropy(logits, labels);
      if (cols == 1 && outputs > 1) return sparse_softmax_cross_entropy(logits, labels);
    }
    if (cols != outputs)
      throw Error("fit: the labels have " + std::to_string(cols) + " columns but the model outputs " +
                  std::to_string(outputs) + (loss_name == "cross_entropy" ? " (give one-hot rows or one class id per row)" : ""));
    const Node<T> p = classifier(logits);
    if (custom_loss) return (*custom_loss)(p, labels);
    if (loss_name == "mse") return mse(p, labels);
    if (loss_name == "binary_cross_entropy") return binary_cross_entropy(p, labels);  // rule bce_of_sigmoid: logits
    throw Error("set_loss: unknown loss '" + loss_name + "'");
  }

  // Changes nothing when it throws (labels that do not fit the model), so the
  // model keeps working with good labels afterwards.
  void build_training(std::size_t labels) {
    if (labels == label_cols && built_optimizer == optimizer) return;
    Node<T> new_y = y, train = loss_train, eval = loss_eval;
    if (labels != label_cols) {
      new_y = graph->placeholder(label_placeholders++ == 0 ? "y" : "y_" + std::to_string(graph->size()),
                                 {batch, static_cast<std::int64_t>(labels)});
      train = loss_of(logits_train, new_y, labels);
      eval = has_dropout() ? loss_of(logits_eval, new_y, labels) : train;
    }
    const Nodes<T> params = parameters();
    updates = optimizer->build(params, gradients(train, params));
    built_optimizer = optimizer;
    label_cols = labels;
    y = new_y;
    loss_train = train;
    loss_eval = eval;
  }

  xt::xarray<T> normalized(const xt::xarray<T>& data) const {
    return normalizer.kind() == "none" ? data : normalizer.apply(data);
  }

  // "nan", "inf", "-inf" or the number (std::to_string would give "-nan" and six decimals).
  static std::string value_text(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    std::ostringstream os;
    os << std::setprecision(6) << v;
    return os.str();
  }

  static void check_data(const xt::xarray<T>& data, const xt::xarray<T>* labels, const char* what) {
    if (data.dimension() != 2)
      throw Error(std::string(what) + ": inputs must be 2-D [rows, features], got " +
                  to_string(Dims(data.shape().begin(), data.shape().end())));
    if (data.shape()[0] == 0) throw Error(std::string(what) + ": no rows");
    if (!labels) return;
    if (labels->dimension() != 2)
      throw Error(std::string(what) + ": labels must be 2-D [rows, outputs], got " +
                  to_string(Dims(labels->shape().begin(), labels->shape().end())));
    if (labels->shape()[0] != data.shape()[0])
      throw Error(std::string(what) + ": " + std::to_string(data.shape()[0]) + " input rows but " +
                  std::to_string(labels->shape()[0]) + " label rows");
  }

  // Throws naming the first NaN or infinity of a 2-D `a` (row and column as
  // the caller gave them), e.g. "fit: x has a non-finite value (nan) at row 12,
  // column 3". One pass: blocks are tested with integer operations on the
  // exponent bits (all ones for NaN and infinities), which vectorise; only a
  // block that has one is searched element by element.
  static void check_finite(const xt::xarray<T>& a, const std::string& what, const char* name) {
    using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
    constexpr Bits exponent = sizeof(T) == 8 ? Bits(0x7ff0000000000000ull) : Bits(0x7f800000u);
    constexpr std::size_t block = 1024;
    const T* p = a.data();
    const std::size_t n = a.size();
    for (std::size_t b = 0; b < n; b += block) {
      const std::size_t m = std::min(block, n - b);
      Bits bad = 0;
      for (std::size_t i = 0; i < m; ++i) {
        Bits bits;
        std::memcpy(&bits, p + b + i, sizeof bits);
        bad |= Bits((bits & exponent) == exponent);
      }
      if (!bad) continue;
      for (std::size_t i = b; i < b + m; ++i) {
        if (std::isfinite(p[i])) continue;
        const std::size_t cols = a.shape()[1];
        throw Error(what + ": " + name + " has a non-finite value (" +
                    (std::isnan(p[i]) ? "nan" : p[i] > 0 ? "inf" : "-inf") + ") at row " + std::to_string(i / cols) +
                    ", column " + std::to_string(i % cols));
      }
    }
  }

  // Rows [begin, end) of a row-major 2-D array: `a` itself when that is all
  // of it, else a copy made in `part`.
  static const xt::xarray<T>& rows(const xt::xarray<T>& a, std::size_t begin, std::size_t end, xt::xarray<T>& part) {
    if (begin == 0 && end == a.shape()[0]) return a;
    const std::size_t width = a.shape()[1];
    part = xt::xarray<T>::from_shape({end - begin, width});
    std::copy(a.data() + begin * width, a.data() + end * width, part.data());
    return part;
  }

  double accuracy(const xt::xarray<T>& p, const xt::xarray<T>& labels) const {
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

  // Loss and accuracy over already-normalised data, batch by batch, inference path.
  Evaluation evaluate(const xt::xarray<T>& data, const xt::xarray<T>& labels, std::size_t batch_size) {
    const std::size_t n = data.shape()[0];
    double loss = 0;
    std::size_t right_rows = 0;
    double right = 0;
    std::vector<xt::xarray<T>> out;
    for (std::size_t begin = 0; begin < n; begin += batch_size) {
      const std::size_t end = std::min(n, begin + batch_size);
      xt::xarray<T> xpart, ypart;
      const xt::xarray<T>&xb = rows(data, begin, end, xpart), &yb = rows(labels, begin, end, ypart);
      session->run({loss_eval, output}, {{x, xb}, {y, yb}}, out);
      loss += static_cast<double>(out[0]()) * static_cast<double>(end - begin);
      if (!regression()) right += accuracy(out[1], yb) * static_cast<double>(end - begin);
      right_rows += end - begin;
    }
    return {loss / static_cast<double>(n), regression() ? std::nan("") : right / static_cast<double>(right_rows)};
  }

  xt::xarray<T> predict(const xt::xarray<T>& data, std::size_t batch_size) {
    const std::size_t n = data.shape()[0];
    const auto outputs = static_cast<std::size_t>(output.shape()[1]);
    xt::xarray<T> result = xt::xarray<T>::from_shape({n, outputs});
    std::vector<xt::xarray<T>> out;
    for (std::size_t begin = 0; begin < n; begin += batch_size) {
      const std::size_t end = std::min(n, begin + batch_size);
      xt::xarray<T> part;
      const xt::xarray<T>& xb = rows(data, begin, end, part);
      session->run({output}, {{x, xb}}, out);
      std::copy(out[0].data(), out[0].data() + out[0].size(), result.data() + begin * outputs);
    }
    return result;
  }

  History fit(const xt::xarray<T>& data, const xt::xarray<T>& labels, const xt::xarray<T>* val_x,
              const xt::xarray<T>* val_y, const FitOptions& o) {
    check_data(data, &labels, "fit");
    if (val_x) check_data(*val_x, val_y, "fit (validation data)");
    check_finite(data, "fit", "x");
    check_finite(labels, "fit", "y");
    if (val_x) {
      check_finite(*val_x, "fit", "validation_x");
      check_finite(*val_y, "fit", "validation_y");
    }
    if (o.batch_size == 0) throw Error("fit: batch_size must be positive");
    if (!(o.validation_fraction >= 0 && o.validation_fraction < 1))
      throw Error("fit: validation_fraction must be in [0, 1), got " + std::to_string(o.validation_fraction));
    build(data.shape()[1]);
    build_training(labels.shape()[1]);
    if (val_x && val_y->shape()[1] != labels.shape()[1])
      throw Error("fit: validation labels have " + std::to_string(val_y->shape()[1]) + " columns, training labels " +
                  std::to_string(labels.shape()[1]));

    // The caller's arrays are read in place; new ones are made only to
    // normalise or to split off the validation rows.
    Dataset<T> made, validation;
    const xt::xarray<T>* train_x = &data;
    const xt::xarray<T>* train_y = &labels;
    if (normalizer.kind() != "none") {
      made.x = normalizer.apply(data);
      train_x = &made.x;
    }
    if (val_x) {
      validation = {normalized(*val_x), *val_y};
    } else if (o.validation_fraction > 0) {
      std::tie(made, validation) = split(Dataset<T>{*train_x, labels}, o.validation_fraction, o.seed);
      train_x = &made.x;
      train_y = &made.y;
    }
    const bool has_validation = validation.x.dimension() == 2;  // a default xarray is 0-d

    BatchIterator<T> batches(*train_x, *train_y, o.batch_size, o.shuffle, o.seed);
    const std::size_t total = o.epochs * batches.batches_per_epoch();
    TrainingLog log(o.verbose ? &std::cout : nullptr, o.verbose && stdout_is_terminal(), o.csv_log, total);

    const Nodes<T> params = parameters();
    std::vector<xt::xarray<T>> good;  // the weights at the last finite checkpoint
    for (const auto& p : params) good.push_back(session->value(p));
    std::size_t good_iteration = 0;
    double good_loss = 0;  // the training loss at good_iteration, once a checkpoint has measured it
    bool has_good_loss = false;

    History history;
    std::size_t iteration = 0;
    auto checkpoint = [&](std::size_t epoch) {
      Checkpoint c;
      c.epoch = epoch;
      c.iteration = iteration;
      c.classifier = !regression();
      const Evaluation tr = evaluate(*train_x, *train_y, 1024);
      c.loss = tr.loss;
      c.accuracy = tr.accuracy;
      if (has_validation) {
        const Evaluation va = evaluate(validation.x, validation.y, 1024);
        c.has_validation = true;
        c.val_loss = va.loss;
        c.val_accuracy = va.accuracy;
      }
      if (!std::isfinite(c.loss)) {
        for (std::size_t i = 0; i < params.size(); ++i) session->assign(params[i], good[i]);
        // The data was checked finite before training, so this is divergence.
        // Before the first checkpoint of this call the last finite loss is
        // that of the restored weights.
        if (!has_good_loss) good_loss = evaluate(*train_x, *train_y, 1024).loss;
        throw Error("fit: the training loss became " + value_text(c.loss) + " at epoch " + std::to_string(epoch) +
                    ", iteration " + std::to_string(iteration) + "; the weights of iteration " +
                    std::to_string(good_iteration) + " were restored. The training diverged (the inputs and labels " +
                    "are finite: fit checks them before training): the last finite loss was " + value_text(good_loss) +
                    ", at iteration " + std::to_string(good_iteration) + "; try a smaller learning rate");
      }
      good_loss = c.loss;
      has_good_loss = true;
      for (std::size_t i = 0; i < params.size(); ++i) {
        const T* v = session->variable_data(params[i]);
        std::copy(v, v + good[i].size(), good[i].data());
      }
      good_iteration = iteration;
      log.checkpoint(c, history);
    };

    for (std::size_t epoch = 0; epoch < o.epochs; ++epoch) {
      if (epoch > 0) batches.reset();
      while (batches.next()) {
        optimizer->prepare(*session, ++steps, epoch);
        session->run_targets(updates, {{x, batches.x_batch()}, {y, batches.y_batch()}});
        ++iteration;
        log.step(iteration, epoch);
        if (o.log_every > 0 && iteration % o.log_every == 0) checkpoint(epoch);
      }
      if (o.log_every == 0 || (epoch + 1 == o.epochs && iteration % o.log_every != 0)) checkpoint(epoch);
    }
    return history;
  }

  // --- saving -------------------------------------------------------------
  std::vector<char> payload() const {
    ByteWriter w;
    w.u64(features);
    w.u32(static_cast<std::uint32_t>(layers.size()));
    for (const auto& l : layers) {
      w.str(l->kind());
      const LayerConfig c = l->config();
      w.u32(static_cast<std::uint32_t>(c.size()));
      for (const auto& [k, v] : c) {
        w.str(k);
        w.str(v);
      }
    }
    w.str(classifier_name);
    w.str(loss_name);
    w.str(normalizer.kind());
    w.tensor(normalizer.offset());
    w.tensor(normalizer.scale());
    const Nodes<T> params = parameters();
    w.u32(static_cast<std::uint32_t>(params.size()));
    for (const auto& p : params) {
      w.str(p.name());
      w.tensor(session->value(p));
    }
    return w.bytes();
  }
};

template <class T>
Sequential<T>::Sequential() : impl_(std::make_unique<Impl>()) {}
template <class T>
Sequential<T>::Sequential(Sequential&&) noexcept = default;
template <class T>
Sequential<T>& Sequential<T>::operator=(Sequential&&) noexcept = default;
template <class T>
Sequential<T>::~Sequential() = default;

template <class T>
Sequential<T>& Sequential<T>::add(std::shared_ptr<Layer<T>> layer) {
  impl_->require_unbuilt("add");
  if (!layer) throw Error("add: empty layer");
  impl_->layers.push_back(std::move(layer));
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::add(const ElementwiseFn<T>& activation) {
  return add(std::shared_ptr<Layer<T>>(std::make_shared<Activation<T>>(activation)));
}

template <class T>
Sequential<T>& Sequential<T>::set_classifier(const std::string& name) {
  impl_->require_unbuilt("set_classifier");
  try {
    impl_->classifier = activation_by_name<T>(name);
  } catch (const Error& e) {
    throw Error(std::string("set_classifier: ") + e.what());
  }
  impl_->classifier_name = name;
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_classifier(const ElementwiseFn<T>& classifier) {
  impl_->require_unbuilt("set_classifier");
  impl_->classifier = classifier;
  impl_->classifier_name = classifier.name();
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_loss(const std::string& name) {
  impl_->require_unbuilt("set_loss");
  if (name == "mse" || name == "binary_cross_entropy" || name == "cross_entropy") {
    impl_->custom_loss.reset();
  } else if (const LossFn<T>* custom = find_custom_loss<T>(name)) {
    impl_->custom_loss = *custom;
  } else {
    throw Error("set_loss: unknown loss '" + name +
                "' (built in: mse, binary_cross_entropy, cross_entropy; a custom loss must be created with "
                "gn::custom_loss first)");
  }
  impl_->loss_name = name;
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_loss(const LossFn<T>& loss) {
  impl_->require_unbuilt("set_loss");
  impl_->custom_loss = loss;
  impl_->loss_name = loss.name();
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_optimizer(std::shared_ptr<Optimizer<T>> optimizer) {
  if (!optimizer) throw Error("set_optimizer: empty optimizer");
  impl_->optimizer = std::move(optimizer);
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_seed(unsigned seed) {
  impl_->require_unbuilt("set_seed");
  impl_->seed = seed;
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_normalizer(Normalizer<T> normalizer) {
  if (impl_->graph && normalizer.kind() != "none" && normalizer.columns() != impl_->features)
    throw Error("set_normalizer: it has " + std::to_string(normalizer.columns()) + " columns, the model takes " +
                std::to_string(impl_->features) + " features");
  impl_->normalizer = std::move(normalizer);
  return *this;
}

template <class T>
void Sequential<T>::summary(std::ostream& os) {
  Impl& m = *impl_;
  m.build_unused("summary", "the input width is not known yet (the first layer is not Linear)");
  const Nodes<T>& outs = m.layer_outputs;
  os << std::left << std::setw(34) << "layer" << std::setw(18) << "output shape" << "parameters\n";
  std::size_t total = 0;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    std::size_t count = 0;
    for (const auto& p : m.layers[i]->parameters()) count += num_elements(resolve(p.shape(), 0));
    total += count;
    const std::string shape = i < outs.size() ? to_string(outs[i].shape()) : "";
    os << std::setw(34) << ("layer" + std::to_string(i) + " " + m.layers[i]->describe()) << std::setw(18) << shape
       << count << "\n";
  }
  os << "classifier: " << m.classifier_name << ", loss: " << m.loss_name << ", optimizer: " << m.optimizer->name()
     << "\ntotal parameters: " << total << "\n"
     << std::right;
}

template <class T>
History Sequential<T>::fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const FitOptions& options) {
  return impl_->fit(x, y, nullptr, nullptr, options);
}

template <class T>
History Sequential<T>::fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>& validation_x,
                           const xt::xarray<T>& validation_y, const FitOptions& options) {
  return impl_->fit(x, y, &validation_x, &validation_y, options);
}

template <class T>
Evaluation Sequential<T>::evaluate(const xt::xarray<T>& x, const xt::xarray<T>& y, std::size_t batch_size) {
  Impl::check_data(x, &y, "evaluate");
  if (batch_size == 0) throw Error("evaluate: batch_size must be positive");
  Impl::check_finite(x, "evaluate", "x");
  Impl::check_finite(y, "evaluate", "y");
  impl_->build(x.shape()[1]);
  impl_->build_training(y.shape()[1]);
  return impl_->evaluate(impl_->normalized(x), y, batch_size);
}

template <class T>
xt::xarray<T> Sequential<T>::predict(const xt::xarray<T>& x, std::size_t batch_size) {
  Impl::check_data(x, nullptr, "predict");
  if (batch_size == 0) throw Error("predict: batch_size must be positive");
  Impl::check_finite(x, "predict", "x");
  impl_->build(x.shape()[1]);
  return impl_->predict(impl_->normalized(x), batch_size);
}

template <class T>
xt::xarray<T> Sequential<T>::predict_classes(const xt::xarray<T>& x, std::size_t batch_size) {
  const xt::xarray<T> p = predict(x, batch_size);
  const std::size_t n = p.shape()[0], outputs = p.shape()[1];
  xt::xarray<T> ids = xt::xarray<T>::from_shape({n});
  for (std::size_t r = 0; r < n; ++r) {
    const T* row = p.data() + r * outputs;
    ids(r) = outputs == 1 ? T(row[0] >= T(0.5)) : static_cast<T>(std::max_element(row, row + outputs) - row);
  }
  return ids;
}

template <class T>
void Sequential<T>::save(const std::string& path) {
  impl_->build_unused("save", "the model has no weights yet");
  write_model_file(path, sizeof(T), impl_->payload());
}

namespace {
// A few bytes of layer settings must not make the build allocate gigabytes
// before the weights are compared: the Linear weights the settings ask for
// must fit in what is left of the file.
template <class T>
void check_weights_present(const std::vector<std::shared_ptr<Layer<T>>>& layers, std::size_t left) {
  std::size_t need = 0;
  for (const auto& l : layers)
    if (const auto* linear = dynamic_cast<const Linear<T>*>(l.get())) {
      const std::size_t bytes = linear->in() * linear->out() * sizeof(T);  // checked by Linear's constructor
      if (bytes > left - need)
        throw Error("layer " + linear->describe() + " needs " + std::to_string(bytes) + " bytes of weights, the file holds " +
                    std::to_string(left - need) + " more (corrupted)");
      need += bytes;
    }
}
}  // namespace

template <class T>
Sequential<T> Sequential<T>::load(const std::string& path) {
  const std::vector<char> bytes = read_model_file(path, sizeof(T));
  ByteReader r(bytes.data(), bytes.size(), "load '" + path + "'");
  Sequential model;
  // Names the file in errors about its contents (an unknown layer kind or custom op).
  auto from_file = [&](auto&& step) {
    try {
      step();
    } catch (const Error& e) {
      throw Error("load '" + path + "': " + e.what());
    }
  };
  const std::size_t features = r.u64();
  const std::size_t layer_count = r.count(8, "layer");  // each: kind (4 + n), setting count (4)
  for (std::size_t i = 0; i < layer_count; ++i) {
    const std::string kind = r.str();
    LayerConfig config;
    const std::size_t keys = r.count(8, "layer setting");  // each: key and value (4 + n each)
    for (std::size_t k = 0; k < keys; ++k) {
      std::string key = r.str();
      config[key] = r.str();
    }
    from_file([&] { model.add(make_layer<T>(kind, config)); });
  }
  const std::string classifier = r.str(), loss = r.str();
  from_file([&] { model.set_classifier(classifier); });
  from_file([&] { model.set_loss(loss); });
  const std::string norm_kind = r.str();
  xt::xarray<T> offset = r.tensor<T>();
  xt::xarray<T> scale = r.tensor<T>();
  model.set_normalizer(norm_kind == "none" ? Normalizer<T>() : Normalizer<T>(norm_kind, offset, scale));
  from_file([&] { check_weights_present<T>(model.impl_->layers, r.remaining()); });
  model.impl_->build(features);
  const Nodes<T> params = model.parameters();
  const std::uint32_t count = r.u32();
  if (count != params.size())
    throw Error("load '" + path + "': " + std::to_string(count) + " weight tensors for " + std::to_string(params.size()) +
                " parameters (corrupted)");
  for (const auto& p : params) {
    const std::string name = r.str();
    const xt::xarray<T> value = r.tensor<T>();
    if (name != p.name()) throw Error("load '" + path + "': expected weights '" + p.name() + "', found '" + name + "'");
    model.session().assign(p, value);
  }
  if (!r.done()) throw Error("load '" + path + "': unexpected data after the weights (corrupted)");
  return model;
}

namespace {
std::string npy_path(const std::string& dir, std::string name) {
  std::replace(name.begin(), name.end(), '/', '.');
  return dir + "/" + name + ".npy";
}
}  // namespace

template <class T>
void Sequential<T>::export_npy(const std::string& dir) {
  impl_->build_unused("export_npy", "the model has no weights yet");
  for (const auto& p : parameters()) save_npy(npy_path(dir, p.name()), impl_->session->value(p));
}

template <class T>
void Sequential<T>::import_npy(const std::string& dir) {
  impl_->build_unused("import_npy", "the model has no variables to import into yet");
  // All files are read and checked before any variable changes.
  const Nodes<T> params = parameters();
  std::vector<xt::xarray<T>> values;
  for (const auto& p : params) {
    const std::string file = npy_path(dir, p.name());
    values.push_back(load_npy<T>(file));
    const auto& now = impl_->session->value(p).shape();
    const auto& got = values.back().shape();
    if (!std::equal(now.begin(), now.end(), got.begin(), got.end()))
      throw Error("import_npy '" + file + "': shape " + to_string(Dims(got.begin(), got.end())) +
                  " does not fit variable " + describe(p));
  }
  for (std::size_t i = 0; i < params.size(); ++i) impl_->session->assign(params[i], values[i]);
}

template <class T>
Graph<T>& Sequential<T>::graph() {
  if (!impl_->graph) throw Error("graph: the model is not built yet; fit or predict first");
  return *impl_->graph;
}
template <class T>
Session<T>& Sequential<T>::session() {
  if (!impl_->session) throw Error("session: the model is not built yet; fit or predict first");
  return *impl_->session;
}
template <class T>
Node<T> Sequential<T>::input() const {
  return impl_->x;
}
template <class T>
Node<T> Sequential<T>::output() const {
  return impl_->output;
}
template <class T>
Nodes<T> Sequential<T>::parameters() const {
  return impl_->parameters();
}
template <class T>
Node<T> Sequential<T>::loss() const {
  return impl_->loss_train;
}
template <class T>
Node<T> Sequential<T>::labels() const {
  return impl_->y;
}
template <class T>
const Normalizer<T>& Sequential<T>::normalizer() const {
  return impl_->normalizer;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace graphnn
