#include "graphnn/layers.hpp"

#include <cmath>
#include <sstream>

#include "graphnn/checked_size.hpp"
#include "graphnn/layer_norm.hpp"
#include "graphnn/op_names.hpp"
#include "graphnn/ops.hpp"

namespace graphnn {

std::string Init::to_string() const {
  std::ostringstream os;
  os.precision(17);
  switch (kind) {
    case Kind::xavier_uniform: return "xavier_uniform";
    case Kind::he_normal: return "he_normal";
    case Kind::zeros: return "zeros";
    case Kind::uniform: os << "uniform(" << a << "," << b << ")"; break;
    case Kind::normal: os << "normal(" << a << ")"; break;
  }
  return os.str();
}

Init Init::parse(const std::string& text) {
  if (text == "xavier_uniform") return xavier_uniform();
  if (text == "he_normal") return he_normal();
  if (text == "zeros") return zeros();
  double a = 0, b = 0;
  if (std::sscanf(text.c_str(), "uniform(%lf,%lf)", &a, &b) == 2) return uniform(a, b);
  if (std::sscanf(text.c_str(), "normal(%lf)", &a) == 1) return normal(a);
  throw Error("unknown initialiser '" + text + "'");
}

std::string config_value(const LayerConfig& config, const std::string& key, const std::string& layer) {
  auto it = config.find(key);
  if (it == config.end()) throw Error("layer " + layer + ": missing setting '" + key + "'");
  return it->second;
}

template <class T>
xt::xarray<T> initial_value(const Init& init, const std::vector<std::size_t>& shape, std::size_t in, std::size_t out,
                            std::mt19937_64& rng) {
  xt::xarray<T> w = xt::zeros<T>(shape);
  auto fill = [&](auto&& dist) {
    for (auto& v : w) v = static_cast<T>(dist(rng));
  };
  switch (init.kind) {
    case Init::Kind::zeros: break;
    case Init::Kind::xavier_uniform: {
      const double limit = std::sqrt(6.0 / static_cast<double>(in + out));
      fill(std::uniform_real_distribution<double>(-limit, limit));
      break;
    }
    case Init::Kind::he_normal: fill(std::normal_distribution<double>(0.0, std::sqrt(2.0 / static_cast<double>(in)))); break;
    case Init::Kind::uniform: fill(std::uniform_real_distribution<double>(init.a, init.b)); break;
    case Init::Kind::normal: fill(std::normal_distribution<double>(0.0, init.a)); break;
  }
  return w;
}

template <class T>
Node<T> Layer<T>::variable(BuildContext<T>& ctx, const std::string& name,
                           const std::function<xt::xarray<T>()>& initial, bool trainable) {
  const bool new_graph = variables_.empty() || !variables_.front().node.in(ctx.graph);
  if (new_graph) variables_.clear();
  for (const auto& v : variables_)
    if (v.name == name) return v.node;
  variables_.push_back({name, ctx.graph.variable(ctx.prefix + name, initial()), trainable});
  return variables_.back().node;
}

template <class T>
Nodes<T> Layer<T>::parameters() const {
  Nodes<T> out;
  for (const auto& v : variables_)
    if (v.trainable) out.push_back(v.node);
  return out;
}

template <class T>
Nodes<T> Layer<T>::state() const {
  Nodes<T> out;
  for (const auto& v : variables_)
    if (!v.trainable) out.push_back(v.node);
  return out;
}

template <class T>
Linear<T>::Linear(std::size_t in, std::size_t out, Init init, bool bias) : in_(in), out_(out), init_(init), bias_(bias) {
  if (in == 0 || out == 0) throw Error("Linear: sizes must be positive, got " + std::to_string(in) + " -> " + std::to_string(out));
  // Here rather than as std::bad_alloc when the weights are drawn.
  const std::string what = "Linear(" + std::to_string(in) + " -> " + std::to_string(out) + ") weights";
  check_allocatable(checked_product(Dims{in, out}, sizeof(T), what) * sizeof(T), what);
}

template <class T>
Node<T> Linear<T>::build(const Node<T>& x, BuildContext<T>& ctx) {
  const Node<T> w = this->variable(ctx, "W", [&] { return initial_value<T>(init_, {in_, out_}, in_, out_, ctx.rng); });
  if (x.shape().size() != 2 || x.shape()[1] != static_cast<std::int64_t>(in_))
    throw Error("Linear(" + std::to_string(in_) + " -> " + std::to_string(out_) + "): input " + graphnn::describe(x) +
                " does not have " + std::to_string(in_) + " features");
  const Node<T> y = matmul(x, w);
  if (!bias_) return y;
  return y + this->variable(ctx, "b", [&] { return xt::xarray<T>(xt::zeros<T>({out_})); });
}

template <class T>
LayerConfig Linear<T>::config() const {
  return {{"in", std::to_string(in_)}, {"out", std::to_string(out_)}, {"init", init_.to_string()},
          {"bias", bias_ ? "1" : "0"}};
}

template <class T>
std::string Linear<T>::describe() const {
  return "Linear(" + std::to_string(in_) + " -> " + std::to_string(out_) + (bias_ ? "" : ", no bias") + ")";
}

namespace {
// The names activation_by_name knows that no op file reserves.
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"identity"});
}  // namespace

template <class T>
std::function<Node<T>(const Node<T>&)> activation_by_name(const std::string& name) {
  using F = Node<T> (*)(const Node<T>&);
  static const std::map<std::string, F> builtin = {
      {"relu", [](const Node<T>& x) { return relu(x); }},
      {"tanh", [](const Node<T>& x) { return tanh(x); }},
      {"sigmoid", [](const Node<T>& x) { return sigmoid(x); }},
      {"leaky_relu", [](const Node<T>& x) { return leaky_relu(x); }},
      {"softplus", [](const Node<T>& x) { return softplus(x); }},
      {"softmax", [](const Node<T>& x) { return softmax(x); }},
      {"log_softmax", [](const Node<T>& x) { return log_softmax(x); }},
      {"identity", [](const Node<T>& x) { return x; }},
  };
  if (auto it = builtin.find(name); it != builtin.end()) return it->second;
  if (const ElementwiseFn<T>* custom = find_elementwise<T>(name)) return *custom;
  throw Error("unknown activation '" + name + "': not built in, and no custom op of that name is registered " +
              "(create it with gn::elementwise<" + (std::is_same_v<T, float> ? "float" : "double") + ">(\"" + name +
              "\", f, df) first)");
}

template <class T>
Activation<T>::Activation(const std::string& name) : name_(name), fn_(activation_by_name<T>(name)) {}

template <class T>
Activation<T>::Activation(const ElementwiseFn<T>& fn) : name_(fn.name()), fn_(fn) {}

template <class T>
Dropout<T>::Dropout(double rate) : rate_(rate) {
  if (!(rate >= 0.0 && rate < 1.0)) throw Error("Dropout: rate " + std::to_string(rate) + " is not in [0, 1)");
}

// The rate as written: "0.1", not std::to_string's "0.100000"; 17 digits keep it exact in a model file.
template <class T>
LayerConfig Dropout<T>::config() const {
  std::ostringstream os;
  os.precision(17);
  os << rate_;
  return {{"rate", os.str()}};
}

template <class T>
std::string Dropout<T>::describe() const {
  std::ostringstream os;
  os << "Dropout(" << rate_ << ")";
  return os.str();
}

template <class T>
Node<T> Dropout<T>::build(const Node<T>& x, BuildContext<T>& ctx) {
  if (!ctx.training || rate_ == 0.0) return x;
  return x * dropout_mask(x, static_cast<T>(rate_), static_cast<unsigned>(ctx.rng()));
}

namespace {
template <class T>
std::map<std::string, LayerFactory<T>>& factories() {
  static std::map<std::string, LayerFactory<T>> f = {
      {"Linear",
       [](const LayerConfig& c) {
         const auto size = [&](const char* key) {
           return parse_size(config_value(c, key, "Linear"), SIZE_MAX, std::string("layer Linear: setting '") + key + "'");
         };
         return std::make_shared<Linear<T>>(size("in"), size("out"),
                                            Init::parse(config_value(c, "init", "Linear")),
                                            config_value(c, "bias", "Linear") == "1");
       }},
      {"Activation", [](const LayerConfig& c) { return std::make_shared<Activation<T>>(config_value(c, "fn", "Activation")); }},
      {"Dropout",
       [](const LayerConfig& c) {
         return std::make_shared<Dropout<T>>(
             parse_finite(config_value(c, "rate", "Dropout"), "layer Dropout: setting 'rate'"));
       }},
      {"LayerNorm", LayerNorm<T>::from_config},
  };
  return f;
}
}  // namespace

template <class T>
void register_layer(const std::string& kind, LayerFactory<T> factory) {
  factories<T>()[kind] = std::move(factory);
}

template <class T>
std::shared_ptr<Layer<T>> make_layer(const std::string& kind, const LayerConfig& config) {
  auto it = factories<T>().find(kind);
  if (it == factories<T>().end())
    throw Error("unknown layer kind '" + kind + "' (register it with gn::register_layer before loading)");
  return it->second(config);
}

#define INSTANTIATE(T)                                                                                 \
  template xt::xarray<T> initial_value<T>(const Init&, const std::vector<std::size_t>&, std::size_t, std::size_t, \
                                          std::mt19937_64&);                                                   \
  template class Layer<T>;                                                                             \
  template class Linear<T>;                                                                            \
  template class Activation<T>;                                                                        \
  template class Dropout<T>;                                                                           \
  template std::function<Node<T>(const Node<T>&)> activation_by_name<T>(const std::string&);          \
  template void register_layer<T>(const std::string&, LayerFactory<T>);                               \
  template std::shared_ptr<Layer<T>> make_layer<T>(const std::string&, const LayerConfig&);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn
