// flatten: [batch, d1, d2, ...] as [batch, d1 * d2 * ...], the step from
// convolutional feature maps to dense layers. Row-major storage already is
// that matrix, so the output aliases its input and the kernel does nothing.
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
class Flatten final : public Op<T> {
 public:
  std::string type() const override { return "flatten"; }
  bool same_as(const Op<T>& o) const override { return kit::same_class(*this, o); }
  int alias_input() const override { return 0; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    const Shape& x = in[0];
    if (x.size() < 2) throw Error("input " + to_string(x) + " has no axes after the first to flatten");
    std::int64_t features = 1;
    for (std::size_t k = 1; k < x.size(); ++k) {
      if (x[k] < 0) throw Error("input " + to_string(x) + " has a batch dimension after the first axis");
      features *= x[k];
    }
    return {x[0], features};
  }
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>&) const override {}
  Nodes<T> backward(const GradArgs<T>& a) const override { return {reshape(a.grad, a.inputs[0].shape())}; }
};

}  // namespace

template <class T>
Node<T> flatten(const Node<T>& x) {
  return kit::make<Flatten<T>>(Nodes<T>{x});
}

#define INSTANTIATE(T) template Node<T> flatten<T>(const Node<T>&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"flatten"});
}  // namespace

}  // namespace graphnn
