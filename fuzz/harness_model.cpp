// The harnesses of the model file: Sequential<double>::load on the bytes as
// they are, and on the bytes as a payload behind a valid header and checksum.
#include <graphnn/graphnn.hpp>

#include "harness.hpp"
#include "harness_kit.hpp"

namespace graphnn::fuzz {

namespace {

void load_model(const std::string& path) {
  Sequential<double> m = Sequential<double>::load(path);
  for (const auto& p : m.parameters()) touch(m.session().value(p));
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

}  // namespace graphnn::fuzz
