// Checked size arithmetic (see graphnn/checked_size.hpp for why).
#include "graphnn/checked_size.hpp"

#include <algorithm>

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdint>

#include "graphnn/error.hpp"

namespace graphnn {

namespace {

// True when the product of the non-zero entries times element_bytes stays within `limit`.
template <class Seq>
bool fits(const Seq& dims, std::size_t element_bytes, std::size_t limit) {
  std::size_t bytes = element_bytes == 0 ? 1 : element_bytes;
  for (auto d : dims) {
    const auto n = static_cast<std::size_t>(d);
    if (n == 0) continue;
    if (bytes > limit / n) return false;
    bytes *= n;
  }
  return true;
}

std::string too_large(const std::string& shape, std::size_t element_bytes, const std::string& what) {
  return what + ": shape " + shape + " of " + std::to_string(element_bytes) + "-byte elements exceeds " +
         std::to_string(max_object_bytes()) + " bytes (the size overflows)";
}

}  // namespace

std::size_t max_object_bytes() { return static_cast<std::size_t>(PTRDIFF_MAX); }

std::size_t checked_product(const Dims& dims, std::size_t element_bytes, const std::string& what) {
  if (!fits(dims, element_bytes, max_object_bytes())) throw Error(too_large(to_string(dims), element_bytes, what));
  return num_elements(dims);
}

std::size_t checked_product(const Shape& shape, std::size_t element_bytes, const std::string& what) {
  Dims fixed;
  for (auto d : shape) {
    if (d < 0 && d != batch) throw Error(what + ": negative dimension " + std::to_string(d) + " in " + to_string(shape));
    fixed.push_back(d == batch ? 1 : static_cast<std::size_t>(d));
  }
  if (!fits(fixed, element_bytes, max_object_bytes())) throw Error(too_large(to_string(shape), element_bytes, what));
  return num_elements(fixed);
}

void check_allocatable(std::size_t bytes, const std::string& what) {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return;  // unknown: let the allocation decide
  const std::size_t memory = static_cast<std::size_t>(pages) * static_cast<std::size_t>(page);
  if (bytes > memory)
    throw Error(what + ": needs " + std::to_string(bytes) + " bytes, more than this machine's " + std::to_string(memory) +
                " bytes of memory");
}

std::size_t parse_size(const std::string& text, std::size_t limit, const std::string& what) {
  std::size_t v = 0;
  const char* end = text.data() + text.size();
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (!digits || ec != std::errc() || ptr != end || v > limit)
    throw Error(what + ": '" + text + "' is not a size (expected decimal digits, at most " + std::to_string(limit) + ")");
  return v;
}

std::vector<std::size_t> parse_size_list(const std::string& text, char separator, std::size_t limit,
                                         const std::string& what) {
  std::vector<std::size_t> sizes;
  if (text.empty()) return sizes;
  for (std::size_t at = 0;;) {
    const std::size_t end = std::min(text.find(separator, at), text.size());
    sizes.push_back(parse_size(text.substr(at, end - at), limit, what));
    if (end == text.size()) return sizes;
    at = end + 1;
  }
}

double parse_finite(const std::string& text, const std::string& what) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v))
    throw Error(what + ": '" + text + "' is not a finite number");
  return v;
}

}  // namespace graphnn
