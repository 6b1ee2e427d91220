#pragma once
// What the op files share: node creation, the explicit-instantiation macro,
// and the loops for element-wise work under numpy broadcasting.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <typeinfo>
#include <string>
#include <utility>
#include <vector>

#include "graphnn/error.hpp"
#include "graphnn/graph.hpp"
#include "graphnn/ops.hpp"

namespace graphnn::kit {

// Makes an op node in the inputs' graph.
template <class OpT, class T, class... Args>
Node<T> make(const Nodes<T>& inputs, Args&&... args) {
  auto op = std::make_shared<const OpT>(std::forward<Args>(args)...);
  if (inputs.empty() || !inputs[0].valid())
    throw Error("op '" + op->type() + "': empty node (default-constructed Node is not part of any graph)");
  return inputs[0].graph()->add(std::move(op), inputs);
}

inline void expect_inputs(const std::vector<Shape>& in, std::size_t n) {
  if (in.size() != n)
    throw Error("expects " + std::to_string(n) + " inputs, got " + std::to_string(in.size()));
}

// Normalises a possibly negative axis against `rank`.
inline std::size_t axis_index(int axis, std::size_t rank) {
  const long a = axis < 0 ? static_cast<long>(rank) + axis : axis;
  if (a < 0 || a >= static_cast<long>(rank))
    throw Error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return static_cast<std::size_t>(a);
}

inline constexpr std::size_t kMaxRank = 8;
using Strides = std::array<std::size_t, kMaxRank>;

// Element strides of a row-major `in` as read at each index of `out` under
// broadcasting: 0 along broadcast (or missing) dimensions.
inline Strides broadcast_strides(const Dims& in, const Dims& out) {
  if (out.size() > kMaxRank) throw Error("rank " + std::to_string(out.size()) + " exceeds the supported 8");
  Strides s{};
  std::size_t stride = 1;
  for (std::size_t k = 0; k < in.size(); ++k) {
    const std::size_t d = in.size() - 1 - k, o = out.size() - 1 - k;
    s[o] = in[d] == 1 ? 0 : stride;
    stride *= in[d];
  }
  return s;
}

// Calls f(out_index, a_index, b_index) over every element of `out`.
template <class F>
void for_each_broadcast(const Dims& out, const Strides& sa, const Strides& sb, F&& f) {
  const std::size_t rank = out.size();
  if (rank == 0) {
    f(std::size_t{0}, std::size_t{0}, std::size_t{0});
    return;
  }
  std::size_t total = 1;
  for (auto d : out) total *= d;
  const std::size_t inner = out[rank - 1], step_a = sa[rank - 1], step_b = sb[rank - 1];
  std::array<std::size_t, kMaxRank> idx{};
  std::size_t ia = 0, ib = 0;
  for (std::size_t o = 0; o < total; o += inner) {
    for (std::size_t j = 0; j < inner; ++j) f(o + j, ia + j * step_a, ib + j * step_b);
    for (std::size_t d = rank - 1; d-- > 0;) {  // odometer over the outer dimensions
      ++idx[d];
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

// True when `small` (leading 1s ignored) equals the trailing dimensions of `big`:
// `small` repeats whole over the rows of `big`.
inline bool is_trailing(const Dims& small, const Dims& big) {
  std::size_t skip = 0;
  while (skip < small.size() && small[skip] == 1) ++skip;
  const std::size_t n = small.size() - skip;
  if (n > big.size()) return false;
  for (std::size_t k = 0; k < n; ++k)
    if (small[skip + k] != big[big.size() - n + k]) return false;
  return true;
}

// n / d and n % d for a fixed d without a divide instruction (Lemire, Kaser
// and Kurz, "Faster remainder by direct computation", 2019): one 128-bit
// multiply, exact for n, d < 2^32; a plain division beyond.
class FastDivisor {
 public:
  explicit FastDivisor(std::size_t d) : d_(d), m_(d > 1 && d < kLimit ? ~std::uint64_t(0) / d + 1 : 0) {}
  std::size_t value() const { return d_; }
  std::size_t div(std::size_t n) const {
    if (m_ != 0 && n < kLimit) return static_cast<std::size_t>((static_cast<U128>(m_) * n) >> 64);
    return d_ == 1 ? n : n / d_;
  }
  std::size_t mod(std::size_t n) const { return n - div(n) * d_; }

 private:
  __extension__ typedef unsigned __int128 U128;
  static constexpr std::uint64_t kLimit = std::uint64_t(1) << 32;
  std::size_t d_;
  std::uint64_t m_;  // ceil(2^64 / d), or 0 where the fast form does not apply
};

// The loops below are compiled twice, for the baseline and (x86-64) for
// AVX2, the CPU's variant chosen per call by a cached check; f is inlined
// into each. Only +, -, *, / and comparisons are compiled differently, and
// those round the same in SSE2 and AVX2 registers (no FMA contraction under
// -std=c++17), so a value does not depend on the variant.
#if defined(__x86_64__)
inline bool cpu_has_avx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}
#define GRAPHNN_KIT_AVX2 __attribute__((target("avx2")))
#endif
#define GRAPHNN_KIT_INLINE inline __attribute__((always_inline))

template <class T, class F>
GRAPHNN_KIT_INLINE void binary_loops(const Buffer<T>& a, const Buffer<T>& b, Buffer<T>& out, F& f) {
  const T* pa = a.data;
  const T* pb = b.data;
  T* po = out.data;
  const std::size_t n = out.size;
  if (a.size == n && b.size == n) {
    for (std::size_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
  } else if (a.size == n && b.size == 1) {
    const T s = pb[0];
    for (std::size_t i = 0; i < n; ++i) po[i] = f(pa[i], s);
  } else if (b.size == n && a.size == 1) {
    const T s = pa[0];
    for (std::size_t i = 0; i < n; ++i) po[i] = f(s, pb[i]);
  } else if (a.size == n && b.size > 0 && is_trailing(b.dims, out.dims)) {
    const std::size_t m = b.size;
    for (std::size_t r = 0; r < n; r += m)
      for (std::size_t j = 0; j < m; ++j) po[r + j] = f(pa[r + j], pb[j]);
  } else if (b.size == n && a.size > 0 && is_trailing(a.dims, out.dims)) {
    const std::size_t m = a.size;
    for (std::size_t r = 0; r < n; r += m)
      for (std::size_t j = 0; j < m; ++j) po[r + j] = f(pa[j], pb[r + j]);
  } else {
    for_each_broadcast(out.dims, broadcast_strides(a.dims, out.dims), broadcast_strides(b.dims, out.dims),
                       [&](std::size_t o, std::size_t ia, std::size_t ib) { po[o] = f(pa[ia], pb[ib]); });
  }
}
#if defined(__x86_64__)
template <class T, class F>
GRAPHNN_KIT_AVX2 void binary_loops_avx2(const Buffer<T>& a, const Buffer<T>& b, Buffer<T>& out, F& f) {
  binary_loops(a, b, out, f);
}
template <class T, class F>
GRAPHNN_KIT_AVX2 void unary_loop_avx2(const T* x, T* o, std::size_t n, F& f) {
  for (std::size_t i = 0; i < n; ++i) o[i] = f(x[i]);
}
#endif

// out = f(a, b) element-wise with broadcasting; contiguous fast paths first.
template <class T, class F>
void binary_map(const Buffer<T>& a, const Buffer<T>& b, Buffer<T>& out, F f) {
#if defined(__x86_64__)
  if (cpu_has_avx2()) return binary_loops_avx2(a, b, out, f);
#endif
  binary_loops(a, b, out, f);
}

template <class T, class F>
void unary_map(const Buffer<T>& x, Buffer<T>& out, F f) {
#if defined(__x86_64__)
  if (cpu_has_avx2()) return unary_loop_avx2(x.data, out.data, out.size, f);
#endif
  const T* px = x.data;
  T* po = out.data;
  for (std::size_t i = 0; i < out.size; ++i) po[i] = f(px[i]);
}

// `other` as an OpT when it is one (for same_as: the same class, then equal parameters).
template <class OpT, class T>
const OpT* same_class(const OpT& self, const Op<T>& other) {
  return typeid(self) == typeid(other) ? static_cast<const OpT*>(&other) : nullptr;
}

// The rewrite-rule identity a Def declares (`static constexpr OpCode code`), or opaque.
template <class Def, class = void>
struct code_of {
  static constexpr OpCode value = OpCode::opaque;
};
template <class Def>
struct code_of<Def, std::void_t<decltype(Def::code)>> {
  static constexpr OpCode value = Def::code;
};

// Two element-wise ops are the same function when they are the same class and
// their Defs hold the same parameters (plain values, compared bytewise).
template <class OpT, class Def>
bool same_def(const OpT& self, const Op<typename OpT::value_type>& other, const Def& def) {
  static_assert(std::is_trivially_copyable_v<Def>, "a Def holds plain parameters");
  const OpT* o = same_class(self, other);
  return o && std::memcmp(&o->def(), &def, sizeof(Def)) == 0;
}

// An element-wise op of one input stated declaratively by `Def`:
//   Def::name, T Def::f(T x) const, and
//   Node<T> Def::grad(x, y, g) const  (dL/dx from input x, output y, dL/dy).
// A Def may add `void map(const T* x, T* y, std::size_t n) const`, a faster
// whole-array form of f (SIMD math); the kernel then uses it.
template <class T, class Def>
class UnaryOp final : public Op<T> {
 public:
  using value_type = T;
  explicit UnaryOp(Def def = {}) : def_(std::move(def)) {}
  std::string type() const override { return Def::name; }
  OpTraits traits() const override { return {code_of<Def>::value, true, true}; }
  bool same_as(const Op<T>& other) const override { return same_def(*this, other, def_); }
  const Def& def() const { return def_; }
  std::string attributes() const override {
    if constexpr (requires_attributes) return def_.attributes();
    else return {};
  }
  Shape infer(const std::vector<Shape>& in) const override {
    expect_inputs(in, 1);
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    if constexpr (has_map<Def>::value) def_.map(in[0]->data, out.data, out.size);
    else unary_map(*in[0], out, [this](T x) { return def_.f(x); });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    return {def_.grad(a.inputs[0], a.output, a.grad)};
  }

 private:
  template <class D, class = void>
  struct has_map : std::false_type {};
  template <class D>
  struct has_map<D, std::void_t<decltype(std::declval<const D&>().map(nullptr, nullptr, 0))>> : std::true_type {};
  template <class D, class = void>
  struct has_attributes : std::false_type {};
  template <class D>
  struct has_attributes<D, std::void_t<decltype(std::declval<const D&>().attributes())>> : std::true_type {};
  static constexpr bool requires_attributes = has_attributes<Def>::value;
  Def def_;
};

template <class T, template <class> class Def, class... Args>
Node<T> unary(const Node<T>& x, Args... args) {
  return make<UnaryOp<T, Def<T>>>(Nodes<T>{x}, Def<T>{args...});
}

// An element-wise op of two broadcast inputs stated by `Def`:
//   Def::name, T Def::f(T a, T b) const, and
//   std::pair<Node<T>, Node<T>> Def::grad(a, b, y, g) const, the gradients
//   at the output's shape; they are summed back over broadcast axes here.
template <class T, class Def>
class BinaryOp final : public Op<T> {
 public:
  using value_type = T;
  std::string type() const override { return Def::name; }
  OpTraits traits() const override { return {code_of<Def>::value, true, true}; }
  bool same_as(const Op<T>& other) const override { return same_def(*this, other, def_); }
  const Def& def() const { return def_; }
  Shape infer(const std::vector<Shape>& in) const override {
    expect_inputs(in, 2);
    return broadcast_shapes(in[0], in[1]);
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    binary_map(*in[0], *in[1], out, [this](T a, T b) { return def_.f(a, b); });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    auto [ga, gb] = def_.grad(a.inputs[0], a.inputs[1], a.output, a.grad);
    return {unbroadcast(ga, a.inputs[0]), unbroadcast(gb, a.inputs[1])};
  }

 private:
  Def def_;
  static Node<T> unbroadcast(const Node<T>& g, const Node<T>& x) {
    if (!g.valid() || g.shape() == x.shape()) return g;
    return sum_to(g, x);
  }
};

template <class T, template <class> class Def>
Node<T> binary(const Node<T>& a, const Node<T>& b) {
  return make<BinaryOp<T, Def<T>>>(Nodes<T>{a, b});
}

}  // namespace graphnn::kit

// Explicitly instantiates `MACRO(float)` and `MACRO(double)`.
#define GRAPHNN_FOR_EACH_TYPE(MACRO) \
  MACRO(float)                      \
  MACRO(double)
