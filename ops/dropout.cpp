// The random mask of inverted dropout; the layer multiplies by it, so the
// gradient flows through `mul` with the same mask.
#include <random>

#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
class DropoutMask final : public Op<T> {
 public:
  DropoutMask(T rate, unsigned seed) : rate_(rate), rng_(seed) {}
  std::string type() const override { return "dropout_mask"; }
  OpTraits traits() const override { return {OpCode::opaque, false, false}; }
  std::string attributes() const override { return "rate=" + std::to_string(rate_); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>& out) const override {
    const T keep = T(1) / (T(1) - rate_);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t i = 0; i < out.size; ++i) out.data[i] = u(rng_) < double(rate_) ? T(0) : keep;
  }
  Nodes<T> backward(const GradArgs<T>&) const override { return {no_gradient<T>()}; }

 private:
  T rate_;
  mutable std::mt19937_64 rng_;  // the mask is drawn anew at every run
};

}  // namespace

template <class T>
Node<T> dropout_mask(const Node<T>& like, T rate, unsigned seed) {
  if (!(rate >= T(0) && rate < T(1))) throw Error("op 'dropout_mask': rate " + std::to_string(rate) + " is not in [0, 1)");
  return kit::make<DropoutMask<T>>(Nodes<T>{like}, rate, seed);
}

#define INSTANTIATE(T) template Node<T> dropout_mask<T>(const Node<T>&, T, unsigned);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

}  // namespace graphnn
