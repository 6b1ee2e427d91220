#pragma once
// Metrics computed from predictions and targets, as arrays: they need no
// graph, so evaluate(), every epoch of fit() and a user's own loop compute
// them the same way. Predictions are a model's outputs [rows, outputs]
// (after its classifier); targets are what fit() takes: values for a
// regression, and for a classification one-hot rows [rows, classes], class ids
// [rows] or [rows, 1], or 0/1 labels with a single sigmoid output.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace graphnn {

// Regression: mean |prediction - target| and sqrt(mean (prediction - target)^2)
// over all elements. Throws Error when the shapes differ or there are no rows.
template <class T> double mean_absolute_error(const xt::xarray<T>& predictions, const xt::xarray<T>& targets);
template <class T> double root_mean_squared_error(const xt::xarray<T>& predictions, const xt::xarray<T>& targets);

// Classification. The class of each row: the argmax of its outputs, or
// output >= 0.5 when there is one output.
template <class T> std::vector<std::size_t> predicted_classes(const xt::xarray<T>& predictions);
// The true class of each row, from targets in any of the forms above;
// `outputs` is the prediction's width. Throws Error naming the row of a bad id.
template <class T> std::vector<std::size_t> target_classes(const xt::xarray<T>& targets, std::size_t outputs);

// Share of rows whose true class is among the k highest outputs (ties broken
// toward the lower class id). k = 1 is accuracy.
template <class T>
double top_k_accuracy(const xt::xarray<T>& predictions, const xt::xarray<T>& targets, std::size_t k = 1);

// counts(i, j): rows of true class i predicted as class j.
struct ConfusionMatrix {
  xt::xarray<std::size_t> counts;
  std::size_t classes() const { return counts.shape()[0]; }
  // Per class; 0 where the denominator is 0 (scikit-learn's zero_division=0).
  double precision(std::size_t c) const;  // tp / (tp + fp)
  double recall(std::size_t c) const;     // tp / (tp + fn)
  double f1(std::size_t c) const;         // 2 p r / (p + r)
  double accuracy() const;                // trace / total
  std::string to_string() const;          // rows: true class, columns: predicted
};
// From class ids; `classes` 0: one more than the largest id seen.
ConfusionMatrix confusion_matrix(const std::vector<std::size_t>& true_classes,
                                 const std::vector<std::size_t>& predicted, std::size_t classes = 0);
template <class T>
ConfusionMatrix confusion_matrix(const xt::xarray<T>& predictions, const xt::xarray<T>& targets);

// Per-class precision, recall, F1 and support, as a table like scikit-learn's
// classification_report.
struct ClassReport {
  std::vector<double> precision, recall, f1;
  std::vector<std::size_t> support;  // rows of each true class
  std::string to_string() const;
};
ClassReport class_report(const ConfusionMatrix& m);

// A metric by name, for compile/fit/evaluate to log: "mae", "rmse",
// "accuracy", "top_k_accuracy(k)" (e.g. "top_k_accuracy(5)").
template <class T>
using MetricFn = std::function<double(const xt::xarray<T>& predictions, const xt::xarray<T>& targets)>;
template <class T> MetricFn<T> metric_by_name(const std::string& name);
// True for the metrics of class ids ("accuracy", "top_k_accuracy(k)").
bool is_classification_metric(const std::string& name);

}  // namespace graphnn
