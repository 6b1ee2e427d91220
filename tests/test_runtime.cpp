// runtime_info(): the BLAS and CPU this process runs on, and the advice when
// OpenBLAS runs a kernel older than the CPU (blas_advice, a pure function).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include <graphnn/graphnn.hpp>

namespace gn = graphnn;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

gn::CpuFeatures cpu(bool avx2, bool avx512, bool bf16) {
  gn::CpuFeatures c;
  c.avx2 = avx2;
  c.avx512 = avx512;
  c.avx512_bf16 = bf16;
  return c;
}

const gn::CpuFeatures sse_only = cpu(false, false, false), avx2_only = cpu(true, false, false),
                      avx512 = cpu(true, true, false), avx512_bf16 = cpu(true, true, true);

// Runs f with std::cerr captured.
template <class F>
std::string captured_cerr(F f) {
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  try {
    f();
  } catch (...) {
    std::cerr.rdbuf(old);
    throw;
  }
  std::cerr.rdbuf(old);
  return captured.str();
}

}  // namespace

TEST_CASE("runtime_info describes this process's OpenBLAS and CPU") {
  const gn::RuntimeInfo info = gn::runtime_info();
  INFO(info);
  CHECK(info.blas_library.rfind("OpenBLAS ", 0) == 0);
  CHECK(info.blas_config.rfind(info.blas_library, 0) == 0);
  CHECK(!info.blas_kernel.empty());
  CHECK(info.blas_threads >= 1);
  CHECK(!info.cpu_features.empty());
  CHECK((!info.generic_kernel_on_capable_cpu || !info.advice.empty()));

  std::ostringstream os;
  os << info;
  const std::string line = os.str();
  CHECK(contains(line, info.blas_library));
  CHECK(contains(line, "kernel " + info.blas_kernel));
  CHECK(contains(line, std::to_string(info.blas_threads) + (info.blas_threads == 1 ? " thread" : " threads")));
  CHECK(contains(line, info.cpu_features));
  CHECK(contains(line, "\n") == !info.advice.empty());
}

TEST_CASE("blas_advice: a generic kernel on an AVX-512 or AVX2 CPU warns with the variable and value that fix it") {
  const gn::BlasAdvice a = gn::blas_advice("Prescott", avx512, true, nullptr);
  CHECK(a.generic_kernel_on_capable_cpu);
  CHECK(contains(a.advice, "'Prescott'"));
  CHECK(contains(a.advice, "AVX-512"));
  CHECK(contains(a.advice, "set OPENBLAS_CORETYPE=SkylakeX "));
  CHECK(contains(a.advice, "4-5x faster"));

  CHECK(contains(gn::blas_advice("Prescott", avx512_bf16, true, nullptr).advice, "OPENBLAS_CORETYPE=Cooperlake "));
  const gn::BlasAdvice two = gn::blas_advice("Nehalem", avx2_only, true, nullptr);
  CHECK(two.generic_kernel_on_capable_cpu);
  CHECK(contains(two.advice, "on a CPU with AVX2;"));
  CHECK(contains(two.advice, "OPENBLAS_CORETYPE=Haswell "));
  CHECK(contains(two.advice, "2-3x faster"));
  const gn::BlasAdvice avx = gn::blas_advice("Sandybridge", avx2_only, true, nullptr);
  CHECK(avx.generic_kernel_on_capable_cpu);
  CHECK(contains(avx.advice, "for faster matrix products"));  // AVX kernels are less far behind
  CHECK(gn::blas_advice("PRESCOTT", avx2_only, true, nullptr).generic_kernel_on_capable_cpu);  // any case

  // The environment's own choice is named.
  CHECK(contains(gn::blas_advice("Prescott", avx512, true, "prescott").advice,
                 "(OPENBLAS_CORETYPE=prescott in the environment chose it)"));
  CHECK(!contains(gn::blas_advice("Prescott", avx512, true, "Haswell").advice, "chose it"));

  // Without DYNAMIC_ARCH the variable changes nothing: the advice is another build.
  const gn::BlasAdvice fixed = gn::blas_advice("Prescott", avx512, false, nullptr);
  CHECK(fixed.generic_kernel_on_capable_cpu);
  CHECK(!contains(fixed.advice, "set OPENBLAS_CORETYPE"));
  CHECK(contains(fixed.advice, "DYNAMIC_ARCH"));
  CHECK(contains(fixed.advice, "TARGET=SKYLAKEX"));
}

TEST_CASE("blas_advice: no warning for an AVX2 or AVX-512 kernel, a CPU without AVX2, or a kernel it does not know") {
  for (const char* kernel : {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen5"}) {
    CAPTURE(kernel);
    CHECK(!gn::blas_advice(kernel, avx2_only, true, nullptr).generic_kernel_on_capable_cpu);
    CHECK(gn::blas_advice(kernel, avx2_only, true, nullptr).advice.empty());
    CHECK(!gn::blas_advice(kernel, avx512, true, nullptr).generic_kernel_on_capable_cpu);
  }
  const gn::BlasAdvice none = gn::blas_advice("Prescott", sse_only, true, nullptr);
  CHECK(!none.generic_kernel_on_capable_cpu);
  CHECK(none.advice.empty());
  CHECK(gn::blas_advice("SkylakeX", avx512, true, nullptr).advice.empty());
  CHECK(gn::blas_advice("Cooperlake", avx512_bf16, true, nullptr).advice.empty());
}

TEST_CASE("blas_advice: an AVX2 kernel on an AVX-512 CPU gets a tip, not a warning") {
  const gn::BlasAdvice tip = gn::blas_advice("Haswell", avx512_bf16, true, "Haswell");
  CHECK(!tip.generic_kernel_on_capable_cpu);
  CHECK(contains(tip.advice, "'Haswell'"));
  CHECK(contains(tip.advice, "(OPENBLAS_CORETYPE=Haswell in the environment chose it)"));
  CHECK(contains(tip.advice, "OPENBLAS_CORETYPE=Cooperlake "));
  CHECK(contains(gn::blas_advice("Zen", avx512, true, nullptr).advice, "OPENBLAS_CORETYPE=SkylakeX "));
  CHECK(gn::blas_advice("Haswell", avx512, false, nullptr).advice.empty());  // nothing a variable could change
}

TEST_CASE("warn_if_generic_blas prints the advice once, and only for a generic kernel") {
  const gn::RuntimeInfo info = gn::runtime_info();
  const char* quiet = std::getenv("GRAPHNN_QUIET_BLAS");
  const bool silenced = quiet && std::string(quiet) == "1";
  const std::string first = captured_cerr([] { gn::warn_if_generic_blas(); });
  const std::string second = captured_cerr([] { gn::warn_if_generic_blas(); });
  if (info.generic_kernel_on_capable_cpu && !silenced)
    CHECK(first == "graphnn: " + info.advice + " (GRAPHNN_QUIET_BLAS=1 silences this)\n");
  else
    CHECK(first.empty());
  CHECK(second.empty());
}

// Registered a second time in tests/meson.build with OPENBLAS_CORETYPE=Prescott
// (and once more adding GRAPHNN_QUIET_BLAS=1): the real library, forced onto its generic kernel.
TEST_CASE("with OPENBLAS_CORETYPE=Prescott, runtime_info reports the generic kernel and the warning names the fix" *
          doctest::skip()) {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  REQUIRE(forced != nullptr);
  REQUIRE(std::string(forced) == "Prescott");
  const gn::RuntimeInfo info = gn::runtime_info();
  INFO(info);
  CHECK(info.blas_kernel == "Prescott");
  const bool capable = contains(info.cpu_features, "avx2") && contains(info.cpu_features, "fma");
  CHECK(info.generic_kernel_on_capable_cpu == capable);
  const char* quiet = std::getenv("GRAPHNN_QUIET_BLAS");
  const std::string warning = captured_cerr([] { gn::warn_if_generic_blas(); });
  if (!capable || (quiet && std::string(quiet) == "1")) {
    CHECK(warning.empty());
  } else {
    CHECK(contains(warning, "graphnn: OpenBLAS runs its generic 'Prescott' kernel"));
    CHECK(contains(warning, "(OPENBLAS_CORETYPE=Prescott in the environment chose it)"));
    CHECK(contains(warning, "set OPENBLAS_CORETYPE="));
  }
}
