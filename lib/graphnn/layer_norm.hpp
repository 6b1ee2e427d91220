#pragma once
// LayerNorm (Ba, Kiros & Hinton; torch.nn.LayerNorm over the last axis):
// y = (x - mean) / sqrt(var + epsilon) * gamma + beta, with the mean and the
// biased variance of each row's `features` values. Built from graph ops, so
// its gradient (and the gradient's gradient) comes from gradients().
#include <cstddef>
#include <memory>
#include <string>

#include "graphnn/layers.hpp"

namespace graphnn {

template <class T>
class LayerNorm final : public Layer<T> {
 public:
  // `affine`: learn gamma (from ones) and beta (from zeros), one per feature.
  explicit LayerNorm(std::size_t features, double epsilon = 1e-5, bool affine = true);
  std::string kind() const override { return "LayerNorm"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
  LayerConfig config() const override;
  std::string describe() const override;
  // register_layer's factory: the inverse of config().
  static std::shared_ptr<Layer<T>> from_config(const LayerConfig& config);

 private:
  std::size_t features_;
  double epsilon_;
  bool affine_;
};

}  // namespace graphnn
