#include "graphnn/shape.hpp"

#include <algorithm>

#include "graphnn/error.hpp"

namespace graphnn {

namespace {
template <class Seq>
std::string join_dims(const Seq& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    if constexpr (std::is_signed_v<typename Seq::value_type>) {
      out += s[i] == batch ? std::string("batch") : std::to_string(s[i]);
    } else {
      out += std::to_string(s[i]);
    }
  }
  return out + "]";
}
}  // namespace

std::string to_string(const Shape& s) { return join_dims(s); }
std::string to_string(const Dims& d) { return join_dims(d); }

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    // align from the right, missing dimensions act as 1
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      throw Error("shapes " + to_string(a) + " and " + to_string(b) +
                  " do not broadcast (dimension " + std::to_string(i) + ")");
    }
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (std::size_t k = 0; k < from.size(); ++k) {
    const std::int64_t f = from[from.size() - 1 - k], t = to[to.size() - 1 - k];
    if (f != t && f != 1) return false;
  }
  return true;
}

Dims resolve(const Shape& s, std::size_t batch_size) {
  Dims d(s.size());
  for (std::size_t i = 0; i < s.size(); ++i)
    d[i] = s[i] == batch ? batch_size : static_cast<std::size_t>(s[i]);
  return d;
}

std::size_t num_elements(const Dims& d) {
  std::size_t n = 1;
  for (auto x : d) n *= x;
  return n;
}

bool has_batch(const Shape& s) { return std::find(s.begin(), s.end(), batch) != s.end(); }

}  // namespace graphnn
