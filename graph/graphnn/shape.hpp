#pragma once
// Static shapes. A dimension equal to `batch` is the leading dimension fixed
// only when the graph is fed; every other dimension is known when a node is made.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace graphnn {

using Shape = std::vector<std::int64_t>;   // static: may contain `batch`
using Dims = std::vector<std::size_t>;     // concrete: known at run time

inline constexpr std::int64_t batch = -1;

// "[batch, 2]", "[]" for a scalar.
std::string to_string(const Shape& s);
std::string to_string(const Dims& d);

// numpy broadcasting of two static shapes; throws graphnn::Error on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// True when `from` broadcasts (numpy rules) to exactly `to`.
bool broadcasts_to(const Shape& from, const Shape& to);

// `s` with every `batch` replaced by `batch_size`.
Dims resolve(const Shape& s, std::size_t batch_size);

std::size_t num_elements(const Dims& d);
bool has_batch(const Shape& s);

}  // namespace graphnn
