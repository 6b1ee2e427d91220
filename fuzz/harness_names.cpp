// The harnesses by name, for the corpus replay.
#include <stdexcept>

#include "harness.hpp"

namespace graphnn::fuzz {

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
