#pragma once
// Layers: small objects that build their nodes on an input node. A layer is
// built twice by Sequential, for training (Dropout active) and for inference;
// it creates its variables on the first build in a graph and reuses them on the second.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "graphnn/custom.hpp"
#include "graphnn/graph.hpp"

namespace graphnn {

// How a weight tensor starts. All draws come from the model's seeded generator.
struct Init {
  enum class Kind { xavier_uniform, he_normal, uniform, normal, zeros };
  Kind kind = Kind::xavier_uniform;
  double a = 0, b = 0;  // uniform: [a, b); normal: std a
  std::string to_string() const;
  static Init parse(const std::string& text);  // inverse of to_string
};
inline Init xavier_uniform() { return {Init::Kind::xavier_uniform}; }  // U(±sqrt(6 / (in + out)))
inline Init he_normal() { return {Init::Kind::he_normal}; }            // N(0, sqrt(2 / in))
inline Init uniform(double lo, double hi) { return {Init::Kind::uniform, lo, hi}; }
inline Init normal(double std) { return {Init::Kind::normal, std}; }
inline Init zeros() { return {Init::Kind::zeros}; }

// A layer's settings as text, for saving and loading architectures.
using LayerConfig = std::map<std::string, std::string>;

template <class T>
struct BuildContext {
  Graph<T>& graph;
  std::mt19937_64& rng;
  std::string prefix;  // unique per layer: "layer0/"
  bool training;
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;
  virtual Node<T> build(const Node<T>& x, BuildContext<T>& ctx) = 0;
  virtual Nodes<T> parameters() const { return {}; }
  virtual LayerConfig config() const { return {}; }
  // One line for Sequential::summary ("Linear(1 -> 2)").
  virtual std::string describe() const { return kind(); }
};

// y = x W + b, W of shape [in, out].
template <class T>
class Linear final : public Layer<T> {
 public:
  Linear(std::size_t in, std::size_t out, Init init = xavier_uniform(), bool bias = true);
  std::string kind() const override { return "Linear"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
  Nodes<T> parameters() const override;
  LayerConfig config() const override;
  std::string describe() const override;
  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }

 private:
  std::size_t in_, out_;
  Init init_;
  bool bias_;
  Node<T> w_, b_;
};

// A built-in activation by name (relu, tanh, sigmoid, leaky_relu, softplus,
// softmax, log_softmax, identity) or any gn::elementwise custom op.
template <class T>
class Activation final : public Layer<T> {
 public:
  explicit Activation(const std::string& name);
  explicit Activation(const ElementwiseFn<T>& fn);
  std::string kind() const override { return "Activation"; }
  Node<T> build(const Node<T>& x, BuildContext<T>&) override { return fn_(x); }
  LayerConfig config() const override { return {{"fn", name_}}; }
  std::string describe() const override { return "Activation(" + name_ + ")"; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::function<Node<T>(const Node<T>&)> fn_;
};

// Inverted dropout: in training, zeroes each value with probability `rate` and
// scales the rest by 1 / (1 - rate); at inference, the identity.
template <class T>
class Dropout final : public Layer<T> {
 public:
  explicit Dropout(double rate);
  std::string kind() const override { return "Dropout"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
  LayerConfig config() const override { return {{"rate", std::to_string(rate_)}}; }
  std::string describe() const override { return "Dropout(" + std::to_string(rate_) + ")"; }

 private:
  double rate_;
};

// A function of one node by name: the built-in activations and classifiers,
// then the registered custom element-wise ops. Throws Error naming the missing op.
template <class T>
std::function<Node<T>(const Node<T>&)> activation_by_name(const std::string& name);

// Makes a layer from its kind and config (for loading); user layer kinds are
// added with register_layer.
template <class T>
using LayerFactory = std::function<std::shared_ptr<Layer<T>>(const LayerConfig&)>;
template <class T>
void register_layer(const std::string& kind, LayerFactory<T> factory);
template <class T>
std::shared_ptr<Layer<T>> make_layer(const std::string& kind, const LayerConfig& config);

// Reads a config value, with an Error naming the layer and key when absent.
std::string config_value(const LayerConfig& config, const std::string& key, const std::string& layer);

}  // namespace graphnn
