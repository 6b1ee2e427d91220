// Metrics as plain loops over the prediction and target arrays: they run once
// per evaluation or epoch on arrays fit() already has, so they never touch the
// graph or the training step's zero-allocation plan.
#include "graphnn/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "graphnn/error.hpp"
#include "graphnn/shape.hpp"

namespace graphnn {
namespace {

template <class T>
std::string shape_of(const xt::xarray<T>& a) {
  return to_string(Dims(a.shape().begin(), a.shape().end()));
}

template <class T>
void check_same_shape(const char* metric, const xt::xarray<T>& p, const xt::xarray<T>& t) {
  if (p.shape() != t.shape())
    throw Error(std::string(metric) + ": predictions " + shape_of(p) + " and targets " + shape_of(t) +
                " differ in shape");
  if (p.size() == 0) throw Error(std::string(metric) + ": no predictions");
}

// Rows and outputs of a prediction array ([rows] counts as one output).
template <class T>
std::pair<std::size_t, std::size_t> rows_outputs(const char* what, const xt::xarray<T>& p) {
  if (p.dimension() == 1) return {p.shape()[0], 1};
  if (p.dimension() == 2 && p.shape()[1] > 0) return {p.shape()[0], p.shape()[1]};
  throw Error(std::string(what) + ": predictions " + shape_of(p) + " are not [rows, outputs]");
}

// A class's score in row r: a single output p scores class 1 as p, class 0 as 1 - p.
template <class T>
double score(const T* row, std::size_t outputs, std::size_t c) {
  if (outputs == 1) return c == 1 ? double(row[0]) : 1.0 - double(row[0]);
  return double(row[c]);
}

double ratio(std::size_t num, std::size_t den) { return den == 0 ? 0.0 : double(num) / double(den); }

}  // namespace

template <class T>
double mean_absolute_error(const xt::xarray<T>& predictions, const xt::xarray<T>& targets) {
  check_same_shape("mean_absolute_error", predictions, targets);
  double sum = 0;
  for (std::size_t i = 0; i < predictions.size(); ++i)
    sum += std::abs(double(predictions.data()[i]) - double(targets.data()[i]));
  return sum / double(predictions.size());
}

template <class T>
double root_mean_squared_error(const xt::xarray<T>& predictions, const xt::xarray<T>& targets) {
  check_same_shape("root_mean_squared_error", predictions, targets);
  double sum = 0;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const double d = double(predictions.data()[i]) - double(targets.data()[i]);
    sum += d * d;
  }
  return std::sqrt(sum / double(predictions.size()));
}

template <class T>
std::vector<std::size_t> predicted_classes(const xt::xarray<T>& predictions) {
  const auto [rows, outputs] = rows_outputs("predicted_classes", predictions);
  std::vector<std::size_t> classes(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const T* row = predictions.data() + r * outputs;
    classes[r] = outputs == 1 ? (row[0] >= T(0.5) ? 1 : 0) : std::size_t(std::max_element(row, row + outputs) - row);
  }
  return classes;
}

template <class T>
std::vector<std::size_t> target_classes(const xt::xarray<T>& targets, std::size_t outputs) {
  const bool one_hot = targets.dimension() == 2 && outputs > 1 && targets.shape()[1] == outputs;
  const bool ids = targets.dimension() == 1 || (targets.dimension() == 2 && targets.shape()[1] == 1);
  if (!one_hot && !ids)
    throw Error("target_classes: targets " + shape_of(targets) + " are neither one-hot rows of " +
                std::to_string(outputs) + " classes nor one class id per row");
  const std::size_t rows = targets.shape()[0];
  std::vector<std::size_t> classes(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    if (one_hot) {
      const T* row = targets.data() + r * outputs;
      classes[r] = std::size_t(std::max_element(row, row + outputs) - row);
      continue;
    }
    const double v = double(targets.data()[r]);
    if (outputs == 1) {  // a 0/1 label for a single sigmoid output
      classes[r] = v >= 0.5 ? 1 : 0;
      continue;
    }
    if (!(v >= 0 && v < double(outputs) && v == std::floor(v))) {
      std::ostringstream os;
      os << "target_classes: row " << r << " has class id " << v << ", not an integer in [0, " << outputs << ")";
      throw Error(os.str());
    }
    classes[r] = std::size_t(v);
  }
  return classes;
}

template <class T>
double top_k_accuracy(const xt::xarray<T>& predictions, const xt::xarray<T>& targets, std::size_t k) {
  if (k == 0) throw Error("top_k_accuracy: k must be at least 1");
  const auto [rows, outputs] = rows_outputs("top_k_accuracy", predictions);
  const std::vector<std::size_t> truth = target_classes(targets, outputs);
  if (truth.size() != rows)
    throw Error("top_k_accuracy: " + std::to_string(rows) + " prediction rows but " + std::to_string(truth.size()) +
                " target rows");
  if (rows == 0) throw Error("top_k_accuracy: no predictions");
  const std::size_t classes = outputs == 1 ? 2 : outputs;
  std::size_t hits = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const T* row = predictions.data() + r * outputs;
    const double mine = score(row, outputs, truth[r]);
    std::size_t ahead = 0;  // classes ranked before the true one
    for (std::size_t c = 0; c < classes; ++c) {
      const double s = score(row, outputs, c);
      if (s > mine || (s == mine && c < truth[r])) ++ahead;
    }
    if (ahead < k) ++hits;
  }
  return double(hits) / double(rows);
}

double ConfusionMatrix::precision(std::size_t c) const {
  std::size_t predicted = 0;
  for (std::size_t i = 0; i < classes(); ++i) predicted += counts(i, c);
  return ratio(counts(c, c), predicted);
}

double ConfusionMatrix::recall(std::size_t c) const {
  std::size_t actual = 0;
  for (std::size_t j = 0; j < classes(); ++j) actual += counts(c, j);
  return ratio(counts(c, c), actual);
}

double ConfusionMatrix::f1(std::size_t c) const {
  const double p = precision(c), r = recall(c);
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}

double ConfusionMatrix::accuracy() const {
  std::size_t diagonal = 0, total = 0;
  for (std::size_t i = 0; i < classes(); ++i)
    for (std::size_t j = 0; j < classes(); ++j) {
      total += counts(i, j);
      if (i == j) diagonal += counts(i, j);
    }
  return ratio(diagonal, total);
}

std::string ConfusionMatrix::to_string() const {
  std::size_t width = 4;
  for (std::size_t v : counts) width = std::max(width, std::to_string(v).size() + 1);
  std::ostringstream os;
  os << "true\\pred";
  for (std::size_t j = 0; j < classes(); ++j) os << std::setw(int(width)) << j;
  os << '\n';
  for (std::size_t i = 0; i < classes(); ++i) {
    os << std::setw(9) << i;
    for (std::size_t j = 0; j < classes(); ++j) os << std::setw(int(width)) << counts(i, j);
    os << '\n';
  }
  return os.str();
}

ConfusionMatrix confusion_matrix(const std::vector<std::size_t>& true_classes, const std::vector<std::size_t>& predicted,
                                 std::size_t classes) {
  if (true_classes.size() != predicted.size())
    throw Error("confusion_matrix: " + std::to_string(true_classes.size()) + " true classes but " +
                std::to_string(predicted.size()) + " predicted");
  std::size_t seen = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) seen = std::max({seen, true_classes[i] + 1, predicted[i] + 1});
  if (classes == 0) classes = seen;
  if (seen > classes)
    throw Error("confusion_matrix: class id " + std::to_string(seen - 1) + " is not below the " +
                std::to_string(classes) + " classes");
  ConfusionMatrix m{xt::zeros<std::size_t>({classes, classes})};
  for (std::size_t i = 0; i < predicted.size(); ++i) ++m.counts(true_classes[i], predicted[i]);
  return m;
}

template <class T>
ConfusionMatrix confusion_matrix(const xt::xarray<T>& predictions, const xt::xarray<T>& targets) {
  const std::size_t outputs = rows_outputs("confusion_matrix", predictions).second;
  return confusion_matrix(target_classes(targets, outputs), predicted_classes(predictions), outputs == 1 ? 2 : outputs);
}

ClassReport class_report(const ConfusionMatrix& m) {
  ClassReport r;
  for (std::size_t c = 0; c < m.classes(); ++c) {
    r.precision.push_back(m.precision(c));
    r.recall.push_back(m.recall(c));
    r.f1.push_back(m.f1(c));
    std::size_t support = 0;
    for (std::size_t j = 0; j < m.classes(); ++j) support += m.counts(c, j);
    r.support.push_back(support);
  }
  return r;
}

std::string ClassReport::to_string() const {
  std::ostringstream os;
  os << "class  precision     recall         f1    support\n";
  char line[96];
  for (std::size_t c = 0; c < support.size(); ++c) {
    std::snprintf(line, sizeof line, "%5zu %10.4f %10.4f %10.4f %10zu\n", c, precision[c], recall[c], f1[c],
                  support[c]);
    os << line;
  }
  return os.str();
}

bool is_classification_metric(const std::string& name) {
  return name == "accuracy" || name.rfind("top_k_accuracy(", 0) == 0;
}

template <class T>
MetricFn<T> metric_by_name(const std::string& name) {
  if (name == "mae") return [](const xt::xarray<T>& p, const xt::xarray<T>& t) { return mean_absolute_error(p, t); };
  if (name == "rmse")
    return [](const xt::xarray<T>& p, const xt::xarray<T>& t) { return root_mean_squared_error(p, t); };
  std::size_t k = 1;
  if (name == "accuracy" || (std::sscanf(name.c_str(), "top_k_accuracy(%zu", &k) == 1 && k > 0 &&
                             name == "top_k_accuracy(" + std::to_string(k) + ")"))
    return [k](const xt::xarray<T>& p, const xt::xarray<T>& t) { return top_k_accuracy(p, t, k); };
  throw Error("unknown metric '" + name + "' (known: mae, rmse, accuracy, top_k_accuracy(k) with k >= 1)");
}

#define INSTANTIATE(T)                                                                                   \
  template double mean_absolute_error<T>(const xt::xarray<T>&, const xt::xarray<T>&);                    \
  template double root_mean_squared_error<T>(const xt::xarray<T>&, const xt::xarray<T>&);                \
  template std::vector<std::size_t> predicted_classes<T>(const xt::xarray<T>&);                          \
  template std::vector<std::size_t> target_classes<T>(const xt::xarray<T>&, std::size_t);               \
  template double top_k_accuracy<T>(const xt::xarray<T>&, const xt::xarray<T>&, std::size_t);            \
  template ConfusionMatrix confusion_matrix<T>(const xt::xarray<T>&, const xt::xarray<T>&);              \
  template MetricFn<T> metric_by_name<T>(const std::string&);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn
