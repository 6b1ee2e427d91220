// allreduce_mean: the mean of a tensor over the processes of an MPI job, the
// op data-parallel training puts on each gradient. The step only puts its
// input where the bucket expects it (nothing when the planner lets it work in
// place); the bucket, one sum over the processes of the contiguous storage of
// several such ops (ops/allreduce_transport.hpp: shared memory, or MPI's
// allreduce), is started and waited by the session's plan
// (graph/collectives.hpp), so communication overlaps the backward pass.

#include "mpi_world.hpp"  // first: <mpi.h> without the C++ bindings

#include <optional>

#include "allreduce_transport.hpp"
#include "graphnn/allreduce.hpp"
#include "graphnn/op_names.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

// 1 / processes when multiplying each input by it before the sum gives the
// bits of dividing the sum: a power of two (the division only moves the
// exponent; subnormal values aside) and more than one process.
template <class T>
std::optional<T> exact_input_scale() {
  const int n = mpi_world::size();
  if (n < 2 || (n & (n - 1)) != 0) return std::nullopt;
  return T(1) / T(n);
}

// scaled_inputs: each process's input is already divided by the process
// count (rule mean_scale_into_product), so the bucket only sums.
template <class T>
class AllreduceMean final : public Op<T>, public Collective<T> {
 public:
  explicit AllreduceMean(std::size_t bucket_bytes, bool scaled_inputs = false)
      : bucket_bytes_(bucket_bytes), scaled_inputs_(scaled_inputs) {}
  std::string type() const override { return "allreduce_mean"; }
  std::string attributes() const override {
    return "bucket_bytes=" + std::to_string(bucket_bytes_) + (scaled_inputs_ ? ", inputs_scaled=1" : "");
  }
  // Not pure: its value depends on the other processes' inputs too, so the
  // compiler never folds it (a constant input may differ between processes).
  OpTraits traits() const override { return {OpCode::opaque, false, false}; }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    if (out.data != in[0]->data) std::copy(in[0]->data, in[0]->data + out.size, out.data);
  }
  Nodes<T> backward(const GradArgs<T>& args) const override {
    if (scaled_inputs_) return Op<T>::backward(args);  // a compiled node: the compiler differentiates nothing
    return {allreduce_mean(args.grad, bucket_bytes_)};
  }
  int may_overwrite_input() const override { return 0; }
  const Collective<T>* collective() const override { return this; }
  std::unique_ptr<typename Collective<T>::Bucket> bucket(std::size_t size) const override {
    return allreduce_transport::make_bucket<T>(size, scaled_inputs_);
  }
  // A bucket divides all its members or none.
  bool combines_with(const Collective<T>& other) const override {
    const auto* o = dynamic_cast<const AllreduceMean<T>*>(&other);
    return o && o->scaled_inputs_ == scaled_inputs_;
  }
  std::size_t bucket_bytes() const override { return bucket_bytes_; }
  std::optional<T> input_scale() const override {
    return scaled_inputs_ ? std::nullopt : exact_input_scale<T>();
  }
  OpPtr<T> with_scaled_inputs() const override {
    return scaled_inputs_ ? nullptr : std::make_shared<AllreduceMean<T>>(bucket_bytes_, true);
  }

 private:
  std::size_t bucket_bytes_;
  bool scaled_inputs_;
};

}  // namespace

template <class T>
Node<T> allreduce_mean(const Node<T>& x, std::size_t bucket_bytes) {
  if (bucket_bytes == 0) throw Error("op 'allreduce_mean': bucket_bytes must be positive");
  return kit::make<AllreduceMean<T>>(Nodes<T>{x}, bucket_bytes);
}

#define INSTANTIATE(T) template Node<T> allreduce_mean<T>(const Node<T>&, std::size_t);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

namespace {
[[maybe_unused]] const bool reserved = reserve_builtin_op_names({"allreduce_mean"});
}  // namespace

}  // namespace graphnn
