#pragma once
// Counts heap allocations by replacing malloc itself (operator new, xtensor,
// libstdc++, OpenBLAS and MPI all end up there): include it in one file of a
// test program (test_alloc.cpp, test_mpi_worker.cpp), then allocations_during().
#include <cstddef>

#include "sanitizers.hpp"

#if GRAPHNN_UNDER_ASAN || GRAPHNN_UNDER_TSAN
#define GRAPHNN_COUNTS_ALLOCATIONS 0  // the sanitizer owns malloc
#else
#define GRAPHNN_COUNTS_ALLOCATIONS 1
#include <cstddef>
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}
namespace {
thread_local bool counting = false;
long allocations = 0;
void* counted(void* p) {
  if (counting) ++allocations;
  return p;
}
}  // namespace
extern "C" {
void* malloc(std::size_t n) { return counted(__libc_malloc(n)); }
void* calloc(std::size_t n, std::size_t m) { return counted(__libc_calloc(n, m)); }
void* realloc(void* p, std::size_t n) { return counted(__libc_realloc(p, n)); }
void* aligned_alloc(std::size_t a, std::size_t n) { return counted(__libc_memalign(a, n)); }
void* memalign(std::size_t a, std::size_t n) { return counted(__libc_memalign(a, n)); }
int posix_memalign(void** out, std::size_t a, std::size_t n) {
  *out = counted(__libc_memalign(a, n));
  return *out ? 0 : 12;  // ENOMEM
}
}
#endif

namespace alloc_counter {

// Allocations made while `f` runs; -1 when they cannot be counted (under ASan).
template <class F>
long allocations_during(F&& f) {
#if GRAPHNN_COUNTS_ALLOCATIONS
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations;
#else
  f();
  return -1;
#endif
}

}  // namespace alloc_counter
