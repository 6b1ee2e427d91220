// Every seed in fuzz/corpus/<harness>/ and every past crash input in
// fuzz/crashes/<harness>/ through its harness, as an ordinary test under any
// compiler: a crash, a leak (under ASan) or an exception other than
// graphnn::Error fails it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <graphnn/graphnn.hpp>

#include "harness.hpp"

namespace fs = std::filesystem;

namespace {

// Runs each file under dir/<harness>/ through the harness; returns how many.
std::size_t replay(const fs::path& dir, const std::string& harness) {
  const fs::path folder = dir / harness;
  if (!fs::is_directory(folder)) return 0;
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    INFO("input: " << entry.path().string());
    CHECK_NOTHROW(graphnn::fuzz::harness_named(harness)(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                                        bytes.size()));
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("every seed of every harness runs through it") {
  for (const auto& name : graphnn::fuzz::harness_names()) {
    INFO("harness " << name);
    CHECK(replay(fs::path(GRAPHNN_FUZZ_DIR) / "corpus", name) >= 3);
  }
}

TEST_CASE("every past crash input runs through its harness") {
  std::size_t total = 0;
  for (const auto& name : graphnn::fuzz::harness_names()) total += replay(fs::path(GRAPHNN_FUZZ_DIR) / "crashes", name);
  MESSAGE(total << " past crash inputs replayed");
  CHECK(total >= 1);
}

TEST_CASE("the seeds are valid inputs, so fuzzing starts from the loaders' accepting paths") {
  const fs::path corpus = fs::path(GRAPHNN_FUZZ_DIR) / "corpus";
  for (const auto& e : fs::directory_iterator(corpus / "model_file")) {
    INFO(e.path().string());
    CHECK_FALSE(graphnn::Sequential<double>::load(e.path().string()).parameters().empty());
  }
  for (const auto& e : fs::directory_iterator(corpus / "npy")) {
    INFO(e.path().string());
    const bool f4 = e.path().string().find("_f4") != std::string::npos;
    CHECK_NOTHROW(f4 ? (void)graphnn::load_npy<float>(e.path().string()) : (void)graphnn::load_npy<double>(e.path().string()));
  }
  for (const auto& e : fs::directory_iterator(corpus / "idx")) {
    INFO(e.path().string());
    CHECK(graphnn::load_idx<double>(e.path().string()).size() > 0);
  }
}
