#pragma once
// Sizes formed from dimensions that come from outside: file headers, model
// payloads, user shapes. Multiplying such dimensions unchecked wraps: a file
// then claims 2^64 + 1 elements and stores 1, and xtensor's stride arithmetic
// overflows before any data is read. Every loader and op builder that
// multiplies dimensions goes through these functions, so the limits and the
// wording of their errors live in one place.
#include <cstddef>
#include <string>
#include <vector>

#include "graphnn/shape.hpp"

namespace graphnn {

// The largest object graphnn builds, in bytes: PTRDIFF_MAX, past which pointer
// differences (and xtensor's signed strides) overflow.
std::size_t max_object_bytes();

// The element count of `dims`. Throws Error("<what>: shape [..] ...") when the
// product of the non-zero dimensions times `element_bytes` exceeds
// max_object_bytes(); zero dimensions do not excuse the others, because
// strides are still formed from them.
std::size_t checked_product(const Dims& dims, std::size_t element_bytes, const std::string& what);

// The same for a static shape: `batch` counts as 1; any other negative
// dimension is an Error.
std::size_t checked_product(const Shape& shape, std::size_t element_bytes, const std::string& what);

// Throws Error("<what>: needs N bytes, more than this machine's M bytes of
// memory") for an allocation that cannot succeed, instead of std::bad_alloc
// later.
void check_allocatable(std::size_t bytes, const std::string& what);

// The value of a decimal size written by graphnn (a layer setting, a .npy
// dimension): digits only, no sign, no spaces, at most `limit`. Throws
// Error("<what>: '<text>' is not a size ...") otherwise; std::stoul would
// accept "-1" (as 2^64 - 1), " 7" and "7x".
std::size_t parse_size(const std::string& text, std::size_t limit, const std::string& what);
// The sizes of a list such as "4,4,1" (separator ',') or "5x5" (separator
// 'x'), each by parse_size; an empty text is an empty list.
std::vector<std::size_t> parse_size_list(const std::string& text, char separator, std::size_t limit,
                                         const std::string& what);
// The limit for a kernel, stride, dilation, window, padding or filter count
// read from text (a model file's layer settings): far above any real network.
constexpr std::size_t kMaxGeometry = std::size_t(1) << 24;

// A finite decimal number written by graphnn, the whole text; Error otherwise.
double parse_finite(const std::string& text, const std::string& what);

}  // namespace graphnn
