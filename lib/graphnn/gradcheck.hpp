#pragma once
// Symbolic gradients against central differences, in double precision.
//
// For each element x_i of each variable the numerical derivative is the
// fourth-order central difference
//     (8 [f(x+h) - f(x-h)] - [f(x+2h) - f(x-2h)]) / 12h,   h = step * max(1, |x_i|)
// (rounded to a power of two so x ± h is exact), where f is the sum of the
// loss's elements. Errors per element: absolute |a - n| and relative
// |a - n| / max(|a|, |n|, tiny). A variable passes when its largest relative
// error is at most `tolerance`.
//
// Defaults: double step 1e-3, tolerance 1e-6, tiny 1e-4;
//           float  step 1e-2, tolerance 1e-2, tiny 1e-2 (float rounding is ~1e-7).
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
  std::size_t samples = 0;  // > 0: check this many random elements per variable, not all
  unsigned seed = 0;        // which elements are sampled
};

struct GradCheckRow {
  std::string variable;
  Shape shape;
  std::size_t checked = 0;
  double max_abs_error = 0;
  double max_relative_error = 0;
  bool ok = true;
};

struct GradCheckReport {
  bool ok = true;
  double max_relative_error = 0;
  double tolerance = 0;
  double step = 0;
  std::vector<GradCheckRow> rows;  // one per variable
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
