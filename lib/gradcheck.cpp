#include "graphnn/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <sstream>
#include <random>

#include "graphnn/gradients.hpp"
#include "graphnn/incremental.hpp"

namespace graphnn {

std::ostream& operator<<(std::ostream& os, const GradCheckReport& r) {
  const auto flags = os.flags();
  os << std::left << std::setw(16) << "variable" << std::setw(16) << "shape" << std::right << std::setw(9) << "checked"
     << std::setw(7) << "wrong" << std::setw(14) << "max abs err" << std::setw(14) << "max rel err" << std::setw(12)
     << "loss noise" << "  result\n";
  for (const auto& row : r.rows)
    os << std::left << std::setw(16) << row.variable << std::setw(16) << to_string(row.shape) << std::right
       << std::setw(9) << row.checked << std::setw(7) << row.wrong << std::scientific << std::setprecision(3)
       << std::setw(14) << row.max_abs_error << std::setw(14) << row.max_relative_error << std::setprecision(1)
       << std::setw(12) << row.noise << (row.ok ? "  ok" : "  FAIL") << "\n"
       << std::defaultfloat;
  if (!r.wrong_variables.empty()) {
    os << "wrong gradients:";
    for (const auto& name : r.wrong_variables) os << " " << name;
    os << "\n";
  }
  os << (r.ok ? "gradient check passed" : "gradient check FAILED") << " (max relative error " << std::scientific
     << std::setprecision(3) << r.max_relative_error << ", tolerance " << r.tolerance << ", step " << r.step << ")\n";
  os.flags(flags);
  return os;
}

namespace {

struct Settings {
  double step, tolerance, tiny, noise_factor;
};

template <class T>
Settings settings_for(const GradCheckOptions& o) {
  constexpr bool is_double = std::is_same_v<T, double>;
  auto or_default = [](double v, double d) { return v > 0 ? v : d; };
  return {or_default(o.step, is_double ? 1e-3 : 1e-2), or_default(o.tolerance, is_double ? 1e-6 : 1e-3),
          or_default(o.tiny, 1e-4), or_default(o.noise_factor, 8.0)};
}

// step * max(1, |x|) rounded to a power of two, so x + k h is exact (or within an ulp of x).
double step_at(double step, double x) { return std::exp2(std::round(std::log2(step * std::max(1.0, std::abs(x))))); }

// All n elements, or `samples` of them chosen at random, in increasing order.
std::vector<std::size_t> elements_to_check(std::size_t n, const GradCheckOptions& o, std::mt19937& rng) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (o.samples > 0 && o.samples < n) {
    std::shuffle(order.begin(), order.end(), rng);
    order.resize(o.samples);
    std::sort(order.begin(), order.end());
  }
  return order;
}

// f with element i moved from its value x0 by `offset`.
template <class T>
double moved(ElementFunction<T>& f, std::size_t i, T x0, double offset) {
  return f(i, static_cast<T>(double(x0) + offset));
}

// d f / d x_i by the fourth-order central difference with step h.
template <class T>
double central_difference(ElementFunction<T>& f, std::size_t i, T x0, double h) {
  return (8.0 * (moved(f, i, x0, h) - moved(f, i, x0, -h)) - (moved(f, i, x0, 2 * h) - moved(f, i, x0, -2 * h))) /
         (12.0 * h);
}

// The rounding noise sigma of f as elements of one variable move (ECnoise:
// Moré and Wild, SIAM J. Sci. Comput. 33(3), 2011). On up to 4 of the checked
// elements, f at 8 points `step / 64` apart: there f is a straight line to far
// below rounding, so a fourth difference is noise alone, with variance
// C(8, 4) sigma^2 = 70 sigma^2 for independent rounding errors. Pooled over the
// 4 differences of each element and over the elements.
template <class T>
double loss_noise(ElementFunction<T>& f, const T* x, const std::vector<std::size_t>& order, double step) {
  constexpr std::size_t kElements = 4, kPoints = 8;
  const std::size_t stride = std::max<std::size_t>(1, order.size() / kElements);
  double sum_sq = 0;
  std::size_t count = 0;
  for (std::size_t k = 0; k < order.size() && count < kElements * (kPoints - 4); k += stride) {
    const std::size_t i = order[k];
    const double delta = step_at(step, double(x[i])) / 64;
    double v[kPoints];
    for (std::size_t p = 0; p < kPoints; ++p) v[p] = moved(f, i, x[i], delta * (double(p) - 3.5));
    for (std::size_t p = 0; p + 4 < kPoints; ++p) {
      const double d4 = v[p] - 4 * v[p + 1] + 6 * v[p + 2] - 4 * v[p + 3] + v[p + 4];
      sum_sq += d4 * d4 / 70.0;
      ++count;
    }
  }
  return count ? std::sqrt(sum_sq / double(count)) : 0.0;
}

// One variable's row: every checked element against its allowance.
template <class T>
GradCheckRow check_variable(ElementFunction<T>& f, const Node<T>& variable, const T* x, const xt::xarray<T>& symbolic,
                            const std::vector<std::size_t>& order, const Settings& s) {
  GradCheckRow row;
  row.variable = variable.name();
  row.shape = variable.shape();
  row.checked = order.size();
  row.noise = loss_noise(f, x, order, s.step);
  for (std::size_t i : order) {
    const double h = step_at(s.step, double(x[i]));
    const double numeric = central_difference(f, i, x[i], h);
    const double analytic = symbolic.data()[i];
    const double abs_err = std::abs(analytic - numeric);
    const double scale = std::max({std::abs(analytic), std::abs(numeric), s.tiny});
    const double rel_err = abs_err / scale;
    const double allowed = s.tolerance * scale + s.noise_factor * 0.95 * row.noise / h;
    row.max_abs_error = std::max(row.max_abs_error, abs_err);
    if (!(rel_err <= row.max_relative_error)) row.max_relative_error = std::isnan(rel_err) ? INFINITY : rel_err;
    if (!(abs_err <= allowed)) ++row.wrong;
  }
  row.ok = row.wrong == 0;
  return row;
}

template <class T>
std::string method_text(const Settings& s) {
  std::ostringstream os;
  os << "central differences of the loss computed in " << (std::is_same_v<T, double> ? "double" : "float")
     << " (quotients in double); an element passes when |a - n| <= " << s.tolerance << " max(|a|, |n|, " << s.tiny
     << ") + " << s.noise_factor << " x 0.95 x measured loss noise / h";
  return os.str();
}

}  // namespace

template <class T>
GradCheckReport check_gradients(Session<T>& session, const Node<T>& loss, const Nodes<T>& variables,
                                ArrayRef<Feed<T>> feeds, const GradCheckOptions& options) {
  const Settings settings = settings_for<T>(options);
  const Nodes<T> grads = gradients(loss, variables);
  const std::vector<xt::xarray<T>> symbolic = session.run(grads, feeds);

  GradCheckReport report;
  report.tolerance = settings.tolerance;
  report.step = settings.step;
  report.method = method_text<T>(settings);
  std::mt19937 rng(options.seed);
  for (std::size_t v = 0; v < variables.size(); ++v) {
    // f(i, x): the summed loss with element i set to x, re-running only what it reaches.
    ElementFunction<T> f = element_function(session, loss, variables[v], feeds);
    const std::vector<std::size_t> order = elements_to_check(symbolic[v].size(), options, rng);
    GradCheckRow row = check_variable(f, variables[v], session.variable_data(variables[v]), symbolic[v], order, settings);
    report.ok = report.ok && row.ok;
    report.max_relative_error = std::max(report.max_relative_error, row.max_relative_error);
    if (!row.ok) report.wrong_variables.push_back(row.variable);
    report.rows.push_back(std::move(row));
  }
  return report;
}

template GradCheckReport check_gradients<float>(Session<float>&, const Node<float>&, const Nodes<float>&,
                                                ArrayRef<Feed<float>>, const GradCheckOptions&);
template GradCheckReport check_gradients<double>(Session<double>&, const Node<double>&, const Nodes<double>&,
                                                 ArrayRef<Feed<double>>, const GradCheckOptions&);

}  // namespace graphnn
