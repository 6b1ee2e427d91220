// allreduce_mean: the mean of a tensor over the processes of an MPI job, the
// op data-parallel training puts on each gradient. The step only puts its
// input where the bucket expects it (nothing when the planner lets it work in
// place); the bucket, one persistent MPI allreduce over the contiguous storage
// of several such ops, is started and waited by the session's plan
// (graph/collectives.hpp), so communication overlaps the backward pass.

#include "mpi_world.hpp"  // first: <mpi.h> without the C++ bindings

#include <mpi-ext.h>

#include <climits>

#include "graphnn/allreduce.hpp"
#include "op_kit.hpp"

namespace graphnn {
namespace {

template <class T>
MPI_Datatype mpi_type() {
  return std::is_same_v<T, double> ? MPI_DOUBLE : MPI_FLOAT;
}

// One bucket: a sum over the processes in place, then the division by their number.
template <class T>
class AllreduceBucket final : public Collective<T>::Bucket {
 public:
  AllreduceBucket(T* data, std::size_t size) : data_(data), size_(size), processes_(mpi_world::size()) {
    if (size > std::size_t(INT_MAX))
      throw Error("allreduce_mean: a bucket of " + std::to_string(size) + " elements exceeds MPI's count limit " +
                  std::to_string(INT_MAX));
    if (processes_ == 1) return;  // the mean over one process is the value itself
#if defined(OMPI_HAVE_MPI_EXT_PCOLLREQ)
    // A persistent request: its schedule is built once, so a step allocates nothing.
    MPIX_Allreduce_init(MPI_IN_PLACE, data_, int(size_), mpi_type<T>(), MPI_SUM, mpi_world::communicator(),
                        MPI_INFO_NULL, &request_);
#endif
  }
  ~AllreduceBucket() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (request_ != MPI_REQUEST_NULL && !finalized) MPI_Request_free(&request_);
  }
  void start() override {
    if (processes_ == 1) return;
#if defined(OMPI_HAVE_MPI_EXT_PCOLLREQ)
    MPI_Start(&request_);
#else
    MPI_Iallreduce(MPI_IN_PLACE, data_, int(size_), mpi_type<T>(), MPI_SUM, mpi_world::communicator(), &request_);
#endif
  }
  void wait() override {
    if (processes_ == 1) return;
    MPI_Wait(&request_, MPI_STATUS_IGNORE);
    const T scale = T(1) / T(processes_);
    for (std::size_t i = 0; i < size_; ++i) data_[i] *= scale;
  }

 private:
  T* data_;
  std::size_t size_;
  int processes_;
  MPI_Request request_ = MPI_REQUEST_NULL;
};

template <class T>
class AllreduceMean final : public Op<T>, public Collective<T> {
 public:
  explicit AllreduceMean(std::size_t bucket_bytes) : bucket_bytes_(bucket_bytes) {}
  std::string type() const override { return "allreduce_mean"; }
  std::string attributes() const override { return "bucket_bytes=" + std::to_string(bucket_bytes_); }
  Shape infer(const std::vector<Shape>& in) const override {
    kit::expect_inputs(in, 1);
    return in[0];
  }
  void forward(const std::vector<const Buffer<T>*>& in, Buffer<T>& out) const override {
    if (out.data != in[0]->data) std::copy(in[0]->data, in[0]->data + out.size, out.data);
  }
  Nodes<T> backward(const GradArgs<T>& args) const override { return {allreduce_mean(args.grad, bucket_bytes_)}; }
  int may_overwrite_input() const override { return 0; }
  const Collective<T>* collective() const override { return this; }
  std::unique_ptr<typename Collective<T>::Bucket> bucket(T* data, std::size_t size) const override {
    return std::make_unique<AllreduceBucket<T>>(data, size);
  }
  bool combines_with(const Collective<T>& other) const override {
    return dynamic_cast<const AllreduceMean<T>*>(&other) != nullptr;
  }
  std::size_t bucket_bytes() const override { return bucket_bytes_; }

 private:
  std::size_t bucket_bytes_;
};

}  // namespace

template <class T>
Node<T> allreduce_mean(const Node<T>& x, std::size_t bucket_bytes) {
  if (bucket_bytes == 0) throw Error("op 'allreduce_mean': bucket_bytes must be positive");
  return kit::make<AllreduceMean<T>>(Nodes<T>{x}, bucket_bytes);
}

#define INSTANTIATE(T) template Node<T> allreduce_mean<T>(const Node<T>&, std::size_t);
GRAPHNN_FOR_EACH_TYPE(INSTANTIATE)

}  // namespace graphnn
