#pragma once
// One function per loader that a fuzzer drives: the bytes are handed to the
// loader as a file, and whatever it returns is read in full (a shape that
// claims more than it stores shows up under ASan). A graphnn::Error is the
// expected answer to bad bytes and is swallowed; anything else (another
// exception, a crash, undefined behaviour, a leak) is a finding.
//
// The libFuzzer programs (fuzz_*.cpp, built with -Dfuzz=true under clang) and
// the ordinary test replay_corpora (any compiler) call the same functions, so
// every corpus file and past crash input is a regression test.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace graphnn::fuzz {

void model_file(const std::uint8_t* data, std::size_t size);     // Sequential<double>::load
void model_payload(const std::uint8_t* data, std::size_t size);  // the same, behind a valid header and checksum
void npy(const std::uint8_t* data, std::size_t size);            // load_npy<double> and <float>
void csv(const std::uint8_t* data, std::size_t size);            // load_csv<double>, options from the first byte
void idx(const std::uint8_t* data, std::size_t size);            // load_idx<double>, load_idx_pair<float>

// The harnesses by name ("model_file", "model_payload", "npy", "csv", "idx").
using Harness = void (*)(const std::uint8_t*, std::size_t);
Harness harness_named(const std::string& name);
const std::vector<std::string>& harness_names();

}  // namespace graphnn::fuzz
