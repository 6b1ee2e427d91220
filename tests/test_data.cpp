// Data loading: CSV and IDX loaders (plain and gzip) on the fixtures in
// tests/data (made by tests/data/make_fixtures.py, whose formulas are repeated
// here), every loader error by message, normalisers, one-hot encoding, the
// seeded split and the mini-batch iterator (coverage, last batch, reshuffling,
// no allocation per batch).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "test_util.hpp"

#include <atomic>
#include <cstdlib>
#include <new>
#include <set>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <graphnn/data.hpp>

#ifndef GRAPHNN_TEST_DATA
#error "GRAPHNN_TEST_DATA must name the tests/data directory"
#endif

// Counts every heap allocation of the program, so a test can assert a loop makes none.
// Kept out of line: inlined, GCC 12 and valgrind see free() on memory from operator new.
namespace {
std::atomic<long> allocations{0};
}
__attribute__((noinline)) void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using test::Arr;

namespace {

const std::string dir = GRAPHNN_TEST_DATA;
doctest::Contains has(const std::string& text) { return doctest::Contains(text.c_str()); }
std::string fixture(const std::string& name) { return dir + "/" + name; }

// Values of images.idx3-ubyte and labels.idx1-ubyte.
double pixel(std::size_t i, std::size_t r, std::size_t c) { return double((i * 6 + r * 2 + c) * 7 % 256); }
const std::vector<double> idx_labels = {3, 1, 4, 1, 5};

Arr reshaped(std::vector<double> v, std::vector<std::size_t> shape) {
  Arr a = xt::adapt(v, shape);
  return a;
}

// [rows, 2] with row i = (10 i, 10 i + 1), and y [rows, 1] = i, to follow rows through shuffles.
gn::Dataset<double> numbered(std::size_t rows) {
  gn::Dataset<double> d{Arr::from_shape({rows, 2}), Arr::from_shape({rows, 1})};
  for (std::size_t i = 0; i < rows; ++i) {
    d.x(i, 0) = 10.0 * i;
    d.x(i, 1) = 10.0 * i + 1;
    d.y(i, 0) = double(i);
  }
  return d;
}

// Row ids of y [n, 1], checking each x row still belongs to its y.
std::vector<std::size_t> row_ids(const Arr& x, const Arr& y) {
  std::vector<std::size_t> ids;
  for (std::size_t i = 0; i < y.shape()[0]; ++i) {
    CHECK(x(i, 0) == 10 * y(i, 0));
    CHECK(x(i, 1) == 10 * y(i, 0) + 1);
    ids.push_back(std::size_t(y(i, 0)));
  }
  return ids;
}

// The row ids of one epoch, batch by batch, and the batch sizes.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>> epoch(gn::BatchIterator<double>& it) {
  std::vector<std::size_t> ids, sizes;
  while (it.next()) {
    const auto batch = row_ids(it.x_batch(), it.y_batch());
    ids.insert(ids.end(), batch.begin(), batch.end());
    sizes.push_back(batch.size());
  }
  return {ids, sizes};
}

std::vector<std::size_t> iota(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::vector<std::size_t> sorted(std::vector<std::size_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

// ---- CSV ----

TEST_CASE("load_csv: header, last column as label, signs, spaces and exponents") {
  const auto d = gn::load_csv<double>(fixture("basic.csv"));
  CHECK_CLOSE(d.x, reshaped({1, 2.5, -3, 0.4, 5, 6, 7, 8}, {4, 2}), 0);
  CHECK_CLOSE(d.y, reshaped({0, 1, 2, 1}, {4, 1}), 0);
  const auto f = gn::load_csv<float>(fixture("basic.csv"));
  CHECK(f.x(1, 1) == 0.4f);
  CHECK(f.y.shape()[0] == 4);
}

TEST_CASE("load_csv: CRLF line ends and blank trailing lines") {
  const auto d = gn::load_csv<double>(fixture("crlf.csv"));
  CHECK_CLOSE(d.x, reshaped({1, 2, 3, 4}, {2, 2}), 0);
  CHECK_CLOSE(d.y, reshaped({0, 1}, {2, 1}), 0);
}

TEST_CASE("load_csv: several label columns, in the order given, and no labels") {
  gn::CsvOptions o;
  o.label_columns = {-1, 0};
  auto d = gn::load_csv<double>(fixture("multi_label.csv"), o);
  CHECK_CLOSE(d.x, reshaped({1, 2, 3, 4, 5, 6}, {3, 2}), 0);
  CHECK_CLOSE(d.y, reshaped({10, 0, 11, 1, 12, 2}, {3, 2}), 0);
  o.label_columns = {};
  d = gn::load_csv<double>(fixture("multi_label.csv"), o);
  CHECK_CLOSE(d.x, reshaped({0, 1, 2, 10, 1, 3, 4, 11, 2, 5, 6, 12}, {3, 4}), 0);
  CHECK(test::dims_of(d.y) == std::vector<std::size_t>{3, 0});
}

TEST_CASE("load_csv: another delimiter, no header") {
  gn::CsvOptions o;
  o.header = false;
  o.delimiter = ';';
  o.label_columns = {1};
  const auto d = gn::load_csv<double>(fixture("semicolon.csv"), o);
  CHECK_CLOSE(d.x, reshaped({1, 3, 4, 6}, {2, 2}), 0);
  CHECK_CLOSE(d.y, reshaped({2, 5}, {2, 1}), 0);
}

TEST_CASE("load_csv: gzip-compressed, in sklearn's digits layout") {
  gn::CsvOptions o;
  o.header = false;
  const auto d = gn::load_csv<double>(fixture("digits_small.csv.gz"), o);
  REQUIRE(test::dims_of(d.x) == std::vector<std::size_t>{6, 64});
  REQUIRE(test::dims_of(d.y) == std::vector<std::size_t>{6, 1});
  for (std::size_t r = 0; r < 6; ++r) {
    for (std::size_t c = 0; c < 64; ++c) CHECK(d.x(r, c) == double((r * 64 + c) * 5 % 17));
    CHECK(d.y(r, 0) == double(r % 10));
  }
}

TEST_CASE("load_csv: errors name the file, the line and the problem") {
  using gn::load_csv;
  const auto missing = fixture("no_such_file.csv");
  CHECK_THROWS_WITH_AS(load_csv<double>(missing), has("cannot open '" + missing + "'"), gn::Error);
  CHECK_THROWS_WITH_AS(load_csv<double>(missing), has("No such file"), gn::Error);
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("empty.csv")), has("empty.csv': no data rows"), gn::Error);
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("header_only.csv")), has("header_only.csv': no data rows"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("ragged.csv")),
                       has("ragged.csv': line 3 has 2 fields, expected 3"), gn::Error);
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("non_numeric.csv")),
                       has("non_numeric.csv': line 4, column 2 ('y'): 'abc' is not a number"), gn::Error);
  gn::CsvOptions no_header;
  no_header.header = false;
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("basic.csv"), no_header),
                       has("basic.csv': line 1, column 1: 'a' is not a number"), gn::Error);
  gn::CsvOptions o;
  o.label_columns = {3};
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("basic.csv"), o),
                       has("basic.csv': label column 3 is out of range for 3 columns (valid: -3..2)"),
                       gn::Error);
  o.label_columns = {-4};
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("basic.csv"), o), has("label column -4 is out of range"),
                       gn::Error);
  o.label_columns = {2, -1};
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("basic.csv"), o), has("label column -1 is listed twice"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(load_csv<double>(fixture("truncated.csv.gz")),
                       has("cannot read '" + fixture("truncated.csv.gz") + "': unexpected end of file"), gn::Error);
  CHECK_THROWS_WITH_AS(load_csv<double>(dir), has("cannot read '" + dir + "': Is a directory"), gn::Error);
}

// ---- IDX ----

TEST_CASE("load_idx: ubyte images and labels, plain and gzip") {
  for (const std::string suffix : {"", ".gz"}) {
    CAPTURE(suffix);
    const Arr images = gn::load_idx<double>(fixture("images.idx3-ubyte" + suffix));
    REQUIRE(test::dims_of(images) == std::vector<std::size_t>{5, 3, 2});
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t c = 0; c < 2; ++c) CHECK(images(i, r, c) == pixel(i, r, c));
    CHECK_CLOSE(gn::load_idx<double>(fixture("labels.idx1-ubyte" + suffix)), reshaped(idx_labels, {5}), 0);
  }
  CHECK(gn::load_idx<float>(fixture("images.idx3-ubyte"))(4, 2, 1) == float(pixel(4, 2, 1)));
}

TEST_CASE("load_idx: signed, integer and floating element types, big-endian") {
  CHECK_CLOSE(gn::load_idx<double>(fixture("byte.idx")), reshaped({-128, -1, 127}, {3}), 0);
  CHECK_CLOSE(gn::load_idx<double>(fixture("short.idx")), reshaped({-300, 2, 32767}, {3}), 0);
  CHECK_CLOSE(gn::load_idx<double>(fixture("int.idx")), reshaped({-70000, 0, 2147483647}, {3}), 0);
  CHECK_CLOSE(gn::load_idx<double>(fixture("float.idx")), reshaped({0.5, -1.25, 3.0, double(1e-3f), 65504.0, 0}, {2, 3}),
              0);
  CHECK_CLOSE(gn::load_idx<double>(fixture("double.idx")), reshaped({0.1, -2.5, 1e300, 3.0}, {4}), 0);
  const xt::xarray<float> f = gn::load_idx<float>(fixture("float.idx"));
  CHECK(f(1, 0) == 1e-3f);
  CHECK(std::signbit(f(1, 2)));
}

TEST_CASE("load_idx: errors say what is wrong and name the file") {
  using gn::load_idx;
  const auto missing = fixture("nothing.idx");
  CHECK_THROWS_WITH_AS(load_idx<double>(missing), has("load_idx: cannot open '" + missing + "'"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(load_idx<double>(fixture("bad_magic.idx")),
                       has("bad_magic.idx': bad magic number (the file must start with 00 00 <type> "
                                         "<ndims>; it starts with 01 02 08 01)"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(load_idx<double>(fixture("empty.csv")), has("bad magic number"), gn::Error);
  CHECK_THROWS_WITH_AS(load_idx<double>(fixture("truncated.idx")),
                       has("truncated.idx': truncated data for shape [4]: expected 4 bytes, got 2"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(load_idx<double>(fixture("truncated_header.idx")),
                       has("truncated_header.idx': truncated header: expected 16 bytes, got 8"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(load_idx<double>(fixture("trailing.idx")),
                       has("trailing.idx': trailing bytes for shape [2]: expected 2 bytes, got 3"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(load_idx<double>(fixture("unknown_type.idx")),
                       has("unknown_type.idx': unknown element type 0xa (expected 0x08 ubyte"), gn::Error);
}

TEST_CASE("load_idx_pair: flattened images scaled to [0, 1] and labels as a column") {
  for (const std::string suffix : {"", ".gz"}) {
    const auto d = gn::load_idx_pair<double>(fixture("images.idx3-ubyte" + suffix), fixture("labels.idx1-ubyte" + suffix));
    REQUIRE(test::dims_of(d.x) == std::vector<std::size_t>{5, 6});
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t k = 0; k < 6; ++k) CHECK(d.x(i, k) == doctest::Approx(pixel(i, k / 2, k % 2) / 255).epsilon(1e-15));
    CHECK_CLOSE(d.y, reshaped(idx_labels, {5, 1}), 0);
  }
  const auto f = gn::load_idx_pair<float>(fixture("images.idx3-ubyte"), fixture("labels.idx1-ubyte"));
  CHECK(f.x(4, 5) == float(pixel(4, 2, 1)) / 255.0f);
}

TEST_CASE("load_idx_pair: counts must agree and labels must be one-dimensional") {
  CHECK_THROWS_WITH_AS(gn::load_idx_pair<double>(fixture("images.idx3-ubyte"), fixture("labels4.idx1-ubyte")),
                       has("images.idx3-ubyte' has 5 images but '" + fixture("labels4.idx1-ubyte") +
                                         "' has 4 labels"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(gn::load_idx_pair<double>(fixture("images.idx3-ubyte"), fixture("images.idx3-ubyte")),
                       has("must be one-dimensional, got shape [5, 3, 2]"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::load_idx_pair<double>(fixture("images.idx3-ubyte"), fixture("truncated.idx")),
                       has("truncated data"), gn::Error);
}

// ---- normalisers ----

TEST_CASE("Normalizer::min_max: per column to [0, 1], constant column to 0, inverse") {
  const Arr x = reshaped({1, 10, 5, 3, 20, 5, 2, 30, 5}, {3, 3});
  const auto n = gn::Normalizer<double>::min_max(x);
  CHECK(n.kind() == "min_max");
  CHECK(n.columns() == 3);
  CHECK_CLOSE(n.offset(), reshaped({1, 10, 5}, {3}), 1e-15);
  CHECK_CLOSE(n.scale(), reshaped({0.5, 0.05, 1}, {3}), 1e-15);
  const Arr y = n.apply(x);
  CHECK_CLOSE(y, reshaped({0, 0, 0, 1, 0.5, 0, 0.5, 1, 0}, {3, 3}), 1e-15);
  CHECK_CLOSE(n.invert(y), x, 1e-15);
  // New data goes through the training parameters, outside [0, 1] if need be.
  CHECK_CLOSE(n.apply(reshaped({5, 0, 6}, {1, 3})), reshaped({2, -0.5, 1}, {1, 3}), 1e-15);
}

TEST_CASE("Normalizer::z_score: mean 0 and std 1 per column; a constant column stays finite") {
  const Arr x = reshaped({1, 0.1, -2, 2, 0.1, 4, 3, 0.1, 7, 6, 0.1, 1}, {4, 3});
  const auto n = gn::Normalizer<double>::z_score(x);
  CHECK(n.kind() == "z_score");
  const Arr y = n.apply(x);
  for (std::size_t c = 0; c < 3; ++c) CHECK(std::abs(xt::mean(xt::col(y, c))()) < 1e-12);
  CHECK(xt::stddev(xt::col(y, 0))() == doctest::Approx(1.0));
  CHECK(xt::stddev(xt::col(y, 2))() == doctest::Approx(1.0));
  CHECK(n.scale()(1) == 1.0);  // detected as constant exactly, whatever rounding leaves in its std
  CHECK(xt::amax(xt::abs(xt::col(y, 1)))() < 1e-15);
  CHECK_CLOSE(n.invert(y), x, 1e-14);
}

TEST_CASE("Normalizer: per-batch apply in place, restored from its parameters, identity") {
  const Arr x = reshaped({1, 10, 3, 20, 2, 30}, {3, 2});
  const auto n = gn::Normalizer<double>::z_score(x);
  Arr batch = x;
  const long before = allocations;
  n.apply(batch.data(), batch.data(), 3);
  CHECK(allocations == before);
  CHECK_CLOSE(batch, n.apply(x), 0);

  const gn::Normalizer<double> restored(n.kind(), n.offset(), n.scale());
  CHECK(restored.kind() == "z_score");
  CHECK_CLOSE(restored.apply(x), n.apply(x), 0);

  const gn::Normalizer<double> id;
  CHECK(id.kind() == "none");
  CHECK(id.columns() == 0);
  CHECK_CLOSE(id.apply(x), x, 0);
  CHECK_CLOSE(id.invert(x), x, 0);
  id.apply(batch.data(), batch.data(), 3);
  CHECK_CLOSE(batch, n.apply(x), 0);
  CHECK(gn::Normalizer<double>("none", Arr(), Arr()).kind() == "none");

  const auto f = gn::Normalizer<float>::min_max(xt::xarray<float>(reshaped({0, 4}, {2, 1})));
  CHECK(f.apply(xt::xarray<float>(reshaped({1}, {1, 1})))(0, 0) == 0.25f);
}

TEST_CASE("Normalizer: errors") {
  const auto n = gn::Normalizer<double>::min_max(reshaped({1, 2, 3, 4, 5, 6}, {2, 3}));
  CHECK_THROWS_WITH_AS(n.apply(reshaped({1, 2, 3, 4}, {2, 2})),
                       has("Normalizer(min_max)::apply: expected [rows, 3], got shape [2, 2]"), gn::Error);
  CHECK_THROWS_WITH_AS(n.invert(reshaped({1, 2, 3}, {3})),
                       has("Normalizer(min_max)::invert: expected [rows, 3], got shape [3]"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::Normalizer<double>::z_score(reshaped({1, 2}, {2})),
                       has("Normalizer::z_score: expected a non-empty [rows, columns] array, got shape [2]"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(gn::Normalizer<double>::min_max(reshaped({1, NAN}, {1, 2})),
                       has("Normalizer::min_max: row 0, column 1 is nan"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::Normalizer<double>("robust", reshaped({0}, {1}), reshaped({1}, {1})),
                       has("unknown kind 'robust'"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::Normalizer<double>("z_score", reshaped({0, 0}, {2}), reshaped({1, 0}, {2})),
                       has("Normalizer(z_score): column 1 has offset 0 and scale 0"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::Normalizer<double>("min_max", reshaped({0, 0}, {2}), reshaped({1}, {1})),
                       has("offset and scale must be [columns] of the same size, got [2] and [1]"),
                       gn::Error);
  Arr a = reshaped({1, 2}, {1, 2}), b = a;
  CHECK_THROWS_WITH_AS(gn::Normalizer<double>().apply(a.data(), b.data(), 1),
                       has("the identity has no column count"), gn::Error);
}

// ---- labels ----

TEST_CASE("one_hot_encode and argmax_rows") {
  const Arr ids = reshaped({2, 0, 1, 2}, {4});
  const Arr expected = reshaped({0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}, {4, 3});
  CHECK_CLOSE(gn::one_hot_encode(ids, 3), expected, 0);
  CHECK_CLOSE(gn::one_hot_encode(reshaped({2, 0, 1, 2}, {4, 1}), 3), expected, 0);
  CHECK_CLOSE(gn::argmax_rows(expected), ids, 0);
  CHECK_CLOSE(gn::argmax_rows(reshaped({0.1, 0.7, 0.7, -1, -3, -2}, {2, 3})), reshaped({1, 0}, {2}), 0);
  const xt::xarray<float> f = gn::one_hot_encode(xt::xarray<float>(reshaped({1}, {1})), 2);
  CHECK(f(0, 1) == 1.0f);
}

TEST_CASE("one_hot_encode and argmax_rows: errors name the row") {
  CHECK_THROWS_WITH_AS(gn::one_hot_encode(reshaped({0, 1.5}, {2}), 3),
                       has("one_hot_encode: row 1 has class id 1.5, not an integer"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::one_hot_encode(reshaped({0, 1, 3}, {3}), 3),
                       has("one_hot_encode: row 2 has class id 3, outside [0, 3)"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::one_hot_encode(reshaped({-1}, {1, 1}), 3), has("row 0 has class id -1, outside"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(gn::one_hot_encode(reshaped({NAN}, {1}), 3), has("row 0 has class id nan"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(gn::one_hot_encode(reshaped({0, 1}, {1, 2}), 3),
                       has("class ids must be [n] or [n, 1], got shape [1, 2]"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::argmax_rows(reshaped({0, 1}, {2})), has("argmax_rows: expected [n, classes]"),
                       gn::Error);
}

// ---- split ----

TEST_CASE("split: seeded, rows stay paired, the last fraction is validation") {
  const auto d = numbered(10);
  const auto [train, val] = gn::split(d, 0.3, 42);
  const auto t = row_ids(train.x, train.y), v = row_ids(val.x, val.y);
  CHECK(t.size() == 7);
  CHECK(v.size() == 3);
  std::vector<std::size_t> all = t;
  all.insert(all.end(), v.begin(), v.end());
  CHECK(sorted(all) == iota(10));
  CHECK(all != iota(10));  // shuffled

  const auto [train2, val2] = gn::split(d, 0.3, 42);
  CHECK(row_ids(train2.x, train2.y) == t);
  CHECK(row_ids(val2.x, val2.y) == v);
  const auto [train3, val3] = gn::split(d, 0.3, 43);
  CHECK(row_ids(train3.x, train3.y) != t);

  const auto [whole, none] = gn::split(d, 0.0, 1);
  CHECK(whole.x.shape()[0] == 10);
  CHECK(test::dims_of(none.x) == std::vector<std::size_t>{0, 2});
  CHECK(test::dims_of(none.y) == std::vector<std::size_t>{0, 1});
  CHECK(gn::split(numbered(2), 0.01, 1).second.x.shape()[0] == 1);  // at least one row
  CHECK(gn::split(numbered(2), 0.99, 1).first.x.shape()[0] == 1);   // never all of them
}

TEST_CASE("split: errors") {
  const auto d = numbered(4);
  CHECK_THROWS_WITH_AS(gn::split(d, 1.0, 0), has("validation_fraction must be in [0, 1), got 1"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::split(d, -0.1, 0), has("got -0.1"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::split(d, NAN, 0), has("got nan"), gn::Error);
  CHECK_THROWS_WITH_AS(gn::split(numbered(1), 0.5, 0),
                       has("cannot hold out a validation set from 1 row(s)"), gn::Error);
  gn::Dataset<double> bad{d.x, reshaped({1, 2, 3}, {3, 1})};
  CHECK_THROWS_WITH_AS(gn::split(bad, 0.5, 0),
                       has("split: x and y must have the same number of rows (x has shape [4, 2], y has "
                                         "shape [3, 1])"),
                       gn::Error);
}

// ---- batches ----

TEST_CASE("BatchIterator: every row once per epoch, a smaller last batch, a new order each epoch") {
  const auto d = numbered(10);
  gn::BatchIterator<double> it(d.x, d.y, 4, true, 7);
  CHECK(it.batches_per_epoch() == 3);
  CHECK(it.batch_size() == 4);
  CHECK(it.rows() == 10);
  const auto [first, sizes] = epoch(it);
  CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
  CHECK(sorted(first) == iota(10));
  CHECK(first != iota(10));
  CHECK_FALSE(it.next());

  it.reset();
  const auto [second, sizes2] = epoch(it);
  CHECK(sizes2 == sizes);
  CHECK(sorted(second) == iota(10));
  CHECK(second != first);

  gn::BatchIterator<double> again(d.x, d.y, 4, true, 7);
  CHECK(epoch(again).first == first);
  again.reset();
  CHECK(epoch(again).first == second);
}

TEST_CASE("BatchIterator: in order without shuffling; one batch when batch_size exceeds the rows; any rank") {
  const auto d = numbered(5);
  gn::BatchIterator<double> in_order(d.x, d.y, 2, false, 0);
  CHECK(epoch(in_order) == std::make_pair(iota(5), std::vector<std::size_t>{2, 2, 1}));
  in_order.reset();
  CHECK(epoch(in_order).first == iota(5));

  gn::BatchIterator<double> big(d.x, d.y, 100, true, 3);
  CHECK(big.batches_per_epoch() == 1);
  CHECK(epoch(big).second == std::vector<std::size_t>{5});

  const Arr images = gn::load_idx<double>(fixture("images.idx3-ubyte"));
  const Arr labels = gn::load_idx<double>(fixture("labels.idx1-ubyte"));
  gn::BatchIterator<double> it(images, labels, 3, false, 0);
  REQUIRE(it.next());
  CHECK(test::dims_of(it.x_batch()) == std::vector<std::size_t>{3, 3, 2});
  REQUIRE(it.next());
  CHECK(test::dims_of(it.x_batch()) == std::vector<std::size_t>{2, 3, 2});
  CHECK(it.x_batch()(1, 2, 1) == pixel(4, 2, 1));
  CHECK_CLOSE(it.y_batch(), reshaped({1, 5}, {2}), 0);

  const xt::xarray<float> xf = d.x, yf = d.y;
  gn::BatchIterator<float> f(xf, yf, 2, true, 1);
  std::size_t rows = 0;
  while (f.next()) rows += f.x_batch().shape()[0];
  CHECK(rows == 5);
}

TEST_CASE("BatchIterator: no heap allocation after construction") {
  const long probe = allocations;
  const auto d = numbered(103);
  REQUIRE_MESSAGE(allocations > probe, "operator new is not counted (replaced by a tool?): the check would be void");
  gn::BatchIterator<double> it(d.x, d.y, 10, true, 5);
  double checksum = 0;
  const long before = allocations;
  for (int e = 0; e < 3; ++e, it.reset())
    while (it.next()) checksum += it.x_batch()(0, 0) + it.y_batch()(it.y_batch().shape()[0] - 1, 0);
  const long during = allocations - before;
  CHECK(during == 0);
  CHECK(checksum > 0);
}

TEST_CASE("BatchIterator: errors") {
  const auto d = numbered(4);
  const Arr y3 = reshaped({1, 2, 3}, {3});
  CHECK_THROWS_WITH_AS(gn::BatchIterator<double>(d.x, y3, 2, true, 0),
                       has("BatchIterator: x and y must have the same number of rows (x has shape [4, 2], "
                                         "y has shape [3])"),
                       gn::Error);
  CHECK_THROWS_WITH_AS(gn::BatchIterator<double>(d.x, d.y, 0, true, 0),
                       has("BatchIterator: batch_size must be at least 1"), gn::Error);
  const Arr ex = Arr::from_shape({0, 3}), ey = Arr::from_shape({0, 1});
  CHECK_THROWS_WITH_AS(gn::BatchIterator<double>(ex, ey, 2, true, 0),
                       has("BatchIterator: empty data (x has shape [0, 3])"), gn::Error);
}
