// Matrix product of 2-D nodes, C = op(A) op(B), straight into the planned
// output buffer with BLAS gemm (transposes are flags, never copies).
#include <cblas.h>

#include <iomanip>
#include <sstream>

#include "compiler_ops.hpp"
#include "graphnn/runtime_info.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"
#include "small_gemm.hpp"

namespace graphnn {
namespace {

// C = alpha op(A) op(B) + beta C, row-major.
void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
          float beta, float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
              b, ldb, beta, c, n);
}
void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
          double beta, double* c) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
              b, ldb, beta, c, n);
}

// Below this many multiply-adds the loops of small_gemm.hpp beat BLAS's fixed
// cost per call: 1.5-2.5x faster at 512 (the products of workload b), BLAS
// 2-3x faster from 4096 (measured with both on this project's machine).
constexpr std::size_t kSmallGemm = 1024;

// ThreadSanitizer instruments the ifunc resolver that target_clones emits, and
// that resolver runs while the dynamic loader relocates the library, before
// TSan's runtime is set up: every program crashed before main. Under TSan the
// two variants are plain functions instead, picked per call by the cached CPU
// check the element-wise loops use (ops/op_kit.hpp).
#if defined(__SANITIZE_THREAD__)
#define GRAPHNN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GRAPHNN_TSAN 1
#endif
#endif

#if defined(__x86_64__) && !defined(GRAPHNN_TSAN)
#define GRAPHNN_CLONES __attribute__((target_clones("avx2", "default")))
GRAPHNN_CLONES void small_product(const small_gemm::Shape& d, float alpha, const float* a, const float* b, float beta,
                                  float* c) {
  small_gemm::multiply(d, alpha, a, b, beta, c);
}
GRAPHNN_CLONES void small_product(const small_gemm::Shape& d, double alpha, const double* a, const double* b,
                                  double beta, double* c) {
  small_gemm::multiply(d, alpha, a, b, beta, c);
}
#undef GRAPHNN_CLONES
#elif defined(__x86_64__)
template <class T>
GRAPHNN_KIT_AVX2 void small_product_avx2(const small_gemm::Shape& d, T alpha, const T* a, const T* b, T beta, T* c) {
  small_gemm::multiply(d, alpha, a, b, beta, c);
}
template <class T>
void small_product(const small_gemm::Shape& d, T alpha, const T* a, const T* b, T beta, T* c) {
  if (kit::cpu_has_avx2()) small_product_avx2(d, alpha, a, b, beta, c);
  else small_gemm::multiply(d, alpha, a, b, beta, c);
}
#else
template <class T>
void small_product(const small_gemm::Shape& d, T alpha, const T* a, const T* b, T beta, T* c) {
  small_gemm::multiply(d, alpha, a, b, beta, c);
}
#endif

// out = alpha op(a) op(b) + beta out, by loop or BLAS by size.
template <class T>
void product(bool ta, bool tb, const Buffer<T>& a, const Buffer<T>& b, T alpha, T beta, Buffer<T>& out) {
  const std::size_t m = out.dims[0], n = out.dims[1], k = a.dims[ta ? 0 : 1];
  if (m == 0 || n == 0) return;
  if (m * n * k <= kSmallGemm) {
    small_product({ta, tb, m, n, k, a.dims[1], b.dims[1]}, alpha, a.data, b.data, beta, out.data);
    return;
  }
  warn_if_generic_blas();  // once per process: a generic kernel is a silent 4-5x slow-down
  gemm(ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a.data, static_cast<int>(a.dims[1]),
       b.data, static_cast<int>(b.dims[1]), beta, out.data);
}

// alpha op(a) op(b). Users build alpha = 1 (gn::matmul); the compiler's rule
// mean_scale_into_product gives a gradient's product the 1 / processes of the
// allreduce_mean that reads it (a power of two: the same bits).
template <class T>
class MatMul final : public Op<T> {
 public:
  MatMul(bool ta, bool tb, T alpha = T(1)) : ta_(ta), tb_(tb), alpha_(alpha) {}
  std::string type() const override { return "matmul"; }
  OpTraits traits() const override { return {OpCode::matmul, false, true}; }
  bool same_as(const Op<T>& o) const override {
    const MatMul* m = kit::same_class(*this, o);
    return m && m->ta_ == ta_ && m->tb_ == tb_ && m->alpha_ == alpha_;
  }
  std::string attributes() const override {
    std::string a = ta_ || tb_ ? std::string("transpose_a=") + (ta_ ? "1" : "0") + ", transpose_b=" + (tb_ ? "1" : "0") : "";
    if (alpha_ == T(1)) return a;
    std::ostringstream alpha;
    alpha << std::setprecision(17) << alpha_;
    return a + (a.empty() ? "" : ", ") + "alpha=" + alpha.str();
  }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 2);
    if (in[0].size() != 2 || in[1].size() != 2) throw Error("matmul needs two 2-D inputs");
    const auto m = in[0][ta_ ? 1 : 0], ka = in[0][ta_ ? 0 : 1];
    const auto kb = in[1][tb_ ? 1 : 0], n = in[1][tb_ ? 0 : 1];
    if (!shapes_unify({ka}, {kb}))
      throw Error("inner dimensions differ (" + to_string(Shape{ka}) + " vs " + to_string(Shape{kb}) + ")");
    return {m, n};
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    product(ta_, tb_, *in[0], *in[1], alpha_, T(0), out);
  }
  bool transpose_a() const { return ta_; }
  bool transpose_b() const { return tb_; }
  T alpha() const { return alpha_; }
  // As TensorFlow's MatMulGrad: each case keeps the products transpose-free.
  Nodes<T> backward(const GradArgs<T>& args) const override {
    const Node<T>&a = args.inputs[0], &b = args.inputs[1], &g = args.grad;
    auto mm = [this](const Node<T>& x, const Node<T>& y, bool tx, bool ty) {
      return kit::make<MatMul<T>>(Nodes<T>{x, y}, tx, ty, alpha_);
    };
    if (!ta_ && !tb_) return {mm(g, b, false, true), mm(a, g, true, false)};
    if (!ta_ && tb_) return {mm(g, b, false, false), mm(g, a, true, false)};
    if (ta_ && !tb_) return {mm(b, g, false, true), mm(a, g, false, false)};
    return {mm(b, g, true, true), mm(g, a, true, true)};
  }

 private:
  bool ta_, tb_;
  T alpha_;
};

// w -= lr op(a) op(b) as one accumulating GEMM (beta = 1): a plain SGD step
// whose gradient is a matrix product never materialises the gradient. Emitted
// by the compiler's rule sgd_matmul_update only.
template <class T>
class MatMulSgdUpdate final : public Op<T> {
 public:
  MatMulSgdUpdate(bool ta, bool tb) : ta_(ta), tb_(tb) {}
  std::string type() const override { return "apply_sgd_matmul"; }
  OpKind kind() const override { return OpKind::assign; }
  int alias_input() const override { return 0; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 4);
    if (!shapes_unify(MatMul<T>(ta_, tb_).infer({in[1], in[2]}), in[0])) throw Error("the product does not have the variable's shape");
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    product(ta_, tb_, *in[1], *in[2], -in[3]->data[0], T(1), out);
  }

 private:
  bool ta_, tb_;
};

}  // namespace

template <class T>
std::optional<MatMulFlags> matmul_flags(const Op<T>& op) {
  const auto* m = dynamic_cast<const MatMul<T>*>(&op);
  if (!m || m->alpha() != T(1)) return std::nullopt;  // the rules that read flags rebuild a plain product
  return MatMulFlags{m->transpose_a(), m->transpose_b()};
}

template <class T>
Node<T> sgd_matmul_update(const Node<T>& variable, const Node<T>& a, const Node<T>& b, const Node<T>& lr,
                          MatMulFlags f) {
  return kit::make<MatMulSgdUpdate<T>>(Nodes<T>{variable, a, b, lr}, f.transpose_a, f.transpose_b);
}

template <class T>
Node<T> scaled_matmul(const Node<T>& a, const Node<T>& b, MatMulFlags f, T alpha) {
  return kit::make<MatMul<T>>(Nodes<T>{a, b}, f.transpose_a, f.transpose_b, alpha);
}

template <class T>
Node<T> matmul(const Node<T>& a, const Node<T>& b, bool transpose_a, bool transpose_b) {
  return kit::make<MatMul<T>>(Nodes<T>{a, b}, transpose_a, transpose_b);
}

#define INSTANTIATE(T)                                                          \
  template Node<T> matmul<T>(const Node<T>&, const Node<T>&, bool, bool);        \
  template std::optional<MatMulFlags> matmul_flags<T>(const Op<T>&);           \
  template Node<T> scaled_matmul<T>(const Node<T>&, const Node<T>&, MatMulFlags, T); \
  template Node<T> sgd_matmul_update<T>(const Node<T>&, const Node<T>&, const Node<T>&, const Node<T>&, MatMulFlags);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"matmul", "apply_sgd_matmul"});
}  // namespace

}  // namespace graphnn
