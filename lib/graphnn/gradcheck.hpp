#pragma once
// Symbolic gradients against central differences, with an error allowance
// that knows how noisy the loss is.
//
// For each element x_i of each variable the numerical derivative is the
// fourth-order central difference
//     (8 [f(x+h) - f(x-h)] - [f(x+2h) - f(x-2h)]) / 12h,   h = step * max(1, |x_i|)
// (rounded to a power of two so x ± h is exact), where f is the sum of the
// loss's elements, taken in double. f itself is computed in T: in float its
// rounding noise, divided by h, is the numerical side's main error (about 2e-4
// of a gradient on a small network at h = 1e-2), far above what a 1% error in
// a derivative needs to stand out from. So the checker measures that noise:
// on a few elements per variable it evaluates f at 8 points spaced h/64 apart,
// where f is a straight line to far below rounding, and takes the noise sigma
// from their fourth differences (Moré and Wild's ECnoise). An element passes when
//     |a - n| <= tolerance * max(|a|, |n|, tiny) + noise_factor * sigma / h,
// sigma / h being the noise of the quotient (0.95 sigma / h). A variable passes
// when all its checked elements do; every failing variable is named.
//
// Defaults: double step 1e-3, tolerance 1e-6, tiny 1e-4;
//           float  step 1e-2, tolerance 1e-3, tiny 1e-4; noise_factor 8 for both.
// In double sigma / h is ~1e-13 and the allowance is the tolerance alone.
#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "graphnn/session.hpp"

namespace graphnn {

struct GradCheckOptions {
  double step = 0;       // 0: the default for the type
  double tolerance = 0;  // 0: the default for the type
  double tiny = 0;       // 0: the default for the type
  double noise_factor = 0;  // 0: the default (8); the measured noise's multiple that is allowed
  std::size_t samples = 0;  // > 0: check this many random elements per variable, not all
  unsigned seed = 0;        // which elements are sampled
};

struct GradCheckRow {
  std::string variable;
  Shape shape;
  std::size_t checked = 0;
  std::size_t wrong = 0;  // checked elements outside the allowance
  double max_abs_error = 0;
  double max_relative_error = 0;
  double noise = 0;       // measured rounding noise (sigma) of the summed loss, as this variable moves
  bool ok = true;
};

struct GradCheckReport {
  bool ok = true;
  double max_relative_error = 0;
  double tolerance = 0;
  double step = 0;
  // How the numerical side was computed and the allowance chosen, in words.
  std::string method;
  std::vector<GradCheckRow> rows;  // one per variable
  std::vector<std::string> wrong_variables;  // every variable whose row failed, in order
};

std::ostream& operator<<(std::ostream& os, const GradCheckReport& r);

template <class T>
GradCheckReport check_gradients(Session<T>& session, const Node<T>& loss, const Nodes<T>& variables,
                                ArrayRef<Feed<T>> feeds = {}, const GradCheckOptions& options = {});

extern template GradCheckReport check_gradients<float>(Session<float>&, const Node<float>&, const Nodes<float>&,
                                                       ArrayRef<Feed<float>>, const GradCheckOptions&);
extern template GradCheckReport check_gradients<double>(Session<double>&, const Node<double>&, const Nodes<double>&,
                                                        ArrayRef<Feed<double>>, const GradCheckOptions&);

}  // namespace graphnn
