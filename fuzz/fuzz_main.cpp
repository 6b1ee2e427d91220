// The libFuzzer entry point, compiled once per harness with
// -DGRAPHNN_FUZZ_HARNESS=<name> (fuzz/meson.build): fuzz_model_file, ...
#include "harness.hpp"

#ifndef GRAPHNN_FUZZ_HARNESS
#error "compile with -DGRAPHNN_FUZZ_HARNESS=<harness name>"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  graphnn::fuzz::GRAPHNN_FUZZ_HARNESS(data, size);
  return 0;
}
