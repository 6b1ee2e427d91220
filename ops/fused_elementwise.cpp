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
#include "op_kit.hpp"

namespace graphnn {
namespace {

// Elements per block: each member's tile then stays in the L1/L2 caches.
constexpr std::size_t kTileElements = 1024;

template <class T>
class FusedElementwise final : public Op<T> {
 public:
  FusedElementwise(std::vector<FusedMember<T>> members, Shape shape)
      : members_(std::move(members)), shape_(std::move(shape)), runs_(members_.size()) {
    std::size_t inner = 1;
    for (std::size_t k = 1; k < shape_.size(); ++k) inner *= static_cast<std::size_t>(shape_[k]);
    inner_ = inner;
    rows_per_tile_ = std::max<std::size_t>(1, kTileElements / std::max<std::size_t>(inner, 1));
    scratch_.resize(members_.size() * rows_per_tile_ * inner);
    for (std::size_t j = 0; j < members_.size(); ++j) {
      runs_[j].in.resize(members_[j].inputs.size());
      for (const Buffer<T>& b : runs_[j].in) runs_[j].ptrs.push_back(&b);
    }
  }
  std::string type() const override { return "fused"; }
  std::string attributes() const override {
    std::string s;
    for (const FusedMember<T>& m : members_) s += (s.empty() ? "" : "+") + m.op->type();
    return s;
  }
  Shape infer(const std::vector<Shape>&) const override { return shape_; }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    if (out.size == 0) return;
    const std::size_t rows = out.dims.empty() ? 1 : out.dims[0];
    for (std::size_t r0 = 0; r0 < rows; r0 += rows_per_tile_) {
      const std::size_t n = std::min(rows_per_tile_, rows - r0);
      for (std::size_t j = 0; j < members_.size(); ++j) run_member(j, in, out, rows, r0, n);
    }
  }

 private:
  // A member's buffers for one block, set up in place (no allocation per run).
  struct MemberRun {
    std::vector<Buffer<T>> in;
    std::vector<const Buffer<T>*> ptrs;
    Buffer<T> out;
  };

  T* tile(std::size_t j) const { return scratch_.data() + j * rows_per_tile_ * inner_; }

  // Rows [r0, r0 + n) of a value shaped like the output.
  void block_of(Buffer<T>& b, T* data, const Dims& dims, std::size_t n) const {
    b.data = data;
    b.dims = dims;
    if (!b.dims.empty()) b.dims[0] = n;
    b.size = n * inner_;
  }

  void run_member(std::size_t j, const std::vector<const Buffer<T>*>& in, Buffer<T>& out, std::size_t rows,
                  std::size_t r0, std::size_t n) const {
    MemberRun& run = runs_[j];
    const FusedMember<T>& m = members_[j];
    for (std::size_t k = 0; k < m.inputs.size(); ++k) {
      const FusedOperand& from = m.inputs[k];
      Buffer<T>& b = run.in[k];
      if (from.member) {
        block_of(b, tile(from.index), out.dims, n);
        continue;
      }
      const Buffer<T>& x = *in[from.index];
      // An input with the output's rows is read a block at a time; one
      // broadcast along the rows (a bias, a scalar) is read whole.
      if (!out.dims.empty() && x.dims.size() == out.dims.size() && x.dims[0] == rows) {
        const std::size_t per_row = x.size / rows;
        b.data = x.data + r0 * per_row;
        b.dims = x.dims;
        b.dims[0] = n;
        b.size = n * per_row;
      } else {
        b = x;
      }
    }
    block_of(run.out, j + 1 == members_.size() ? out.data + r0 * inner_ : tile(j), out.dims, n);
    m.op->forward(run.ptrs, run.out);
  }

  std::vector<FusedMember<T>> members_;
  Shape shape_;
  std::size_t inner_ = 1, rows_per_tile_ = 1;
  mutable std::vector<T> scratch_;  // one tile per member; the op belongs to one plan
  mutable std::vector<MemberRun> runs_;
};

}  // namespace

template <class T>
Node<T> fused_elementwise(const Nodes<T>& inputs, std::vector<FusedMember<T>> members, const Shape& shape) {
  return kit::make<FusedElementwise<T>>(inputs, std::move(members), shape);
}

#define INSTANTIATE(T) \
  template Node<T> fused_elementwise<T>(const Nodes<T>&, std::vector<FusedMember<T>>, const Shape&);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

}  // namespace graphnn
