// The part of graphnn::distributed that does not talk to MPI: descriptions
// and the sharding of batches.
#include "graphnn/distributed.hpp"

#include <algorithm>

namespace graphnn::distributed {

template <class T>
std::string describe_variables(const Nodes<T>& variables) {
  std::string text;
  for (const Node<T>& v : variables) text += (text.empty() ? "" : ", ") + v.name() + to_string(v.shape());
  return text;
}

namespace {

template <class T>
xt::xarray<T> rows_like(const xt::xarray<T>& a, std::size_t rows) {
  std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
  shape[0] = rows;
  return xt::xarray<T>::from_shape(shape);
}

// Rows (rank * count + j) mod m, j < count, of the m-row `global` into `part`.
template <class T>
void take_rows(const xt::xarray<T>& global, std::size_t rank, xt::xarray<T>& part) {
  const std::size_t m = global.shape()[0], count = part.shape()[0], width = global.size() / m;
  for (std::size_t j = 0; j < count; ++j) {
    const std::size_t row = (rank * count + j) % m;
    std::copy(global.data() + row * width, global.data() + (row + 1) * width, part.data() + j * width);
  }
}

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

}  // namespace

template <class T>
ShardedBatches<T>::ShardedBatches(const xt::xarray<T>& x, const xt::xarray<T>& y, std::size_t batch_size,
                                  bool shuffle, unsigned seed, int rank, int size)
    : global_(x, y, batch_size * std::size_t(size), shuffle, seed), rank_(std::size_t(rank)), size_(std::size_t(size)) {
  if (size_ == 1) return;
  const std::size_t rows = global_.rows(), global = global_.batch_size();
  x_full_ = rows_like(x, ceil_div(global, size_));
  y_full_ = rows_like(y, ceil_div(global, size_));
  if (rows % global == 0) return;
  x_last_ = rows_like(x, ceil_div(rows % global, size_));
  y_last_ = rows_like(y, ceil_div(rows % global, size_));
}

template <class T>
bool ShardedBatches<T>::next() {
  if (!global_.next()) return false;
  if (size_ == 1) return true;
  last_ = global_.x_batch().shape()[0] < global_.batch_size();
  take_rows(global_.x_batch(), rank_, x_batch());
  take_rows(global_.y_batch(), rank_, y_batch());
  return true;
}

#define INSTANTIATE(T)                                                        \
  template std::string describe_variables<T>(const Nodes<T>&);                \
  template class ShardedBatches<T>;
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace graphnn::distributed
