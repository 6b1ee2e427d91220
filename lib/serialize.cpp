#include "graphnn/serialize.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "graphnn/error.hpp"
#include "graphnn/shape.hpp"

namespace graphnn {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the file formats are written little-endian as in memory");

namespace {

constexpr char kMagic[8] = {'G', 'R', 'A', 'P', 'H', 'N', 'N', '\x1a'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8;

std::uint64_t fnv1a(const char* p, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "': " + std::strerror(errno));
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Writes `bytes` to `path` through a temporary file: write, flush, fsync, rename.
void write_atomically(const std::string& path, const std::vector<char>& bytes) {
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error("cannot write '" + tmp + "': " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error("cannot flush '" + tmp + "': " + why);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error("cannot replace '" + path + "': " + why);
  }
  // make the rename itself durable
  const std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

template <class T>
constexpr const char* npy_descr() {
  return std::is_same_v<T, float> ? "<f4" : "<f8";
}

}  // namespace

void ByteWriter::raw(const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  bytes_.insert(bytes_.end(), c, c + n);
}
void ByteWriter::u32(std::uint32_t v) { raw(&v, sizeof v); }
void ByteWriter::u64(std::uint64_t v) { raw(&v, sizeof v); }
void ByteWriter::f64(double v) { raw(&v, sizeof v); }
void ByteWriter::str(const std::string& s) {
  u32(static_cast<std::uint32_t>(s.size()));
  raw(s.data(), s.size());
}
template <class T>
void ByteWriter::tensor(const xt::xarray<T>& a) {
  u32(static_cast<std::uint32_t>(a.dimension()));
  for (auto d : a.shape()) u64(d);
  raw(a.data(), a.size() * sizeof(T));
}

void ByteReader::raw(void* out, std::size_t n) {
  if (static_cast<std::size_t>(end_ - p_) < n) throw Error(what_ + ": data ends early (truncated)");
  if (n == 0) return;  // an empty tensor's data() may be null, which memcpy must not get
  std::memcpy(out, p_, n);
  p_ += n;
}
std::uint32_t ByteReader::u32() {
  std::uint32_t v;
  raw(&v, sizeof v);
  return v;
}
std::uint64_t ByteReader::u64() {
  std::uint64_t v;
  raw(&v, sizeof v);
  return v;
}
double ByteReader::f64() {
  double v;
  raw(&v, sizeof v);
  return v;
}
std::string ByteReader::str() {
  const std::uint32_t n = u32();
  if (static_cast<std::size_t>(end_ - p_) < n) throw Error(what_ + ": data ends early (truncated)");
  std::string s(p_, n);
  p_ += n;
  return s;
}
template <class T>
xt::xarray<T> ByteReader::tensor() {
  const std::uint32_t rank = u32();
  if (rank > 8) throw Error(what_ + ": tensor of rank " + std::to_string(rank) + " (corrupted)");
  std::vector<std::size_t> shape(rank);
  std::size_t n = 1;
  for (auto& d : shape) {
    d = u64();
    n *= d;
  }
  if (n * sizeof(T) > static_cast<std::size_t>(end_ - p_)) throw Error(what_ + ": data ends early (truncated)");
  xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
  raw(a.data(), n * sizeof(T));
  return a;
}

void write_model_file(const std::string& path, std::uint32_t dtype_size, const std::vector<char>& payload) {
  ByteWriter w;
  std::vector<char> bytes(kMagic, kMagic + 8);
  w.u32(kModelFormatVersion);
  w.u32(dtype_size);
  w.u64(payload.size());
  bytes.insert(bytes.end(), w.bytes().begin(), w.bytes().end());
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  ByteWriter tail;
  tail.u64(fnv1a(payload.data(), payload.size()));
  bytes.insert(bytes.end(), tail.bytes().begin(), tail.bytes().end());
  write_atomically(path, bytes);
}

std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size) {
  std::uint32_t version = 0;
  return read_model_file(path, dtype_size, version);
}

std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size, std::uint32_t& version) {
  const std::vector<char> bytes = read_all(path);
  const std::string what = "load '" + path + "'";
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kMagic, 8) != 0)
    throw Error(what + ": not a graphnn model file (bad magic)");
  if (bytes.size() < kHeaderBytes) throw Error(what + ": file is truncated (header incomplete)");
  ByteReader header(bytes.data() + 8, kHeaderBytes - 8, what);
  version = header.u32();
  const std::uint32_t dtype = header.u32();
  const std::uint64_t length = header.u64();
  if (version < kOldestModelFormatVersion || version > kModelFormatVersion)
    throw Error(what + ": unsupported format version " + std::to_string(version) + " (this graphnn reads versions " +
                std::to_string(kOldestModelFormatVersion) + " to " + std::to_string(kModelFormatVersion) + ")");
  if (dtype != 4 && dtype != 8) throw Error(what + ": unknown element size " + std::to_string(dtype) + " (corrupted)");
  if (dtype != dtype_size)
    throw Error(what + ": the model holds " + (dtype == 4 ? "float32" : "float64") + " weights; load it as Sequential<" +
                (dtype == 4 ? "float" : "double") + ">");
  if (bytes.size() != kHeaderBytes + length + 8)
    throw Error(what + ": file is truncated or has trailing data (expected " + std::to_string(kHeaderBytes + length + 8) +
                " bytes, found " + std::to_string(bytes.size()) + ")");
  const char* payload = bytes.data() + kHeaderBytes;
  ByteReader tail(payload + length, 8, what);
  if (tail.u64() != fnv1a(payload, length)) throw Error(what + ": file is corrupted (checksum mismatch)");
  return std::vector<char>(payload, payload + length);
}

template <class T>
void save_npy(const std::string& path, const xt::xarray<T>& array) {
  std::string shape = "(";
  for (auto d : array.shape()) shape += std::to_string(d) + ",";
  if (array.dimension() > 1) shape.pop_back();
  shape += ")";
  std::string header = std::string("{'descr': '") + npy_descr<T>() + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');  // magic + version + length + header + \n is 64-aligned
  header += '\n';
  std::vector<char> bytes = {'\x93', 'N', 'U', 'M', 'P', 'Y', '\x01', '\x00'};
  const auto len = static_cast<std::uint16_t>(header.size());
  bytes.push_back(static_cast<char>(len & 0xff));
  bytes.push_back(static_cast<char>(len >> 8));
  bytes.insert(bytes.end(), header.begin(), header.end());
  const char* data = reinterpret_cast<const char*>(array.data());
  bytes.insert(bytes.end(), data, data + array.size() * sizeof(T));
  write_atomically(path, bytes);
}

template <class T>
xt::xarray<T> load_npy(const std::string& path) {
  const std::vector<char> bytes = read_all(path);
  const std::string what = "load_npy '" + path + "'";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) throw Error(what + ": not a .npy file");
  if (bytes[6] != 1) throw Error(what + ": only .npy format version 1.0 is read");
  const std::size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  if (bytes.size() < 10 + hlen) throw Error(what + ": file is truncated (header incomplete)");
  const std::string header(bytes.data() + 10, hlen);
  if (header.find(std::string("'descr': '") + npy_descr<T>() + "'") == std::string::npos)
    throw Error(what + ": element type is not " + npy_descr<T>() + " (header " + header + ")");
  if (header.find("'fortran_order': False") == std::string::npos) throw Error(what + ": Fortran order is not supported");
  const auto open = header.find("'shape': (");
  if (open == std::string::npos) throw Error(what + ": header has no shape");
  std::vector<std::size_t> shape;
  std::istringstream dims(header.substr(open + 10, header.find(')', open) - open - 10));
  for (std::string item; std::getline(dims, item, ',');)
    if (item.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoul(item));
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  if (bytes.size() != 10 + hlen + n * sizeof(T))
    throw Error(what + ": file is truncated (expected " + std::to_string(n) + " values)");
  xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
  if (n > 0) std::memcpy(a.data(), bytes.data() + 10 + hlen, n * sizeof(T));
  return a;
}

template void ByteWriter::tensor<float>(const xt::xarray<float>&);
template void ByteWriter::tensor<double>(const xt::xarray<double>&);
template xt::xarray<float> ByteReader::tensor<float>();
template xt::xarray<double> ByteReader::tensor<double>();
template void save_npy<float>(const std::string&, const xt::xarray<float>&);
template void save_npy<double>(const std::string&, const xt::xarray<double>&);
template xt::xarray<float> load_npy<float>(const std::string&);
template xt::xarray<double> load_npy<double>(const std::string&);

}  // namespace graphnn
