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

#include <vector>

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

// A tensor of `shape` drawn as `init` says; fan_in and fan_out scale xavier and he.
// Public so that layers outside the library start their weights the same way.
template <class T>
xt::xarray<T> initial_value(const Init& init, const std::vector<std::size_t>& shape, std::size_t fan_in,
                            std::size_t fan_out, std::mt19937_64& rng);

// A layer's settings as text, for saving and loading architectures.
using LayerConfig = std::map<std::string, std::string>;

template <class T>
struct BuildContext {
  Graph<T>& graph;
  std::mt19937_64& rng;
  std::string prefix;  // unique per layer: "layer0/"
  bool training;
  // Assignments a training build asks to run with every training step
  // (BatchNorm's running statistics); Sequential adds them to its updates.
  Nodes<T> updates = {};
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;
  virtual Node<T> build(const Node<T>& x, BuildContext<T>& ctx) = 0;
  // The trainable variables made with variable(), in creation order.
  virtual Nodes<T> parameters() const;
  // The non-trainable ones (running statistics): saved with the model, never optimised.
  virtual Nodes<T> state() const;
  // Whether the training build differs from the inference build (Dropout,
  // BatchNorm); Sequential then keeps two graphs' worth of behaviour apart.
  virtual bool behaves_differently_in_training() const { return false; }
  virtual LayerConfig config() const { return {}; }
  // One line for Sequential::summary ("Linear(1 -> 2)").
  virtual std::string describe() const { return kind(); }
  // At least how many bytes of weights the layer's settings imply, before it
  // is built (load checks them against the file before allocating any).
  virtual std::size_t min_weight_bytes() const { return 0; }

 protected:
  // Creates ctx.prefix + name on the first build in ctx.graph and returns the
  // same node on later builds (Sequential builds every layer twice, for
  // training and for inference, in one graph). `initial` runs once per graph.
  Node<T> variable(BuildContext<T>& ctx, const std::string& name, const std::function<xt::xarray<T>()>& initial,
                   bool trainable = true);

 private:
  struct Owned {
    std::string name;
    Node<T> node;
    bool trainable;
  };
  std::vector<Owned> variables_;
};

// y = x W + b, W of shape [in, out].
template <class T>
class Linear final : public Layer<T> {
 public:
  Linear(std::size_t in, std::size_t out, Init init = xavier_uniform(), bool bias = true);
  std::string kind() const override { return "Linear"; }
  Node<T> build(const Node<T>& x, BuildContext<T>& ctx) override;
  LayerConfig config() const override;
  std::string describe() const override;
  std::size_t min_weight_bytes() const override { return in_ * out_ * sizeof(T); }  // checked by the constructor
  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }

 private:
  std::size_t in_, out_;
  Init init_;
  bool bias_;
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
  bool behaves_differently_in_training() const override { return true; }
  LayerConfig config() const override;
  std::string describe() const override;  // "Dropout(0.1)"

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
