#pragma once
// Which BLAS graphnn runs on: library, kernel, threads and the CPU's vector
// features, and a warning when OpenBLAS runs a kernel older than the CPU.
//
// Declarations only: OpenBLAS's own calls (openblas_get_corename and the
// like) are declared in runtime_info.cpp, so that including graphnn.hpp
// neither needs <cblas.h> (which conflicts with xtensor-blas's declarations
// when both are in one file) nor ties programs to OpenBLAS's headers.
//
// OpenBLAS picks its kernel once, when it is loaded: from the CPU, or from
// OPENBLAS_CORETYPE in the environment. A CPU it does not know (a newer model,
// or a virtual machine hiding the CPU's model) gets its generic 'Prescott'
// (SSE3) kernel, 2-3x slower at matrix products than the AVX2 kernel and 4-5x
// slower than the AVX-512 one. Only the environment of the process fixes it,
// before it starts, hence the warning with the variable and value to set.
#include <iosfwd>
#include <string>

namespace graphnn {

// The vector instruction sets OpenBLAS's kernels use.
struct CpuFeatures {
  bool avx2 = false;        // with FMA: what the Haswell and Zen kernels need
  bool avx512 = false;      // AVX512 F, BW and VL: what the SkylakeX kernel needs
  bool avx512_bf16 = false; // what the Cooperlake kernel adds
};

// What to tell the user about a BLAS kernel on a CPU.
struct BlasAdvice {
  bool generic_kernel_on_capable_cpu = false;  // a kernel without AVX2 on a CPU with it: warn
  std::string advice;  // the warning's text; or a tip without a warning (AVX2 kernel on an AVX-512 CPU); or empty
};

// The decision alone, from its inputs: the kernel name (openblas_get_corename()),
// the CPU's features, whether the library is a DYNAMIC_ARCH build (only those
// read OPENBLAS_CORETYPE), and OPENBLAS_CORETYPE's value (null when unset).
BlasAdvice blas_advice(const std::string& kernel, const CpuFeatures& cpu, bool dynamic_arch,
                       const char* coretype_env);

struct RuntimeInfo {
  std::string blas_library;  // "OpenBLAS 0.3.21"
  std::string blas_config;   // openblas_get_config(): "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... MAX_THREADS=64"
  std::string blas_kernel;   // openblas_get_corename(): "Haswell", "SkylakeX", "Prescott", ...
  int blas_threads = 1;      // openblas_get_num_threads() (OPENBLAS_NUM_THREADS)
  std::string cpu_features;  // "avx2 fma avx512f avx512bw avx512vl avx512bf16", those present
  bool generic_kernel_on_capable_cpu = false;
  std::string advice;        // as BlasAdvice::advice
};

// The BLAS and CPU of this process (cheap: a few calls, no timing).
RuntimeInfo runtime_info();

// "OpenBLAS 0.3.21 (DYNAMIC_ARCH), kernel Haswell, 2 threads, CPU avx2 fma ...", then the advice (if any)
// on a second line, indented.
std::ostream& operator<<(std::ostream& os, const RuntimeInfo& info);

// Prints the advice to std::cerr once per process when OpenBLAS runs a generic
// kernel on a CPU with AVX2 or AVX-512; GRAPHNN_QUIET_BLAS=1 in the environment
// silences it. Thread-safe.
void warn_if_generic_blas();

}  // namespace graphnn
