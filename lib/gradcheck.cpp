#include "graphnn/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <random>

#include "graphnn/gradients.hpp"
#include "graphnn/incremental.hpp"

namespace graphnn {

std::ostream& operator<<(std::ostream& os, const GradCheckReport& r) {
  const auto flags = os.flags();
  os << std::left << std::setw(16) << "variable" << std::setw(16) << "shape" << std::right << std::setw(9) << "checked"
     << std::setw(14) << "max abs err" << std::setw(14) << "max rel err" << "  result\n";
  for (const auto& row : r.rows)
    os << std::left << std::setw(16) << row.variable << std::setw(16) << to_string(row.shape) << std::right
       << std::setw(9) << row.checked << std::scientific << std::setprecision(3) << std::setw(14) << row.max_abs_error
       << std::setw(14) << row.max_relative_error << (row.ok ? "  ok" : "  FAIL") << "\n"
       << std::defaultfloat;
  os << (r.ok ? "gradient check passed" : "gradient check FAILED") << " (max relative error " << std::scientific
     << std::setprecision(3) << r.max_relative_error << ", tolerance " << r.tolerance << ", step " << r.step << ")\n";
  os.flags(flags);
  return os;
}

template <class T>
GradCheckReport check_gradients(Session<T>& session, const Node<T>& loss, const Nodes<T>& variables,
                                ArrayRef<Feed<T>> feeds, const GradCheckOptions& options) {
  constexpr bool is_double = std::is_same_v<T, double>;
  const double step = options.step > 0 ? options.step : (is_double ? 1e-3 : 1e-2);
  const double tolerance = options.tolerance > 0 ? options.tolerance : (is_double ? 1e-6 : 1e-2);
  const double tiny = options.tiny > 0 ? options.tiny : (is_double ? 1e-4 : 1e-2);

  const Nodes<T> grads = gradients(loss, variables);
  const std::vector<xt::xarray<T>> symbolic = session.run(grads, feeds);

  GradCheckReport report;
  report.tolerance = tolerance;
  report.step = step;
  std::mt19937 rng(options.seed);
  for (std::size_t v = 0; v < variables.size(); ++v) {
    // f(i, x): the summed loss with element i set to x, re-running only what it reaches.
    ElementFunction<T> f = element_function(session, loss, variables[v], feeds);
    const T* x = session.variable_data(variables[v]);
    const std::size_t n = symbolic[v].size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (options.samples > 0 && options.samples < n) {
      std::shuffle(order.begin(), order.end(), rng);
      order.resize(options.samples);
      std::sort(order.begin(), order.end());
    }
    GradCheckRow row;
    row.variable = variables[v].name();
    row.shape = variables[v].shape();
    row.checked = order.size();
    for (std::size_t i : order) {
      const T original = x[i];
      const double h = std::exp2(std::round(std::log2(step * std::max(1.0, std::abs(double(original))))));
      auto at = [&](double k) { return f(i, static_cast<T>(double(original) + k * h)); };
      const double numeric = (8.0 * (at(1) - at(-1)) - (at(2) - at(-2))) / (12.0 * h);
      const double analytic = symbolic[v].data()[i];
      const double abs_err = std::abs(analytic - numeric);
      const double rel_err = abs_err / std::max({std::abs(analytic), std::abs(numeric), tiny});
      row.max_abs_error = std::max(row.max_abs_error, abs_err);
      if (!(rel_err <= row.max_relative_error)) row.max_relative_error = std::isnan(rel_err) ? INFINITY : rel_err;
    }
    row.ok = row.max_relative_error <= tolerance;
    report.ok = report.ok && row.ok;
    report.max_relative_error = std::max(report.max_relative_error, row.max_relative_error);
    report.rows.push_back(row);
  }
  return report;
}

template GradCheckReport check_gradients<float>(Session<float>&, const Node<float>&, const Nodes<float>&,
                                                ArrayRef<Feed<float>>, const GradCheckOptions&);
template GradCheckReport check_gradients<double>(Session<double>&, const Node<double>&, const Nodes<double>&,
                                                 ArrayRef<Feed<double>>, const GradCheckOptions&);

}  // namespace graphnn
