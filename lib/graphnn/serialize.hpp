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
// Saving is atomic: a temporary file "<name>.tmp<pid>" in the same folder is
// written, flushed, fsync'ed and renamed over the target, so a crash never
// leaves a damaged file. A save that fails removes its temporary; the next save
// or load of a target removes the temporaries of processes that no longer run
// (a save killed midway).
//
// Every count and size read from a file is checked before it is used: against
// overflow (graphnn/checked_size.hpp) and against the bytes actually left.
// Sections added to the format read through ByteReader, which does both.
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

// The largest tensor rank a model file holds (the ops' limit).
inline constexpr std::uint32_t kMaxTensorRank = 8;

// Reads what ByteWriter wrote, never past the end: running out throws
// Error("<what>: data ends early (truncated): <field> needs N bytes, M left").
// `field` names what is being read in such errors.
class ByteReader {
 public:
  ByteReader(const char* data, std::size_t size, std::string what) : p_(data), end_(data + size), what_(std::move(what)) {}
  std::uint32_t u32();
  std::uint64_t u64();
  double f64();
  std::string str(const std::string& field = "string");
  // A u32 count of items that follow, each at least `min_bytes_each` long:
  // larger than the bytes left can hold is an Error before any loop runs.
  std::size_t count(std::size_t min_bytes_each, const std::string& field);
  // Rank (at most kMaxTensorRank), u64 dimensions (checked_product), data.
  template <class T>
  xt::xarray<T> tensor(const std::string& field = "tensor");
  bool done() const { return p_ == end_; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

 private:
  void raw(void* out, std::size_t n);
  void need(std::size_t n, const std::string& field) const;
  const char* p_;
  const char* end_;
  std::string what_;
};

// Writes `payload` into a model container at `path`, atomically.
void write_model_file(const std::string& path, std::uint32_t dtype_size, const std::vector<char>& payload);
// The bytes write_model_file writes: header, payload, checksum.
std::vector<char> encode_model_file(std::uint32_t dtype_size, const std::vector<char>& payload);
// Reads and validates a model container; returns the payload. Throws Error for a
// missing, truncated, corrupted, wrong-version, wrong-dtype or non-model file.
std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size);
// The same checks on a model file's bytes in memory; `what` starts its errors.
std::vector<char> parse_model_file(const std::vector<char>& bytes, std::uint32_t dtype_size, const std::string& what);
// Both, and the file's format version in `version`.
std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size, std::uint32_t& version);
std::vector<char> parse_model_file(const std::vector<char>& bytes, std::uint32_t dtype_size, const std::string& what,
                                   std::uint32_t& version);

// NumPy .npy (format 1.0, C order, little-endian '<f4' / '<f8').
template <class T>
void save_npy(const std::string& path, const xt::xarray<T>& array);
// Reads '<f4' (float) or '<f8' (double) only, C order; the header is parsed as
// the dict it is, and its shape is checked against the data bytes present.
template <class T>
xt::xarray<T> load_npy(const std::string& path);
// The same on a .npy file's bytes in memory; `what` starts its errors.
template <class T>
xt::xarray<T> parse_npy(const std::vector<char>& bytes, const std::string& what);

}  // namespace graphnn
