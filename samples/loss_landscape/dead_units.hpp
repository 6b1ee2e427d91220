#pragma once
// Why ReLU training "needs luck" (seed 002, 7.6.3): the inputs are in [0, 1]
// and biases start at 0, so a unit whose first-layer weight starts negative has
// z = w x <= 0 for every input. ReLU then outputs 0 and passes no gradient: the
// unit is dead from the first step and stays dead. A large early update can
// also push a bias far below zero and kill a unit during training.
// These helpers train many seeds and count how often that happens.
#include <cstddef>
#include <string>
#include <vector>

#include "curve_net.hpp"

namespace landscape {

// "layer0 unit 1 is dead: its pre-activation is <= 0 for every training input (at most -0.47)"
std::string describe_dead_unit(const SilentUnit& u);

struct TrialRun {
  unsigned seed = 0;
  std::vector<SilentUnit> silent_at_start, silent_at_end;
  double val_loss = 0;
  xt::xarray<double> W1, b1, W2, b2;  // the trained weights
};

struct TrialSummary {
  std::string label;  // "ReLU, Xavier init", ...
  std::vector<TrialRun> runs;
  std::size_t started_silent() const;  // runs with a silent unit after initialisation
  std::size_t ended_silent() const;    // runs with a silent unit after training
  std::size_t good_fits(double max_val_loss) const;
  double median_val_loss() const;
  const TrialRun& best() const;  // the lowest validation loss
};

// Trains `net` from seeds first_seed, first_seed + 1, ... (`trials` runs).
TrialSummary run_trials(CurveNet& net, const std::string& label, const CurveData& train, const CurveData& validation,
                        TrainOptions options, unsigned first_seed, std::size_t trials);

// Puts a run's trained weights back into the net.
void restore(CurveNet& net, const TrialRun& run);

}  // namespace landscape
