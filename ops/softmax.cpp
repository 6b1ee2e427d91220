// softmax and log_softmax over the last axis, computed from x - max(x) so
// no exponent overflows (logits of ±1000 give exact 0/1, never NaN), and
// log_softmax as (x - max) - log(sum): the large logit cancels exactly before
// any rounding, so float stays within a few ulp at logits of ±1000.
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"
#include "vector_math.hpp"

namespace graphnn {
namespace {

template <class T>
class Softmax final : public Op<T> {
 public:
  explicit Softmax(bool log) : log_(log) {}
  std::string type() const override { return log_ ? "log_softmax" : "softmax"; }
  bool same_as(const Op<T>& o) const override {
    const Softmax* x = kit::same_class(*this, o);
    return x && x->log_ == log_;
  }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    if (in[0].empty()) throw Error("needs at least one axis");
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const std::size_t c = in[0]->dims.back();
    if (log_) {  // y may be x: row r is written after its log-sum-exp is taken
      vmath::for_each_log_sum_exp(in[0]->data, out.size / c, c, [&](std::size_t r, T m, double log_sum) {
        for (std::size_t j = r * c; j < (r + 1) * c; ++j)
          out.data[j] = static_cast<T>(double(in[0]->data[j] - m) - log_sum);
      });
      return;
    }
    for (std::size_t r = 0; r < out.size; r += c) {
      const T* x = in[0]->data + r;
      T* y = out.data + r;
      T m = x[0];
      for (std::size_t j = 1; j < c; ++j) m = std::max(m, x[j]);
      for (std::size_t j = 0; j < c; ++j) y[j] = x[j] - m;  // y may be x: y[j] is written after x[j] is read
      vmath::exp(y, y, c);
      double sum = 0;  // float terms summed without float rounding
      for (std::size_t j = 0; j < c; ++j) sum += y[j];
      const T inv = static_cast<T>(1.0 / sum);
      for (std::size_t j = 0; j < c; ++j) y[j] *= inv;
    }
  }
  Nodes<T> backward(const GradArgs<T>& a) const override {
    const Node<T>&y = a.output, &g = a.grad;
    if (log_) return {g - exp(y) * expand_dims(reduce_sum(g, -1), -1)};
    return {y * (g - expand_dims(reduce_sum(g * y, -1), -1))};
  }

 private:
  bool log_;
};

}  // namespace

template <class T> Node<T> softmax(const Node<T>& x) { return kit::make<Softmax<T>>(Nodes<T>{x}, false); }
template <class T> Node<T> log_softmax(const Node<T>& x) { return kit::make<Softmax<T>>(Nodes<T>{x}, true); }

#define INSTANTIATE(T)                              \
  template Node<T> softmax<T>(const Node<T>&);      \
  template Node<T> log_softmax<T>(const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"softmax", "log_softmax"});
}  // namespace

}  // namespace graphnn
