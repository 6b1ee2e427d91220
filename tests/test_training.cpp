// Sequential end to end: learning (XOR, a sine, blobs), the textbook flows
// (seeds 000 and 001), the training log, the NaN guard, model files and .npy,
// and every input error by its message.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

namespace fs = std::filesystem;
using test::Arr;
using test::TempDir;
using test::quiet;

namespace {

// A fresh folder, removed with everything in it at the end of the test.
std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Same shape and the same bytes.
template <class T>
bool identical(const xt::xarray<T>& a, const xt::xarray<T>& b) {
  return std::equal(a.shape().begin(), a.shape().end(), b.shape().begin(), b.shape().end()) &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class T>
std::vector<xt::xarray<T>> weights(gn::Sequential<T>& m) {
  std::vector<xt::xarray<T>> w;
  for (const auto& p : m.parameters()) w.push_back(m.session().value(p));
  return w;
}

template <class T>
bool identical(const std::vector<xt::xarray<T>>& a, const std::vector<xt::xarray<T>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!identical(a[i], b[i])) return false;
  return true;
}


// Data -------------------------------------------------------------------

Arr column(std::vector<double> v) {
  Arr a = xt::adapt(v, std::vector<std::size_t>{v.size()});
  a.reshape({v.size(), 1});
  return a;
}

// n points of y = sin(x) on [-3, 3].
std::pair<Arr, Arr> sine(std::size_t n) {
  std::vector<double> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = -3.0 + 6.0 * static_cast<double>(i) / static_cast<double>(n - 1);
    y[i] = std::sin(x[i]);
  }
  return {column(x), column(y)};
}

// Gaussian blobs around `centers`, `per` points each: x [n, 2] and class ids [n, 1].
std::pair<Arr, Arr> blobs(const std::vector<std::pair<double, double>>& centers, std::size_t per, double spread,
                          unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, spread);
  const std::size_t n = centers.size() * per;
  Arr x = xt::zeros<double>({n, std::size_t(2)});
  std::vector<double> ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = centers[i % centers.size()];
    x(i, 0) = c.first + noise(rng);
    x(i, 1) = c.second + noise(rng);
    ids[i] = static_cast<double>(i % centers.size());
  }
  return {x, column(ids)};
}

std::pair<Arr, Arr> three_blobs() { return blobs({{0, 0}, {3, 0}, {1.5, 2.6}}, 50, 0.6, 11); }
std::pair<Arr, Arr> two_blobs() { return blobs({{-1, -1}, {1, 1}}, 40, 0.5, 5); }

// A smooth function of two inputs, for regression: y = 0.5 x0 - x1^2 + 0.3.
std::pair<Arr, Arr> surface(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Arr x = xt::zeros<double>({n, std::size_t(2)});
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = u(rng);
    x(i, 1) = u(rng);
    y[i] = 0.5 * x(i, 0) - x(i, 1) * x(i, 1) + 0.3;
  }
  return {x, column(y)};
}

template <class T>
xt::xarray<T> as(const Arr& a) {
  return xt::cast<T>(a);
}

// A small regression model on two inputs.
template <class T>
gn::Sequential<T> small_regressor(unsigned seed) {
  gn::Sequential<T> m;
  m.add_layer(gn::Linear<T>(2, 8));
  m.add_layer(gn::Activation<T>("tanh"));
  m.add_layer(gn::Linear<T>(8, 1));
  m.set_optimizer(gn::Adam<T>(0.01)).set_seed(seed);
  return m;
}

// m.fit(x, y, o) with what it prints on std::cout written to `printed`.
gn::History fit_printing(gn::Sequential<double>& m, const Arr& x, const Arr& y, const gn::FitOptions& o,
                         std::ostringstream& printed) {
  std::streambuf* old = std::cout.rdbuf(printed.rdbuf());
  try {
    gn::History h = m.fit(x, y, o);
    std::cout.rdbuf(old);
    return h;
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
}

}  // namespace

// Learning ----------------------------------------------------------------

TEST_CASE("XOR reaches 100% accuracy (sigmoid + binary_cross_entropy, Adam)") {
  const Arr x = {{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}};
  const Arr y = column({0, 1, 1, 0});
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(2, 8)).add(gn::Activation<double>("tanh")).add(gn::Linear<double>(8, 1));
  m.set_classifier("sigmoid").set_loss("binary_cross_entropy").set_optimizer(gn::Adam<double>(0.05)).set_seed(3);
  const gn::History h = m.fit(x, y, quiet(300, 4));
  CHECK(h.accuracy.back() == 1.0);
  const gn::Evaluation e = m.evaluate(x, y);
  CHECK(e.accuracy == 1.0);
  CHECK(e.loss < 0.1);
  CHECK(identical(m.predict_classes(x), xt::xarray<std::int64_t>{0, 1, 1, 0}));
  const Arr p = m.predict(x);
  CHECK(p.shape()[1] == 1);
  CHECK(xt::all(p > 0.0 && p < 1.0));  // probabilities, not logits
}

TEST_CASE("y = sin(x) on 64 points with a tanh hidden layer reaches MSE < 1e-3") {
  const auto x_y = sine(64);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(1, 16)).add(gn::Activation<double>("tanh")).add(gn::Linear<double>(16, 1));
  m.set_optimizer(gn::Adam<double>(0.01)).set_seed(1);
  const gn::History h = m.fit(x, y, quiet(1500, 16));
  const gn::Evaluation e = m.evaluate(x, y);
  CHECK(e.loss < 1e-3);
  CHECK(std::isnan(e.accuracy));  // regression has no accuracy
  CHECK(e.loss == doctest::Approx(h.loss.back()).epsilon(1e-12));
  CHECK(double(xt::mean(xt::square(m.predict(x) - y))()) == doctest::Approx(e.loss).epsilon(1e-9));
}

TEST_CASE("softmax + cross_entropy on 3 blobs: one-hot and class-id labels both exceed 95%") {
  const auto x_ids = three_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_ids);
  const auto& ids = std::get<1>(x_ids);
  const Arr onehot = gn::one_hot_encode(ids, 3);
  auto model = [] {
    gn::Sequential<double> m;
    m.add(gn::Linear<double>(2, 16)).add(gn::Activation<double>("relu")).add(gn::Linear<double>(16, 3));
    m.set_classifier("softmax").set_loss("cross_entropy").set_optimizer(gn::Adam<double>(0.02)).set_seed(4);
    return m;
  };
  gn::Sequential<double> dense = model(), sparse = model();
  dense.fit(x, onehot, quiet(60, 16));
  sparse.fit(x, ids, quiet(60, 16));
  const gn::Evaluation d = dense.evaluate(x, onehot), s = sparse.evaluate(x, ids);
  CHECK(d.accuracy > 0.95);
  CHECK(s.accuracy > 0.95);
  // The two label forms give the same loss and accuracy for one model,
  // and switching between them keeps the optimizer state (Adam's moments).
  const gn::Evaluation d_ids = dense.evaluate(x, ids), s_onehot = sparse.evaluate(x, onehot);
  CHECK(d_ids.loss == doctest::Approx(d.loss).epsilon(1e-12));
  CHECK(d_ids.accuracy == d.accuracy);
  CHECK(s_onehot.loss == doctest::Approx(s.loss).epsilon(1e-12));
  sparse.fit(x, onehot, quiet(5, 16));
  dense.fit(x, ids, quiet(5, 16));
  CHECK(sparse.evaluate(x, ids).accuracy > 0.95);
  CHECK(dense.evaluate(x, onehot).accuracy > 0.95);
  CHECK(identical(dense.predict_classes(x), xt::xarray<std::int64_t>(gn::argmax_rows(dense.predict(x)))));
}

// The textbook flows --------------------------------------------------------

TEST_CASE_TEMPLATE("seed 001, regression: add_layer, fit with batches and validation, save, load, same predictions",
                   T, float, double) {
  TempDir dir;
  const auto xd_yd = surface(200, 21);  // not a structured binding: clang 14 cannot capture one
  const auto& xd = std::get<0>(xd_yd);
  const auto& yd = std::get<1>(xd_yd);
  const xt::xarray<T> x = as<T>(xd), y = as<T>(yd);
  gn::Sequential<T> m = small_regressor<T>(7);
  gn::FitOptions o = quiet(150, 16);
  o.validation_fraction = 0.2;
  const gn::History h = m.fit(x, y, o);
  REQUIRE(h.size() == 150);
  CHECK(std::isfinite(h.val_loss.back()));
  CHECK(std::isnan(h.accuracy.back()));
  CHECK(h.loss.back() < 0.01);
  CHECK(h.val_loss.back() < 0.01);
  CHECK(h.loss.back() < h.loss.front() / 10);

  const xt::xarray<T> p = m.predict(x);
  REQUIRE(p.shape()[0] == 200);
  const std::string path = dir.file("regressor.gnn");
  m.save(path);
  gn::Sequential<T> loaded = gn::Sequential<T>::load(path);
  CHECK(identical(loaded.predict(x), p));
  CHECK(identical(weights(loaded), weights(m)));
  CHECK(loaded.evaluate(x, y).loss == m.evaluate(x, y).loss);
  // the loaded model trains on
  loaded.fit(x, y, quiet(2, 16));
  CHECK(!identical(loaded.predict(x), p));
}

TEST_CASE_TEMPLATE("seed 001, classification: softmax model saved and loaded predicts the same classes", T, float,
                   double) {
  TempDir dir;
  const auto xd_ids = three_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& xd = std::get<0>(xd_ids);
  const auto& ids = std::get<1>(xd_ids);
  const xt::xarray<T> x = as<T>(xd), y = gn::one_hot_encode(as<T>(ids), 3);
  gn::Sequential<T> m;
  m.add_layer(gn::Linear<T>(2, 12));
  m.add_layer(gn::Activation<T>("relu"));
  m.add_layer(gn::Linear<T>(12, 3));
  m.set_classifier("softmax").set_loss("cross_entropy").set_optimizer(gn::Adam<T>(0.02)).set_seed(9);
  gn::FitOptions o = quiet(60, 32);
  o.validation_fraction = 0.3;
  o.seed = 2;
  const gn::History h = m.fit(x, y, o);
  CHECK(h.accuracy.back() > 0.95);
  CHECK(h.val_accuracy.back() > 0.9);

  const xt::xarray<T> p = m.predict(x);
  CHECK(xt::allclose(xt::sum(p, {1}), xt::ones<T>({p.shape()[0]}), 1e-5));
  m.save_model(dir.file("classifier.gnn"));
  gn::Sequential<T> loaded = gn::Sequential<T>::load_model(dir.file("classifier.gnn"));
  CHECK(identical(loaded.predict(x), p));
  CHECK(identical(loaded.predict_classes(x), m.predict_classes(x)));
  CHECK(loaded.evaluate(x, y).accuracy == m.evaluate(x, y).accuracy);
}

TEST_CASE("seed 001: explicit validation data is used as given") {
  const auto x_y = surface(120, 3);
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x_y);
  const auto vx_vy = surface(40, 4);
  const auto& vx = std::get<0>(vx_vy);  // not a structured binding: clang 14 cannot capture one
  const auto& vy = std::get<1>(vx_vy);
  gn::Sequential<double> m = small_regressor<double>(5);
  const gn::History h = m.fit(x, y, vx, vy, quiet(20, 16));
  REQUIRE(h.size() == 20);
  CHECK(h.val_loss.back() == doctest::Approx(m.evaluate(vx, vy).loss).epsilon(1e-12));
  CHECK(h.loss.back() == doctest::Approx(m.evaluate(x, y).loss).epsilon(1e-12));
  CHECK(h.val_loss.back() != h.loss.back());
  CHECK_ERROR(m.fit(x, y, vx, Arr(xt::zeros<double>({40, 2})), quiet(1, 16)), "validation labels have 2 columns");
}

TEST_CASE("Dropout: active in training, the identity in predict") {
  TempDir dir;
  const auto x_y = surface(64, 8);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  // The same network twice; Dropout last, so both have the same parameter names.
  auto make = [](bool dropout) {
    gn::Sequential<double> m;
    m.add(gn::Linear<double>(2, 8)).add(gn::Activation<double>("tanh")).add(gn::Linear<double>(8, 1));
    if (dropout) {
      m.add(gn::Dropout<double>(0.5));
    } else {
      m.add(gn::Activation<double>("identity"));
    }
    m.set_optimizer(gn::SGD<double>(0.1)).set_seed(6);
    return m;
  };
  gn::Sequential<double> with = make(true), without = make(false), again = make(true);
  const Arr p = with.predict(x);
  without.predict(x);
  again.predict(x);
  with.export_npy(dir.path.string());
  without.import_npy(dir.path.string());
  again.import_npy(dir.path.string());
  CHECK(identical(with.predict(x), p));  // predict is deterministic
  CHECK(identical(without.predict(x), p));

  gn::FitOptions o = quiet(1, 64);  // one full-batch step
  o.shuffle = false;
  with.fit(x, y, o);
  without.fit(x, y, o);
  again.fit(x, y, o);
  CHECK(!identical(weights(with), weights(without)));  // the masks changed the gradient
  CHECK(identical(weights(with), weights(again)));     // seeded: the same masks
  for (const auto& w : weights(with)) CHECK(test::all_finite(w));

  with.save(dir.file("dropout.gnn"));
  gn::Sequential<double> loaded = gn::Sequential<double>::load(dir.file("dropout.gnn"));
  CHECK(identical(loaded.predict(x), with.predict(x)));
}

TEST_CASE("dropout_mask: zeros with probability rate, 1 / (1 - rate) elsewhere, new each run") {
  gn::Graph<double> g;
  auto x = g.placeholder("x", {gn::batch, 100});
  auto mask = gn::dropout_mask(x, 0.25, 42u);
  gn::Session<double> s(g);
  const Arr ones = xt::ones<double>({100, 100});
  const Arr a = s.run({mask}, {{x, ones}})[0];
  const Arr b = s.run({mask}, {{x, ones}})[0];
  const double zeros = static_cast<double>(xt::sum(xt::equal(a, 0.0))());
  CHECK(zeros > 2200);
  CHECK(zeros < 2800);
  CHECK(xt::all(xt::equal(a, 0.0) || xt::equal(a, 1.0 / 0.75)));
  CHECK(!identical(a, b));
  CHECK_ERROR(gn::dropout_mask(x, 1.0, 1u), "dropout_mask", "rate");
  // the mask has no gradient of its own; through x * mask the gradient is the mask
  auto w = g.variable("w", Arr(xt::ones<double>({100})));
  auto grads = gn::gradients(gn::reduce_sum(x * w * mask), {w});
  const auto out = s.run({mask, grads[0]}, {{x, Arr(xt::ones<double>({1, 100}))}});
  Arr flat_mask = out[0];
  flat_mask.reshape({100});
  CHECK(identical(out[1], flat_mask));
}

namespace {
// Seed 000: the textbook's own activation, classifier and loss.
struct Seed000 {
  gn::ElementwiseFn<double> activator = gn::elementwise<double>(
      "my_activator", [](const auto& z) { return z / (1.0 + xt::abs(z)); },
      [](const auto& z) { return 1.0 / xt::square(1.0 + xt::abs(z)); });
  gn::ElementwiseFn<double> classifier = gn::elementwise<double>(
      "my_binary_classifier", [](const auto& z) { return 0.5 + xt::atan(z) / M_PI; },
      [](const auto& z) { return 1.0 / (M_PI * (1.0 + xt::square(z))); });
  gn::LossFn<double> loss = gn::custom_loss<double>(
      "my_loss",
      [](const auto& a, const auto& y) { return y * (xt::exp(1.0 - a) - 1.0) + (1.0 - y) * (xt::exp(a) - 1.0); },
      [](const auto& a, const auto& y) { return -y * xt::exp(1.0 - a) + (1.0 - y) * xt::exp(a); });
};
}  // namespace

TEST_CASE("seed 000: custom activation, classifier and loss train, and round-trip through save/load") {
  TempDir dir;
  const Seed000 ops;
  const auto x_y = two_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(2, 8)).add(ops.activator).add(gn::Linear<double>(8, 1));
  m.set_classifier(ops.classifier).set_loss(ops.loss).set_optimizer(gn::SGD<double>(0.1)).set_seed(12);
  gn::FitOptions o = quiet(100, 16);
  o.validation_fraction = 0.2;
  const gn::History h = m.fit(x, y, o);
  CHECK(h.accuracy.back() > 0.95);
  CHECK(h.loss.back() < h.loss.front());
  const Arr p = m.predict(x);
  CHECK(xt::all(p > 0.0 && p < 1.0));  // the classifier's range

  // The loss is the mean of the textbook's formula over the classifier's outputs.
  const Arr manual = y * (xt::exp(1.0 - p) - 1.0) + (1.0 - y) * (xt::exp(p) - 1.0);
  CHECK(m.evaluate(x, y).loss == doctest::Approx(xt::mean(manual)()).epsilon(1e-12));

  m.save(dir.file("custom.gnn"));
  gn::Sequential<double> loaded = gn::Sequential<double>::load(dir.file("custom.gnn"));
  CHECK(identical(loaded.predict(x), p));
  CHECK(loaded.evaluate(x, y).loss == m.evaluate(x, y).loss);
}

TEST_CASE("loading a model whose custom op is not registered names the op") {
  TempDir dir;
  const auto x_y = two_blobs();
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  auto softsign = [](const auto& z) { return z / (1.0 + xt::abs(z)); };
  auto dsoftsign = [](const auto& z) { return 1.0 / xt::square(1.0 + xt::abs(z)); };
  auto act = gn::elementwise<double>("never_registered_act", softsign, dsoftsign);
  auto cls = gn::elementwise<double>("never_registered_classifier", [](const auto& z) { return 0.5 + 0.5 * z; },
                                     [](const auto& z) { return 0.5 + 0.0 * z; });
  auto loss = gn::custom_loss<double>("never_registered_loss",
                                      [](const auto& a, const auto& t) { return xt::square(a - t); },
                                      [](const auto& a, const auto& t) { return 2.0 * (a - t); });
  auto make = [&](bool custom_act, bool custom_cls, bool custom_loss) {
    gn::Sequential<double> m;
    m.add(gn::Linear<double>(2, 4));
    if (custom_act) m.add(act);
    m.add(gn::Linear<double>(4, 1));
    if (custom_cls) m.set_classifier(cls);
    if (custom_loss) m.set_loss(loss);
    m.predict(x);
    return m;
  };
  make(true, false, false).save(dir.file("act.gnn"));
  make(false, true, false).save(dir.file("cls.gnn"));
  make(false, false, true).save(dir.file("loss.gnn"));

  gn::custom_detail::registry<double, gn::ElementwiseFn<double>>().erase("never_registered_act");
  gn::custom_detail::registry<double, gn::ElementwiseFn<double>>().erase("never_registered_classifier");
  gn::custom_detail::registry<double, gn::LossFn<double>>().erase("never_registered_loss");
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("act.gnn")), "act.gnn", "'never_registered_act'",
              "gn::elementwise<double>");
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("cls.gnn")), "cls.gnn", "'never_registered_classifier'");
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("loss.gnn")), "loss.gnn", "'never_registered_loss'",
              "gn::custom_loss");

  // Creating the op again (as a program does before loading) makes the file loadable.
  gn::elementwise<double>("never_registered_act", softsign, dsoftsign);
  gn::Sequential<double> again = gn::Sequential<double>::load(dir.file("act.gnn"));
  CHECK(again.predict(x).shape()[0] == x.shape()[0]);
}

// History and the log -------------------------------------------------------

TEST_CASE("History: one entry per checkpoint, log_every sets the iterations") {
  const auto x_y = surface(10, 1);  // not a structured binding: clang 14 cannot capture one
  // batch 3: 4 batches per epoch, 12 iterations in 3 epochs
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  SUBCASE("log_every 0: the end of every epoch") {
    gn::Sequential<double> m = small_regressor<double>(1);
    const gn::History h = m.fit(x, y, quiet(3, 3));
    CHECK(h.iteration == std::vector<std::size_t>{4, 8, 12});
    CHECK(h.epoch == std::vector<std::size_t>{0, 1, 2});
  }
  SUBCASE("log_every 5: every 5 iterations and at the end") {
    gn::Sequential<double> m = small_regressor<double>(1);
    gn::FitOptions o = quiet(3, 3);
    o.log_every = 5;
    const gn::History h = m.fit(x, y, o);
    CHECK(h.iteration == std::vector<std::size_t>{5, 10, 12});
    CHECK(h.epoch == std::vector<std::size_t>{1, 2, 2});
    CHECK(h.size() == 3);
    CHECK(h.loss.size() == 3);
    CHECK(h.accuracy.size() == 3);
    CHECK(h.val_loss.size() == 3);
    CHECK(h.val_accuracy.size() == 3);
  }
  SUBCASE("log_every 4: no extra checkpoint when the last one falls on the end") {
    gn::Sequential<double> m = small_regressor<double>(1);
    gn::FitOptions o = quiet(3, 3);
    o.log_every = 4;
    const gn::History h = m.fit(x, y, o);
    CHECK(h.iteration == std::vector<std::size_t>{4, 8, 12});
  }
  SUBCASE("epochs and iterations count on across fit calls") {
    gn::Sequential<double> m = small_regressor<double>(1);
    m.fit(x, y, quiet(1, 3));
    const gn::History h = m.fit(x, y, quiet(2, 3));
    CHECK(h.iteration == std::vector<std::size_t>{8, 12});
    CHECK(h.epoch == std::vector<std::size_t>{1, 2});
    CHECK(m.counters().epoch == 3);
    CHECK(m.counters().iteration == 12);
  }
}

TEST_CASE("training is reproducible, and Adam's state carries over between fit calls") {
  const auto x_y = surface(50, 2);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::FitOptions o = quiet(3, 8);
  o.seed = 4;
  gn::Sequential<double> a = small_regressor<double>(1), b = small_regressor<double>(1), c = small_regressor<double>(1);
  a.fit(x, y, o);
  b.fit(x, y, o);
  o.seed = 5;  // another shuffle
  c.fit(x, y, o);
  CHECK(identical(weights(a), weights(b)));
  CHECK(!identical(weights(a), weights(c)));
  CHECK(!identical(small_regressor<double>(1).predict(x), small_regressor<double>(2).predict(x)));

  // Without shuffling, 3 epochs in one call = 1 + 2 epochs in two calls (Adam's step count goes on).
  gn::FitOptions fixed = quiet(3, 8);
  fixed.shuffle = false;
  gn::Sequential<double> once = small_regressor<double>(1), twice = small_regressor<double>(1);
  once.fit(x, y, fixed);
  fixed.epochs = 1;
  twice.fit(x, y, fixed);
  fixed.epochs = 2;
  twice.fit(x, y, fixed);
  CHECK(identical(weights(once), weights(twice)));
}

TEST_CASE("format_checkpoint: the textbook's log line") {
  gn::Checkpoint c;
  c.epoch = 498;
  c.iteration = 6487;
  c.loss = 0.196141;
  c.accuracy = 0.9875;
  c.val_loss = 0.20451;
  c.val_accuracy = 0.98;
  c.classifier = true;
  c.has_validation = true;
  CHECK(gn::format_checkpoint(c) ==
        "epoch 498, iteration 6487, train: loss 0.196141, accu 0.9875, validation: loss 0.204510, accu 0.9800");
  c.has_validation = false;
  CHECK(gn::format_checkpoint(c) == "epoch 498, iteration 6487, train: loss 0.196141, accu 0.9875");
  c.classifier = false;  // regression: no accuracy
  c.has_validation = true;
  CHECK(gn::format_checkpoint(c) == "epoch 498, iteration 6487, train: loss 0.196141, validation: loss 0.204510");
}

TEST_CASE("fit prints one log line per checkpoint, and writes them to a CSV file") {
  TempDir dir;
  const auto x_ids = three_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_ids);
  const auto& ids = std::get<1>(x_ids);
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(2, 8)).add(gn::Activation<double>("relu")).add(gn::Linear<double>(8, 3));
  m.set_classifier("softmax").set_loss("cross_entropy").set_optimizer(gn::Adam<double>(0.02)).set_seed(2);
  gn::FitOptions o = quiet(4, 20);
  o.validation_fraction = 0.2;
  o.log_every = 3;
  o.verbose = true;
  o.csv_log = dir.file("log.csv");

  std::ostringstream captured;
  const gn::History h = fit_printing(m, x, ids, o, captured);

  // 150 rows, 30 for validation: 120 / 20 = 6 batches per epoch, 24 iterations, every 3rd.
  REQUIRE(h.size() == 8);
  std::istringstream lines(captured.str());
  std::string line;
  for (std::size_t i = 0; i < h.size(); ++i) {
    REQUIRE(std::getline(lines, line));
    gn::Checkpoint c;
    c.epoch = h.epoch[i];
    c.iteration = h.iteration[i];
    c.loss = h.loss[i];
    c.accuracy = h.accuracy[i];
    c.val_loss = h.val_loss[i];
    c.val_accuracy = h.val_accuracy[i];
    c.classifier = c.has_validation = true;
    CHECK(line == gn::format_checkpoint(c));
    CHECK(h.iteration[i] == 3 * (i + 1));
  }
  CHECK(!std::getline(lines, line));  // no progress bar: stdout is not a terminal here

  std::ifstream csv(dir.file("log.csv"));
  REQUIRE(std::getline(csv, line));
  CHECK(line == "epoch,iteration,loss,accuracy,val_loss,val_accuracy");
  for (std::size_t i = 0; i < h.size(); ++i) {
    REQUIRE(std::getline(csv, line));
    std::istringstream row(line);
    std::vector<double> v;
    for (std::string cell; std::getline(row, cell, ',');) v.push_back(std::stod(cell));
    REQUIRE(v.size() == 6);
    CHECK(v[0] == static_cast<double>(h.epoch[i]));
    CHECK(v[1] == static_cast<double>(h.iteration[i]));
    CHECK(v[2] == doctest::Approx(h.loss[i]).epsilon(1e-5));
    CHECK(v[3] == doctest::Approx(h.accuracy[i]).epsilon(1e-5));
    CHECK(v[4] == doctest::Approx(h.val_loss[i]).epsilon(1e-5));
    CHECK(v[5] == doctest::Approx(h.val_accuracy[i]).epsilon(1e-5));
  }
  CHECK(!std::getline(csv, line));
}

// The NaN guard -----------------------------------------------------------

TEST_CASE("NaN guard: a diverging fit throws and restores the weights of the last good checkpoint") {
  const auto xs_y = surface(32, 6);
  const auto& xs = std::get<0>(xs_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(xs_y);
  const Arr x = xs * 3.0;  // larger inputs: a steep loss
  auto make = [] {
    gn::Sequential<double> m;
    m.add(gn::Linear<double>(2, 1));
    m.set_optimizer(gn::SGD<double>(1.0)).set_seed(3);
    return m;
  };
  gn::FitOptions o = quiet(2000, 32);  // full batch: one iteration per epoch
  o.log_every = 1;
  gn::Sequential<double> m = make();
  const std::string msg = test::error_of([&] { m.fit(x, y, o); });
  INFO(msg);
  CHECK((msg.find("loss became inf") != std::string::npos || msg.find("loss became nan") != std::string::npos ||
         msg.find("loss became -nan") != std::string::npos));
  CHECK(msg.find("restored") != std::string::npos);
  const auto at = msg.find("weights of iteration ");
  REQUIRE(at != std::string::npos);
  const std::size_t good = std::stoul(msg.substr(at + 21));
  CHECK(good > 5);
  for (const auto& w : weights(m)) CHECK(test::all_finite(w));

  // The same training stopped at that iteration has exactly these weights.
  gn::Sequential<double> replay = make();
  replay.fit(x, y, quiet(good, 32));
  CHECK(identical(weights(m), weights(replay)));
  // and the model still works
  CHECK(test::all_finite(m.predict(x)));
}

TEST_CASE("NaN guard: divergence at the first checkpoint restores the weights from before fit") {
  const auto x_y = surface(32, 6);
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(4);
  m.fit(x, y, quiet(3, 8));
  const auto before = weights(m);
  m.set_optimizer(gn::SGD<double>(1e300));
  gn::FitOptions o = quiet(3, 8);
  o.log_every = 1;
  // The counters go on from the first fit's 12 iterations.
  CHECK_ERROR(m.fit(x, y, o), "fit: the training loss became", "iteration 13;", "weights of iteration 12 were restored");
  CHECK(identical(weights(m), before));
  // training goes on with a sane optimizer
  m.set_optimizer(gn::SGD<double>(0.01));
  const gn::History h = m.fit(x, y, quiet(2, 8));
  CHECK(std::isfinite(h.loss.back()));
}

// Normaliser, .npy, summary -------------------------------------------------

TEST_CASE("the normaliser is saved with the model") {
  TempDir dir;
  auto x_y = surface(100, 13);  // not a structured binding: clang 14 cannot capture one
  auto& x = std::get<0>(x_y);
  auto& y = std::get<1>(x_y);
  xt::view(x, xt::all(), 1) = xt::view(x, xt::all(), 1) * 1000.0 + 5000.0;  // a column far from the unit range
  gn::Sequential<double> m = small_regressor<double>(8);
  m.set_normalizer(gn::Normalizer<double>::z_score(x));
  const gn::History h = m.fit(x, y, quiet(100, 16));
  CHECK(h.loss.back() < 0.05);  // learnable only through the normaliser
  const Arr p = m.predict(x);
  m.save(dir.file("norm.gnn"));
  gn::Sequential<double> loaded = gn::Sequential<double>::load(dir.file("norm.gnn"));
  CHECK(loaded.normalizer().kind() == "z_score");
  CHECK(identical(loaded.normalizer().offset(), m.normalizer().offset()));
  CHECK(identical(loaded.normalizer().scale(), m.normalizer().scale()));
  CHECK(identical(loaded.predict(x), p));
  // predict normalises its input: the raw network on normalised data gives the same
  gn::Sequential<double> raw = small_regressor<double>(8);
  raw.predict(x);
  m.export_npy(dir.path.string());
  raw.import_npy(dir.path.string());
  CHECK(test::max_rel_diff(raw.predict(m.normalizer().apply(x)), p) < 1e-15);
  CHECK(test::max_rel_diff(raw.predict(x), p) > 1e-3);
  CHECK_ERROR(m.set_normalizer(gn::Normalizer<double>::z_score(Arr(xt::ones<double>({4, 3})))),
              "set_normalizer: it has 3 columns, the model takes 2 features");
}

TEST_CASE_TEMPLATE("export_npy / import_npy round trip, and numpy reads the files", T, float, double) {
  TempDir dir;
  const auto xd_yd = surface(40, 2);  // not a structured binding: clang 14 cannot capture one
  const auto& xd = std::get<0>(xd_yd);
  const auto& yd = std::get<1>(xd_yd);
  const xt::xarray<T> x = as<T>(xd), y = as<T>(yd);
  gn::Sequential<T> a = small_regressor<T>(1), b = small_regressor<T>(2);
  a.fit(x, y, quiet(5, 8));
  REQUIRE(!identical(a.predict(x), small_regressor<T>(2).predict(x)));
  a.export_npy(dir.path.string());
  CHECK(dir.entries() == std::vector<std::string>{"layer0.W.npy", "layer0.b.npy", "layer2.W.npy", "layer2.b.npy"});
  b.import_npy(dir.path.string());  // b is not built yet: importing builds it
  CHECK(identical(weights(b), weights(a)));
  CHECK(identical(b.predict(x), a.predict(x)));

  const xt::xarray<T> w = gn::load_npy<T>(dir.file("layer0.W.npy"));
  CHECK(identical(w, a.session().value(a.parameters()[0])));
  using Other = std::conditional_t<std::is_same_v<T, float>, double, float>;
  CHECK_ERROR(gn::load_npy<Other>(dir.file("layer0.W.npy")), "layer0.W.npy", "element type is not");
  CHECK_ERROR(gn::load_npy<T>(dir.file("none.npy")), "cannot open", "none.npy");
  gn::Sequential<T> wider;
  wider.add(gn::Linear<T>(2, 9));
  CHECK_ERROR(wider.import_npy(dir.path.string()), "layer0/W", "[2, 9]", "[2, 8]");
  gn::Sequential<T> activation_first(gn::Activation<T>("tanh"));
  CHECK_ERROR(activation_first.export_npy(dir.path.string()), "export_npy", "call fit or predict first");
  fs::remove(dir.file("layer2.b.npy"));
  gn::Sequential<T> c = small_regressor<T>(3);
  const xt::xarray<T> c_before = c.predict(x);
  CHECK_ERROR(c.import_npy(dir.path.string()), "cannot open", "layer2.b.npy");
  CHECK(identical(c.predict(x), c_before));  // nothing imported from an incomplete folder

  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    MESSAGE("numpy is not available; skipping the numpy read-back");
    return;
  }
  const std::string out = dir.file("numpy.txt");
  const std::string cmd = "/usr/bin/python3 -c \"import numpy as np; a = np.load('" + dir.file("layer0.W.npy") +
                          "'); b = np.load('" + dir.file("layer0.b.npy") +
                          "'); print(a.dtype, a.shape, b.shape, repr(float(a[1, 5])))\" > " + out;
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(out);
  std::string dtype, shape_a0, shape_a1, shape_b, value;
  in >> dtype >> shape_a0 >> shape_a1 >> shape_b >> value;
  CHECK(dtype == (std::is_same_v<T, float> ? "float32" : "float64"));
  CHECK(shape_a0 + shape_a1 == "(2,8)");
  CHECK(shape_b == "(8,)");
  CHECK(static_cast<T>(std::stod(value)) == w(1, 5));
}

TEST_CASE("summary lists layers, output shapes and parameter counts") {
  gn::Sequential<double> m(gn::Linear<double>(2, 4), gn::Activation<double>("relu"),
                           gn::Linear<double>(4, 1, gn::zeros(), false));
  std::ostringstream os;
  m.summary(os);
  const std::string s = os.str();
  INFO(s);
  CHECK(s.find("layer0 Linear(2 -> 4)") != std::string::npos);
  CHECK(s.find("layer1 Activation(relu)") != std::string::npos);
  CHECK(s.find("layer2 Linear(4 -> 1, no bias)") != std::string::npos);
  CHECK(s.find("[batch, 4]") != std::string::npos);
  CHECK(s.find("total parameters: 16") != std::string::npos);  // 2*4 + 4 + 4*1
  CHECK(s.find("optimizer: SGD") != std::string::npos);
  // zeros() really starts at zero
  CHECK(xt::all(xt::equal(m.session().value(m.parameters()[2]), 0.0)));
}

TEST_CASE("initialisers: ranges and spreads") {
  auto first_weight = [](gn::Init init, std::size_t in, std::size_t out) {
    gn::Sequential<double> m(gn::Linear<double>(in, out, init));
    m.set_seed(1);
    m.predict(Arr(xt::zeros<double>({std::size_t(1), in})));
    return Arr(m.session().value(m.parameters()[0]));
  };
  const Arr xavier = first_weight(gn::xavier_uniform(), 100, 200);
  const double limit = std::sqrt(6.0 / 300.0);
  CHECK(xt::amax(xt::abs(xavier))() <= limit);
  CHECK(xt::amax(xt::abs(xavier))() > 0.95 * limit);
  const Arr he = first_weight(gn::he_normal(), 200, 100);
  CHECK(xt::stddev(he)() == doctest::Approx(std::sqrt(2.0 / 200.0)).epsilon(0.05));
  const Arr u = first_weight(gn::uniform(2.0, 3.0), 50, 50);
  CHECK(xt::amin(u)() >= 2.0);
  CHECK(xt::amax(u)() < 3.0);
  const Arr n = first_weight(gn::normal(0.5), 100, 100);
  CHECK(xt::stddev(n)() == doctest::Approx(0.5).epsilon(0.05));
  CHECK(gn::Init::parse(gn::uniform(-0.25, 0.125).to_string()).b == 0.125);
  CHECK_ERROR(gn::Init::parse("glorot"), "unknown initialiser 'glorot'");
}

// Input errors --------------------------------------------------------------

TEST_CASE("wrong feature counts are reported, and the model stays usable") {
  const auto x2_y = surface(20, 1);
  const auto& x2 = std::get<0>(x2_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x2_y);
  const Arr x3 = xt::ones<double>({20, 3});
  SUBCASE("before the model is built") {
    gn::Sequential<double> m = small_regressor<double>(1);
    CHECK_ERROR(m.fit(x3, y, quiet(1, 4)), "Linear(2 -> 8)", "[batch, 3]", "does not have 2 features");
    CHECK_ERROR(m.predict(x3), "Linear(2 -> 8)", "does not have 2 features");
    m.fit(x2, y, quiet(1, 4));
    CHECK(m.predict(x2).shape()[0] == 20);
  }
  SUBCASE("after") {
    gn::Sequential<double> m = small_regressor<double>(1);
    m.fit(x2, y, quiet(1, 4));
    CHECK_ERROR(m.fit(x3, y, quiet(1, 4)), "the model takes 2 features per row, the data has 3");
    CHECK_ERROR(m.predict(x3), "the model takes 2 features per row, the data has 3");
    CHECK_ERROR(m.evaluate(x3, y), "the model takes 2 features per row, the data has 3");
  }
}

TEST_CASE("labels of the wrong shape are reported, and the model stays usable") {
  const auto x_y = surface(20, 1);
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);  // Adam: optimizer state per variable
  m.fit(x, y, quiet(1, 4));
  CHECK_ERROR(m.fit(x, Arr(xt::zeros<double>({19, 1})), quiet(1, 4)), "fit: 20 input rows but 19 label rows");
  CHECK_ERROR(m.fit(x, Arr(xt::zeros<double>({20}))), "fit: labels must be 2-D [rows, outputs], got [20]");
  CHECK_ERROR(m.fit(x, Arr(xt::zeros<double>({20, 2})), quiet(1, 4)),
              "the labels have 2 columns but the model outputs 1");
  CHECK_ERROR(m.evaluate(x, Arr(xt::zeros<double>({20, 2}))), "the labels have 2 columns but the model outputs 1");
  CHECK_ERROR(m.fit(Arr(xt::zeros<double>({20})), y), "fit: inputs must be 2-D [rows, features], got [20]");
  const double before = m.evaluate(x, y).loss;
  const gn::History h = m.fit(x, y, quiet(3, 4));
  CHECK(h.loss.back() < before);
}

TEST_CASE("empty data, batch_size 0 and validation_fraction out of range") {
  const auto x_y = surface(20, 1);
  const auto& x = std::get<0>(x_y);  // not a structured binding: clang 14 cannot capture one
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  const Arr none = xt::zeros<double>({0, 2});
  CHECK_ERROR(m.fit(none, Arr(xt::zeros<double>({0, 1}))), "fit: no rows");
  CHECK_ERROR(m.predict(none), "predict: no rows");
  CHECK_ERROR(m.fit(x, y, quiet(1, 0)), "fit: batch_size must be positive");
  CHECK_ERROR(m.predict(x, 0), "predict: batch_size must be positive");
  gn::FitOptions o = quiet(1, 4);
  o.validation_fraction = 1.5;
  CHECK_ERROR(m.fit(x, y, o), "fit: validation_fraction must be in [0, 1), got 1.5");
  o.validation_fraction = -0.1;
  CHECK_ERROR(m.fit(x, y, o), "fit: validation_fraction must be in [0, 1)");
  o.validation_fraction = 0.25;
  o.csv_log = "/nonexistent-dir/log.csv";
  CHECK_ERROR(m.fit(x, y, o), "cannot write the CSV log", "/nonexistent-dir/log.csv");
}

TEST_CASE("configuration errors: names, combinations, configuring after build") {
  const auto x_ids = three_blobs();
  const auto& x = std::get<0>(x_ids);  // not a structured binding: clang 14 cannot capture one
  const auto& ids = std::get<1>(x_ids);
  CHECK_ERROR(gn::Activation<double>("swish"), "unknown activation 'swish'");
  gn::Sequential<double> m;
  CHECK_ERROR(m.set_loss("hinge"), "set_loss: unknown loss 'hinge'");
  CHECK_ERROR(m.set_classifier("swish"), "set_classifier", "'swish'");
  CHECK_ERROR(m.predict(x), "add layers before using the model");
  CHECK_ERROR(m.add(std::shared_ptr<gn::Layer<double>>()), "add: empty layer");
  CHECK_ERROR(m.set_optimizer(std::shared_ptr<gn::Optimizer<double>>()), "set_optimizer: empty optimizer");

  m.add(gn::Linear<double>(2, 3)).set_classifier("sigmoid").set_loss("cross_entropy");
  CHECK_ERROR(m.fit(x, gn::one_hot_encode(ids, 3), quiet(1, 8)), "cross_entropy needs the softmax classifier");

  gn::Sequential<double> built = small_regressor<double>(1);
  built.predict(x);
  CHECK_ERROR(built.add(gn::Linear<double>(1, 1)), "add: the model is already built");
  CHECK_ERROR(built.set_classifier("sigmoid"), "set_classifier: the model is already built");
  CHECK_ERROR(built.set_loss("mse"), "set_loss: the model is already built");
  CHECK_ERROR(built.set_seed(3), "set_seed: the model is already built");
  built.set_optimizer(gn::SGD<double>(0.5));  // allowed: a new learning rate mid-training
  CHECK_ERROR(gn::Sequential<double>().graph(), "graph: the model is not built yet");
}

TEST_CASE("layer argument errors") {
  CHECK_ERROR(gn::Dropout<double>(1.0), "Dropout: rate 1", "not in [0, 1)");
  CHECK_ERROR(gn::Dropout<double>(-0.5), "Dropout: rate", "not in [0, 1)");
  CHECK_ERROR(gn::Linear<double>(0, 3), "Linear: sizes must be positive, got 0 -> 3");
  CHECK_ERROR(gn::Linear<float>(3, 0), "Linear: sizes must be positive, got 3 -> 0");
  CHECK_ERROR(gn::make_layer<double>("Capsule", {}), "unknown layer kind 'Capsule'", "register_layer");  // Conv2D is built in now
  CHECK_ERROR(gn::make_layer<double>("Linear", {{"in", "2"}, {"init", "zeros"}, {"bias", "1"}}),
              "layer Linear: missing setting 'out'");
}

// Files -------------------------------------------------------------------

TEST_CASE("bad model files are refused with the reason") {
  TempDir dir;
  const auto x_y = surface(10, 1);
  const auto& x = std::get<0>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  m.predict(x);
  const std::string good = dir.file("good.gnn");
  m.save(good);
  const std::vector<char> bytes = read_bytes(good);
  REQUIRE(bytes.size() > 100);

  CHECK_ERROR(gn::Sequential<double>::load(dir.file("missing.gnn")), "cannot open", "missing.gnn");

  std::vector<char> noise(300);
  std::mt19937 rng(1);
  for (auto& c : noise) c = static_cast<char>(rng());
  write_bytes(dir.file("noise.gnn"), noise);
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("noise.gnn")), "noise.gnn", "not a graphnn model file");

  write_bytes(dir.file("cut.gnn"), std::vector<char>(bytes.begin(), bytes.end() - 20));
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("cut.gnn")), "cut.gnn", "truncated");
  write_bytes(dir.file("header.gnn"), std::vector<char>(bytes.begin(), bytes.begin() + 12));
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("header.gnn")), "header.gnn", "truncated");

  std::vector<char> flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  write_bytes(dir.file("flipped.gnn"), flipped);
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("flipped.gnn")), "flipped.gnn", "checksum");

  std::vector<char> version = bytes;
  const std::uint32_t v3 = 3;
  std::memcpy(version.data() + 8, &v3, 4);
  write_bytes(dir.file("v3.gnn"), version);
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("v3.gnn")), "v3.gnn", "unsupported format version 3",
              "reads versions 1 to 2");

  gn::Sequential<float> f = small_regressor<float>(1);
  f.predict(as<float>(x));
  f.save(dir.file("float.gnn"));
  CHECK_ERROR(gn::Sequential<double>::load(dir.file("float.gnn")), "float32", "Sequential<float>");
  CHECK_ERROR(gn::Sequential<float>::load(good), "float64", "Sequential<double>");

  // and the good file still loads
  CHECK(identical(gn::Sequential<double>::load(good).predict(x), m.predict(x)));
}

TEST_CASE("saving is atomic: it replaces the file and leaves no temporary behind") {
  TempDir dir;
  const auto x_y = surface(30, 1);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  m.fit(x, y, quiet(1, 10));
  const std::string path = dir.file("model.gnn");
  m.save(path);
  const Arr first = m.predict(x);
  const std::vector<char> first_bytes = read_bytes(path);
  m.fit(x, y, quiet(3, 10));
  const Arr second = m.predict(x);
  REQUIRE(!identical(first, second));
  m.save(path);
  CHECK(read_bytes(path) != first_bytes);
  CHECK(read_bytes(path).size() == first_bytes.size());
  CHECK(identical(gn::Sequential<double>::load(path).predict(x), second));
  CHECK(dir.entries() == std::vector<std::string>{"model.gnn"});
  CHECK_ERROR(m.save(dir.file("no/such/folder/model.gnn")), "cannot write", "no/such/folder/model.gnn");
  CHECK(dir.entries() == std::vector<std::string>{"model.gnn"});
  CHECK_ERROR(gn::Sequential<double>().save(path), "save: the model has no weights yet");
  gn::Sequential<double> unused = small_regressor<double>(1);  // saving builds it, with its initial weights
  unused.save(dir.file("unused.gnn"));
  CHECK(identical(gn::Sequential<double>::load(dir.file("unused.gnn")).predict(x),
                  small_regressor<double>(1).predict(x)));
}

// The parts of Sequential -----------------------------------------------------

TEST_CASE("a moved-from Sequential throws graphnn::Error on every call instead of crashing") {
  const auto x_y = surface(10, 1);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> a = small_regressor<double>(1);
  gn::Sequential<double> b = std::move(a);
  CHECK_ERROR(a.fit(x, y, quiet(1, 4)), "Sequential::fit: this model was moved from");
  CHECK_ERROR(a.predict(x), "Sequential::predict: this model was moved from");
  CHECK_ERROR(a.evaluate(x, y), "Sequential::evaluate: this model was moved from");
  CHECK_ERROR(a.add(gn::Linear<double>(2, 1)), "Sequential::add: this model was moved from");
  CHECK_ERROR(a.set_loss("mse"), "Sequential::set_loss: this model was moved from");
  CHECK_ERROR(a.set_optimizer(gn::SGD<double>(0.1)), "Sequential::set_optimizer: this model was moved from");
  CHECK_ERROR(a.save("never.gnn"), "Sequential::save: this model was moved from");
  CHECK_ERROR(a.parameters(), "Sequential::parameters: this model was moved from");
  CHECK_ERROR(a.counters(), "Sequential::counters: this model was moved from");
  CHECK_ERROR(a.summary(), "Sequential::summary: this model was moved from");
  CHECK_ERROR(a.graph(), "Sequential::graph: this model was moved from");
  CHECK(b.predict(x).shape()[0] == 10);  // the model moved to works
  a = small_regressor<double>(2);         // and assigning makes the old name usable again
  CHECK(a.predict(x).shape()[0] == 10);
}

// Counters -------------------------------------------------------------------

namespace {

// SGD with momentum, the rate halved every epoch.
gn::Sequential<double> decaying(double lr = 0.2) {
  gn::Sequential<double> m = small_regressor<double>(3);
  m.set_optimizer(gn::SGD<double>(lr, 0.9, false, 0, gn::step_decay(1, 0.5)));
  return m;
}

}  // namespace

TEST_CASE("schedules and counters continue across fit calls: five fit(epochs 1) equal one fit(epochs 5)") {
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  for (const bool shuffle : {true, false}) {
    CAPTURE(shuffle);
    gn::FitOptions o = quiet(5, 8);
    o.shuffle = shuffle;
    o.seed = 9;
    gn::Sequential<double> once = decaying(), five = decaying();
    once.fit(x, y, o);
    o.epochs = 1;
    for (int i = 0; i < 5; ++i) five.fit(x, y, o);
    CHECK(identical(weights(once), weights(five)));
    CHECK(five.counters().epoch == 5);
    CHECK(five.counters().iteration == 25);
  }
  // The schedule is what makes them equal: restarting it at epoch 0 each call differs.
  gn::Sequential<double> restarted = decaying(), once = decaying();
  gn::FitOptions o = quiet(1, 8);
  for (std::size_t i = 0; i < 5; ++i) {
    o.initial_epoch = 0;
    restarted.fit(x, y, o);
  }
  o.epochs = 5;
  o.initial_epoch.reset();
  once.fit(x, y, o);
  CHECK(!identical(weights(once), weights(restarted)));
}

TEST_CASE("FitOptions::initial_epoch numbers the epochs and sets the schedule's position") {
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::FitOptions o = quiet(2, 8);
  o.initial_epoch = 3;
  gn::Sequential<double> m = decaying();
  const gn::History h = m.fit(x, y, o);
  CHECK(h.epoch == std::vector<std::size_t>{3, 4});
  CHECK(m.counters().epoch == 5);
  // At epoch 2 a step decay of 0.5 per epoch from 0.4 is the constant rate 0.1.
  gn::Sequential<double> decayed = decaying(0.4), constant = small_regressor<double>(3);
  constant.set_optimizer(gn::SGD<double>(0.1, 0.9));
  gn::FitOptions one = quiet(1, 8);
  one.initial_epoch = 2;
  decayed.fit(x, y, one);
  constant.fit(x, y, quiet(1, 8));
  CHECK(identical(weights(decayed), weights(constant)));
}

// Callbacks --------------------------------------------------------------------

namespace {

// A TrainingControl that records what a callback asks for.
struct FakeControl : gn::TrainingControl {
  bool stopped = false;
  double lr = 1.0;
  gn::WeightSnapshot current{{1.0}};
  std::vector<std::string> saved;
  gn::TrainingCounters count;
  void stop_training() override { stopped = true; }
  bool stopping() const override { return stopped; }
  double learning_rate() const override { return lr; }
  void scale_learning_rate(double factor) override { lr *= factor; }
  gn::WeightSnapshot weights() const override { return current; }
  void set_weights(const gn::WeightSnapshot& w) override { current = w; }
  void save(const std::string& path) override { saved.push_back(path); }
  const gn::TrainingCounters& counters() const override { return count; }
};

// Feeds `values` of `name` to `cb` as epochs 0, 1, ...; returns the epoch at which it asked to stop (or values.size()).
std::size_t feed(gn::Callback& cb, FakeControl& control, const std::string& name, const std::vector<double>& values) {
  cb.on_train_begin(control);
  for (std::size_t e = 0; e < values.size(); ++e) {
    control.current = {{static_cast<double>(e)}};  // the weights of epoch e
    cb.on_epoch_end(control, e, {{name, values[e]}});
    if (control.stopped) {
      cb.on_train_end(control);
      return e;
    }
  }
  cb.on_train_end(control);
  return values.size();
}

}  // namespace

TEST_CASE("user callbacks: lambdas see the logs at batch and epoch end, and can stop training") {
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  // batch 8: 5 batches per epoch
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  std::vector<gn::Logs> epochs;
  std::vector<std::size_t> iterations;
  gn::FitOptions o = quiet(10, 8);
  o.callbacks = {gn::on_batch_end([&](gn::TrainingControl&, std::size_t it, const gn::Logs& l) {
                   iterations.push_back(it);
                   CHECK(l.at("batch") == static_cast<double>((it - 1) % 5));
                   CHECK(l.at("size") == 8);
                 }),
                 gn::on_epoch_end([&](gn::TrainingControl& c, std::size_t epoch, const gn::Logs& l) {
                   epochs.push_back(l);
                   if (epoch == 2) c.stop_training();
                 })};
  const gn::History h = m.fit(x, y, o);
  REQUIRE(epochs.size() == 3);
  CHECK(h.size() == 3);
  CHECK(m.counters().epoch == 3);
  CHECK(iterations.size() == 15);
  for (std::size_t e = 0; e < 3; ++e) CHECK(epochs[e].at("loss") == h.loss[e]);
  CHECK(epochs[0].count("accuracy") == 0);  // a regression has no accuracy, not "accuracy nan"
  CHECK(epochs[0].at("lr") == doctest::Approx(0.01));

  // Stopping at a batch ends the epoch there.
  gn::Sequential<double> b = small_regressor<double>(1);
  o.callbacks = {gn::on_batch_end([](gn::TrainingControl& c, std::size_t it, const gn::Logs&) {
    if (it == 7) c.stop_training();
  })};
  const gn::History hb = b.fit(x, y, o);
  CHECK(b.counters().iteration == 7);
  CHECK(hb.iteration == std::vector<std::size_t>{5, 7});

  // A classifier's logs carry its accuracy, with validation data its val_*.
  const auto bx_ids = three_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& bx = std::get<0>(bx_ids);
  const auto& ids = std::get<1>(bx_ids);
  gn::Sequential<double> c;
  c.add(gn::Linear<double>(2, 3)).set_classifier("softmax").set_loss("cross_entropy");
  gn::Logs seen;
  gn::FitOptions co = quiet(1, 16);
  co.validation_fraction = 0.2;
  co.callbacks = {gn::on_epoch_end([&](gn::TrainingControl&, std::size_t, const gn::Logs& l) { seen = l; })};
  c.fit(bx, ids, co);
  CHECK(seen.count("accuracy") == 1);
  CHECK(seen.count("val_accuracy") == 1);
  CHECK(seen.count("val_loss") == 1);
  CHECK_ERROR(gn::on_epoch_end(nullptr), "on_epoch_end: empty function");
  o.callbacks = {nullptr};
  CHECK_ERROR(b.fit(x, y, o), "fit: FitOptions::callbacks holds an empty callback");
}

TEST_CASE("EarlyStopping: patience, min_delta, restoring the best weights") {
  FakeControl c;
  gn::EarlyStopping patient("val_loss", 2);
  CHECK(feed(patient, c, "val_loss", {1.0, 0.5, 0.6, 0.7, 0.8}) == 3);  // two epochs without improvement
  CHECK(patient.best_epoch() == 1);
  CHECK(c.current == gn::WeightSnapshot{{3.0}});  // restore_best_weights off: the last weights stay

  FakeControl r;
  gn::EarlyStopping restoring("val_loss", 2, 0.0, true);
  CHECK(feed(restoring, r, "val_loss", {1.0, 0.5, 0.6, 0.7, 0.8}) == 3);
  CHECK(r.current == gn::WeightSnapshot{{1.0}});  // the weights of epoch 1

  FakeControl d;
  gn::EarlyStopping delta("loss", 1, 0.1);  // 0.95 is not better than 1.0 by more than 0.1
  CHECK(feed(delta, d, "loss", {1.0, 0.95, 0.5}) == 1);

  FakeControl a;
  gn::EarlyStopping accuracy("val_accuracy", 1);  // higher is better
  CHECK(feed(accuracy, a, "val_accuracy", {0.5, 0.7, 0.9, 0.8}) == 3);

  FakeControl never;
  gn::EarlyStopping improving("loss", 1);
  CHECK(feed(improving, never, "loss", {3, 2, 1}) == 3);
  CHECK(improving.stopped_epoch() == std::numeric_limits<std::size_t>::max());

  // In fit: no epoch after the first beats it by 1e9, so it stops after patience 2 with epoch 0's weights.
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  std::vector<std::vector<Arr>> seen;
  gn::FitOptions o = quiet(20, 8);
  o.callbacks = {gn::on_epoch_end([&](gn::TrainingControl&, std::size_t, const gn::Logs&) { seen.push_back(weights(m)); }),
                 std::make_shared<gn::EarlyStopping>("loss", 2, 1e9, true)};
  const gn::History h = m.fit(x, y, o);
  CHECK(h.size() == 3);
  REQUIRE(seen.size() == 3);
  CHECK(identical(weights(m), seen[0]));
  CHECK(!identical(seen[2], seen[0]));

  gn::Sequential<double> nv = small_regressor<double>(1);
  o.callbacks = {std::make_shared<gn::EarlyStopping>("val_loss")};
  CHECK_ERROR(nv.fit(x, y, o), "EarlyStopping: monitors 'val_loss', which is not in the logs (there are: loss, lr");
  CHECK_ERROR(gn::EarlyStopping("loss", 1, -1), "EarlyStopping: min_delta must be >= 0");
}

TEST_CASE("ModelCheckpoint: the best model, or every N epochs, saved atomically with its training state") {
  TempDir dir;
  FakeControl c;
  gn::ModelCheckpoint best(dir.file("best.gnn"), "val_loss");
  feed(best, c, "val_loss", {1.0, 0.5, 0.7, 0.4, 0.9});
  CHECK(c.saved == std::vector<std::string>(3, dir.file("best.gnn")));  // epochs 0, 1 and 3 improved
  FakeControl e;
  gn::ModelCheckpoint every(dir.file("m{epoch}.gnn"), "loss", false, 2);
  feed(every, e, "loss", {1, 1, 1, 1, 1});
  CHECK(e.saved == std::vector<std::string>{dir.file("m1.gnn"), dir.file("m3.gnn")});
  CHECK_ERROR(gn::ModelCheckpoint(dir.file("x.gnn"), "loss", false, 0), "ModelCheckpoint: every_epochs must be at least 1");

  // In fit: the file holds the model of the best epoch.
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  gn::FitOptions o = quiet(6, 8);
  double best_loss = 1e300;
  Arr best_prediction;
  o.callbacks = {gn::on_epoch_end([&](gn::TrainingControl&, std::size_t, const gn::Logs& l) {
                   if (l.at("loss") < best_loss) {
                     best_loss = l.at("loss");
                     best_prediction = m.predict(x);
                   }
                 }),
                 std::make_shared<gn::ModelCheckpoint>(dir.file("fit_best.gnn"), "loss")};
  m.fit(x, y, o);
  CHECK(identical(gn::Sequential<double>::load(dir.file("fit_best.gnn")).predict(x), best_prediction));
  CHECK(dir.entries() == std::vector<std::string>{"fit_best.gnn"});  // no temporary left behind
  o.callbacks = {std::make_shared<gn::ModelCheckpoint>((dir.path / "missing" / "m.gnn").string(), "loss")};
  CHECK_ERROR(m.fit(x, y, o), "ModelCheckpoint at epoch 6: ", "missing");
}

TEST_CASE("ReduceLROnPlateau: patience, factor, cooldown and min_lr") {
  FakeControl c;
  gn::ReduceLROnPlateau plateau("val_loss", 0.5, 2);
  feed(plateau, c, "val_loss", {1.0, 1.0, 1.0, 0.5, 0.5, 0.5});
  // epoch 1: wait 1, 2: wait 2 = patience, halve; 3: improves; 4: wait 1; 5: wait 2, halve.
  CHECK(c.lr == 0.25);
  FakeControl cool;
  gn::ReduceLROnPlateau cooled("loss", 0.5, 0, 1e-4, 2);
  feed(cooled, cool, "loss", {1, 1, 1, 1, 1});  // halve at 1, cool 2 and 3, halve at 4
  CHECK(cool.lr == 0.25);
  FakeControl floor;
  gn::ReduceLROnPlateau floored("loss", 0.1, 0, 1e-4, 0, 0.05);
  feed(floored, floor, "loss", {1, 1, 1, 1});
  CHECK(floor.lr == doctest::Approx(0.05));
  CHECK_ERROR(gn::ReduceLROnPlateau("loss", 1.5), "ReduceLROnPlateau: factor must be in (0, 1)");

  // In fit: the rate the optimizer uses goes down, and the logs say so.
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  std::vector<double> rates;
  gn::FitOptions o = quiet(4, 8);
  o.callbacks = {std::make_shared<gn::ReduceLROnPlateau>("loss", 0.5, 0, 1e9),
                 gn::on_epoch_end([&](gn::TrainingControl& control, std::size_t, const gn::Logs&) {
                   rates.push_back(control.learning_rate());
                 })};
  m.fit(x, y, o);
  CHECK(rates == std::vector<double>{0.01, 0.005, 0.0025, 0.00125});
  // The optimizer's rate variable held the reduced rate in the last epoch's steps.
  std::size_t found = 0;
  for (const auto& v : m.graph().variables()) {
    const std::string& name = v.name();
    if (name.size() < 3 || name.compare(name.size() - 3, 3, "/lr") != 0) continue;
    CHECK(m.session().value(v)() == 0.0025);
    ++found;
  }
  CHECK(found == 1);
}

TEST_CASE("CSVLogger: one row per epoch, the logs' names as the header; append continues a file") {
  TempDir dir;
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  gn::FitOptions o = quiet(3, 8);
  o.validation_fraction = 0.25;
  std::vector<double> losses;
  o.callbacks = {std::make_shared<gn::CSVLogger>(dir.file("log.csv")),
                 gn::on_epoch_end([&](gn::TrainingControl&, std::size_t, const gn::Logs& l) { losses.push_back(l.at("loss")); })};
  m.fit(x, y, o);
  o.epochs = 1;
  o.callbacks[0] = std::make_shared<gn::CSVLogger>(dir.file("log.csv"), true);
  m.fit(x, y, o);
  std::ifstream in(dir.file("log.csv"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "epoch,loss,lr,val_loss");
  for (std::size_t e = 0; e < 4; ++e) {
    CHECK(lines[e + 1].rfind(std::to_string(e) + ",", 0) == 0);
    CHECK(std::stod(lines[e + 1].substr(lines[e + 1].find(',') + 1)) == losses[e]);
  }
  CHECK_ERROR(gn::CSVLogger(""), "CSVLogger: empty path");
  o.callbacks = {std::make_shared<gn::CSVLogger>((dir.path / "missing" / "log.csv").string())};
  CHECK_ERROR(m.fit(x, y, o), "CSVLogger: cannot write", "missing");
}

// Errors that name what the caller did ----------------------------------------

TEST_CASE("a bad class id is reported at the caller's row, not at a row of the shuffled batch") {
  const auto x_ids = three_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_ids);
  const auto& ids = std::get<1>(x_ids);
  gn::Sequential<double> m;
  m.add(gn::Linear<double>(2, 3)).set_classifier("softmax").set_loss("cross_entropy");
  Arr bad = ids;
  bad(37, 0) = 3;
  CHECK_ERROR(m.fit(x, bad, quiet(1, 16)), "fit: y has class id 3 at row 37, which is not an integer in [0, 3)");
  bad(37, 0) = 1.5;
  CHECK_ERROR(m.fit(x, bad, quiet(1, 16)), "fit: y has class id 1.5 at row 37");
  CHECK_ERROR(m.fit(x, ids, x, bad, quiet(1, 16)), "fit: validation_y has class id 1.5 at row 37");
  CHECK_ERROR(m.evaluate(x, bad), "evaluate: y has class id 1.5 at row 37");
  CHECK(m.counters().iteration == 0);  // nothing trained on bad labels
  m.fit(x, ids, quiet(1, 16));           // good labels train
  CHECK(m.counters().iteration == 10);
}

TEST_CASE("softmax with binary_cross_entropy blames the loss-classifier mismatch, not the labels") {
  const auto x_ids = three_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_ids);
  const auto& ids = std::get<1>(x_ids);
  for (const bool one_hot : {false, true}) {
    gn::Sequential<double> m;
    m.add(gn::Linear<double>(2, 3)).set_classifier("softmax").set_loss("binary_cross_entropy");
    const Arr labels = one_hot ? Arr(gn::one_hot_encode(ids, 3)) : ids;
    CHECK_ERROR(m.fit(x, labels, quiet(1, 16)), "set_loss: binary_cross_entropy does not go with the softmax classifier",
                "use cross_entropy with softmax");
  }
}

// Metrics ---------------------------------------------------------------------

TEST_CASE("metrics: chosen with set_metrics, logged at checkpoints, kept in History, in the callbacks' logs and evaluate") {
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::Sequential<double> m = small_regressor<double>(1);
  m.set_metrics({"mae", "rmse"});
  gn::FitOptions o = quiet(2, 8);
  o.validation_fraction = 0.25;
  o.verbose = true;
  gn::Logs seen;
  o.callbacks = {gn::on_epoch_end([&](gn::TrainingControl&, std::size_t, const gn::Logs& l) { seen = l; })};
  std::ostringstream captured;
  const gn::History h = fit_printing(m, x, y, o, captured);
  REQUIRE(h.metrics.count("mae") == 1);
  CHECK(h.metrics.at("mae").size() == 2);
  CHECK(h.metrics.at("val_rmse").size() == 2);
  CHECK(seen.at("val_mae") == h.metrics.at("val_mae").back());
  INFO(captured.str());
  CHECK(captured.str().find("mae ") != std::string::npos);
  CHECK(captured.str().find("accu") == std::string::npos);  // a regression prints no accuracy, let alone "nan"
  CHECK(captured.str().find("nan") == std::string::npos);

  const gn::Evaluation e = m.evaluate(x, y);
  CHECK(e.metrics.at("mae") == doctest::Approx(gn::mean_absolute_error(m.predict(x), y)).epsilon(1e-12));
  CHECK(e.metrics.at("rmse") == doctest::Approx(std::sqrt(e.loss)).epsilon(1e-12));  // the loss is the MSE

  CHECK_ERROR(m.set_metrics({"f2"}), "set_metrics: unknown metric 'f2'");
  gn::Sequential<double> r = small_regressor<double>(1);
  r.set_metrics({"accuracy"});
  CHECK_ERROR(r.fit(x, y, quiet(1, 8)), "fit: metric 'accuracy' counts classes, but the model is a regression");
  CHECK_ERROR(r.evaluate(x, y), "evaluate: metric 'accuracy' counts classes");

  const auto bx_ids = three_blobs();  // not a structured binding: clang 14 cannot capture one
  const auto& bx = std::get<0>(bx_ids);
  const auto& ids = std::get<1>(bx_ids);
  gn::Sequential<double> c;
  c.add(gn::Linear<double>(2, 3)).set_classifier("softmax").set_loss("cross_entropy").set_metrics({"top_k_accuracy(2)"});
  c.fit(bx, ids, quiet(2, 16));
  const gn::Evaluation ce = c.evaluate(bx, ids);
  CHECK(ce.metrics.at("top_k_accuracy(2)") >= ce.accuracy);
  CHECK(ce.metrics.at("top_k_accuracy(2)") == gn::top_k_accuracy(c.predict(bx), ids, 2));
}

TEST_CASE("what a callback asks for wrongly is refused with its name; built-in callbacks check their settings") {
  const auto x_y = surface(40, 3);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  auto fit_with = [&](gn::EpochFunction f) {
    gn::Sequential<double> m = small_regressor<double>(1);
    gn::FitOptions o = quiet(1, 8);
    o.callbacks = {gn::on_epoch_end(std::move(f))};
    m.fit(x, y, o);
  };
  CHECK_ERROR(fit_with([](gn::TrainingControl& c, std::size_t, const gn::Logs&) { c.scale_learning_rate(0); }),
              "scale_learning_rate: the factor must be positive, got 0");
  CHECK_ERROR(fit_with([](gn::TrainingControl& c, std::size_t, const gn::Logs&) { c.set_weights({{1.0}}); }),
              "set_weights: 1 tensors for 4 variables");
  CHECK_ERROR(fit_with([](gn::TrainingControl& c, std::size_t, const gn::Logs&) {
                gn::WeightSnapshot w = c.weights();
                w[0].pop_back();
                c.set_weights(w);
              }),
              "set_weights: 15 values for variable 'layer0/W' [2, 8]");
  CHECK_ERROR(gn::on_batch_end(nullptr), "on_batch_end: empty function");
  CHECK_ERROR(gn::EarlyStopping(""), "EarlyStopping: the monitored log name is empty");
  CHECK_ERROR(gn::ModelCheckpoint(""), "ModelCheckpoint: empty path");
  CHECK_ERROR(gn::ReduceLROnPlateau("loss", 0.5, 1, 0, 0, -1), "ReduceLROnPlateau: min_lr must be >= 0, got -1");
}

TEST_CASE("BatchIterator::resume continues a saved shuffling state, and refuses one that does not fit") {
  const auto x_y = surface(10, 1);  // not a structured binding: clang 14 cannot capture one
  const auto& x = std::get<0>(x_y);
  const auto& y = std::get<1>(x_y);
  gn::BatchIterator<double> straight(x, y, 4, true, 3), resumed(x, y, 4, true, 99);
  straight.reset();  // the second epoch's order
  resumed.resume(straight.generator(), straight.order());
  straight.reset();
  resumed.reset();
  CHECK(resumed.order() == straight.order());
  while (straight.next()) {
    REQUIRE(resumed.next());
    CHECK(identical(Arr(resumed.x_batch()), Arr(straight.x_batch())));
  }
  CHECK_ERROR(resumed.resume(straight.generator(), {0, 1, 2}), "BatchIterator::resume: the order has 3 rows, the data 10");
  CHECK_ERROR(resumed.resume(straight.generator(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 8}),
              "BatchIterator::resume: the order is not a permutation of the 10 rows (row 8)");
}
