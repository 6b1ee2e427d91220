// The kernel of an element-wise fusion group (graph/passes/fusion.cpp).
//
// Each member is an ordinary element-wise op, run through its own kernel, so
// a fused group computes bit for bit what its members compute one by one. It
// runs them over blocks of the output's leading rows: a member's block lands
// in a scratch tile small enough to stay in cache and is read from there by
// the next member, so the group makes one pass over memory for its output and
// needs no planned buffer for its intermediate values.
#include <algorithm>

#include "compiler_ops.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// Elements per block: each member's tile then stays in the L1/L2 caches.
constexpr std::size_t kTileElements = 1024;

// sums[j] += the values of column j of `size` values in rows of `columns`,
// rows in order, in double (as sum_to's sum_rows); compiled for the baseline
// and for AVX2, as op_kit.hpp's loops.
template <class T>
GRAPHNN_KIT_INLINE void add_columns(const T* __restrict block, std::size_t size, std::size_t columns,
                                    double* __restrict sums) {
  for (std::size_t i = 0; i < size; i += columns)
    for (std::size_t j = 0; j < columns; ++j) sums[j] += block[i + j];
}
#if defined(__x86_64__)
template <class T>
GRAPHNN_KIT_AVX2 void add_columns_avx2(const T* block, std::size_t size, std::size_t columns, double* sums) {
  add_columns(block, size, columns, sums);
}
#endif

template <class T>
class FusedElementwise final : public Op<T> {
 public:
  // `reduction` (with `output` its shape and `whole_input` an input of the
  // group's shape): the last member's blocks are reduced instead of written.
  FusedElementwise(std::vector<FusedMember<T>> members, Shape shape, RowReduction reduction = RowReduction::none,
                   Shape output = {}, std::size_t whole_input = 0)
      : members_(std::move(members)),
        shape_(std::move(shape)),
        output_(reduction == RowReduction::none ? shape_ : std::move(output)),
        reduction_(reduction),
        whole_input_(whole_input),
        runs_(members_.size()) {
    std::size_t inner = 1;
    for (std::size_t k = 1; k < shape_.size(); ++k) inner *= static_cast<std::size_t>(shape_[k]);
    inner_ = inner;
    rows_per_tile_ = std::max<std::size_t>(1, kTileElements / std::max<std::size_t>(inner, 1));
    // One tile per member; without a reduction the last member writes the output.
    const std::size_t tiles = members_.size() - (reduction_ == RowReduction::none ? 1 : 0);
    scratch_.resize(tiles * rows_per_tile_ * inner);
    if (reduction_ == RowReduction::column_sum) column_sums_.resize(static_cast<std::size_t>(output_[0]));
    for (std::size_t j = 0; j < members_.size(); ++j) {
      runs_[j].in.resize(members_[j].inputs.size());
      runs_[j].per_row.resize(members_[j].inputs.size());
      for (const Buffer<T>& b : runs_[j].in) runs_[j].ptrs.push_back(&b);
    }
  }
  std::string type() const override { return "fused"; }
  std::string attributes() const override {
    static const char* reductions[] = {"", "+row_sum", "+row_mean", "+column_sum"};
    std::string s;
    for (const FusedMember<T>& m : members_) s += (s.empty() ? "" : "+") + m.op->type();
    return s + reductions[static_cast<int>(reduction_)];
  }
  Shape infer(const std::vector<Shape>&) const override { return output_; }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    // The group's result as a whole: the output, or (reducing) the shape of input whole_input_.
    if (reduction_ != RowReduction::none) {
      whole_.dims = in[whole_input_]->dims;  // assigned in place: no allocation once the rank is known
      whole_.size = in[whole_input_]->size;
    }
    const Buffer<T>& whole = reduction_ == RowReduction::none ? out : whole_;
    start_reduction(out);
    if (whole.size == 0) return finish_reduction(out, 0);
    const std::size_t rows = whole.dims.empty() ? 1 : whole.dims[0];
    if (rows != laid_rows_) lay_out(in, whole, rows);
    for (std::size_t r0 = 0; r0 < rows; r0 += rows_per_tile_) {
      const std::size_t n = std::min(rows_per_tile_, rows - r0);
      if (n != block_rows_) resize_blocks(n);
      for (std::size_t j = 0; j < members_.size(); ++j) {
        MemberRun& run = runs_[j];
        for (std::size_t k = 0; k < run.in.size(); ++k) {
          const FusedOperand& from = members_[j].inputs[k];
          run.in[k].data = from.member ? tile(from.index) : in[from.index]->data + r0 * run.per_row[k];
        }
        const bool writes_output = j + 1 == members_.size() && reduction_ == RowReduction::none;
        run.out.data = writes_output ? out.data + r0 * inner_ : tile(j);
        members_[j].op->forward(run.ptrs, run.out);
      }
      if (reduction_ != RowReduction::none) reduce_block(tile(members_.size() - 1), n, out);
    }
    finish_reduction(out, rows);
  }

 private:
  // The reductions as ops/reduce.cpp computes them (compiler_ops.hpp).
  void start_reduction(Buffer<T>& out) const {
    if (reduction_ == RowReduction::sum || reduction_ == RowReduction::mean) std::fill(out.data, out.data + out.size, T(0));
    if (reduction_ == RowReduction::column_sum) std::fill(column_sums_.begin(), column_sums_.end(), 0.0);
  }
  void reduce_block(const T* block, std::size_t rows, Buffer<T>& out) const {
    if (reduction_ == RowReduction::column_sum) {
#if defined(__x86_64__)
      if (kit::cpu_has_avx2()) return add_columns_avx2(block, rows * inner_, column_sums_.size(), column_sums_.data());
#endif
      return add_columns(block, rows * inner_, column_sums_.size(), column_sums_.data());
    }
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t i = 0; i < inner_; ++i) out.data[i] += block[r * inner_ + i];
  }
  void finish_reduction(Buffer<T>& out, std::size_t rows) const {
    if (reduction_ == RowReduction::column_sum)
      for (std::size_t j = 0; j < column_sums_.size(); ++j) out.data[j] = static_cast<T>(column_sums_[j]);
    if (reduction_ == RowReduction::mean) {  // as reduce_mean: no rows give 0 * (1 / 0), NaN
      const T scale = T(1) / static_cast<T>(rows);
      for (std::size_t i = 0; i < out.size; ++i) out.data[i] *= scale;
    }
  }

  // A member's buffers for one block. Their shapes are set when the rows
  // change (once per plan) and the block's rows when they change (the last
  // block); a block only moves the data pointers.
  struct MemberRun {
    std::vector<Buffer<T>> in;
    std::vector<const Buffer<T>*> ptrs;
    std::vector<std::size_t> per_row;  // elements per row of an input read by blocks; 0: read whole
    Buffer<T> out;
  };

  T* tile(std::size_t j) const { return scratch_.data() + j * rows_per_tile_ * inner_; }

  // An input with the output's rows is read a block of rows at a time; one
  // broadcast along the rows (a bias, a scalar) is read whole.
  void lay_out(const std::vector<const Buffer<T>*>& in, const Buffer<T>& out, std::size_t rows) const {
    for (std::size_t j = 0; j < members_.size(); ++j) {
      MemberRun& run = runs_[j];
      for (std::size_t k = 0; k < run.in.size(); ++k) {
        const FusedOperand& from = members_[j].inputs[k];
        const Buffer<T>& x = from.member ? out : *in[from.index];
        const bool by_rows = !out.dims.empty() && x.dims.size() == out.dims.size() && x.dims[0] == rows;
        run.in[k] = x;
        run.per_row[k] = by_rows ? x.size / rows : 0;
      }
      run.out = out;
    }
    laid_rows_ = rows;
    block_rows_ = std::size_t(-1);
  }

  void resize_blocks(std::size_t n) const {
    for (MemberRun& run : runs_) {
      for (std::size_t k = 0; k < run.in.size(); ++k)
        if (run.per_row[k] != 0) {
          run.in[k].dims[0] = n;
          run.in[k].size = n * run.per_row[k];
        }
      if (!run.out.dims.empty()) run.out.dims[0] = n;
      run.out.size = n * inner_;
    }
    block_rows_ = n;
  }

  std::vector<FusedMember<T>> members_;
  Shape shape_, output_;
  RowReduction reduction_;
  std::size_t whole_input_;
  mutable std::vector<double> column_sums_;
  mutable Buffer<T> whole_;  // the group's unreduced shape, for a reduction
  std::size_t inner_ = 1, rows_per_tile_ = 1;
  mutable std::vector<T> scratch_;  // one tile per member but the last; the op belongs to one plan
  mutable std::vector<MemberRun> runs_;
  mutable std::size_t laid_rows_ = std::size_t(-1), block_rows_ = std::size_t(-1);
};

}  // namespace

template <class T>
Node<T> fused_elementwise(const Nodes<T>& inputs, std::vector<FusedMember<T>> members, const Shape& shape) {
  return kit::make<FusedElementwise<T>>(inputs, std::move(members), shape);
}

template <class T>
Node<T> fused_elementwise_reduce(const Nodes<T>& inputs, std::vector<FusedMember<T>> members, const Shape& shape,
                                 std::size_t whole_input, RowReduction reduction, const Shape& output) {
  return kit::make<FusedElementwise<T>>(inputs, std::move(members), shape, reduction, output, whole_input);
}

#define INSTANTIATE(T)                                                                               \
  template Node<T> fused_elementwise<T>(const Nodes<T>&, std::vector<FusedMember<T>>, const Shape&); \
  template Node<T> fused_elementwise_reduce<T>(const Nodes<T>&, std::vector<FusedMember<T>>, const Shape&, std::size_t, \
                                               RowReduction, const Shape&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"fused"});
}  // namespace

}  // namespace graphnn
