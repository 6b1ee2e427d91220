// Metrics against values worked out by hand (the comments show the sums).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <graphnn/metrics.hpp>

using test::Arr;

namespace {

// Four rows, three classes; the true classes are 1, 2, 1, 1.
const Arr kScores = {{0.1, 0.7, 0.2},   // class 1 first: rank 0
                     {0.5, 0.3, 0.2},   // class 2 last: rank 2
                     {0.2, 0.3, 0.5},   // class 1 second: rank 1
                     {0.4, 0.4, 0.2}};  // class 1 tied with class 0, which goes first: rank 1
const Arr kIds = {1.0, 2.0, 1.0, 1.0};
const Arr kOneHot = {{0.0, 1.0, 0.0}, {0.0, 0.0, 1.0}, {0.0, 1.0, 0.0}, {0.0, 1.0, 0.0}};

}  // namespace

TEST_CASE("MAE and RMSE") {
  const Arr p = {{1.0, 2.0}, {3.0, 4.0}};
  const Arr t = {{1.5, 2.0}, {2.0, 5.0}};
  // |d| = 0.5, 0, 1, 1
  CHECK(gn::mean_absolute_error(p, t) == doctest::Approx(0.625).epsilon(1e-15));
  // d^2 = 0.25, 0, 1, 1: sqrt(2.25 / 4)
  CHECK(gn::root_mean_squared_error(p, t) == doctest::Approx(0.75).epsilon(1e-15));
  const xt::xarray<float> pf = {1.0f, 3.0f}, tf = {2.0f, 1.0f};
  CHECK(gn::root_mean_squared_error(pf, tf) == doctest::Approx(std::sqrt(2.5)).epsilon(1e-7));
  CHECK_ERROR(gn::mean_absolute_error(p, Arr{1.0, 2.0}), "mean_absolute_error: predictions [2, 2] and targets [2]",
              "differ in shape");
  CHECK_ERROR(gn::root_mean_squared_error(Arr(xt::zeros<double>({0})), Arr(xt::zeros<double>({0}))),
              "root_mean_squared_error: no predictions");
}

TEST_CASE("top-k accuracy from class ids, [rows, 1] ids and one-hot rows") {
  for (const Arr& targets : {kIds, Arr(xt::reshape_view(kIds, {4, 1})), kOneHot}) {
    CHECK(gn::top_k_accuracy(kScores, targets, 1) == 0.25);  // only row 0
    CHECK(gn::top_k_accuracy(kScores, targets, 2) == 0.75);  // rows 0, 2, 3
    CHECK(gn::top_k_accuracy(kScores, targets, 3) == 1.0);
  }
  CHECK(gn::metric_by_name<double>("top_k_accuracy(2)")(kScores, kIds) == 0.75);
  CHECK(gn::metric_by_name<double>("accuracy")(kScores, kOneHot) == 0.25);
}

TEST_CASE("accuracy with one sigmoid output: class 1 when p >= 0.5") {
  Arr p = {0.9, 0.2, 0.6, 0.4};
  p.reshape({4, 1});
  Arr y = {1.0, 0.0, 0.0, 1.0};  // predicted 1, 0, 1, 0
  y.reshape({4, 1});
  CHECK(gn::top_k_accuracy(p, y, 1) == 0.5);
  CHECK(gn::top_k_accuracy(p, y, 2) == 1.0);  // two classes
  CHECK(gn::predicted_classes(p) == std::vector<std::size_t>{1, 0, 1, 0});
}

TEST_CASE("confusion matrix, per-class precision, recall, F1") {
  const std::vector<std::size_t> truth = {0, 0, 1, 1, 2, 2, 2}, predicted = {0, 1, 1, 1, 2, 0, 2};
  const gn::ConfusionMatrix m = gn::confusion_matrix(truth, predicted);
  CHECK(m.counts == xt::xarray<std::size_t>{{1, 1, 0}, {0, 2, 0}, {1, 0, 2}});
  CHECK(m.precision(0) == 0.5);                              // 1 / (1 + 1)
  CHECK(m.precision(1) == doctest::Approx(2.0 / 3.0));       // 2 / (1 + 2)
  CHECK(m.precision(2) == 1.0);                              // 2 / 2
  CHECK(m.recall(0) == 0.5);                                 // 1 / 2
  CHECK(m.recall(1) == 1.0);                                 // 2 / 2
  CHECK(m.recall(2) == doctest::Approx(2.0 / 3.0));          // 2 / 3
  CHECK(m.f1(1) == doctest::Approx(0.8).epsilon(1e-15));     // 2 (2/3) 1 / (5/3)
  CHECK(m.f1(2) == doctest::Approx(0.8).epsilon(1e-15));
  CHECK(m.accuracy() == doctest::Approx(5.0 / 7.0).epsilon(1e-15));
  CHECK(m.to_string() ==
        "true\\pred   0   1   2\n"
        "        0   1   1   0\n"
        "        1   0   2   0\n"
        "        2   1   0   2\n");

  const gn::ClassReport r = gn::class_report(m);
  CHECK(r.support == std::vector<std::size_t>{2, 2, 3});
  CHECK(r.to_string() ==
        "class  precision     recall         f1    support\n"
        "    0     0.5000     0.5000     0.5000          2\n"
        "    1     0.6667     1.0000     0.8000          2\n"
        "    2     1.0000     0.6667     0.8000          3\n");

  // a class nobody predicts and nobody is: 0, not NaN
  const gn::ConfusionMatrix wide = gn::confusion_matrix(truth, predicted, 4);
  CHECK(wide.precision(3) == 0.0);
  CHECK(wide.recall(3) == 0.0);
  CHECK(wide.f1(3) == 0.0);

  // from predictions and targets: kScores predicts 1, 0, 2, 0 (the tie goes to class 0)
  const gn::ConfusionMatrix from_scores = gn::confusion_matrix(kScores, kOneHot);
  CHECK(from_scores.counts == xt::xarray<std::size_t>{{0, 0, 0}, {1, 1, 1}, {1, 0, 0}});
}

TEST_CASE("metric errors name the metric, the row and the limit") {
  CHECK_ERROR(gn::top_k_accuracy(kScores, Arr{1.0, 2.0, 3.0, 1.0}), "target_classes: row 2 has class id 3",
              "not an integer in [0, 3)");
  CHECK_ERROR(gn::top_k_accuracy(kScores, Arr{1.0, 0.5, 1.0, 1.0}), "row 1 has class id 0.5");
  CHECK_ERROR(gn::top_k_accuracy(kScores, Arr(xt::zeros<double>({4, 2}))),
              "target_classes: targets [4, 2] are neither one-hot rows of 3 classes nor one class id per row");
  CHECK_ERROR(gn::top_k_accuracy(kScores, kIds, 0), "top_k_accuracy: k must be at least 1");
  CHECK_ERROR(gn::top_k_accuracy(kScores, Arr{1.0, 2.0}), "top_k_accuracy: 4 prediction rows but 2 target rows");
  CHECK_ERROR(gn::confusion_matrix({0, 5}, {0, 1}, 3), "confusion_matrix: class id 5 is not below the 3 classes");
  CHECK_ERROR(gn::confusion_matrix({0, 1}, {0}), "confusion_matrix: 2 true classes but 1 predicted");
  CHECK_ERROR(gn::metric_by_name<double>("top_k_accuracy(0)"), "unknown metric 'top_k_accuracy(0)'",
              "known: mae, rmse, accuracy, top_k_accuracy(k) with k >= 1");
  CHECK_ERROR(gn::metric_by_name<float>("f2"), "unknown metric 'f2'");
  CHECK(gn::is_classification_metric("top_k_accuracy(3)"));
  CHECK(!gn::is_classification_metric("rmse"));
}
