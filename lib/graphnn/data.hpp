#pragma once
// Getting data into training: CSV and IDX (MNIST) files, plain or gzip-compressed,
// per-column normalisers that remember their parameters, one-hot encoding, a
// seeded train/validation split and a seeded mini-batch iterator.
// Every problem with the input throws graphnn::Error naming the file (and line).
#include <cstddef>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "graphnn/error.hpp"

namespace graphnn {

// x: [rows, features]; y: [rows, labels] (labels may be 0 wide).
template <class T>
struct Dataset {
  xt::xarray<T> x, y;
};

struct CsvOptions {
  bool header = true;                   // the first line names the columns and is skipped
  char delimiter = ',';
  std::vector<int> label_columns = {-1};  // into y, in this order; negative counts from the end; empty: no labels
};

// Reads a numeric CSV file; a file starting with the gzip magic (1f 8b) is
// decompressed first. CRLF line ends and blank lines are accepted.
template <class T>
Dataset<T> load_csv(const std::string& path, const CsvOptions& options = {});

// Reads an IDX file (plain or gzip) with its own shape: MNIST images come back as
// [n, rows, cols], labels as [n]. All IDX element types are read (u8, i8, i16, i32, f32, f64).
template <class T>
xt::xarray<T> load_idx(const std::string& path);

// An IDX image file and its label file: x [n, rows*cols] (ubyte pixels divided
// by 255, other types unchanged), y [n, 1] class ids.
template <class T>
Dataset<T> load_idx_pair(const std::string& images_path, const std::string& labels_path);

// Per-column affine map x' = (x - offset) * scale, fitted on training data and
// reapplied to new data. The default-constructed normaliser is the identity ("none").
template <class T>
class Normalizer {
 public:
  Normalizer() = default;
  // For loading a saved model: kind is "none" (offset and scale empty), "min_max" or "z_score".
  Normalizer(std::string kind, xt::xarray<T> offset, xt::xarray<T> scale);

  // Each column of x [rows, cols] to [0, 1]; a constant column maps to 0.
  static Normalizer min_max(const xt::xarray<T>& x);
  // Each column to mean 0, standard deviation 1 (population std; a std of 0 counts as 1).
  static Normalizer z_score(const xt::xarray<T>& x);

  const std::string& kind() const { return kind_; }
  const xt::xarray<T>& offset() const { return offset_; }  // [cols]; empty for "none"
  const xt::xarray<T>& scale() const { return scale_; }    // [cols]; empty for "none"
  std::size_t columns() const { return offset_.size(); }  // 0 for "none"

  xt::xarray<T> apply(const xt::xarray<T>& x) const;   // x [rows, cols]
  xt::xarray<T> invert(const xt::xarray<T>& x) const;  // the inverse of apply
  // Row-major [rows, columns()] from `in` to `out` (they may be the same buffer);
  // allocates nothing. The identity knows no column count, so it only accepts in == out.
  void apply(const T* in, T* out, std::size_t rows) const;

 private:
  void check_columns(const xt::xarray<T>& x, const char* what) const;

  std::string kind_ = "none";
  xt::xarray<T> offset_ = xt::xarray<T>::from_shape({0}), scale_ = xt::xarray<T>::from_shape({0});
};

// Class ids [n] or [n, 1] to rows of 0/1 [n, classes].
template <class T>
xt::xarray<T> one_hot_encode(const xt::xarray<T>& class_ids, std::size_t classes);

// The column of the largest value of each row of [n, c] (the first on ties), as ids [n].
template <class T>
xt::xarray<T> argmax_rows(const xt::xarray<T>& scores);

// Shuffles the rows with `seed`, then returns (training, validation) where
// validation is the last round(rows * validation_fraction) rows (at least 1 when
// the fraction is above 0, and never all of them).
template <class T>
std::pair<Dataset<T>, Dataset<T>> split(const Dataset<T>& d, double validation_fraction, unsigned seed);

// Mini-batches of rows of x and y (any rank; the first axis is the row). Holds
// references: x and y must outlive the iterator. After construction, next() and
// reset() allocate nothing: full batches and the smaller last batch each have
// their own preallocated pair of arrays.
//
//   gn::BatchIterator<double> it(d.x, d.y, 32, true, seed);
//   for (int epoch = 0; epoch < epochs; ++epoch, it.reset())
//     while (it.next()) train_on(it.x_batch(), it.y_batch());
template <class T>
class BatchIterator {
 public:
  BatchIterator(const xt::xarray<T>& x, const xt::xarray<T>& y, std::size_t batch_size, bool shuffle, unsigned seed);
  // Temporaries would dangle.
  BatchIterator(xt::xarray<T>&& x, const xt::xarray<T>& y, std::size_t, bool, unsigned) = delete;
  BatchIterator(const xt::xarray<T>& x, xt::xarray<T>&& y, std::size_t, bool, unsigned) = delete;
  BatchIterator(xt::xarray<T>&& x, xt::xarray<T>&& y, std::size_t, bool, unsigned) = delete;

  // Fills x_batch()/y_batch() with the next batch; false once the epoch is done.
  bool next();
  // Starts a new epoch, with a new order when shuffling.
  void reset();

  xt::xarray<T>& x_batch() { return last_ ? x_last_ : x_full_; }
  xt::xarray<T>& y_batch() { return last_ ? y_last_ : y_full_; }
  std::size_t batches_per_epoch() const { return (rows_ + batch_size_ - 1) / batch_size_; }
  std::size_t batch_size() const { return batch_size_; }  // min(requested, rows)
  std::size_t rows() const { return rows_; }
  // The shuffling state, so that training can stop and later resume exactly:
  // the generator and the current order of the rows.
  const std::mt19937_64& generator() const { return rng_; }
  const std::vector<std::size_t>& order() const { return order_; }
  // Continues from a state taken from generator() and order(): the next
  // reset() shuffles `order` with `generator`. Throws unless `order` is a
  // permutation of the rows.
  void resume(const std::mt19937_64& generator, const std::vector<std::size_t>& order);

 private:
  const xt::xarray<T>& x_;
  const xt::xarray<T>& y_;
  std::size_t rows_, batch_size_, x_row_, y_row_;  // x_row_/y_row_: values per row
  bool shuffle_;
  std::mt19937_64 rng_;
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
  bool last_ = false;  // the current batch is the smaller last one
  xt::xarray<T> x_full_, y_full_, x_last_, y_last_;
};

}  // namespace graphnn
