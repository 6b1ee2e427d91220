#include "dead_units.hpp"

#include <algorithm>
#include <sstream>

namespace landscape {

std::string describe_dead_unit(const SilentUnit& u) {
  std::ostringstream os;
  os << "layer0 unit " << u.unit << " is dead: its pre-activation is <= 0 for every training input (at most "
     << u.max_pre_activation << ")";
  return os.str();
}

std::size_t TrialSummary::started_silent() const {
  return std::count_if(runs.begin(), runs.end(), [](const TrialRun& r) { return !r.silent_at_start.empty(); });
}

std::size_t TrialSummary::ended_silent() const {
  return std::count_if(runs.begin(), runs.end(), [](const TrialRun& r) { return !r.silent_at_end.empty(); });
}

std::size_t TrialSummary::good_fits(double max_val_loss) const {
  return std::count_if(runs.begin(), runs.end(), [&](const TrialRun& r) { return r.val_loss <= max_val_loss; });
}

double TrialSummary::median_val_loss() const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.val_loss);
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

const TrialRun& TrialSummary::best() const {
  return *std::min_element(runs.begin(), runs.end(),
                           [](const TrialRun& a, const TrialRun& b) { return a.val_loss < b.val_loss; });
}

TrialSummary run_trials(CurveNet& net, const std::string& label, const CurveData& train, const CurveData& validation,
                        TrainOptions options, unsigned first_seed, std::size_t trials) {
  TrialSummary summary;
  summary.label = label;
  options.every_epoch = false;
  for (std::size_t t = 0; t < trials; ++t) {
    TrialRun run;
    run.seed = first_seed + static_cast<unsigned>(t);
    options.seed = run.seed;
    net.initialise(options.seed, options.positive_init);  // train() starts from this same initialisation
    run.silent_at_start = net.silent_units(train.x);
    run.val_loss = net.train(train, validation, options).val_loss.back();
    run.silent_at_end = net.silent_units(train.x);
    gn::Session<double>& s = net.session();
    run.W1 = s.value(net.W1);
    run.b1 = s.value(net.b1);
    run.W2 = s.value(net.W2);
    run.b2 = s.value(net.b2);
    summary.runs.push_back(std::move(run));
  }
  return summary;
}

void restore(CurveNet& net, const TrialRun& run) {
  gn::Session<double>& s = net.session();
  s.assign(net.W1, run.W1);
  s.assign(net.b1, run.b1);
  s.assign(net.W2, run.W2);
  s.assign(net.b2, run.b2);
}

}  // namespace landscape
