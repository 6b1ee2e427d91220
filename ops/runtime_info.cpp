#include "graphnn/runtime_info.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>

// OpenBLAS's own calls, declared here rather than through <cblas.h> (see the header).
extern "C" {
char* openblas_get_corename(void);
char* openblas_get_config(void);
int openblas_get_num_threads(void);
}

namespace graphnn {

namespace {

std::string cased(std::string s, int (*to)(int)) {
  std::transform(s.begin(), s.end(), s.begin(), [to](unsigned char c) { return static_cast<char>(to(c)); });
  return s;
}
std::string lower(const std::string& s) { return cased(s, std::tolower); }

bool is_dynamic_arch(const std::string& config) {
  return (" " + config + " ").find(" DYNAMIC_ARCH ") != std::string::npos;
}

bool one_of(const std::string& name, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
}

// OpenBLAS's x86 kernels without AVX2 (its DYNAMIC_ARCH core names, lower case).
// Names not listed, later ones included, count as capable, so that an
// OpenBLAS newer than this list never draws a false warning.
bool kernel_without_avx2(const std::string& kernel) {
  return one_of(lower(kernel), {"unknown", "generic", "katmai", "coppermine", "northwood", "prescott", "banias",
                                "atom", "core2", "penryn", "dunnington", "nehalem", "athlon", "opteron",
                                "opteron_sse3", "barcelona", "nano", "sandybridge", "bobcat", "bulldozer",
                                "piledriver", "steamroller"});
}

// Those of them with AVX (but no AVX2): less far behind than the SSE ones.
bool kernel_with_avx(const std::string& kernel) {
  return one_of(lower(kernel), {"sandybridge", "bulldozer", "piledriver", "steamroller"});
}

bool kernel_with_avx512(const std::string& kernel) {
  return one_of(lower(kernel), {"skylakex", "cooperlake", "sapphirerapids"});
}

// "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.21".
std::string library_of(const std::string& config) {
  const std::size_t first = config.find(' ');
  return first == std::string::npos ? config : config.substr(0, config.find(' ', first + 1));
}

struct CpuProbe {
  CpuFeatures features;
  std::string names;
};

CpuProbe probe_cpu() {
  CpuProbe p;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2"), fma = __builtin_cpu_supports("fma");
  const bool f = __builtin_cpu_supports("avx512f"), bw = __builtin_cpu_supports("avx512bw"),
             vl = __builtin_cpu_supports("avx512vl"), bf16 = __builtin_cpu_supports("avx512bf16");
  p.features.avx2 = avx2 && fma;
  p.features.avx512 = f && bw && vl;
  p.features.avx512_bf16 = p.features.avx512 && bf16;
  const std::pair<bool, const char*> named[] = {{avx2, "avx2"}, {fma, "fma"}, {f, "avx512f"},
                                                {bw, "avx512bw"}, {vl, "avx512vl"}, {bf16, "avx512bf16"}};
  for (const auto& [present, name] : named)
    if (present) p.names += (p.names.empty() ? "" : " ") + std::string(name);
#endif
  if (p.names.empty()) p.names = "no AVX2";
  return p;
}

}  // namespace

BlasAdvice blas_advice(const std::string& kernel, const CpuFeatures& cpu, bool dynamic_arch,
                       const char* coretype_env) {
  BlasAdvice a;
  if (!cpu.avx2) return a;
  const std::string isa = cpu.avx512 ? "AVX-512" : "AVX2";
  const std::string best = cpu.avx512_bf16 ? "Cooperlake" : cpu.avx512 ? "SkylakeX" : "Haswell";
  const bool env_chose = coretype_env && *coretype_env && lower(coretype_env) == lower(kernel);
  const std::string chosen_by_env =
      env_chose ? " (OPENBLAS_CORETYPE=" + std::string(coretype_env) + " in the environment chose it)" : "";
  if (kernel_without_avx2(kernel)) {
    a.generic_kernel_on_capable_cpu = true;
    a.advice = "OpenBLAS runs its generic '" + kernel + "' kernel on a CPU with " + isa + chosen_by_env + "; ";
    if (dynamic_arch)
      a.advice += "set OPENBLAS_CORETYPE=" + best + " in the environment before the program starts";
    else
      a.advice += "this OpenBLAS is built for that kernel alone (no DYNAMIC_ARCH), so OPENBLAS_CORETYPE cannot change "
                  "it: use a DYNAMIC_ARCH build (Debian's libopenblas0-pthread) or one built with TARGET=" +
                  cased(best, std::toupper);
    // Measured gains of 1024^3 GEMMs over the Prescott kernel: 2.6-2.7x with Haswell's, 4.5-5.2x with Cooperlake's.
    a.advice += kernel_with_avx(kernel) ? " for faster matrix products"
                : cpu.avx512            ? " for 4-5x faster matrix products"
                                        : " for 2-3x faster matrix products";
  } else if (cpu.avx512 && dynamic_arch && !kernel_with_avx512(kernel)) {
    a.advice = "OpenBLAS runs its AVX2 '" + kernel + "' kernel on a CPU with AVX-512" + chosen_by_env +
               "; OPENBLAS_CORETYPE=" + best + " selects its AVX-512 kernel, up to 2x faster at large matrix products";
  }
  return a;
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.blas_config = openblas_get_config();
  info.blas_library = library_of(info.blas_config);
  info.blas_kernel = openblas_get_corename();
  info.blas_threads = openblas_get_num_threads();
  const CpuProbe cpu = probe_cpu();
  info.cpu_features = cpu.names;
  BlasAdvice a =
      blas_advice(info.blas_kernel, cpu.features, is_dynamic_arch(info.blas_config), std::getenv("OPENBLAS_CORETYPE"));
  info.generic_kernel_on_capable_cpu = a.generic_kernel_on_capable_cpu;
  info.advice = std::move(a.advice);
  return info;
}

std::ostream& operator<<(std::ostream& os, const RuntimeInfo& info) {
  os << info.blas_library << (is_dynamic_arch(info.blas_config) ? " (DYNAMIC_ARCH)" : "") << ", kernel "
     << info.blas_kernel << ", " << info.blas_threads << (info.blas_threads == 1 ? " thread" : " threads")
     << ", CPU " << info.cpu_features;
  if (!info.advice.empty()) os << "\n  " << info.advice;
  return os;
}

void warn_if_generic_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* quiet = std::getenv("GRAPHNN_QUIET_BLAS");
    if (quiet && std::strcmp(quiet, "1") == 0) return;
    const RuntimeInfo info = runtime_info();
    if (info.generic_kernel_on_capable_cpu)
      std::cerr << "graphnn: " << info.advice << " (GRAPHNN_QUIET_BLAS=1 silences this)" << std::endl;
  });
}

}  // namespace graphnn
