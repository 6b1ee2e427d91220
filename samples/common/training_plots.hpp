#pragma once
// Training curves from gn::History: name_loss.png and, for classifiers,
// name_accuracy.png, with the train and validation curves of one or more runs
// (e.g. a custom network against a standard one) in the same figure.
#include <cmath>
#include <string>
#include <vector>

#include <graphnn/training_log.hpp>

#include "plots.hpp"

namespace samples {

struct Run {
  std::string label;  // "" for a single run
  const graphnn::History& history;
};

inline void training_curves(const std::string& dir, const std::string& name, const std::string& title,
                            const std::vector<Run>& runs) {
  using Column = const std::vector<double> graphnn::History::*;
  auto curves = [&](Column train, Column val) {
    std::vector<Series> series;
    for (const Run& r : runs) {
      const std::vector<double> x(r.history.iteration.begin(), r.history.iteration.end());
      const std::string prefix = r.label.empty() ? "" : r.label + ", ";
      series.push_back({prefix + "train", x, r.history.*train});
      if (!r.history.val_loss.empty() && !std::isnan(r.history.val_loss.front()))
        series.push_back({prefix + "validation", x, r.history.*val});
    }
    return series;
  };
  line_plot(dir, name + "_loss", {title + ": loss", "iteration", "loss"},
            curves(&graphnn::History::loss, &graphnn::History::val_loss));
  const bool classifier = !runs.empty() && !runs.front().history.accuracy.empty() &&
                          !std::isnan(runs.front().history.accuracy.front());
  if (classifier)
    line_plot(dir, name + "_accuracy", {title + ": accuracy", "iteration", "accuracy"},
              curves(&graphnn::History::accuracy, &graphnn::History::val_accuracy));
}

}  // namespace samples
