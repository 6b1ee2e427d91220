#include "graphnn/serialize.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "graphnn/checked_size.hpp"
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

// The whole of a regular file. A directory, a missing file or a read error is
// an Error naming `who` and the path (an ifstream would read a directory as empty).
std::vector<char> read_all(const std::string& path, const std::string& who) {
  const std::string where = who + " '" + path + "'";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(where + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const bool dir = S_ISDIR(st.st_mode);
    ::close(fd);
    throw Error(where + ": " + (dir ? "is a directory" : "is not a regular file") + ", not a file to read");
  }
  std::vector<char> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  for (;;) {
    if (done == bytes.size()) bytes.resize(done + 4096);  // the file may have grown since fstat
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw Error(where + ": cannot read: " + why);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

// "name.tmp<pid>" for a save of `path` by this process.
std::string temporary_for(const std::string& path) { return path + ".tmp" + std::to_string(::getpid()); }

// The pid in `entry` when it is `base` + ".tmp" + digits; 0 otherwise.
pid_t temporary_owner(const std::string& entry, const std::string& base) {
  const std::string prefix = base + ".tmp";
  if (entry.size() <= prefix.size() || entry.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string digits = entry.substr(prefix.size());
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<pid_t>(std::stol(digits));
}

// Removes the temporaries of `path` whose saving process is gone (killed
// mid-save: nothing else removes them). A live owner's file is left alone.
void remove_stale_temporaries(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // the open or save that follows reports the folder's problem
  while (const dirent* e = ::readdir(d)) {
    const pid_t owner = temporary_owner(e->d_name, base);
    if (owner > 0 && owner != ::getpid() && ::kill(owner, 0) != 0 && errno == ESRCH)
      ::unlink((dir + "/" + e->d_name).c_str());
  }
  ::closedir(d);
}

// Writes `bytes` to `path` through a temporary file: write, flush, fsync,
// rename. On every error the temporary is removed and the Error names `who`,
// the target and (where it failed) the temporary.
void write_atomically(const std::string& path, const std::vector<char>& bytes, const std::string& who) {
  const std::string where = who + " '" + path + "'";
  remove_stale_temporaries(path);
  const std::string tmp = temporary_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(where + ": cannot write the temporary file '" + tmp + "': " + std::strerror(errno));
  auto fail = [&](const std::string& step, int code, bool open) {
    if (open) ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(where + ": cannot " + step + " the temporary file '" + tmp + "': " + std::strerror(code));
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write", n < 0 ? errno : ENOSPC, true);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("flush", errno, true);
  if (::close(fd) != 0) fail("close", errno, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(where + ": cannot replace it with the temporary file '" + tmp + "': " + why);
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

// What a .npy header (a Python dict literal) says.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  Dims shape;
};

// NumPy's own limit on the number of dimensions (NPY_MAXDIMS before 2.0).
constexpr std::size_t kMaxNpyRank = 32;

// Reads the dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
// field by field: exactly these three keys, each once, then only spaces and the
// newline. A search for substrings would accept '<f8' anywhere, even inside another value.
class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& text, const std::string& what) : s_(text), what_(what) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen[3] = {false, false, false};
    expect('{');
    while (!peek('}')) {
      const std::string key = quoted();
      expect(':');
      const int index = key == "descr" ? 0 : key == "fortran_order" ? 1 : key == "shape" ? 2 : -1;
      if (index < 0) fail("unknown key '" + key + "' (expected descr, fortran_order and shape)");
      if (seen[index]) fail("key '" + key + "' appears twice");
      seen[index] = true;
      if (index == 0) h.descr = quoted();
      if (index == 1) h.fortran_order = boolean();
      if (index == 2) h.shape = tuple();
      if (!peek('}')) expect(',');
    }
    expect('}');
    skip_space();
    if (i_ != s_.size()) fail("unexpected text after the dict at byte " + std::to_string(i_));
    for (int k = 0; k < 3; ++k)
      if (!seen[k]) fail(std::string("missing key '") + (k == 0 ? "descr" : k == 1 ? "fortran_order" : "shape") + "'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw Error(what_ + ": bad header: " + why); }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
  }
  bool peek(char c) {
    skip_space();
    return i_ < s_.size() && s_[i_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(std::string("expected '") + c + "' at byte " + std::to_string(i_));
    ++i_;
  }
  std::string quoted() {
    skip_space();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a quoted string at byte " + std::to_string(i_));
    const char q = s_[i_++];
    const std::size_t end = s_.find(q, i_);
    if (end == std::string::npos) fail("unterminated string at byte " + std::to_string(i_));
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (const char* word : {"True", "False"})
      if (s_.compare(i_, std::strlen(word), word) == 0) {
        i_ += std::strlen(word);
        return word[0] == 'T';
      }
    fail("fortran_order is not True or False at byte " + std::to_string(i_));
  }
  Dims tuple() {
    expect('(');
    Dims dims;
    while (!peek(')')) {
      const std::size_t start = i_;
      while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != ')' && s_[i_] != ' ') ++i_;
      if (dims.size() == kMaxNpyRank) fail("shape has more than " + std::to_string(kMaxNpyRank) + " dimensions");
      dims.push_back(parse_size(s_.substr(start, i_ - start), max_object_bytes(),
                                what_ + ": header 'shape' dimension " + std::to_string(dims.size())));
      if (!peek(')')) expect(',');
    }
    expect(')');
    return dims;
  }

  const std::string& s_;
  const std::string& what_;
  std::size_t i_ = 0;
};

NpyHeader parse_npy_header(const std::string& text, const std::string& what) { return NpyHeaderParser(text, what).parse(); }

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
  need(n, "value");
  if (n == 0) return;  // an empty tensor's data() may be null, which memcpy must not get
  std::memcpy(out, p_, n);
  p_ += n;
}
void ByteReader::need(std::size_t n, const std::string& field) const {
  if (remaining() < n)
    throw Error(what_ + ": data ends early (truncated): " + field + " needs " + std::to_string(n) + " bytes, " +
                std::to_string(remaining()) + " left");
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
std::string ByteReader::str(const std::string& field) {
  const std::uint32_t n = u32();
  need(n, field);
  std::string s(p_, n);
  p_ += n;
  return s;
}
std::size_t ByteReader::count(std::size_t min_bytes_each, const std::string& field) {
  const std::uint32_t n = u32();
  if (min_bytes_each > 0 && n > remaining() / min_bytes_each)
    throw Error(what_ + ": " + field + " count " + std::to_string(n) + " needs at least " + std::to_string(min_bytes_each) +
                " bytes each, only " + std::to_string(remaining()) + " bytes left (corrupted)");
  return n;
}
template <class T>
xt::xarray<T> ByteReader::tensor(const std::string& field) {
  const std::uint32_t rank = u32();
  if (rank > kMaxTensorRank)
    throw Error(what_ + ": " + field + " has rank " + std::to_string(rank) + ", more than " +
                std::to_string(kMaxTensorRank) + " (corrupted)");
  std::vector<std::size_t> shape(rank);
  for (auto& d : shape) d = u64();
  const std::size_t n = checked_product(shape, sizeof(T), what_ + ": " + field);
  need(n * sizeof(T), field + " of shape " + to_string(shape));
  xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
  raw(a.data(), n * sizeof(T));
  return a;
}

void write_model_file(const std::string& path, std::uint32_t dtype_size, const std::vector<char>& payload) {
  write_atomically(path, encode_model_file(dtype_size, payload), "save");
}

std::vector<char> encode_model_file(std::uint32_t dtype_size, const std::vector<char>& payload) {
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
  return bytes;
}

std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size) {
  std::uint32_t version = 0;
  return read_model_file(path, dtype_size, version);
}

std::vector<char> read_model_file(const std::string& path, std::uint32_t dtype_size, std::uint32_t& version) {
  remove_stale_temporaries(path);
  const std::vector<char> bytes = read_all(path, "load");
  return parse_model_file(bytes, dtype_size, "load '" + path + "'", version);
}

std::vector<char> parse_model_file(const std::vector<char>& bytes, std::uint32_t dtype_size, const std::string& what) {
  std::uint32_t version = 0;
  return parse_model_file(bytes, dtype_size, what, version);
}

std::vector<char> parse_model_file(const std::vector<char>& bytes, std::uint32_t dtype_size, const std::string& what,
                                   std::uint32_t& version) {
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
  // Compared without adding to `length`, which a corrupted file sets near 2^64.
  const std::size_t after_header = bytes.size() - kHeaderBytes;
  if (after_header < 8 || length != after_header - 8)
    throw Error(what + ": file is truncated or has trailing data (the length field says " + std::to_string(length) +
                " payload bytes; the file holds " + std::to_string(after_header < 8 ? 0 : after_header - 8) +
                " bytes between the header and the 8-byte checksum)");
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
  write_atomically(path, bytes, "save_npy");
}

template <class T>
xt::xarray<T> load_npy(const std::string& path) {
  return parse_npy<T>(read_all(path, "load_npy"), "load_npy '" + path + "'");
}

template <class T>
xt::xarray<T> parse_npy(const std::vector<char>& bytes, const std::string& what) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) throw Error(what + ": not a .npy file");
  if (bytes[6] != 1 || bytes[7] != 0) throw Error(what + ": only .npy format version 1.0 is read");
  const std::size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  if (bytes.size() < 10 + hlen) throw Error(what + ": file is truncated (header incomplete)");
  const NpyHeader h = parse_npy_header(std::string(bytes.data() + 10, hlen), what);
  if (h.descr != npy_descr<T>())
    throw Error(what + ": element type is not " + npy_descr<T>() + " (" +
                (std::is_same_v<T, float> ? "float32" : "float64") + "): the header's 'descr' is '" + h.descr + "'");
  if (h.fortran_order) throw Error(what + ": Fortran order is not supported");
  const std::size_t n = checked_product(h.shape, sizeof(T), what + ": header 'shape'");
  const std::size_t data_bytes = bytes.size() - 10 - hlen;
  if (data_bytes != n * sizeof(T))
    throw Error(what + ": " + (data_bytes < n * sizeof(T) ? "file is truncated" : "trailing data") + ": shape " +
                to_string(h.shape) + " needs " + std::to_string(n * sizeof(T)) + " data bytes, the file holds " +
                std::to_string(data_bytes));
  xt::xarray<T> a = xt::xarray<T>::from_shape(h.shape);
  if (n > 0) std::memcpy(a.data(), bytes.data() + 10 + hlen, n * sizeof(T));
  return a;
}

template void ByteWriter::tensor<float>(const xt::xarray<float>&);
template void ByteWriter::tensor<double>(const xt::xarray<double>&);
template xt::xarray<float> ByteReader::tensor<float>(const std::string&);
template xt::xarray<double> ByteReader::tensor<double>(const std::string&);
template xt::xarray<float> parse_npy<float>(const std::vector<char>&, const std::string&);
template xt::xarray<double> parse_npy<double>(const std::vector<char>&, const std::string&);
template void save_npy<float>(const std::string&, const xt::xarray<float>&);
template void save_npy<double>(const std::string&, const xt::xarray<double>&);
template xt::xarray<float> load_npy<float>(const std::string&);
template xt::xarray<double> load_npy<double>(const std::string&);

}  // namespace graphnn
