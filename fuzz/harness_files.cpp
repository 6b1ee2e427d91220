// The harnesses of the file loaders that need no engine: .npy, CSV, IDX.
#include "graphnn/data.hpp"
#include "graphnn/serialize.hpp"
#include "harness.hpp"
#include "harness_kit.hpp"

namespace graphnn::fuzz {

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

}  // namespace graphnn::fuzz
