// The random mask of inverted dropout; the layer multiplies by it, so the
// gradient flows through `mul` with the same mask.
#include <memory>
#include <random>

#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// The mask's random stream: one per session (Op::make_state), so sessions
// over one graph neither race on it nor disturb each other's masks. Each
// starts from the op's seed, so a session's masks are reproducible.
struct RandomStream final : OpState {
  explicit RandomStream(unsigned seed) : engine(seed) {}
  std::mt19937_64 engine;
};

template <class T>
class DropoutMask final : public Op<T> {
 public:
  DropoutMask(T rate, unsigned seed) : rate_(rate), seed_(seed) {}
  std::string type() const override { return "dropout_mask"; }
  OpTraits traits() const override { return {OpCode::opaque, false, false}; }
  std::string attributes() const override { return "rate=" + std::to_string(rate_); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return in[0];
  }
  std::unique_ptr<OpState> make_state() const override { return std::make_unique<RandomStream>(seed_); }
  // Only a session runs the mask, always with its stream (forward_with_state).
  void forward(const std::vector<const Buffer<T>*>&, Buffer<T>&) const override {
    throw Error("op 'dropout_mask' draws from a session's random stream: it runs only in a Session");
  }
  void forward_with_state(const std::vector<const Buffer<T>*>&, Buffer<T>& out, OpState& state) const override {
    std::mt19937_64& rng = static_cast<RandomStream&>(state).engine;
    const T keep = T(1) / (T(1) - rate_);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t i = 0; i < out.size; ++i) out.data[i] = u(rng) < double(rate_) ? T(0) : keep;
  }
  Nodes<T> backward(const GradArgs<T>&) const override { return {no_gradient<T>()}; }

 private:
  T rate_;
  unsigned seed_;
};

}  // namespace

template <class T>
Node<T> dropout_mask(const Node<T>& like, T rate, unsigned seed) {
  if (!(rate >= T(0) && rate < T(1))) throw Error("op 'dropout_mask': rate " + std::to_string(rate) + " is not in [0, 1)");
  return kit::make<DropoutMask<T>>(Nodes<T>{like}, rate, seed);
}

#define INSTANTIATE(T) template Node<T> dropout_mask<T>(const Node<T>&, T, unsigned);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"dropout", "dropout_mask"});
}  // namespace

}  // namespace graphnn
