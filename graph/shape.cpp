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

namespace {
thread_local BatchBindingScope* innermost_scope = nullptr;

std::string dim_text(std::int64_t d) { return d == batch ? std::string("batch") : std::to_string(d); }
}  // namespace

BatchBindingScope::BatchBindingScope() : outer_(innermost_scope) { innermost_scope = this; }
BatchBindingScope::~BatchBindingScope() { innermost_scope = outer_; }

void BatchBindingScope::bind(std::int64_t size) {
  if (bound_ != batch && bound_ != size)
    throw Error("the batch dimension would have to be both " + std::to_string(bound_) + " and " +
                std::to_string(size));
  bound_ = size;
}

std::int64_t unify_dims(std::int64_t a, std::int64_t b) {
  if (a == b) return a;
  if (a != batch && b != batch) throw Error("sizes " + dim_text(a) + " and " + dim_text(b) + " differ");
  const std::int64_t known = a == batch ? b : a;
  if (innermost_scope) innermost_scope->bind(known);
  return known;
}

Shape unify_shapes(const Shape& a, const Shape& b) {
  if (a.size() != b.size())
    throw Error("shapes " + to_string(a) + " and " + to_string(b) + " differ in rank");
  Shape out(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    try {
      out[i] = unify_dims(a[i], b[i]);
    } catch (const Error& e) {
      throw Error("shapes " + to_string(a) + " and " + to_string(b) + " differ at dimension " + std::to_string(i) +
                  " (" + e.what() + ")");
    }
  }
  return out;
}

bool shapes_unify(const Shape& a, const Shape& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && a[i] != batch && b[i] != batch) return false;
  unify_shapes(a, b);
  return true;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    // align from the right, missing dimensions act as 1
    const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (da == db || da == batch || db == batch) {
      out[i] = unify_dims(da, db);
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
    if (f != t && f != 1 && !(f == batch && t != 1)) return false;
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
