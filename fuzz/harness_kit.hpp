#pragma once
// What the harnesses share: the fuzz input as a file the loaders open by
// path, a read of every value of a result, and the rule that only
// graphnn::Error may come out.
#include <cmath>
#include <cstddef>
#include <string>

#include "graphnn/error.hpp"

namespace graphnn::fuzz {

// The bytes as an anonymous in-memory file (memfd) named through
// /proc/self/fd: no disk write per input.
class MemoryFile {
 public:
  MemoryFile(const void* data, std::size_t size);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::string path() const;

 private:
  int fd_;
};

// Reads every value, so an array that claims more than it stores is caught (ASan).
template <class A>
double touch(const A& a) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::isfinite(double(a.data()[i])) ? 0.0 : 1.0;
  return sum;
}

// Runs f; a graphnn::Error is the documented answer to bad input, anything else escapes.
template <class F>
void expect_only_graphnn_errors(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace graphnn::fuzz
