// Small API fixes from issue 12: predict_classes gives integers, export_npy
// creates its folder.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <type_traits>

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

using test::Arr;
namespace fs = std::filesystem;

namespace {

gn::Sequential<double> trained_classifier(std::size_t classes) {
  test::Rng rng(5);
  const Arr x = test::random(rng, {12, 3});
  const std::size_t outputs = classes == 2 ? 1 : classes;
  Arr y = xt::zeros<double>({std::size_t{12}, outputs});
  for (std::size_t r = 0; r < 12; ++r) {
    const std::size_t c = x(r, 0) > 0 ? 1 : 0;
    if (classes == 2) y(r, 0) = double(c);
    else y(r, c + (x(r, 1) > 0.5 ? 1 : 0)) = 1;
  }
  gn::Sequential<double> m(gn::Linear<double>(3, outputs));
  m.set_classifier(classes == 2 ? "sigmoid" : "softmax")
      .set_loss(classes == 2 ? "binary_cross_entropy" : "cross_entropy")
      .set_seed(1);
  m.fit(x, y, test::quiet(3, 4));
  return m;
}

}  // namespace

TEST_CASE("predict_classes returns integer class ids") {
  static_assert(std::is_same_v<decltype(std::declval<gn::Sequential<double>&>().predict_classes(Arr())),
                               xt::xarray<std::int64_t>>);
  test::Rng rng(9);
  const Arr x = test::random(rng, {7, 3});
  for (const std::size_t classes : {2, 3}) {
    CAPTURE(classes);
    gn::Sequential<double> m = trained_classifier(classes);
    const xt::xarray<std::int64_t> ids = m.predict_classes(x);
    const Arr p = m.predict(x);
    REQUIRE(ids.shape() == std::vector<std::size_t>{7});
    for (std::size_t r = 0; r < 7; ++r) {
      const std::int64_t expected = classes == 2 ? (p(r, 0) >= 0.5 ? 1 : 0)
                                                 : std::int64_t(xt::argmax(xt::view(p, r))());
      CHECK(ids(r) == expected);
    }
  }
}

TEST_CASE("export_npy creates the folder, nested too; a file in the way is an error naming it") {
  gn::Sequential<double> m = trained_classifier(3);
  const fs::path root = fs::temp_directory_path() / ("graphnn_test_bumps_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const fs::path dir = root / "a" / "b";
  m.export_npy(dir.string());
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().extension() == ".npy";
  CHECK(files == m.parameters().size());
  gn::Sequential<double> other = trained_classifier(3);
  other.import_npy(dir.string());
  CHECK(other.predict(Arr{{0.1, 0.2, 0.3}}) == m.predict(Arr{{0.1, 0.2, 0.3}}));

  std::ofstream(root / "file") << "x";
  CHECK_ERROR(m.export_npy((root / "file" / "sub").string()),
              "export_npy: cannot create the folder '" + (root / "file" / "sub").string() + "'");
  fs::remove_all(root);
}
