#pragma once
// C = alpha op(A) op(B) + beta C for products too small for BLAS, whose fixed
// cost per call (argument checks, buffer look-up, packing, a separate pass for
// beta) is several times the arithmetic of a 32x16x1 product.
//
// Of the loop orders, the one whose innermost loop runs along unit strides,
// and is the longest, is taken, so the compiler vectorises it:
//   along j: row i of C += op(A)[i, p] op(B)[p, :]   (op(B) rows contiguous)
//   along p: C[i, j] = op(A)[i, :] . op(B)[:, j]     (both contiguous in p)
//   along i: C[:, 0] += op(B)[p, 0] op(A)[:, p]      (one column: C contiguous)
// A dimension of size 1 has no stride to respect. ops/matmul.cpp compiles it
// for the baseline and for AVX2 (GCC's target_clones: the CPU's variant is
// chosen when the library loads).
#include <cstddef>

namespace graphnn::small_gemm {

struct Shape {
  bool ta, tb;                 // op(A) = A^T, op(B) = B^T
  std::size_t m, n, k;         // op(A) is m x k, op(B) k x n, C m x n
  std::size_t lda, ldb;        // row lengths of A and B as stored
};

// Inlined into each compiled variant (ops/matmul.cpp), so each gets its ISA.
#define GRAPHNN_INLINE inline __attribute__((always_inline))

// Whole AVX2 vectors of T: loops over fixed blocks of this many elements
// become single vector instructions, with no peeling or alias checks (GCC
// adds both to loops of unknown length, and rows here are 1 to 32 long).
template <class T>
constexpr std::size_t kBlock = 32 / sizeof(T);

// x . y with two vectors of independent partial sums, so the loop vectorises
// (a single running sum is a chain the compiler must keep in order).
template <class T>
GRAPHNN_INLINE T dot(const T* __restrict x, const T* __restrict y, std::size_t k) {
  constexpr std::size_t w = 2 * kBlock<T>;
  T part[w] = {};
  std::size_t p = 0;
  for (; p + w <= k; p += w)
    for (std::size_t q = 0; q < w; ++q) part[q] += x[p + q] * y[p + q];
  T s = 0;
  for (; p < k; ++p) s += x[p] * y[p];
  for (std::size_t q = 0; q < w; ++q) s += part[q];
  return s;
}

// y = s x + (beta = 0 ? 0 : beta y) for the first term of a sum (beta = 0
// never reads y: it may hold anything, NaN included), y += s x for the others.
enum class Term { first, next };
template <Term kind, class T>
GRAPHNN_INLINE void axpy(std::size_t n, T s, const T* __restrict x, T beta, T* __restrict y) {
  constexpr std::size_t w = kBlock<T>;
  std::size_t j = 0;
  if (kind == Term::next || beta == T(1)) {
    for (; j + w <= n; j += w)
      for (std::size_t q = 0; q < w; ++q) y[j + q] += s * x[j + q];
    for (; j < n; ++j) y[j] += s * x[j];
  } else if (beta == T(0)) {
    for (; j + w <= n; j += w)
      for (std::size_t q = 0; q < w; ++q) y[j + q] = s * x[j + q];
    for (; j < n; ++j) y[j] = s * x[j];
  } else {
    for (; j + w <= n; j += w)
      for (std::size_t q = 0; q < w; ++q) y[j + q] = beta * y[j + q] + s * x[j + q];
    for (; j < n; ++j) y[j] = beta * y[j] + s * x[j];
  }
}

// C never overlaps A or B (the session gives a product its own buffer; an
// SGD update's weight is neither factor of its gradient), hence __restrict.
template <class T>
GRAPHNN_INLINE void multiply(const Shape& d, T alpha, const T* __restrict a, const T* __restrict b, T beta,
                             T* __restrict c) {
  const std::size_t m = d.m, n = d.n, k = d.k;
  if (k == 0) {  // no terms: C = beta C
    for (std::size_t e = 0; e < m * n; ++e) c[e] = beta == T(0) ? T(0) : beta * c[e];
    return;
  }
  // Element strides of op(A)[i, p] and op(B)[p, j].
  const std::size_t a_i = d.ta ? 1 : d.lda, a_p = d.ta ? d.lda : 1;
  const std::size_t b_p = d.tb ? 1 : d.ldb, b_j = d.tb ? d.ldb : 1;
  auto store = [beta](T& out, T sum) { out = beta == T(0) ? sum : beta * out + sum; };  // beta = 0: C unread
  const std::size_t along_j = b_j == 1 || n == 1 ? n : 0;
  const std::size_t along_p = (a_p == 1 || k == 1) && (b_p == 1 || k == 1) ? k : 0;
  const std::size_t along_i = n == 1 && (a_i == 1 || m == 1) ? m : 0;
  if (along_p > 0 && along_p >= along_j && along_p >= along_i) {
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) store(c[i * n + j], alpha * dot(a + i * a_i, b + j * b_j, k));
  } else if (along_i > 0 && along_i >= along_j) {  // the column C[:, 0] is contiguous
    axpy<Term::first>(m, alpha * b[0], a, beta, c);
    for (std::size_t p = 1; p < k; ++p) axpy<Term::next>(m, alpha * b[p * b_p], a + p * a_p, beta, c);
  } else if (along_j > 0) {
    for (std::size_t i = 0; i < m; ++i) {
      T* ci = c + i * n;
      axpy<Term::first>(n, alpha * a[i * a_i], b, beta, ci);
      for (std::size_t p = 1; p < k; ++p) axpy<Term::next>(n, alpha * a[i * a_i + p * a_p], b + p * b_p, beta, ci);
    }
  } else {  // op(A) = A^T and op(B) = B^T with strided rows: no unit stride anywhere
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        T s = 0;
        for (std::size_t p = 0; p < k; ++p) s += a[i * a_i + p * a_p] * b[p * b_p + j * b_j];
        store(c[i * n + j], alpha * s);
      }
  }
}

#undef GRAPHNN_INLINE

}  // namespace graphnn::small_gemm
