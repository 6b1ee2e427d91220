// The fuzz harnesses (see harness.hpp).
#include "harness.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <stdexcept>

#include <graphnn/graphnn.hpp>

namespace graphnn::fuzz {

namespace {

// The bytes as a file the loaders open by path: an anonymous in-memory file
// (memfd) named through /proc/self/fd, so no disk write per input.
class MemoryFile {
 public:
  MemoryFile(const void* data, std::size_t size) : fd_(::memfd_create("graphnn_fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("memfd_create failed");
    const char* p = static_cast<const char*>(data);
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd_, p + done, size - done);
      if (n <= 0) throw std::runtime_error("memfd write failed");
      done += static_cast<std::size_t>(n);
    }
  }
  ~MemoryFile() { ::close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// Reads every value, so an array that claims more than it stores is caught.
template <class A>
double touch(const A& a) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::isfinite(double(a.data()[i])) ? 0.0 : 1.0;
  return sum;
}

void load_model(const std::string& path) {
  Sequential<double> m = Sequential<double>::load(path);
  double sum = 0;
  for (const auto& p : m.parameters()) sum += touch(m.session().value(p));
  (void)sum;
}

template <class F>
void expect_only_graphnn_errors(F&& f) {
  try {
    f();
  } catch (const Error&) {
    // the documented answer to bad input
  }
}

}  // namespace

void model_file(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  expect_only_graphnn_errors([&] { load_model(file.path()); });
}

void model_payload(const std::uint8_t* data, std::size_t size) {
  const std::vector<char> payload(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + size);
  const std::vector<char> bytes = encode_model_file(sizeof(double), payload);
  const MemoryFile file(bytes.data(), bytes.size());
  expect_only_graphnn_errors([&] { load_model(file.path()); });
}

void npy(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  expect_only_graphnn_errors([&] { touch(load_npy<double>(file.path())); });
  expect_only_graphnn_errors([&] { touch(load_npy<float>(file.path())); });
}

void csv(const std::uint8_t* data, std::size_t size) {
  // The first byte picks the options, the rest is the file.
  CsvOptions options;
  if (size > 0) {
    options.header = data[0] & 1;
    options.delimiter = (data[0] & 2) ? ';' : ',';
    if (data[0] & 4) options.label_columns = {};
    if (data[0] & 8) options.label_columns = {0, -1};
    ++data;
    --size;
  }
  const MemoryFile file(data, size);
  expect_only_graphnn_errors([&] {
    const Dataset<double> d = load_csv<double>(file.path(), options);
    touch(d.x);
    touch(d.y);
  });
}

void idx(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  expect_only_graphnn_errors([&] { touch(load_idx<double>(file.path())); });
  expect_only_graphnn_errors([&] {
    const Dataset<float> d = load_idx_pair<float>(file.path(), file.path());
    touch(d.x);
    touch(d.y);
  });
}

const std::vector<std::string>& harness_names() {
  static const std::vector<std::string> names = {"model_file", "model_payload", "npy", "csv", "idx"};
  return names;
}

Harness harness_named(const std::string& name) {
  if (name == "model_file") return model_file;
  if (name == "model_payload") return model_payload;
  if (name == "npy") return npy;
  if (name == "csv") return csv;
  if (name == "idx") return idx;
  throw std::invalid_argument("no fuzz harness named '" + name + "'");
}

}  // namespace graphnn::fuzz
