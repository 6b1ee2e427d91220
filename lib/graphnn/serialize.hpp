#pragma once
// Files: graphnn's model container and NumPy's .npy.
//
// Model file (little-endian throughout):
//   magic    8 bytes  "GRAPHNN\x1a"
//   version  u32      2 (1: weights only, still read; 2 adds the training state)
//   dtype    u32      4 (float32) or 8 (float64)
//   length   u64      payload bytes
//   payload  ...      architecture and weights (see Sequential::save)
//   checksum u64      FNV-1a 64 of the payload
// Saving is atomic: a temporary file in the same folder is written, flushed,
// fsync'ed and renamed over the target, so a crash never leaves a damaged file.
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace graphnn {

inline constexpr std::uint32_t kModelFormatVersion = 2;
inline constexpr std::uint32_t kOldestModelFormatVersion = 1;

// Appends little-endian values to a byte buffer.
class ByteWriter {
 public:
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void f64(double v);
  void str(const std::string& s);
  template <class T>
  void tensor(const xt::xarray<T>& a);
  const std::vector<char>& bytes() const { return bytes_; }

 private:
  void raw(const void* p, std::size_t n);
  std::vector<char> bytes_;
};

// Reads what ByteWriter wrote; running past the end throws Error("... truncated").
class ByteReader {
 public:
  ByteReader(const char* data, std::size_t size, std::string what) : p_(data), end_(data + size), what_(std::move(what)) {}
  std::uint32_t u32();
  std::uint64_t u64();
  double f64();
  std::string str();
  template <class T>
  xt::xarray<T> tensor();
  bool done() const { return p_ == end_; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

 private:
  void raw(void* out, std::size_t n);
  const char* p_;
  const char* end_;
  std::string what_;
};

// Writes `payload` into a model container at `path`, atomically.
void write_model_file(const std::string& path, std::uint32_t dtype_size, const std::vector<char>& payload);
// Reads and validates a model container; returns the payload. Throws Error for a
// missing, truncated, corrupted, wrong-version, wrong-dtype or non-model file.
std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size);
// The same, and the file's format version in `version`.
std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size, std::uint32_t& version);

// NumPy .npy (format 1.0, C order, little-endian '<f4' / '<f8').
template <class T>
void save_npy(const std::string& path, const xt::xarray<T>& array);
template <class T>
xt::xarray<T> load_npy(const std::string& path);

}  // namespace graphnn
