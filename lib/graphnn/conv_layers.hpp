#pragma once
// Layers for convolutional networks on NHWC images [batch, height, width,
// channels] (ops/conv_geometry.hpp says why channels last). Each is defined in
// its own file of lib/layers/ and registered for loading there.
#include <cstddef>
#include <string>
#include <vector>

#include "graphnn/layers.hpp"
#include "graphnn/ops.hpp"

namespace graphnn {

// A pool layer's window, stride (0: the window's) and padding, as config text and back.
struct PoolSettings {
  Size2 window, stride;
  Padding padding;
  Size2 effective_stride() const { return stride.h == 0 ? window : stride; }
  LayerConfig config() const;
  std::string describe(const std::string& kind) const;  // "MaxPool2D(2x2, stride 2x2, valid)"
  static PoolSettings parse(const LayerConfig& config, const std::string& kind);
};

// Rows of features as images: [batch, n] -> [batch, dims...] (Sequential feeds
// [batch, features]; a CNN starts with Reshape({28, 28, 1})).
template <class T>
class Reshape final : public Layer<T> {
 public:
  explicit Reshape(std::vector<std::size_t> dims);
  std::string kind() const override { return "Reshape"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
  LayerConfig config() const override;
  std::string describe() const override;

 private:
  std::vector<std::size_t> dims_;
};

// conv2d with `filters` filters of kernel [kh, kw, in channels] (in channels
// from the input), plus a bias per filter. Weights start He-normal by default.
template <class T>
class Conv2D final : public Layer<T> {
 public:
  Conv2D(std::size_t filters, Size2 kernel, Size2 stride = 1, Padding padding = "valid", Size2 dilation = 1,
         Init init = he_normal(), bool bias = true);
  std::string kind() const override { return "Conv2D"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
  LayerConfig config() const override;
  std::string describe() const override;
  std::size_t min_weight_bytes() const override;  // the filters for one input channel

 private:
  std::size_t filters_;
  Size2 kernel_, stride_, dilation_;
  Padding padding_;
  Init init_;
  bool bias_;
};

// What the pool layers share: their settings, as config and description.
template <class T>
class PoolLayer : public Layer<T> {
 public:
  // The stride defaults to the window (non-overlapping windows).
  explicit PoolLayer(Size2 window, Size2 stride = 0, Padding padding = "valid") : pool_{window, stride, padding} {}
  explicit PoolLayer(PoolSettings pool) : pool_(pool) {}
  LayerConfig config() const override { return pool_.config(); }
  std::string describe() const override { return pool_.describe(this->kind()); }

 protected:
  PoolSettings pool_;
};

// max_pool2d over each window.
template <class T>
class MaxPool2D final : public PoolLayer<T> {
 public:
  using PoolLayer<T>::PoolLayer;
  std::string kind() const override { return "MaxPool2D"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
};

// avg_pool2d over each window.
template <class T>
class AvgPool2D final : public PoolLayer<T> {
 public:
  using PoolLayer<T>::PoolLayer;
  std::string kind() const override { return "AvgPool2D"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
};

// Batch normalisation over the last axis (channels of images, features of
// rows). Training: the batch's mean and (biased) variance, and the running
// statistics move towards them, running = momentum * running + (1 - momentum)
// * batch, as assignments run with each training step. Inference: the running
// statistics. gamma and beta are trained; the running statistics are state().
template <class T>
class BatchNorm final : public Layer<T> {
 public:
  explicit BatchNorm(double momentum = 0.9, double epsilon = 1e-3);
  std::string kind() const override { return "BatchNorm"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
  bool behaves_differently_in_training() const override { return true; }
  LayerConfig config() const override;
  std::string describe() const override;

 private:
  double momentum_, epsilon_;
};

// [batch, ...] -> [batch, features], the step from feature maps to Linear.
template <class T>
class Flatten final : public Layer<T> {
 public:
  std::string kind() const override { return "Flatten"; }
  Node<T> build(const Node<T>& x, BuildContext<T>&) override { return flatten(x); }
};

// "5x3" for Size2(5, 3), and back (an Error naming `what` when malformed).
std::string size2_text(Size2 s);
Size2 parse_size2(const std::string& text, const std::string& what);

}  // namespace graphnn
