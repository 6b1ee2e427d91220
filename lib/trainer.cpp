#include "trainer.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "fit_data.hpp"
#include "model_file.hpp"

namespace graphnn {

template <class T>
Trainer<T>::Trainer(ModelGraph<T>& model, const FitOptions& options) : m_(model), o_(options) {}

template <class T>
History Trainer<T>::fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>* val_x,
                        const xt::xarray<T>* val_y) {
  check(x, y, val_x, val_y);
  prepare_data(x, y, val_x, val_y);
  // Under mpirun: the same model and data everywhere, rank 0's weights, each
  // process its rows of every batch, and only rank 0 logs.
  distributed::check_same("the training data's shapes", to_string(Dims(train_x_->shape().begin(), train_x_->shape().end())) +
                                                           to_string(Dims(train_y_->shape().begin(), train_y_->shape().end())));
  distributed::broadcast_variables(*m_.session, m_.graph->variables());
  distributed::ShardedBatches<T> batches(*train_x_, *train_y_, o_.batch_size, o_.shuffle, o_.seed, distributed::rank(),
                                         distributed::size());
  start_order(batches.global());
  const bool logs = o_.verbose && distributed::is_root();
  log_ = std::make_unique<TrainingLog>(logs ? &std::cout : nullptr, logs && o_.progress.value_or(stdout_is_terminal()),
                                       distributed::is_root() ? o_.csv_log : "", o_.epochs * batches.batches_per_epoch());
  if (o_.initial_epoch) m_.counters.epoch = *o_.initial_epoch;
  log_->set_epochs(m_.counters.epoch + o_.epochs);  // the bar's "epoch n/N" counts across fit calls, as the epochs do
  first_iteration_ = m_.counters.iteration;
  keep_good_weights();
  for (const auto& c : o_.callbacks) c->on_train_begin(*this);
  for (std::size_t e = 0; e < o_.epochs && !stop_; ++e) {
    const std::size_t epoch = m_.counters.epoch;
    if (e > 0) batches.reset();
    for (std::size_t b = 0; !stop_ && batches.next(); ++b) train_batch(batches, epoch, b);
    end_epoch(epoch, e + 1 == o_.epochs || stop_);
  }
  keep_order(batches.global());
  for (const auto& c : o_.callbacks) c->on_train_end(*this);
  return history_;
}

template <class T>
void Trainer<T>::check(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>* val_x,
                       const xt::xarray<T>* val_y) const {
  fit_data::check_shapes(x, &y, "fit");
  if (val_x) fit_data::check_shapes(*val_x, val_y, "fit (validation data)");
  fit_data::check_finite(x, "fit", "x");
  fit_data::check_finite(y, "fit", "y");
  if (val_x) {
    fit_data::check_finite(*val_x, "fit", "validation_x");
    fit_data::check_finite(*val_y, "fit", "validation_y");
  }
  if (!m_.missing_optimizer.empty()) throw Error("fit: " + m_.missing_optimizer);
  if (o_.batch_size == 0) throw Error("fit: batch_size must be positive");
  if (!(o_.validation_fraction >= 0 && o_.validation_fraction < 1))
    throw Error("fit: validation_fraction must be in [0, 1), got " + std::to_string(o_.validation_fraction));
  for (const auto& c : o_.callbacks)
    if (!c) throw Error("fit: FitOptions::callbacks holds an empty callback");
}

// The caller's arrays are read in place; new ones are made only to normalise
// or to split off the validation rows.
template <class T>
void Trainer<T>::prepare_data(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>* val_x,
                              const xt::xarray<T>* val_y) {
  m_.build(x.shape()[1]);
  m_.build_training(y.shape()[1]);
  m_.check_metrics("fit");
  if (val_x && val_y->shape()[1] != y.shape()[1])
    throw Error("fit: validation labels have " + std::to_string(val_y->shape()[1]) + " columns, training labels " +
                std::to_string(y.shape()[1]));
  if (const std::size_t classes = m_.class_id_classes(y.shape()[1])) {
    fit_data::check_class_ids(y, classes, "fit", "y");
    if (val_y) fit_data::check_class_ids(*val_y, classes, "fit", "validation_y");
  }
  train_x_ = &x;
  train_y_ = &y;
  if (m_.normalizer.kind() != "none") {
    made_.x = m_.normalizer.apply(x);
    train_x_ = &made_.x;
  }
  if (val_x) {
    validation_ = {m_.normalized(*val_x), *val_y};
  } else if (o_.validation_fraction > 0) {
    std::tie(made_, validation_) = split(Dataset<T>{*train_x_, y}, o_.validation_fraction, o_.seed);
    train_x_ = &made_.x;
    train_y_ = &made_.y;
  }
  has_validation_ = validation_.x.dimension() == 2;  // a default xarray is 0-d
}

// A fit on the same rows with the same seed continues the sequence of
// shuffled orders where the last one (or the loaded model) left it, so that
// training in several calls visits the rows exactly as one call would.
template <class T>
void Trainer<T>::start_order(BatchIterator<T>& batches) {
  const ShuffleState& s = m_.shuffle;
  if (!o_.shuffle || !s.active || s.seed != o_.seed || s.rows != batches.rows()) return;
  batches.resume(s.generator, s.order);
  batches.reset();
}

template <class T>
void Trainer<T>::keep_order(const BatchIterator<T>& batches) {
  ShuffleState& s = m_.shuffle;
  s.active = o_.shuffle;
  if (!o_.shuffle) return;
  s.seed = o_.seed;
  s.rows = batches.rows();
  s.generator = batches.generator();
  s.order.assign(batches.order().begin(), batches.order().end());  // in place when it fits: no allocation per fit
}

template <class T>
void Trainer<T>::train_batch(distributed::ShardedBatches<T>& batches, std::size_t epoch, std::size_t batch_in_epoch) {
  const std::size_t iteration = ++m_.counters.iteration;
  m_.prepare_step(iteration, epoch);
  const std::initializer_list<Feed<T>> feeds = {{m_.x, batches.x_batch()}, {m_.y, batches.y_batch()}};
  // The bar's running loss: fetched with the step only when the bar redraws.
  // Under mpirun every rank runs the same plan, and only rank 0 draws.
  double batch_loss = std::nan("");
  if (log_->will_draw(iteration - first_iteration_) && distributed::size() == 1) {
    if (step_with_loss_.empty()) {
      step_with_loss_ = m_.updates;
      step_with_loss_.push_back(m_.loss_train);
    }
    m_.session->run(step_with_loss_, feeds, fetched_);
    batch_loss = static_cast<double>(fetched_.back()());
  } else {
    m_.session->run_targets(m_.updates, feeds);
  }
  last_fresh_ = false;
  log_->step(iteration - first_iteration_, epoch, batch_loss);
  if (o_.log_every > 0 && iteration % o_.log_every == 0) checkpoint(epoch);
  if (o_.callbacks.empty()) return;
  batch_logs_["batch"] = static_cast<double>(batch_in_epoch);
  batch_logs_["size"] = static_cast<double>(batches.x_batch().shape()[0]);
  batch_logs_["lr"] = learning_rate();
  for (const auto& c : o_.callbacks) c->on_batch_end(*this, iteration, batch_logs_);
}

// The epoch's checkpoint (every epoch without log_every, else the last one
// when it did not fall on a multiple), then the callbacks with its logs.
template <class T>
void Trainer<T>::end_epoch(std::size_t epoch, bool last) {
  m_.counters.epoch = epoch + 1;
  if (o_.log_every == 0 || (last && !last_fresh_)) checkpoint(epoch);
  if (o_.callbacks.empty()) return;
  if (!last_fresh_) {
    last_ = measure(epoch);
    last_fresh_ = true;
  }
  const Logs logs = logs_of(last_);
  for (const auto& c : o_.callbacks) c->on_epoch_end(*this, epoch, logs);
}

template <class T>
Checkpoint Trainer<T>::measure(std::size_t epoch) {
  Checkpoint c;
  c.epoch = epoch;
  c.iteration = m_.counters.iteration;
  c.classifier = !m_.regression();
  const Evaluation tr = m_.evaluate_shared(*train_x_, *train_y_);
  c.loss = tr.loss;
  c.accuracy = tr.accuracy;
  for (const auto& name : m_.metric_names) c.metrics.emplace_back(name, tr.metrics.at(name));
  if (has_validation_) {
    const Evaluation va = m_.evaluate_shared(validation_.x, validation_.y);
    c.has_validation = true;
    c.val_loss = va.loss;
    c.val_accuracy = va.accuracy;
    for (const auto& name : m_.metric_names) c.metrics.emplace_back("val_" + name, va.metrics.at(name));
  }
  return c;
}

template <class T>
void Trainer<T>::checkpoint(std::size_t epoch) {
  last_ = measure(epoch);
  last_fresh_ = true;
  if (!std::isfinite(last_.loss)) roll_back(last_);
  good_loss_ = last_.loss;
  has_good_loss_ = true;
  keep_good_weights();
  log_->checkpoint(last_, history_);
}

template <class T>
void Trainer<T>::keep_good_weights() {
  if (params_.empty()) {
    params_ = m_.parameters();
    for (const auto& p : params_) good_.push_back(m_.session->value(p));
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const T* v = m_.session->variable_data(params_[i]);
    std::copy(v, v + good_[i].size(), good_[i].data());
  }
  good_iteration_ = m_.counters.iteration;
}

// The data was checked finite before training, so a loss that is not is divergence.
template <class T>
void Trainer<T>::roll_back(const Checkpoint& bad) {
  for (std::size_t i = 0; i < params_.size(); ++i) m_.session->assign(params_[i], good_[i]);
  // Before the first checkpoint of this call the last finite loss is that of the restored weights.
  if (!has_good_loss_) good_loss_ = m_.evaluate(*train_x_, *train_y_, 1024).loss;
  const std::string good = std::to_string(good_iteration_);
  throw Error("fit: the training loss became " + fit_data::value_text(bad.loss) + " at epoch " +
              std::to_string(bad.epoch) + ", iteration " + std::to_string(bad.iteration) + "; the weights of iteration " +
              good + " were restored. The training diverged (the inputs and labels are finite: fit checks them " +
              "before training): the last finite loss was " + fit_data::value_text(good_loss_) + ", at iteration " +
              good + "; try a smaller learning rate");
}

template <class T>
Logs Trainer<T>::logs_of(const Checkpoint& c) const {
  Logs logs{{"loss", c.loss}, {"lr", learning_rate()}};
  if (c.classifier) logs["accuracy"] = c.accuracy;
  if (c.has_validation) {
    logs["val_loss"] = c.val_loss;
    if (c.classifier) logs["val_accuracy"] = c.val_accuracy;
  }
  for (const auto& [name, value] : c.metrics) logs[name] = value;
  return logs;
}

template <class T>
double Trainer<T>::learning_rate() const {
  return m_.learning_rate(m_.counters.epoch);
}

template <class T>
void Trainer<T>::scale_learning_rate(double factor) {
  m_.scale_learning_rate(factor);
}

template <class T>
WeightSnapshot Trainer<T>::weights() const {
  WeightSnapshot w;
  for (const auto& v : m_.saved_variables()) {
    const xt::xarray<T>& a = m_.session->value(v);
    w.emplace_back(a.begin(), a.end());
  }
  return w;
}

template <class T>
void Trainer<T>::set_weights(const WeightSnapshot& w) {
  const Nodes<T> vars = m_.saved_variables();
  if (w.size() != vars.size())
    throw Error("set_weights: " + std::to_string(w.size()) + " tensors for " + std::to_string(vars.size()) + " variables");
  for (std::size_t i = 0; i < vars.size(); ++i) {
    xt::xarray<T> a = m_.session->value(vars[i]);
    if (w[i].size() != a.size())
      throw Error("set_weights: " + std::to_string(w[i].size()) + " values for variable " + describe(vars[i]));
    std::transform(w[i].begin(), w[i].end(), a.begin(), [](double v) { return static_cast<T>(v); });
    m_.session->assign(vars[i], a);
  }
}

template <class T>
void Trainer<T>::save(const std::string& path) {
  save_model_file(m_, path);
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace graphnn
