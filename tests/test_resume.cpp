// Full checkpoints: a model saved in the middle of training and loaded in a
// new process (tests/resume_helper.cpp) trains on to bit-identical weights,
// with its optimizer, schedule, counters and shuffling order. Old (version 1)
// files still load, as weights only.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

namespace fs = std::filesystem;
using test::Arr;
using test::quiet;

namespace {

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("graphnn_test_resume_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Every saved variable's bytes, in order.
std::vector<Arr> weights(gn::Sequential<double>& m) {
  std::vector<Arr> w;
  for (const auto& p : m.parameters()) w.push_back(m.session().value(p));
  return w;
}

bool bit_identical(const std::vector<Arr>& a, const std::vector<Arr>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || std::memcmp(a[i].data(), b[i].data(), a[i].size() * sizeof(double)) != 0)
      return false;
  return true;
}

// 60 rows of y = 0.5 x0 - x1^2 + 0.3 (with batch 8: a smaller last batch each epoch).
std::pair<Arr, Arr> data() {
  std::mt19937 rng(21);
  Arr x = test::random(rng, {60, 2});
  Arr y = xt::zeros<double>({std::size_t(60), std::size_t(1)});
  for (std::size_t i = 0; i < 60; ++i) y(i, 0) = 0.5 * x(i, 0) - x(i, 1) * x(i, 1) + 0.3;
  return {x, y};
}

gn::Sequential<double> model(std::shared_ptr<gn::Optimizer<double>> optimizer) {
  gn::Sequential<double> m(gn::Linear<double>(2, 8), gn::Activation<double>("tanh"), gn::Linear<double>(8, 1));
  m.set_optimizer(std::move(optimizer)).set_seed(7);
  return m;
}

gn::FitOptions shuffled(std::size_t epochs) {
  gn::FitOptions o = quiet(epochs, 8);
  o.seed = 13;
  return o;
}

std::string summary_of(gn::Sequential<double>& m) {
  std::ostringstream os;
  m.summary(os);
  return os.str();
}

}  // namespace

TEST_CASE("resume is exact: 10 epochs equal 5, save, load in a new process, 5 more") {
  const auto [x, y] = data();
  const std::string xs = temp_file("x.npy"), ys = temp_file("y.npy");
  gn::save_npy(xs, x);
  gn::save_npy(ys, y);
  const std::vector<std::pair<std::string, std::function<std::shared_ptr<gn::Optimizer<double>>()>>> optimizers = {
      {"SGD", [] { return std::make_shared<gn::SGD<double>>(0.1, 0.9, false, 0, gn::step_decay(2, 0.5)); }},
      {"Adam", [] { return std::make_shared<gn::Adam<double>>(0.01); }}};
  for (const auto& entry : optimizers) {  // not a structured binding: clang 14 cannot capture one (CAPTURE)
    const std::string& name = entry.first;
    const auto& make = entry.second;
    CAPTURE(name);
    gn::Sequential<double> full = model(make());
    full.fit(x, y, shuffled(10));

    const std::string file = temp_file(name + ".gnn");
    gn::Sequential<double> half = model(make());
    half.fit(x, y, shuffled(5));
    half.save(file);
    const std::string command = std::string(RESUME_HELPER) + " " + file + " " + xs + " " + ys + " 5 8 13";
    REQUIRE(std::system(command.c_str()) == 0);

    gn::Sequential<double> resumed = gn::Sequential<double>::load(file);
    CHECK(bit_identical(weights(resumed), weights(full)));
    CHECK(resumed.counters().epoch == 10);
    CHECK(resumed.counters().iteration == 80);
    CHECK(summary_of(resumed).find("optimizer: " + name) != std::string::npos);

    // Saving changed nothing in the half-way model: it trains on to the same weights.
    half.fit(x, y, shuffled(5));
    CHECK(bit_identical(weights(half), weights(full)));
    std::remove(file.c_str());
  }
  std::remove(xs.c_str());
  std::remove(ys.c_str());
}

namespace {

std::uint64_t fnv1a(const std::vector<char>& bytes) {
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// A model file of `version` holding the model y = x W + b of two inputs,
// W = [[2], [3]], b = [1], then `training` (version 2's training state).
void write_model(const std::string& path, std::uint32_t version, const std::vector<char>& training = {}) {
  gn::ByteWriter p;
  p.u64(2);
  p.u32(1);
  p.str("Linear");
  const gn::LayerConfig config = gn::Linear<double>(2, 1).config();
  p.u32(static_cast<std::uint32_t>(config.size()));
  for (const auto& [key, value] : config) {
    p.str(key);
    p.str(value);
  }
  p.str("identity");
  p.str("mse");
  p.str("none");
  p.tensor(Arr(xt::zeros<double>({std::size_t(0)})));
  p.tensor(Arr(xt::zeros<double>({std::size_t(0)})));
  p.u32(2);
  p.str("layer0/W");
  Arr w = xt::zeros<double>({std::size_t(2), std::size_t(1)});
  w(0, 0) = 2.0;
  w(1, 0) = 3.0;
  p.tensor(w);
  p.str("layer0/b");
  const Arr b = {1.0};
  p.tensor(b);
  std::vector<char> payload = p.bytes();
  payload.insert(payload.end(), training.begin(), training.end());
  gn::ByteWriter file;
  file.u32(version);
  file.u32(8);
  file.u64(payload.size());
  std::ofstream out(path, std::ios::binary);
  out.write("GRAPHNN\x1a", 8);
  out.write(file.bytes().data(), static_cast<std::streamsize>(file.bytes().size()));
  out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  gn::ByteWriter checksum;
  checksum.u64(fnv1a(payload));
  out.write(checksum.bytes().data(), 8);
}

}  // namespace

TEST_CASE("an old (version 1) model file loads as weights only: default optimizer, counters at 0") {
  const std::string file = temp_file("v1.gnn");
  write_model(file, 1);
  gn::Sequential<double> m = gn::Sequential<double>::load(file);
  const Arr ones = xt::ones<double>({std::size_t(1), std::size_t(2)});
  CHECK(m.predict(ones)(0, 0) == 6.0);
  CHECK(m.counters().epoch == 0);
  CHECK(m.counters().iteration == 0);
  CHECK(summary_of(m).find("optimizer: SGD") != std::string::npos);
  // Saved again, it is a version 2 file.
  m.save(file);
  std::ifstream in(file, std::ios::binary);
  std::vector<char> head(12);
  in.read(head.data(), 12);
  std::uint32_t version = 0;
  std::memcpy(&version, head.data() + 8, 4);
  CHECK(version == 2);
  std::remove(file.c_str());
}

namespace {

// Version 2's training state, field by field (README, "The model file").
struct TrainingSection {
  std::uint64_t epoch = 4, iteration = 9;
  double lr_factor = 1;
  std::vector<std::uint64_t> order;  // empty: no shuffling state
  std::uint32_t generator_words = 313;
  std::string kind = "SGD";
  std::uint32_t schedule = 0;
  std::uint64_t label_columns = 0;
  std::vector<std::string> state;  // names of the optimizer's state scalars
  std::vector<char> bytes() const {
    gn::ByteWriter w;
    w.u64(epoch);
    w.u64(iteration);
    w.f64(lr_factor);
    w.u32(order.empty() ? 0 : 1);
    if (!order.empty()) {
      w.u32(13);
      w.u64(order.size());
      w.u32(generator_words);
      for (std::uint32_t i = 0; i < generator_words; ++i) w.u64(i == 312 ? 312 : i + 1);
      for (const auto r : order) w.u64(r);
    }
    w.str(kind);
    w.u32(1);
    w.str("lr");
    w.f64(0.5);
    w.u32(schedule);
    w.f64(0.5);
    w.u64(2);
    w.u64(label_columns);
    w.u32(static_cast<std::uint32_t>(state.size()));
    for (const auto& name : state) {
      w.str(name);
      w.tensor(Arr(0.0));
    }
    return w.bytes();
  }
};

}  // namespace

TEST_CASE("the training state is read back field by field, and each damaged field is named") {
  const std::string file = temp_file("state.gnn");
  TrainingSection good;
  good.order = {2, 0, 1};
  good.schedule = 1;  // step decay
  good.label_columns = 1;
  good.state = {"optimizer99/lr", "optimizer99/step"};  // another graph's numbering: the prefix is not compared
  write_model(file, 2, good.bytes());
  gn::Sequential<double> m = gn::Sequential<double>::load(file);
  CHECK(m.counters().epoch == 4);
  CHECK(m.counters().iteration == 9);
  CHECK(summary_of(m).find("optimizer: SGD") != std::string::npos);
  CHECK(m.labels().valid());  // the training part is built, for one label column

  auto refused = [&](const TrainingSection& t, std::vector<char> extra = {}) {
    std::vector<char> bytes = t.bytes();
    bytes.insert(bytes.end(), extra.begin(), extra.end());
    write_model(file, 2, bytes);
    return test::error_of([&] { gn::Sequential<double>::load(file); });
  };
  TrainingSection t;
  t.lr_factor = -1;
  CHECK(refused(t).find("state.gnn': learning-rate factor -1") != std::string::npos);
  t = {};
  t.order = {0, 1, 1};
  CHECK(refused(t).find("the shuffling order is not a permutation of 3 rows") != std::string::npos);
  t.generator_words = 5;
  CHECK(refused(t).find("the shuffling generator has 5 state words") != std::string::npos);
  t = {};
  t.schedule = 7;
  CHECK(refused(t).find("unknown learning-rate schedule 7") != std::string::npos);
  t = {};
  t.kind = "SGD";
  t.schedule = 0;
  {  // SGD with an lr of -1: make_optimizer's limit, named with the file
    std::vector<char> bytes = t.bytes();
    char lr[8], minus[8];
    const double half = 0.5, minus_one = -1;
    std::memcpy(lr, &half, 8);
    std::memcpy(minus, &minus_one, 8);
    auto at = std::search(bytes.begin(), bytes.end(), lr, lr + 8);  // the first 0.5 is the setting "lr"
    REQUIRE(at != bytes.end());
    std::copy(minus, minus + 8, at);
    write_model(file, 2, bytes);
    CHECK_ERROR(gn::Sequential<double>::load(file), "state.gnn': make_optimizer", "lr");
  }
  t = {};
  t.label_columns = 1;
  t.state = {"optimizer1/lr"};
  CHECK(refused(t).find("1 optimizer state tensors for 2 variables of SGD") != std::string::npos);
  t.state = {"optimizer1/steps", "optimizer1/lr"};
  CHECK(refused(t).find("expected optimizer state 'optimizer") != std::string::npos);
  t.state = {"optimizer1/lr", "optimizer1/step"};
  t.label_columns = 3;
  CHECK(refused(t).find("state.gnn': fit: the labels have 3 columns but the model outputs 1") != std::string::npos);
  CHECK(refused(TrainingSection{}, {'x'}).find("unexpected data after the training state") != std::string::npos);
  // A shuffling order longer than what is left of the file is refused before it is allocated.
  gn::ByteWriter huge;
  huge.u64(0);
  huge.u64(0);
  huge.f64(1);
  huge.u32(1);
  huge.u32(0);
  huge.u64(std::uint64_t(1) << 60);
  huge.u32(313);
  for (int i = 0; i < 313; ++i) huge.u64(1);
  write_model(file, 2, huge.bytes());
  CHECK_ERROR(gn::Sequential<double>::load(file), "a shuffling order of 1152921504606846976 rows is longer than the file");
  std::remove(file.c_str());
}

namespace {

// An optimizer of the user's own (not a declared update rule): sign descent.
class SignDescent final : public gn::Optimizer<double> {
 public:
  SignDescent() : gn::Optimizer<double>(0.01, gn::constant_lr(), 0.0) {}
  std::string name() const override { return "SignDescent"; }

 private:
  test::N update(const test::N& param, const test::N& grad) override {
    return gn::assign_sub(param, gn::sign(grad) * lr_node());
  }
};

}  // namespace

TEST_CASE("a model trained with a user's own optimizer loads, but fit refuses the default until one is set") {
  const std::string file = temp_file("own.gnn");
  const auto x_y = data();  // not a structured binding: clang 14 cannot capture one
  const Arr& x = x_y.first;
  const Arr& y = x_y.second;
  gn::Sequential<double> m = model(std::make_shared<SignDescent>());
  m.fit(x, y, shuffled(2));
  m.save(file);
  gn::Sequential<double> back = gn::Sequential<double>::load(file);
  CHECK(bit_identical(weights(back), weights(m)));
  CHECK_ERROR(back.fit(x, y, shuffled(1)), "fit: the model loaded from '" + file + "' was trained with optimizer 'SignDescent'",
              "cannot be made back; call set_optimizer before fit");
  back.set_optimizer(std::make_shared<SignDescent>());
  back.fit(x, y, shuffled(1));
  m.fit(x, y, shuffled(1));
  CHECK(bit_identical(weights(back), weights(m)));  // sign descent has no slots: the same step on the same order
  std::remove(file.c_str());
}
