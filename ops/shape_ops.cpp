// Ops that move or fill values without arithmetic.
#include "graphnn/checked_size.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
class Reshape final : public Op<T> {
 public:
  explicit Reshape(Shape dims) : dims_(std::move(dims)) {}
  std::string type() const override { return "reshape"; }
  bool same_as(const Op<T>& o) const override {
    const Reshape* r = kit::same_class(*this, o);
    return r && r->dims_ == dims_;
  }
  std::string attributes() const override { return "dims=" + to_string(dims_); }
  int alias_input() const override { return 0; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    const auto batches = std::count(dims_.begin(), dims_.end(), batch);
    if (dims_.size() > kit::kMaxRank)
      throw Error("the new shape " + to_string(dims_) + " has rank " + std::to_string(dims_.size()) +
                  ", more than the supported " + std::to_string(kit::kMaxRank));
    // Checked: a product that wraps could equal the input's and pass.
    const std::size_t wanted = checked_product(dims_, sizeof(T), "the new shape");
    if (batches != (has_batch(in[0]) ? 1 : 0))
      throw Error(has_batch(in[0]) ? "the new shape must keep exactly one batch dimension"
                                   : "the input has no batch dimension to place");
    if (checked_product(in[0], sizeof(T), "the input shape") != wanted)
      throw Error("cannot reshape " + to_string(in[0]) + " into " + to_string(dims_) + " (element counts differ)");
    return dims_;
  }
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>&) const override {}
  Nodes<T> backward(const GradArgs<T>& a) const override { return {reshape(a.grad, a.inputs[0].shape())}; }

 private:
  Shape dims_;
};

template <class T>
class Transpose final : public Op<T> {
 public:
  std::string type() const override { return "transpose"; }
  OpTraits traits() const override { return {OpCode::transpose, false, true}; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    // forward() indexes fixed arrays of kMaxRank strides.
    if (in[0].size() > kit::kMaxRank)
      throw Error("input of rank " + std::to_string(in[0].size()) + ": transpose supports rank at most " +
                  std::to_string(kit::kMaxRank));
    return Shape(in[0].rbegin(), in[0].rend());
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    const Buffer<T>& x = *in[0];
    const std::size_t rank = x.dims.size();
    if (rank == 2) {
      const std::size_t r = x.dims[0], c = x.dims[1];
      for (std::size_t i = 0; i < r; ++i)
        for (std::size_t j = 0; j < c; ++j) out.data[j * r + i] = x.data[i * c + j];
      return;
    }
    kit::Strides s{};  // output axis k reads input axis rank-1-k
    std::size_t stride = 1;
    for (std::size_t d = rank; d-- > 0;) {
      s[rank - 1 - d] = stride;
      stride *= x.dims[d];
    }
    kit::for_each_broadcast(out.dims, s, s, [&](std::size_t o, std::size_t i, std::size_t) { out.data[o] = x.data[i]; });
  }
  Nodes<T> backward(const GradArgs<T>& a) const override { return {transpose(a.grad)}; }
};

template <class T>
class StopGradient final : public Op<T> {
 public:
  std::string type() const override { return "stop_gradient"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  int alias_input() const override { return 0; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>&) const override {}
  Nodes<T> backward(const GradArgs<T>&) const override { return {no_gradient<T>()}; }
};

// A tensor of `value` shaped like the input (whose values are not read).
template <class T>
class FillLike final : public Op<T> {
 public:
  explicit FillLike(T value) : value_(value) {}
  std::string type() const override { return value_ == T(0) ? "zeros_like" : "ones_like"; }
  OpTraits traits() const override {
    return {value_ == T(0) ? OpCode::zeros_like : value_ == T(1) ? OpCode::ones_like : OpCode::opaque, true, true};
  }
  bool same_as(const Op<T>& o) const override {
    const FillLike* f = kit::same_class(*this, o);
    return f && f->value_ == value_;
  }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>& out) const override {
    for (std::size_t i = 0; i < out.size; ++i) out.data[i] = value_;
  }
  Nodes<T> backward(const GradArgs<T>&) const override { return {no_gradient<T>()}; }

 private:
  T value_;
};

}  // namespace

template <class T> Node<T> reshape(const Node<T>& x, const Shape& dims) { return kit::make<Reshape<T>>(Nodes<T>{x}, dims); }
template <class T> Node<T> transpose(const Node<T>& x) { return kit::make<Transpose<T>>(Nodes<T>{x}); }
template <class T> Node<T> stop_gradient(const Node<T>& x) { return kit::make<StopGradient<T>>(Nodes<T>{x}); }
template <class T> Node<T> zeros_like(const Node<T>& x) { return kit::make<FillLike<T>>(Nodes<T>{x}, T(0)); }
template <class T> Node<T> ones_like(const Node<T>& x) { return kit::make<FillLike<T>>(Nodes<T>{x}, T(1)); }

#define INSTANTIATE(T)                                            \
  template Node<T> reshape<T>(const Node<T>&, const Shape&);      \
  template Node<T> transpose<T>(const Node<T>&);                  \
  template Node<T> stop_gradient<T>(const Node<T>&);              \
  template Node<T> zeros_like<T>(const Node<T>&);                 \
  template Node<T> ones_like<T>(const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"reshape", "transpose", "stop_gradient", "zeros_like", "ones_like"});
}  // namespace

}  // namespace graphnn
