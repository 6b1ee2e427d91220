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
// chosen when the library loads; under ThreadSanitizer, which cannot run
// that loader-time choice, by a cached check per call).
#include <cstddef>

namespace graphnn::small_gemm {

struct Shape {
  bool ta, tb;                 // op(A) = A^T, op(B) = B^T
  std::size_t m, n, k;         // op(A) is m x k, op(B) k x n, C m x n
  std::size_t lda, ldb;        // row lengths of A and B as stored
};

// Inlined into each compiled variant (ops/matmul.cpp), so each gets its ISA.
#define GRAPHNN_INLINE inline __attribute__((always_inline))

// Every function taking or returning one is inlined, so the baseline build's
// warning that such an argument would change the ABI does not apply (GCC
// gives it at the end of the including file, hence no pop).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
// One AVX2 register of T as a GCC vector (the baseline build splits it into
// two SSE registers): each kernel below keeps its running sums in a few of
// these, so a sum never goes back to memory between terms.
template <class T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(32)));
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
constexpr std::size_t kLanes = 32 / sizeof(T);

template <class T>
GRAPHNN_INLINE Vec<T> load(const T* p) {
  Vec<T> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
GRAPHNN_INLINE void store(T* p, Vec<T> v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// The first term of a sum into y: s x, plus beta y unless beta = 0 (then y is
// never read: it may hold anything, NaN included).
template <class T, class U>
GRAPHNN_INLINE U first_term(T beta, U sx, const U& y) {
  return beta == T(0) ? sx : beta == T(1) ? y + sx : beta * y + sx;
}

// Sums of scaled vectors, R registers (R * kLanes elements) at a time:
// for each of `rows` outputs y_i (at y + i * ys),
//   y_i[0, R w) = beta y_i + s_i0 x_0 + s_i1 x_1 + ... + s_i,k-1 x_k-1,
// with s_ip = alpha * s[i * si + p * sp] and x_p at x + p * xp, added in the
// order of p. C[i, :] of op(B)'s rows (along j) and the column C[:, 0] of
// op(A)'s columns (along i) are both this.
struct Scaled {
  std::size_t rows, k, si, sp, xp, ys;
};
template <std::size_t R, class T>
GRAPHNN_INLINE void scaled_sum_block(const Scaled& d, T alpha, const T* __restrict s, const T* __restrict x, T beta,
                                     T* __restrict y) {
  constexpr std::size_t w = kLanes<T>;
  for (std::size_t i = 0; i < d.rows; ++i) {
    const T* si = s + i * d.si;
    T* yi = y + i * d.ys;
    Vec<T> acc[R];
    const T s0 = alpha * si[0];
    for (std::size_t r = 0; r < R; ++r)
      acc[r] = first_term(beta, s0 * load(x + r * w), beta == T(0) ? Vec<T>{} : load(yi + r * w));
    for (std::size_t p = 1; p < d.k; ++p) {
      const T sp = alpha * si[p * d.sp];
      for (std::size_t r = 0; r < R; ++r) acc[r] += sp * load(x + p * d.xp + r * w);
    }
    for (std::size_t r = 0; r < R; ++r) store(yi + r * w, acc[r]);
  }
}
// The same over `len` elements of each y_i: blocks of 4, then 3, 2 or 1
// registers, then single elements in the same order.
template <class T>
GRAPHNN_INLINE void scaled_sum(std::size_t len, const Scaled& d, T alpha, const T* __restrict s,
                               const T* __restrict x, T beta, T* __restrict y) {
  constexpr std::size_t w = kLanes<T>;
  std::size_t j = 0;
  for (; j + 4 * w <= len; j += 4 * w) scaled_sum_block<4>(d, alpha, s, x + j, beta, y + j);
  switch ((len - j) / w) {
    case 3: scaled_sum_block<3>(d, alpha, s, x + j, beta, y + j); break;
    case 2: scaled_sum_block<2>(d, alpha, s, x + j, beta, y + j); break;
    case 1: scaled_sum_block<1>(d, alpha, s, x + j, beta, y + j); break;
    default: break;
  }
  j += (len - j) / w * w;
  for (; j < len; ++j)
    for (std::size_t i = 0; i < d.rows; ++i) {
      const T* si = s + i * d.si;
      T& yi = y[i * d.ys + j];
      T acc = first_term(beta, alpha * si[0] * x[j], beta == T(0) ? T(0) : yi);
      for (std::size_t p = 1; p < d.k; ++p) acc += alpha * si[p * d.sp] * x[p * d.xp + j];
      yi = acc;
    }
}

// The lanes of v summed as a balanced tree: ((v0 + v1) + (v2 + v3)) + ...
template <class T>
GRAPHNN_INLINE T lane_sum(Vec<T> v) {
  if constexpr (kLanes<T> == 8) return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
  else return (v[0] + v[1]) + (v[2] + v[3]);
}
// Pairwise sums of two vectors' neighbouring lanes: [a0+a1, a2+a3, b0+b1,
// b2+b3 | the same of lanes 4-7] for floats, [a0+a1, b0+b1, a2+a3, b2+b3] for
// doubles (a template: the baseline build warns of a 256-bit return otherwise).
// __builtin_shufflevector: GCC (from 12) and clang both have it.
template <class T>
GRAPHNN_INLINE Vec<T> pairs(Vec<T> a, Vec<T> b) {
  if constexpr (kLanes<T> == 8) {
    return __builtin_shufflevector(a, b, 0, 2, 8, 10, 4, 6, 12, 14) +
           __builtin_shufflevector(a, b, 1, 3, 9, 11, 5, 7, 13, 15);
  } else {
    return __builtin_shufflevector(a, b, 0, 4, 2, 6) + __builtin_shufflevector(a, b, 1, 5, 3, 7);
  }
}
// The lane sums of kLanes vectors at once, lane r of the result that of
// acc[r], with lane_sum's tree (pairwise adds across the vectors, no sum
// taken lane by lane).
template <class T>
GRAPHNN_INLINE Vec<T> lane_sums(const Vec<T>* acc) {
  if constexpr (kLanes<T> == 8) {
    const Vec<T> lo = pairs<T>(pairs<T>(acc[0], acc[1]), pairs<T>(acc[2], acc[3]));
    const Vec<T> hi = pairs<T>(pairs<T>(acc[4], acc[5]), pairs<T>(acc[6], acc[7]));
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11) +
           __builtin_shufflevector(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15);
  } else {
    const Vec<T> p01 = pairs<T>(acc[0], acc[1]), p23 = pairs<T>(acc[2], acc[3]);
    return __builtin_shufflevector(p01, p23, 0, 1, 4, 5) + __builtin_shufflevector(p01, p23, 2, 3, 6, 7);
  }
}

// C[i, j] = alpha op(A)[i, :] . op(B)[:, j] (+ beta C), both contiguous in p.
// A row's dot: lane q sums the products of p = q mod w over whole vectors, in
// order of p; the lanes are added by lane_sum's tree, then the remaining
// products one by one. Rows go kLanes at a time, their sums reduced together
// (no horizontal sum per row), the last rows one by one, each with the same
// order, so a value does not depend on the row it is in.
template <class T>
GRAPHNN_INLINE void dots(const Shape& d, std::size_t a_i, std::size_t b_j, T alpha, const T* __restrict a,
                         const T* __restrict b, T beta, T* __restrict c) {
  constexpr std::size_t w = kLanes<T>;
  const std::size_t m = d.m, n = d.n, k = d.k, kv = k / w * w;
  auto store_c = [beta, alpha](T& out, T sum) { out = first_term(beta, alpha * sum, beta == T(0) ? T(0) : out); };
  auto tail = [kv, k](const T* x, const T* y, T s) {
    for (std::size_t p = kv; p < k; ++p) s += x[p] * y[p];
    return s;
  };
  for (std::size_t j = 0; j < n; ++j) {
    const T* bj = b + j * b_j;
    std::size_t i = 0;
    for (; i + w <= m; i += w) {
      Vec<T> acc[w] = {};
      for (std::size_t p = 0; p < kv; p += w) {
        const Vec<T> y = load(bj + p);
        for (std::size_t r = 0; r < w; ++r) acc[r] += load(a + (i + r) * a_i + p) * y;
      }
      const Vec<T> sums = lane_sums<T>(acc);
      for (std::size_t r = 0; r < w; ++r) store_c(c[(i + r) * n + j], tail(a + (i + r) * a_i, bj, sums[r]));
    }
    for (; i < m; ++i) {
      const T* ai = a + i * a_i;
      Vec<T> acc = {};
      for (std::size_t p = 0; p < kv; p += w) acc += load(ai + p) * load(bj + p);
      store_c(c[i * n + j], tail(ai, bj, lane_sum<T>(acc)));
    }
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
  const std::size_t along_j = b_j == 1 || n == 1 ? n : 0;
  const std::size_t along_p = (a_p == 1 || k == 1) && (b_p == 1 || k == 1) ? k : 0;
  const std::size_t along_i = n == 1 && (a_i == 1 || m == 1) ? m : 0;
  if (along_p > 0 && along_p >= along_j && along_p >= along_i) {
    dots(d, a_i, b_j, alpha, a, b, beta, c);
  } else if (along_i > 0 && along_i >= along_j) {  // the column C[:, 0] is contiguous
    scaled_sum(m, Scaled{1, k, 0, b_p, a_p, 0}, alpha, b, a, beta, c);
  } else if (along_j > 0) {  // rows of C from rows of op(B)
    scaled_sum(n, Scaled{m, k, a_i, a_p, b_p, n}, alpha, a, b, beta, c);
  } else {  // op(A) = A^T and op(B) = B^T with strided rows: no unit stride anywhere
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; ++j) {
        T s = 0;
        for (std::size_t p = 0; p < k; ++p) s += a[i * a_i + p * a_p] * b[p * b_p + j * b_j];
        c[i * n + j] = first_term(beta, alpha * s, beta == T(0) ? T(0) : c[i * n + j]);
      }
  }
}

#undef GRAPHNN_INLINE

}  // namespace graphnn::small_gemm
