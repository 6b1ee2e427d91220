#include "model_file.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "graphnn/distributed.hpp"
#include "graphnn/serialize.hpp"

namespace graphnn {

namespace {

template <class T>
void write_architecture(const ModelGraph<T>& m, ByteWriter& w) {
  w.u64(m.features);
  w.u32(static_cast<std::uint32_t>(m.layers.size()));
  for (const auto& l : m.layers) {
    w.str(l->kind());
    const LayerConfig c = l->config();
    w.u32(static_cast<std::uint32_t>(c.size()));
    for (const auto& [k, v] : c) {
      w.str(k);
      w.str(v);
    }
  }
  w.str(m.classifier_name);
  w.str(m.loss_name);
  w.str(m.normalizer.kind());
  w.tensor(m.normalizer.offset());
  w.tensor(m.normalizer.scale());
}

template <class T>
void write_variables(ModelGraph<T>& m, ByteWriter& w) {
  const Nodes<T> vars = m.saved_variables();
  w.u32(static_cast<std::uint32_t>(vars.size()));
  for (const auto& v : vars) {
    w.str(v.name());
    w.tensor(m.session->value(v));
  }
}

// Runs `step`, adding the file's name to an error from the configuration it sets.
template <class Step>
void from_file(const std::string& path, Step&& step) {
  try {
    step();
  } catch (const Error& e) {
    throw Error("load '" + path + "': " + e.what());
  }
}

// A few bytes of layer settings must not make the build allocate gigabytes
// before the weights are compared: the Linear weights the settings ask for
// must fit in what is left of the file.
template <class T>
void check_weights_present(const std::vector<std::shared_ptr<Layer<T>>>& layers, std::size_t left) {
  std::size_t need = 0;
  for (const auto& l : layers) {
    const std::size_t bytes = l->min_weight_bytes();
    if (bytes > left - need)
      throw Error("layer " + l->describe() + " needs at least " + std::to_string(bytes) +
                  " bytes of weights, the file holds " + std::to_string(left - need) + " more (corrupted)");
    need += bytes;
  }
}

template <class T>
void read_architecture(ByteReader& r, const std::string& path, ModelGraph<T>& m) {
  const std::size_t features = r.u64();
  const std::size_t layer_count = r.count(8, "layer");  // each: kind (4 + n), setting count (4)
  for (std::size_t i = 0; i < layer_count; ++i) {
    const std::string kind = r.str();
    LayerConfig config;
    const std::size_t keys = r.count(8, "layer setting");  // each: key and value (4 + n each)
    for (std::size_t k = 0; k < keys; ++k) {
      std::string key = r.str();
      config[key] = r.str();
    }
    from_file(path, [&] { m.add_layer(make_layer<T>(kind, config)); });
  }
  const std::string classifier = r.str(), loss = r.str();
  from_file(path, [&] { m.set_classifier(classifier); });
  from_file(path, [&] { m.set_loss(loss); });
  const std::string norm_kind = r.str();
  xt::xarray<T> offset = r.tensor<T>();
  xt::xarray<T> scale = r.tensor<T>();
  m.set_normalizer(norm_kind == "none" ? Normalizer<T>() : Normalizer<T>(norm_kind, offset, scale));
  from_file(path, [&] { check_weights_present<T>(m.layers, r.remaining()); });
  m.build(features);
}

template <class T>
void read_variables(ByteReader& r, const std::string& path, ModelGraph<T>& m) {
  const Nodes<T> vars = m.saved_variables();
  const std::uint32_t count = r.u32();
  if (count != vars.size())
    throw Error("load '" + path + "': " + std::to_string(count) + " weight tensors for " + std::to_string(vars.size()) +
                " parameters (corrupted)");
  for (const auto& v : vars) {
    const std::string name = r.str();
    const xt::xarray<T> value = r.tensor<T>();
    if (name != v.name()) throw Error("load '" + path + "': expected weights '" + v.name() + "', found '" + name + "'");
    m.session->assign(v, value);
  }
}

// Version 2: how far training has come, so that a loaded model trains on
// exactly as the saved one would have.
void write_shuffle(const ShuffleState& s, ByteWriter& w) {
  w.u32(s.active ? 1 : 0);
  if (!s.active) return;
  w.u32(s.seed);
  w.u64(s.rows);
  // The generator's text form is its state words (libstdc++ adds its
  // position): stored as u64s, so the file's size does not vary.
  std::ostringstream text;
  text << s.generator;
  std::istringstream words(text.str());
  std::vector<std::uint64_t> state;
  for (std::uint64_t word = 0; words >> word;) state.push_back(word);
  w.u32(static_cast<std::uint32_t>(state.size()));
  for (const std::uint64_t word : state) w.u64(word);
  for (const std::size_t r : s.order) w.u64(r);
}

// The optimizer as data (kind, settings, schedule), the label width its
// update nodes were built for (0: not built) and its state variables.
template <class T>
void write_optimizer(const ModelGraph<T>& m, ByteWriter& w) {
  const OptimizerConfig c = m.optimizer->config();
  w.str(c.kind);  // not a declared rule: a user's own optimizer, which load cannot make back but names
  w.u32(static_cast<std::uint32_t>(c.settings.size()));
  for (const auto& [name, value] : c.settings) {
    w.str(name);
    w.f64(value);
  }
  w.u32(static_cast<std::uint32_t>(c.schedule.kind));
  w.f64(c.schedule.factor);
  w.u64(c.schedule.every);
  const bool built = m.built_optimizer == m.optimizer;
  w.u64(built ? m.label_cols : 0);
  const Nodes<T> state = built ? m.optimizer->state_variables() : Nodes<T>{};
  w.u32(static_cast<std::uint32_t>(state.size()));
  for (const auto& v : state) {
    w.str(v.name());
    w.tensor(m.session->value(v));
  }
}

template <class T>
void write_training_state(const ModelGraph<T>& m, ByteWriter& w) {
  w.u64(m.counters.epoch);
  w.u64(m.counters.iteration);
  w.f64(m.lr_scale);
  write_shuffle(m.shuffle, w);
  write_optimizer(m, w);
}

ShuffleState read_shuffle(ByteReader& r, const std::string& path) {
  ShuffleState s;
  s.active = r.u32() != 0;
  if (!s.active) return s;
  s.seed = r.u32();
  s.rows = r.u64();
  const std::uint32_t words = r.u32();
  if (words < std::mt19937_64::state_size || words > std::mt19937_64::state_size + 1)
    throw Error("load '" + path + "': the shuffling generator has " + std::to_string(words) + " state words, not " +
                std::to_string(std::mt19937_64::state_size) + " (corrupted)");
  std::string text;
  for (std::uint32_t i = 0; i < words; ++i) text += std::to_string(r.u64()) + " ";
  std::istringstream generator(text);
  generator >> s.generator;
  if (!generator) throw Error("load '" + path + "': the shuffling generator's state is unreadable (corrupted)");
  if (s.rows > r.remaining() / 8)
    throw Error("load '" + path + "': a shuffling order of " + std::to_string(s.rows) + " rows is longer than the file (corrupted)");
  s.order.resize(s.rows);
  std::vector<bool> seen(s.rows, false);
  for (auto& row : s.order) {
    row = r.u64();
    if (row >= s.rows || seen[row])
      throw Error("load '" + path + "': the shuffling order is not a permutation of " + std::to_string(s.rows) +
                  " rows (corrupted)");
    seen[row] = true;
  }
  return s;
}

OptimizerConfig read_optimizer_config(ByteReader& r, const std::string& path) {
  OptimizerConfig c;
  c.kind = r.str();
  const std::uint32_t settings = r.u32();
  for (std::uint32_t i = 0; i < settings; ++i) {
    std::string name = r.str();
    c.settings[name] = r.f64();
  }
  const std::uint32_t kind = r.u32();
  if (kind > static_cast<std::uint32_t>(Schedule::Kind::exponential))
    throw Error("load '" + path + "': unknown learning-rate schedule " + std::to_string(kind) + " (corrupted)");
  c.schedule.kind = static_cast<Schedule::Kind>(kind);
  c.schedule.factor = r.f64();
  c.schedule.every = r.u64();
  return c;
}

// "optimizer12/layer0/W/m" -> "layer0/W/m": the optimizer's prefix counts the
// graph's nodes, which another build of the same model may number otherwise.
std::string without_prefix(const std::string& name) {
  const auto slash = name.find('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

// The optimizer made back from its config, its update nodes rebuilt for the
// saved label width, and its state assigned. An optimizer that is not a
// declared rule (a user's subclass; kind "" in files of stop 16) cannot be
// made back: its saved state is skipped, and fit refuses to train on with the
// default optimizer until the caller sets one (ModelGraph::missing_optimizer).
template <class T>
void read_optimizer(ByteReader& r, const std::string& path, ModelGraph<T>& m) {
  const OptimizerConfig config = read_optimizer_config(r, path);
  const std::uint64_t label_cols = r.u64();
  const std::uint32_t count = r.u32();
  const auto& rules = update_rules();
  const bool restorable =
      std::any_of(rules.begin(), rules.end(), [&](const auto& rule) { return rule.kind == config.kind; });
  if (restorable) from_file(path, [&] { m.set_optimizer(make_optimizer<T>(config)); });
  else
    m.missing_optimizer = "the model loaded from '" + path + "' was trained with " +
                          (config.kind.empty() ? std::string("an optimizer of its own") : "optimizer '" + config.kind + "'") +
                          ", which is not a declared update rule and cannot be made back; call set_optimizer before fit";
  Nodes<T> state;
  if (restorable && label_cols > 0) {
    from_file(path, [&] { m.build_training(label_cols); });
    state = m.optimizer->state_variables();
    if (count != state.size())
      throw Error("load '" + path + "': " + std::to_string(count) + " optimizer state tensors for " +
                  std::to_string(state.size()) + " variables of " + config.kind + " (corrupted)");
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string name = r.str();
    const xt::xarray<T> value = r.tensor<T>();
    if (state.empty()) continue;
    if (without_prefix(name) != without_prefix(state[i].name()))
      throw Error("load '" + path + "': expected optimizer state '" + state[i].name() + "', found '" + name + "'");
    from_file(path, [&] { m.session->assign(state[i], value); });
  }
}

template <class T>
void read_training_state(ByteReader& r, const std::string& path, ModelGraph<T>& m) {
  m.counters.epoch = r.u64();
  m.counters.iteration = r.u64();
  m.lr_scale = r.f64();
  if (!(m.lr_scale > 0 && std::isfinite(m.lr_scale)))
    throw Error("load '" + path + "': learning-rate factor " + std::to_string(m.lr_scale) + " (corrupted)");
  m.shuffle = read_shuffle(r, path);
  read_optimizer(r, path, m);
}

}  // namespace

template <class T>
void save_model_file(ModelGraph<T>& model, const std::string& path) {
  ByteWriter w;
  write_architecture(model, w);
  write_variables(model, w);
  write_training_state(model, w);
  // Under mpirun every process holds the same model: rank 0 writes it, and
  // every process can read it once save returns.
  distributed::on_root([&] { write_model_file(path, sizeof(T), w.bytes()); });
}

template <class T>
void load_model_file(const std::string& path, ModelGraph<T>& model) {
  std::uint32_t version = 0;
  const std::vector<char> bytes = read_model_file(path, sizeof(T), version);
  ByteReader r(bytes.data(), bytes.size(), "load '" + path + "'");
  read_architecture(r, path, model);
  read_variables(r, path, model);
  if (version >= 2) read_training_state(r, path, model);  // version 1: weights only, training starts afresh
  if (!r.done()) throw Error("load '" + path + "': unexpected data after the training state (corrupted)");
}

template void save_model_file<float>(ModelGraph<float>&, const std::string&);
template void save_model_file<double>(ModelGraph<double>&, const std::string&);
template void load_model_file<float>(const std::string&, ModelGraph<float>&);
template void load_model_file<double>(const std::string&, ModelGraph<double>&);

}  // namespace graphnn
