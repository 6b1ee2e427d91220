#include "fit_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <type_traits>

#include "graphnn/error.hpp"
#include "graphnn/shape.hpp"

namespace graphnn::fit_data {

namespace {
template <class T>
std::string dims_text(const xt::xarray<T>& a) {
  return to_string(Dims(a.shape().begin(), a.shape().end()));
}
}  // namespace

template <class T>
void check_shapes(const xt::xarray<T>& data, const xt::xarray<T>* labels, const std::string& what) {
  if (data.dimension() != 2) throw Error(what + ": inputs must be 2-D [rows, features], got " + dims_text(data));
  if (data.shape()[0] == 0) throw Error(what + ": no rows");
  if (!labels) return;
  if (labels->dimension() != 2) throw Error(what + ": labels must be 2-D [rows, outputs], got " + dims_text(*labels));
  if (labels->shape()[0] != data.shape()[0])
    throw Error(what + ": " + std::to_string(data.shape()[0]) + " input rows but " + std::to_string(labels->shape()[0]) +
                " label rows");
}

// One pass: blocks are tested with integer operations on the exponent bits
// (all ones for NaN and infinities), which vectorise; only a block that has
// one is searched element by element.
template <class T>
void check_finite(const xt::xarray<T>& a, const std::string& what, const char* name) {
  using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  constexpr Bits exponent = sizeof(T) == 8 ? Bits(0x7ff0000000000000ull) : Bits(0x7f800000u);
  constexpr std::size_t block = 1024;
  const T* p = a.data();
  const std::size_t n = a.size();
  for (std::size_t b = 0; b < n; b += block) {
    const std::size_t m = std::min(block, n - b);
    Bits bad = 0;
    for (std::size_t i = 0; i < m; ++i) {
      Bits bits;
      std::memcpy(&bits, p + b + i, sizeof bits);
      bad |= Bits((bits & exponent) == exponent);
    }
    if (!bad) continue;
    for (std::size_t i = b; i < b + m; ++i) {
      if (std::isfinite(p[i])) continue;
      const std::size_t cols = a.shape()[1];
      throw Error(what + ": " + name + " has a non-finite value (" + value_text(static_cast<double>(p[i])) +
                  ") at row " + std::to_string(i / cols) + ", column " + std::to_string(i % cols));
    }
  }
}

template <class T>
void check_class_ids(const xt::xarray<T>& labels, std::size_t classes, const std::string& what, const char* name) {
  const T* p = labels.data();
  for (std::size_t row = 0; row < labels.size(); ++row) {
    const T id = p[row];
    if (id >= T(0) && id < static_cast<T>(classes) && id == std::floor(id)) continue;
    throw Error(what + ": " + name + " has class id " + value_text(static_cast<double>(id)) + " at row " +
                std::to_string(row) + ", which is not an integer in [0, " + std::to_string(classes) + ") (the model has " +
                std::to_string(classes) + " outputs)");
  }
}

template <class T>
const xt::xarray<T>& rows(const xt::xarray<T>& a, std::size_t begin, std::size_t end, xt::xarray<T>& part) {
  if (begin == 0 && end == a.shape()[0]) return a;
  const std::size_t width = a.shape()[1];
  part = xt::xarray<T>::from_shape({end - begin, width});
  std::copy(a.data() + begin * width, a.data() + end * width, part.data());
  return part;
}

std::string value_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::setprecision(6) << v;
  return os.str();
}

#define INSTANTIATE(T)                                                                                    \
  template void check_shapes<T>(const xt::xarray<T>&, const xt::xarray<T>*, const std::string&);         \
  template void check_finite<T>(const xt::xarray<T>&, const std::string&, const char*);                  \
  template void check_class_ids<T>(const xt::xarray<T>&, std::size_t, const std::string&, const char*);  \
  template const xt::xarray<T>& rows<T>(const xt::xarray<T>&, std::size_t, std::size_t, xt::xarray<T>&);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn::fit_data
