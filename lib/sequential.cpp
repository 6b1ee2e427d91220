// Sequential<T>: the public face. Each call checks the caller's arrays and
// hands over to the part whose job it is: the model graph (model_graph.hpp),
// one fit (trainer.hpp) or the model file (model_file.hpp).
#include "graphnn/sequential.hpp"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <system_error>

#include "fit_data.hpp"
#include "graphnn/distributed.hpp"
#include "graphnn/metrics.hpp"
#include "graphnn/serialize.hpp"
#include "model_file.hpp"
#include "model_graph.hpp"
#include "trainer.hpp"

namespace graphnn {

template <class T>
struct Sequential<T>::Impl : ModelGraph<T> {};

template <class T>
Sequential<T>::Sequential() : impl_(std::make_unique<Impl>()) {}
template <class T>
Sequential<T>::Sequential(Sequential&&) noexcept = default;
template <class T>
Sequential<T>& Sequential<T>::operator=(Sequential&&) noexcept = default;
template <class T>
Sequential<T>::~Sequential() = default;

// A moved-from model has no Impl: every call lands here first and throws.
template <class T>
typename Sequential<T>::Impl& Sequential<T>::model(const char* what) const {
  if (!impl_)
    throw Error(std::string("Sequential::") + what +
                ": this model was moved from; use the Sequential it was moved to, or assign a new one");
  return *impl_;
}

template <class T>
Sequential<T>& Sequential<T>::add(std::shared_ptr<Layer<T>> layer) {
  model("add").add_layer(std::move(layer));
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::add(const ElementwiseFn<T>& activation) {
  return add(std::shared_ptr<Layer<T>>(std::make_shared<Activation<T>>(activation)));
}

template <class T>
Sequential<T>& Sequential<T>::set_classifier(const std::string& name) {
  model("set_classifier").set_classifier(name);
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_classifier(const ElementwiseFn<T>& classifier) {
  model("set_classifier").set_classifier(classifier);
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_loss(const std::string& name) {
  model("set_loss").set_loss(name);
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_loss(const LossFn<T>& loss) {
  model("set_loss").set_loss(loss);
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_optimizer(std::shared_ptr<Optimizer<T>> optimizer) {
  model("set_optimizer").set_optimizer(std::move(optimizer));
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_metrics(const std::vector<std::string>& names) {
  model("set_metrics").set_metrics(names);
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_seed(unsigned seed) {
  model("set_seed").set_seed(seed);
  return *this;
}

template <class T>
Sequential<T>& Sequential<T>::set_normalizer(Normalizer<T> normalizer) {
  model("set_normalizer").set_normalizer(std::move(normalizer));
  return *this;
}

template <class T>
void Sequential<T>::summary(std::ostream& os) {
  Impl& m = model("summary");
  m.build_unused("summary", "the input width is not known yet (the first layer is not Linear)");
  const Nodes<T>& outs = m.layer_outputs;
  os << std::left << std::setw(34) << "layer" << std::setw(18) << "output shape" << "parameters\n";
  std::size_t total = 0;
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    std::size_t count = 0;
    for (const auto& p : m.layers[i]->parameters()) count += num_elements(resolve(p.shape(), 0));
    total += count;
    const std::string shape = i < outs.size() ? to_string(outs[i].shape()) : "";
    os << std::setw(34) << ("layer" + std::to_string(i) + " " + m.layers[i]->describe()) << std::setw(18) << shape
       << count << "\n";
  }
  os << "classifier: " << m.classifier_name << ", loss: " << m.loss_name << ", optimizer: " << m.optimizer->name()
     << "\ntotal parameters: " << total << "\n"
     << std::right;
}

template <class T>
History Sequential<T>::fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const FitOptions& options) {
  return Trainer<T>(model("fit"), options).fit(x, y, nullptr, nullptr);
}

template <class T>
History Sequential<T>::fit(const xt::xarray<T>& x, const xt::xarray<T>& y, const xt::xarray<T>& validation_x,
                           const xt::xarray<T>& validation_y, const FitOptions& options) {
  return Trainer<T>(model("fit"), options).fit(x, y, &validation_x, &validation_y);
}

template <class T>
Evaluation Sequential<T>::evaluate(const xt::xarray<T>& x, const xt::xarray<T>& y, std::size_t batch_size) {
  Impl& m = model("evaluate");
  fit_data::check_shapes(x, &y, "evaluate");
  if (batch_size == 0) throw Error("evaluate: batch_size must be positive");
  fit_data::check_finite(x, "evaluate", "x");
  fit_data::check_finite(y, "evaluate", "y");
  m.build(x.shape()[1]);
  m.build_training(y.shape()[1]);
  m.check_metrics("evaluate");
  if (const std::size_t classes = m.class_id_classes(y.shape()[1])) fit_data::check_class_ids(y, classes, "evaluate", "y");
  return m.evaluate(m.normalized(x), y, batch_size);
}

template <class T>
xt::xarray<T> Sequential<T>::predict(const xt::xarray<T>& x, std::size_t batch_size) {
  Impl& m = model("predict");
  fit_data::check_shapes<T>(x, nullptr, "predict");
  if (batch_size == 0) throw Error("predict: batch_size must be positive");
  fit_data::check_finite(x, "predict", "x");
  m.build(x.shape()[1]);
  return m.predict(m.normalized(x), batch_size);
}

template <class T>
xt::xarray<std::int64_t> Sequential<T>::predict_classes(const xt::xarray<T>& x, std::size_t batch_size) {
  const std::vector<std::size_t> classes = predicted_classes(predict(x, batch_size));
  xt::xarray<std::int64_t> ids = xt::xarray<std::int64_t>::from_shape({classes.size()});
  std::copy(classes.begin(), classes.end(), ids.begin());
  return ids;
}

template <class T>
void Sequential<T>::save(const std::string& path) {
  Impl& m = model("save");
  m.build_unused("save", "the model has no weights yet");
  save_model_file<T>(m, path);
}

template <class T>
Sequential<T> Sequential<T>::load(const std::string& path) {
  Sequential loaded;
  load_model_file<T>(path, *loaded.impl_);
  return loaded;
}

namespace {
std::string npy_path(const std::string& dir, std::string name) {
  std::replace(name.begin(), name.end(), '/', '.');
  return dir + "/" + name + ".npy";
}
}  // namespace

template <class T>
void Sequential<T>::export_npy(const std::string& dir) {
  Impl& m = model("export_npy");
  m.build_unused("export_npy", "the model has no weights yet");
  distributed::on_root([&] {  // under mpirun every process holds the same weights
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("export_npy: cannot create the folder '" + dir + "': " + ec.message());
    for (const auto& p : m.parameters()) save_npy(npy_path(dir, p.name()), m.session->value(p));
  });
}

template <class T>
void Sequential<T>::import_npy(const std::string& dir) {
  Impl& m = model("import_npy");
  m.build_unused("import_npy", "the model has no variables to import into yet");
  // All files are read and checked before any variable changes.
  const Nodes<T> params = m.parameters();
  std::vector<xt::xarray<T>> values;
  for (const auto& p : params) {
    const std::string file = npy_path(dir, p.name());
    values.push_back(load_npy<T>(file));
    const auto& now = m.session->value(p).shape();
    const auto& got = values.back().shape();
    if (!std::equal(now.begin(), now.end(), got.begin(), got.end()))
      throw Error("import_npy '" + file + "': shape " + to_string(Dims(got.begin(), got.end())) +
                  " does not fit variable " + describe(p));
  }
  for (std::size_t i = 0; i < params.size(); ++i) m.session->assign(params[i], values[i]);
}

template <class T>
Graph<T>& Sequential<T>::graph() {
  Impl& m = model("graph");
  if (!m.graph) throw Error("graph: the model is not built yet; fit or predict first");
  return *m.graph;
}
template <class T>
Session<T>& Sequential<T>::session() {
  Impl& m = model("session");
  if (!m.session) throw Error("session: the model is not built yet; fit or predict first");
  return *m.session;
}
template <class T>
Node<T> Sequential<T>::input() const {
  return model("input").x;
}
template <class T>
Node<T> Sequential<T>::output() const {
  return model("output").output;
}
template <class T>
Nodes<T> Sequential<T>::parameters() const {
  return model("parameters").parameters();
}
template <class T>
Node<T> Sequential<T>::loss() const {
  return model("loss").loss_train;
}
template <class T>
Node<T> Sequential<T>::labels() const {
  return model("labels").y;
}
template <class T>
const Normalizer<T>& Sequential<T>::normalizer() const {
  return model("normalizer").normalizer;
}
template <class T>
const TrainingCounters& Sequential<T>::counters() const {
  return model("counters").counters;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace graphnn
